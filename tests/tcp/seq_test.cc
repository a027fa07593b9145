// Sequence-number arithmetic and the RFC 9293 §3.10.7.4 acceptability table.
#include "net/tcp/seq.hh"

#include <gtest/gtest.h>

#include <cstdint>

namespace sluice::dp::net::tcp {
namespace {

TEST(tcp_seq, comparisons_wrap_around_2_pow_32) {
    struct {
        seq_t a, b;
        bool lt;
    } cases[] = {
        {0, 1, true},
        {1, 0, false},
        {0xffffffffU, 0, true},  // just before the wrap
        {0xfffffff0U, 0x10U, true},
        {0x10U, 0xfffffff0U, false},
        {0, 0x7fffffffU, true},  // 2^31 - 1 apart: still ordered
        {5, 5, false},
    };
    for (const auto& c : cases) {
        EXPECT_EQ(seq_lt(c.a, c.b), c.lt) << c.a << " " << c.b;
        EXPECT_EQ(seq_gt(c.b, c.a), c.lt);
        EXPECT_EQ(seq_le(c.a, c.b), c.lt || c.a == c.b);
        EXPECT_EQ(seq_ge(c.a, c.b), !c.lt);
        EXPECT_EQ(seq_max(c.a, c.b), c.lt ? c.b : c.a);
        EXPECT_EQ(seq_min(c.a, c.b), c.lt ? c.a : c.b);
    }
}

TEST(tcp_seq, acceptability_table_rfc9293_3_10_7_4) {
    constexpr seq_t nxt = 0xfffffff0U;  // window straddles the wrap
    struct {
        const char* name;
        seq_t seq;
        std::uint32_t len, wnd;
        bool ok;
    } cases[] = {
        {"empty_zero_window_at_nxt", nxt, 0, 0, true},
        {"empty_zero_window_after_nxt", nxt + 1, 0, 0, false},
        {"empty_zero_window_before_nxt", nxt - 1, 0, 0, false},
        {"empty_in_window", nxt + 100, 0, 1000, true},
        {"empty_at_window_end", nxt + 1000, 0, 1000, false},
        {"empty_before_window", nxt - 1, 0, 1000, false},
        {"data_zero_window", nxt, 10, 0, false},
        {"data_starts_in_window", nxt + 995, 10, 1000, true},
        {"data_ends_in_window", nxt - 5, 10, 1000, true},
        {"data_entirely_old", nxt - 10, 10, 1000, false},
        {"data_entirely_beyond", nxt + 1000, 10, 1000, false},
        {"data_spans_whole_window", nxt - 5, 2000, 1000, false},  // neither end inside
        {"one_byte_at_nxt", nxt, 1, 1, true},
    };
    for (const auto& c : cases) {
        EXPECT_EQ(segment_acceptable(c.seq, c.len, nxt, c.wnd), c.ok) << c.name;
    }
}

TEST(tcp_seq, ack_checks) {
    constexpr seq_t una = 0xffffff00U;
    constexpr seq_t nxt = 0x100U;  // 512 bytes in flight across the wrap
    EXPECT_FALSE(ack_acks_new_data(una, una, nxt));
    EXPECT_TRUE(ack_acks_new_data(una + 1, una, nxt));
    EXPECT_TRUE(ack_acks_new_data(nxt, una, nxt));
    EXPECT_FALSE(ack_acks_new_data(nxt + 1, una, nxt));
    // RFC 5961 §5.2 window with MAX.SND.WND = 1000.
    EXPECT_TRUE(ack_in_rfc5961_window(una - 1000, una, nxt, 1000));
    EXPECT_FALSE(ack_in_rfc5961_window(una - 1001, una, nxt, 1000));
    EXPECT_TRUE(ack_in_rfc5961_window(nxt, una, nxt, 1000));
    EXPECT_FALSE(ack_in_rfc5961_window(nxt + 1, una, nxt, 1000));
}

}  // namespace
}  // namespace sluice::dp::net::tcp
