// asynchat: channel_logger, the log() and log_info() of every channel, as asyncore's dispatcher's
// SPDX-License-Identifier: BSL-1.0
#ifndef ASYNCHAT_CHANNEL_LOGGER_HPP
#define ASYNCHAT_CHANNEL_LOGGER_HPP

#include <cstddef>
#include <exception>
#include <functional>
#include <initializer_list>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <typeinfo>

namespace asynchat {

/** The log_info() types a channel does not print: `{"warning"}` until changed.

    A set of strings with std::set's spelling (`count()`, `insert()`, `erase()`, `clear()`,
    assignment from `{"info", "warning"}`). A channel that keeps the default shares it with every
    other channel and holds one null pointer; a set of its own is allocated when it is changed.

    @par Python
    dispatcher.ignore_log_types, a class attribute `frozenset({'warning'})` that an instance or
    a subclass may replace.

    @par Thread safety
    Distinct objects: safe. Shared objects: unsafe; change a channel's set on its executor, or
    before it starts.
*/
class log_types
{
public:
    /// The default, `{"warning"}`, shared.
    log_types() noexcept = default;

    /** A set of its own holding `types` (`= {}` ignores nothing).

        @param types The log_info() types not to print.
    */
    log_types(std::initializer_list<std::string_view> types);

    /** A copy of `other` (sharing the default if `other` has it).

        @param other The set to copy.
    */
    log_types(log_types const& other);

    /** Become a copy of `other` (sharing the default if `other` has it).

        @param other The set to copy.
        @return `*this`.
    */
    log_types& operator=(log_types const& other);

    /** Take `other`'s set.

        @param other The set to take; left with the default.
    */
    log_types(log_types&& other) noexcept = default;

    /** Take `other`'s set.

        @param other The set to take; left with the default.
        @return `*this`.
    */
    log_types& operator=(log_types&& other) noexcept = default;

    /// Frees a set of its own.
    ~log_types() = default;

    /** Whether `type` is in the set.

        @param type A log_info() type, such as "warning".
        @return True if log_info() does not print `type`.
    */
    bool contains(std::string_view type) const;

    /** std::set's spelling of contains().

        @param type A log_info() type.
        @return 1 if `type` is in the set, else 0.
    */
    std::size_t count(std::string_view type) const { return contains(type) ? 1 : 0; }

    /// @return The number of types in the set.
    std::size_t size() const noexcept;

    /// @return True if the set is empty: log_info() prints every type.
    bool empty() const noexcept { return size() == 0; }

    /** Add a type (the channel then has a set of its own).

        @param type The log_info() type not to print any more.
    */
    void insert(std::string_view type);

    /** Remove a type, if present (the channel then has a set of its own).

        @param type The log_info() type to print again.
    */
    void erase(std::string_view type);

    /// Remove every type: log_info() prints everything.
    void clear();

private:
    using set_type = std::set<std::string, std::less<>>;
    set_type const& get() const noexcept;
    set_type& own();

    // Null: the shared default.
    std::unique_ptr<set_type> own_;
};

/** The logging path of every channel: dispatcher and async_chat (and every class derived from
    them) inherit it.

    The library logs through log_info() alone: the line of the default handle_error()
    ("uncaptured exception, closing channel <repr> (<type>:<what>)", type "error", `<repr>`
    naming the channel's dynamic type and its peer, as CPython's repr names the subclass), the
    line of a handle_error() that threw, a listener's pause under descriptor exhaustion (type
    "error"), and the dispatcher's "unhandled ... event" warnings. So a program routes all of it
    to its own logger by overriding log_info() in its channel classes; log() is for the
    program's own messages, as in asyncore.

    @par Python
    The log(), log_info() and ignore_log_types of asyncore.dispatcher, which asynchat.async_chat
    inherits.

    @par Thread safety
    The library calls log_info() on the channel's executor. The defaults may be called from any
    thread while ignore_log_types is not being changed; each writes its line with one call, so
    lines of several threads do not interleave.
*/
class channel_logger
{
public:
    /// The types log_info() does not print (default `{"warning"}`, as in CPython).
    log_types ignore_log_types;

    /** Print "<type>: <message>" and a newline to stdout (`std::cout`), unless `type` is in
        ignore_log_types.

        Override it to send the channel's log elsewhere; an override gets every type and may
        consult ignore_log_types itself. The default argument is this declaration's: an override
        that is also called as `log_info(message)` on the derived type repeats `= "info"`.

        @param message The text, without a newline.
        @param type The kind of message: CPython uses "info", "warning" and "error".
        @throws Whatever the stream throws (the default stream does not).

        @par Python
        dispatcher.log_info(message, type='info').
    */
    virtual void log_info(std::string_view message, std::string_view type = "info");

    /** Print "log: <message>" and a newline to stderr (`std::cerr`).

        @param message The text, without a newline.

        @par Python
        dispatcher.log(message).
    */
    virtual void log(std::string_view message);

protected:
    /// Only as a base of a channel.
    channel_logger() noexcept = default;
    /// Copies ignore_log_types. @param other The channel whose set is copied.
    channel_logger(channel_logger const& other) = default;
    /// Copies ignore_log_types. @param other The channel whose set is copied. @return `*this`.
    channel_logger& operator=(channel_logger const& other) = default;
    /// Not deleted through this base.
    ~channel_logger() = default;
};

namespace detail {

/** CPython's repr of a channel: "<type[ status][ address] at 0x...>", `type` the demangled
    dynamic type of `channel`, the address that of the most derived object.
*/
std::string
channel_repr(channel_logger const& channel, std::string_view status, std::string_view address);

/** CPython's handle_error() line: "uncaptured exception<source>, closing channel <repr>
    (<type>:<what>)", the exception's demangled type and what().
*/
std::string uncaptured_message(
    std::string_view repr, std::exception_ptr const& error, std::string_view source = {}
);

/// log_info(`message`, "error") on `channel`; should it throw, the line goes to stderr.
void log_error(channel_logger& channel, std::string_view message) noexcept;

} // namespace detail

} // namespace asynchat

#endif
