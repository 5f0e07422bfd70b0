// asynchat: the pieces of one gathered write, as the channel hands them to Asio
// SPDX-License-Identifier: BSL-1.0
#ifndef ASYNCHAT_DETAIL_WRITE_PIECES_HPP
#define ASYNCHAT_DETAIL_WRITE_PIECES_HPP

#include <boost/asio/buffer.hpp>
#include <boost/container/small_vector.hpp>

namespace asynchat::detail {

/// What output_queue::prepare() fills for the channel: most writes are one piece (small pushes
/// coalesce), which then needs no allocation.
using write_pieces = boost::container::small_vector<boost::asio::const_buffer, 1>;

} // namespace asynchat::detail

#endif
