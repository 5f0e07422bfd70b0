// asynchat: test support: reading back the channel's write pieces (Asio buffers) as text
// SPDX-License-Identifier: BSL-1.0
#ifndef ASYNCHAT_TEST_SUPPORT_WRITE_PIECES_HPP
#define ASYNCHAT_TEST_SUPPORT_WRITE_PIECES_HPP

#include <asynchat/detail/write_pieces.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace asynchat::test {

/// The bytes of one piece.
inline std::string_view view(boost::asio::const_buffer b)
{
    return {static_cast<char const*>(b.data()), b.size()};
}

/// The pieces as views, in order.
inline std::vector<std::string_view> views(detail::write_pieces const& pieces)
{
    std::vector<std::string_view> out;
    for (auto const& b : pieces)
        out.push_back(view(b));
    return out;
}

/// The pieces as copies, in order.
inline std::vector<std::string> strings(detail::write_pieces const& pieces)
{
    std::vector<std::string> out;
    for (auto const& b : pieces)
        out.emplace_back(view(b));
    return out;
}

} // namespace asynchat::test

#endif
