// asynchat: channel_logger and log_types
// SPDX-License-Identifier: BSL-1.0
#include <asynchat/channel_logger.hpp>

#include <boost/core/demangle.hpp>

#include <cstdio>
#include <iostream>
#include <sstream>

namespace asynchat {

//----------------------------------------------------------------------------
// log_types. Invariant: own_ is null exactly while the set is the shared default.

log_types::log_types(std::initializer_list<std::string_view> types)
    : own_(std::make_unique<set_type>())
{
    for (auto type : types)
        own_->emplace(type);
}

log_types::log_types(log_types const& other)
    : own_(other.own_ ? std::make_unique<set_type>(*other.own_) : nullptr)
{
}

log_types& log_types::operator=(log_types const& other)
{
    if (this != &other)
        own_ = other.own_ ? std::make_unique<set_type>(*other.own_) : nullptr;
    return *this;
}

log_types::set_type const& log_types::get() const noexcept
{
    // CPython's class attribute: one set for every channel that keeps the default. Built on
    // first use and never destroyed, so that channels destroyed during static destruction
    // can still log.
    static set_type const* const shared = new set_type{"warning"};
    return own_ ? *own_ : *shared;
}

log_types::set_type& log_types::own()
{
    if (!own_)
        own_ = std::make_unique<set_type>(get());
    return *own_;
}

bool log_types::contains(std::string_view type) const
{
    auto const& set = get();
    return set.find(type) != set.end();
}

std::size_t log_types::size() const noexcept { return get().size(); }

void log_types::insert(std::string_view type) { own().emplace(type); }

void log_types::erase(std::string_view type)
{
    auto& set = own();
    if (auto it = set.find(type); it != set.end())
        set.erase(it);
}

void log_types::clear() { own().clear(); }

//----------------------------------------------------------------------------
// channel_logger

void channel_logger::log_info(std::string_view message, std::string_view type)
{
    if (ignore_log_types.contains(type))
        return;
    // One write per line, so that lines from several threads do not interleave.
    std::string line;
    line.reserve(type.size() + message.size() + 3);
    line.append(type).append(": ").append(message).append("\n");
    std::cout << line << std::flush;
}

void channel_logger::log(std::string_view message)
{
    std::string line;
    line.reserve(message.size() + 6);
    line.append("log: ").append(message).append("\n");
    std::cerr << line << std::flush;
}

namespace detail {

namespace {

// A class name with the template arguments of its template arguments elided:
// `handler<boost::asio::ssl::stream<...>>` rather than a kilobyte of executor properties.
std::string short_type_name(std::string const& name)
{
    std::string out;
    out.reserve(name.size());
    int depth = 0;
    for (char const c : name)
    {
        if (c == '<')
        {
            ++depth;
            if (depth <= 2)
                out += depth == 1 ? "<" : "<...";
        }
        else if (c == '>')
        {
            if (depth <= 2)
                out += '>';
            if (depth > 0)
                --depth;
        }
        else if (depth <= 1)
            out += c;
    }
    return out;
}

} // namespace

std::string
channel_repr(channel_logger const& channel, std::string_view status, std::string_view address)
{
    std::ostringstream out;
    out << '<' << short_type_name(boost::core::demangle(typeid(channel).name()));
    if (!status.empty())
        out << ' ' << status;
    if (!address.empty())
        out << ' ' << address;
    out << " at " << dynamic_cast<void const*>(&channel) << '>';
    return out.str();
}

std::string
uncaptured_message(std::string_view repr, std::exception_ptr const& error, std::string_view source)
{
    std::string what;
    try
    {
        std::rethrow_exception(error);
    }
    catch (std::exception const& e)
    {
        what = boost::core::demangle(typeid(e).name()) + ":" + e.what();
    }
    catch (...)
    {
        what = "unknown exception";
    }
    std::string line = "uncaptured exception";
    line.append(source).append(", closing channel ").append(repr);
    line.append(" (").append(what).append(")");
    return line;
}

void log_error(channel_logger& channel, std::string_view message) noexcept
{
    try
    {
        channel.log_info(message, "error");
    }
    catch (...)
    {
        // The program's logger failed too: nobody is left to tell but stderr.
        std::string const line = "asynchat: error: " + std::string(message) + "\n";
        std::fwrite(line.data(), 1, line.size(), stderr);
    }
}

} // namespace detail

} // namespace asynchat
