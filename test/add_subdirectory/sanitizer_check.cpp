// asynchat: fails to compile if ASYNCHAT_SANITIZE did not reach the consumer through asynchat's
// target SPDX-License-Identifier: BSL-1.0

// The library's PUBLIC compile options put -fsanitize=... on this file, which is the consumer's
// own; that the program then links shows the PUBLIC link options brought the runtime.
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ASYNCHAT_CONSUMER_HAS_ASAN
#endif
#if __has_feature(thread_sanitizer)
#define ASYNCHAT_CONSUMER_HAS_TSAN
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define ASYNCHAT_CONSUMER_HAS_ASAN
#endif
#if defined(__SANITIZE_THREAD__)
#define ASYNCHAT_CONSUMER_HAS_TSAN
#endif

#if defined(ASYNCHAT_CONSUMER_EXPECTS_ASAN) && !defined(ASYNCHAT_CONSUMER_HAS_ASAN)
#error "ASYNCHAT_SANITIZE=address did not reach the consumer's compile options"
#endif
#if defined(ASYNCHAT_CONSUMER_EXPECTS_TSAN) && !defined(ASYNCHAT_CONSUMER_HAS_TSAN)
#error "ASYNCHAT_SANITIZE=thread did not reach the consumer's compile options"
#endif

namespace {
[[maybe_unused]] constexpr bool sanitizer_check = true;
}
