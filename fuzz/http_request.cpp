// asynchat: fuzz target: the HTTP example's request head parsing
// SPDX-License-Identifier: BSL-1.0
//
// Any input either parses into a request whose parts are consistent, or is rejected with
// std::invalid_argument; nothing else (no crash, no other exception, no sanitizer report).
#include <cstdlib>
#include <string_view>

#include "http_server/http_server.hpp"

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size)
{
    std::string_view const head(reinterpret_cast<char const*>(data), size);
    try
    {
        http::request const r = http::parse_head(head);
        if (r.method.empty() || r.target.empty() || r.version.rfind("HTTP/", 0) != 0)
            std::abort();
        for (auto const& [name, value] : r.headers)
            if (name.empty() || name.find(':') != std::string::npos)
                std::abort();
        try
        {
            if (http::content_length(r) > http::max_body)
                std::abort();
        }
        catch (std::invalid_argument const&)
        {
        }
        (void)http::respond(r);
    }
    catch (std::invalid_argument const&)
    {
    }
    return 0;
}
