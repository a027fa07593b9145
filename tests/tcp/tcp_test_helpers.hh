// Pieces the TCP connection and flow-control unit tests (tcp_conn_test.cc, tcp_flow_test.cc)
// share on top of tcp_harness.hh: SACK option bytes as a peer sends them, a reproducible random
// source, a burst of full segments each way, and the check that a connection ended in a
// timeout reset. Test-only; runs on the test's own thread, like the harness.
#pragma once

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <initializer_list>
#include <vector>

#include "tcp_harness.hh"

namespace sluice::test {

// Raw option bytes carrying `blocks` in a SACK option (RFC 2018 §3; NOP, NOP, SACK, no
// timestamps), for harness::send's `opts`.
inline bytes sack_opt(std::initializer_list<tcp::sack_block> blocks) {
    const std::vector<tcp::sack_block> v(blocks);
    std::array<std::uint8_t, tcp::max_option_bytes> b{};
    const std::size_t n = tcp::build_segment_options(b, false, 0, 0, v);
    return bytes(b.begin(), b.begin() + static_cast<long>(n));
}

// xorshift64* (Vigna, "An experimental exploration of Marsaglia's xorshift generators"), upper
// 32 bits: a fixed seed makes a randomised test reproducible.
struct xorshift64s {
    std::uint64_t x;
    std::uint32_t operator()() noexcept {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        return static_cast<std::uint32_t>((x * 0x2545f4914f6cdd1dULL) >> 32);
    }
};

// Has the application send `n` full segments (payload_of(n * 1460)) on h's connection and
// checks that they all leave at once (n within the initial window, RFC 5681 §3.1 / RFC 6928
// IW10). Wrap in ASSERT_NO_FATAL_FAILURE.
inline void send_full_segments(harness& h, std::uint32_t n) {
    const bytes d = payload_of(n * 1460);
    h.tcp->send(*h.app.conn, d.data(), static_cast<std::uint32_t>(d.size()));
    ASSERT_EQ(h.out().size(), n);
}

// The peer sends `count` in-order segments of `size` bytes from sequence 1001 (segment i is
// payload_of(size, i)), ACKing `ack` and advertising `wnd`; returns the bytes in stream order.
inline bytes send_peer_segments(harness& h, std::uint32_t ack, std::uint32_t count,
                                std::uint32_t size, std::uint16_t wnd = 65535) {
    bytes sent;
    for (std::uint32_t i = 0; i < count; ++i) {
        const bytes d = payload_of(size, static_cast<std::uint8_t>(i));
        h.send(A, 1001 + i * size, ack, d, {}, wnd);
        append(sent, d);
    }
    return sent;
}

// The stack's next output is one RST, and the application saw on_closed(timeout): what giving
// up on a peer looks like (RFC 9293 §3.8.3 R2, RFC 1122 §4.2.3.6 keepalive, persist probes).
inline void expect_timeout_reset(harness& h) {
    const auto o = h.out();
    ASSERT_EQ(o.size(), 1U);
    EXPECT_EQ(o[0].flags & R, R);
    EXPECT_EQ(h.app.events.back(), "closed:timeout");
}

}  // namespace sluice::test
