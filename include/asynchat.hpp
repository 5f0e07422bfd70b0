// asynchat: umbrella header, includes every public header
// SPDX-License-Identifier: BSL-1.0
#ifndef ASYNCHAT_HPP
#define ASYNCHAT_HPP

#include <asynchat/async_chat.hpp>
#include <asynchat/channel_logger.hpp>
#include <asynchat/dispatcher.hpp>
#include <asynchat/dispatcher_base.hpp>
#include <asynchat/dispatcher_with_send.hpp>
#include <asynchat/duplex_stream.hpp>
#include <asynchat/error.hpp>
#include <asynchat/fifo.hpp>
#include <asynchat/file_dispatcher.hpp>
#include <asynchat/file_producer.hpp>
#include <asynchat/find_prefix_at_end.hpp>
#include <asynchat/loop.hpp>
#include <asynchat/producer.hpp>
#include <asynchat/producers.hpp>
#include <asynchat/shared_from.hpp>
#include <asynchat/terminator.hpp>

// TLS (<asynchat/tls.hpp>) is left out: it needs OpenSSL (CMake: OpenSSL::SSL).

// Built only when CMake found zlib, which then defines ASYNCHAT_HAS_ZLIB.
#ifdef ASYNCHAT_HAS_ZLIB
#include <asynchat/compressed_producer.hpp>
#endif

#endif
