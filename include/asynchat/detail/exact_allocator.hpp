// asynchat: an allocator that asks operator new for exactly the bytes of the object
// SPDX-License-Identifier: BSL-1.0
#ifndef ASYNCHAT_DETAIL_EXACT_ALLOCATOR_HPP
#define ASYNCHAT_DETAIL_EXACT_ALLOCATOR_HPP

#include <cstddef>
#include <new>
#include <utility>

namespace asynchat::detail {

/// The block an exact_allocator freed last on this thread, for the next allocation of its size
/// (a wait completes, and its handler starts the next one): one per thread, as Asio keeps.
struct exact_cache
{
    void* block = nullptr;
    std::size_t size = 0;

    exact_cache() = default;
    exact_cache(exact_cache const&) = delete;
    exact_cache& operator=(exact_cache const&) = delete;
    // Null after: a block freed on this thread once its thread_locals are gone (a static
    // io_context's operations, at exit) is then kept, not freed twice.
    ~exact_cache() { ::operator delete(std::exchange(block, nullptr)); }

    static exact_cache& of_thread() noexcept
    {
        thread_local exact_cache cache;
        return cache;
    }
};

/** std::allocator's behaviour under a type of its own, for a handler's associated allocator.

    Asio allocates an operation with a handler's associated allocator, except std::allocator,
    for which it uses its per-thread recycling allocator instead: that one rounds the size up to
    4 bytes and adds one, which moves an operation of 120 bytes (a socket wait over
    any_io_executor) from malloc's 128-byte chunk to its 144-byte one. For an operation that
    stays pending while a connection is idle, the exact size is memory kept per connection.
    Like Asio's, it keeps the block freed last on the thread for the next allocation of that
    size (exact_cache), so that a wait per message costs no malloc.
*/
template <class T>
class exact_allocator
{
public:
    using value_type = T;

    exact_allocator() noexcept = default;
    template <class U>
    exact_allocator(exact_allocator<U> const&) noexcept
    {
    }

    T* allocate(std::size_t n)
    {
        std::size_t const bytes = n * sizeof(T);
        exact_cache& c = exact_cache::of_thread();
        if (c.block && c.size == bytes)
        {
            c.size = 0;
            return static_cast<T*>(std::exchange(c.block, nullptr));
        }
        return static_cast<T*>(::operator new(bytes));
    }

    void deallocate(T* p, std::size_t n) noexcept
    {
        exact_cache& c = exact_cache::of_thread();
        if (c.block)
            return ::operator delete(p);
        c.block = p;
        c.size = n * sizeof(T);
    }

    friend bool operator==(exact_allocator, exact_allocator) noexcept { return true; }
    friend bool operator!=(exact_allocator, exact_allocator) noexcept { return false; }
};

} // namespace asynchat::detail

#endif
