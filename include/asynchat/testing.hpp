// asynchat: the test kit: test a protocol handler at every split point, with a scripted peer
// SPDX-License-Identifier: BSL-1.0
#ifndef ASYNCHAT_TESTING_HPP
#define ASYNCHAT_TESTING_HPP

// Not part of <asynchat.hpp>: a program includes it in its tests only.
#include <asynchat/testing/connected_pair.hpp>
#include <asynchat/testing/escaped.hpp>
#include <asynchat/testing/faulty_socket.hpp>
#include <asynchat/testing/manual_clock.hpp>
#include <asynchat/testing/recorded.hpp>
#include <asynchat/testing/run.hpp>
#include <asynchat/testing/scripted_peer.hpp>
#include <asynchat/testing/split.hpp>
#include <asynchat/testing/split_replay.hpp>

#endif
