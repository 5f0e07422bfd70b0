// asynchat: an allocator that asks operator new for exactly the bytes of the object
// SPDX-License-Identifier: BSL-1.0
#ifndef ASYNCHAT_DETAIL_EXACT_ALLOCATOR_HPP
#define ASYNCHAT_DETAIL_EXACT_ALLOCATOR_HPP

#include <cstddef>
#include <new>

namespace asynchat::detail {

/** std::allocator's behaviour under a type of its own, for a handler's associated allocator.

    Asio allocates an operation with a handler's associated allocator, except std::allocator,
    for which it uses its per-thread recycling allocator instead: that one rounds the size up to
    4 bytes and adds one, which moves an operation of 120 bytes (a socket wait over
    any_io_executor) from malloc's 128-byte chunk to its 144-byte one. For an operation that
    stays pending while a connection is idle, the exact size is memory kept per connection.
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

    T* allocate(std::size_t n) { return static_cast<T*>(::operator new(n * sizeof(T))); }
    void deallocate(T* p, std::size_t) noexcept { ::operator delete(p); }

    friend bool operator==(exact_allocator, exact_allocator) noexcept { return true; }
    friend bool operator!=(exact_allocator, exact_allocator) noexcept { return false; }
};

} // namespace asynchat::detail

#endif
