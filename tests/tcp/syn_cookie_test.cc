// SYN cookies: SipHash-2-4 reference vectors, encode/decode round trips from a case table,
// expiry under an injected clock, and rejection of anything tampered with.
#include "net/tcp/syn_cookie.hh"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <vector>

namespace sluice::dp::net::tcp {
namespace {

// Key 00 01 .. 0f, as in the SipHash paper's test vectors.
constexpr std::array<std::uint64_t, 2> paper_key = {0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL};

TEST(tcp_syn_cookie, siphash24_matches_reference_vectors) {
    std::vector<std::uint8_t> msg;
    EXPECT_EQ(siphash24(paper_key, msg), 0x726fdb47dd0e0e31ULL);  // empty message
    for (std::uint8_t i = 0; i < 15; ++i) {
        msg.push_back(i);
    }
    EXPECT_EQ(siphash24(paper_key, msg), 0xa129ca6149be45e5ULL);  // paper, Appendix A
}

const flow4 flow{0xc0a80001U, 0x0a000001U, 43210, 443};
const syn_cookie_codec codec({0x1234567890abcdefULL, 0xfedcba0987654321ULL});

TEST(tcp_syn_cookie, encodes_largest_table_mss_not_above_the_peers) {
    struct {
        std::uint16_t peer_mss, granted;
    } cases[] = {
        {1460, 1460}, {1500, 1460}, {1459, 1440},  {536, 536},   {100, 536},
        {1380, 1360}, {9000, 8960}, {65535, 8960}, {1200, 1200},
    };
    for (const auto& c : cases) {
        const auto g = codec.encode(flow, 1000, c.peer_mss, 7200);
        EXPECT_EQ(g.mss, c.granted) << c.peer_mss;
        // The final ACK: SEG.SEQ = peer ISN + 1, SEG.ACK = our ISN + 1.
        const auto mss = codec.decode(flow, 1001, g.isn + 1, 7200);
        ASSERT_TRUE(mss.has_value()) << c.peer_mss;
        EXPECT_EQ(*mss, c.granted);
    }
}

TEST(tcp_syn_cookie, valid_for_the_slot_and_two_more_then_expires) {
    constexpr std::uint64_t made = 64 * 1000 + 5;  // slot 1000
    const auto g = codec.encode(flow, 0xfffffffeU, 1460, made);
    struct {
        std::uint64_t now_s;
        bool ok;
    } cases[] = {
        {made, true},           {64 * 1000 + 63, true},
        {64 * 1001, true},      {64 * 1002 + 63, true},  // age 2 slots
        {64 * 1003, false},                              // age 3
        {64 * 1032, false},      // 32 slots later the 5-bit counter has wrapped: still rejected
        {64 * 999 + 63, false},  // before it was made (clock went backwards)
    };
    for (const auto& c : cases) {
        EXPECT_EQ(codec.decode(flow, 0xffffffffU, g.isn + 1, c.now_s).has_value(), c.ok) << c.now_s;
    }
}

TEST(tcp_syn_cookie, rejects_tampered_cookie_flow_or_peer_isn) {
    constexpr std::uint64_t now = 123456;
    const auto g = codec.encode(flow, 5000, 1460, now);
    ASSERT_TRUE(codec.decode(flow, 5001, g.isn + 1, now).has_value());
    for (int bit = 0; bit < 32; ++bit) {
        const seq_t forged = g.isn ^ (1U << bit);
        EXPECT_FALSE(codec.decode(flow, 5001, forged + 1, now).has_value()) << "bit " << bit;
    }
    flow4 other = flow;
    other.peer_port = 43211;
    EXPECT_FALSE(codec.decode(other, 5001, g.isn + 1, now).has_value());
    other = flow;
    other.local_addr ^= 1;
    EXPECT_FALSE(codec.decode(other, 5001, g.isn + 1, now).has_value());
    EXPECT_FALSE(codec.decode(flow, 5002, g.isn + 1, now).has_value());  // different SYN
    const syn_cookie_codec other_key({1, 2});
    EXPECT_FALSE(other_key.decode(flow, 5001, g.isn + 1, now).has_value());
}

TEST(tcp_syn_cookie, timestamp_bits_carry_window_scale_and_sack) {
    struct {
        std::optional<std::uint8_t> shift;
        bool sack;
    } cases[] = {{std::nullopt, false}, {std::nullopt, true}, {0, false}, {7, true}, {14, true}};
    for (const auto& c : cases) {
        for (std::uint32_t now : {0x00000000U, 0x12345678U, 0x1234567fU, 0xffffffffU}) {
            const std::uint32_t ts = syn_cookie_codec::encode_ts(now, {c.shift, c.sack});
            EXPECT_TRUE(seq_le(ts, now)) << now;  // never ahead of our clock
            EXPECT_LT(now - ts, 64U);
            const auto back = syn_cookie_codec::decode_ts(ts);
            EXPECT_EQ(back.window_shift, c.shift);
            EXPECT_EQ(back.sack_permitted, c.sack);
        }
    }
    // A shift above 14 is sent as 14 (RFC 7323 §2.3).
    EXPECT_EQ(
        syn_cookie_codec::decode_ts(syn_cookie_codec::encode_ts(1000, {20, false})).window_shift,
        std::optional<std::uint8_t>(14));
}

}  // namespace
}  // namespace sluice::dp::net::tcp
