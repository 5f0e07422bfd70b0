// asynchat: the "asynchat" error category
// SPDX-License-Identifier: BSL-1.0
#include <asynchat/error.hpp>

#include <string>

namespace asynchat {

namespace {

class category : public boost::system::error_category
{
public:
    char const* name() const noexcept override { return "asynchat"; }

    std::string message(int value) const override
    {
        switch (static_cast<error>(value))
        {
        case error::message_too_long:
            return "message too long: more than max_message_size() bytes before the terminator";
        case error::plaintext_after_starttls:
            return "plaintext received after the STARTTLS command: refused, as it would be taken "
                   "for input protected by TLS";
        }
        return "unknown asynchat error " + std::to_string(value);
    }
};

} // namespace

boost::system::error_category const& error_category() noexcept
{
    static category const instance;
    return instance;
}

} // namespace asynchat
