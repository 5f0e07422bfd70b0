// asynchat: shared_from(this), a typed shared_from_this() for channels
// SPDX-License-Identifier: BSL-1.0
#ifndef ASYNCHAT_SHARED_FROM_HPP
#define ASYNCHAT_SHARED_FROM_HPP

#include <memory>

namespace asynchat {

/** A `std::shared_ptr<T>` to `*self`, sharing ownership with the `shared_ptr` that owns the
    channel: `auto me = asynchat::shared_from(this);` in a class derived from async_chat or
    dispatcher gives a pointer of the derived type, where `shared_from_this()` gives one of the
    base (Boost.SmartPtr's `boost::shared_from(this)` does the same for its own base).

    @tparam T The calling class (deduced from `this`); it must derive, directly or not, from
    `std::enable_shared_from_this` (async_chat and dispatcher do).
    @param self The object, normally `this`.
    @return A pointer to `*self` that shares ownership with its owner.
    @throws std::bad_weak_ptr if no `shared_ptr` owns the channel yet (in its constructor).

    @par Python
    `self`.

    @par Thread safety
    Safe from any thread while a `shared_ptr` owns `*self` (as `shared_from_this()` is).
*/
template <class T>
std::shared_ptr<T> shared_from(T* self)
{
    return std::shared_ptr<T>(self->shared_from_this(), self);
}

} // namespace asynchat

#endif
