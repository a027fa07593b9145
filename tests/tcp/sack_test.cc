// RFC 6675 scoreboard: updates from SACK blocks, IsLost, SetPipe and NextSeg, from tables.
// Segments are SMSS = 1000 bytes; sequence numbers start just below 2^32 so every case also
// crosses the wrap.
#include "net/tcp/sack.hh"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

namespace sluice::dp::net::tcp {
namespace {

constexpr std::uint32_t smss = 1000;
constexpr seq_t base = 0xfffff000U;  // wraps after 4096 bytes
constexpr seq_t seg(std::uint32_t n) { return base + n * smss; }
constexpr seq_t snd_nxt = seg(10);  // ten segments in flight

struct range_off {
    std::uint32_t start, end;  // offsets from base
    friend bool operator==(const range_off&, const range_off&) = default;
};

std::vector<range_off> offsets(const sack_scoreboard& sb) {
    std::vector<range_off> v;
    for (const auto& r : sb.ranges()) {
        v.push_back({r.start - base, r.end - base});
    }
    return v;
}

struct ack_step {
    std::uint32_t una;  // offset from base
    std::vector<sack_block> blocks;
    std::vector<range_off> ranges;  // expected afterwards
    std::uint32_t newly;
    std::uint8_t accepted, stale, invalid;
    bool dsack;
};

struct update_case {
    const char* name;
    std::vector<ack_step> steps;
};

sack_block blk(std::uint32_t l, std::uint32_t r) { return {base + l, base + r}; }

std::vector<update_case> update_cases() {
    return {
        {"merge_adjacent_and_overlapping",
         {
             {0, {blk(2000, 3000)}, {{2000, 3000}}, 1000, 1, 0, 0, false},
             {0, {blk(3000, 4000), blk(2000, 3000)}, {{2000, 4000}}, 1000, 2, 0, 0, false},
             {0, {blk(2500, 5000)}, {{2000, 5000}}, 1000, 1, 0, 0, false},
             {0,
              {blk(7000, 8000), blk(2000, 5000)},
              {{2000, 5000}, {7000, 8000}},
              1000,
              2,
              0,
              0,
              false},
             {0, {blk(1000, 9000)}, {{1000, 9000}}, 4000, 1, 0, 0, false},  // swallows both
         }},
        {"adjacent_blocks_merge_from_either_side",
         {
             {0, {blk(2000, 3000)}, {{2000, 3000}}, 1000, 1, 0, 0, false},
             {0, {blk(3000, 4000)}, {{2000, 4000}}, 1000, 1, 0, 0, false},
             {0, {blk(1000, 2000)}, {{1000, 4000}}, 1000, 1, 0, 0, false},
         }},
        {"invalid_blocks_are_ignored",
         {
             {0, {blk(9000, 11000)}, {}, 0, 0, 0, 1, false},  // beyond SND.NXT
             {0, {blk(3000, 2000)}, {}, 0, 0, 0, 1, false},   // inverted
             {0, {blk(3000, 3000)}, {}, 0, 0, 0, 1, false},   // empty
             {0, {blk(2000, 3000), blk(5000, 4000)}, {{2000, 3000}}, 1000, 1, 0, 1, false},
         }},
        {"dsack_below_cumulative_ack_rfc2883",
         {
             {3000, {blk(1000, 2000), blk(5000, 6000)}, {{5000, 6000}}, 1000, 1, 0, 0, true},
         }},
        {"dsack_inside_second_block_rfc2883",
         {
             {0, {blk(2000, 5000)}, {{2000, 5000}}, 3000, 1, 0, 0, false},
             {0, {blk(3000, 4000), blk(2000, 5000)}, {{2000, 5000}}, 0, 1, 0, 0, true},
         }},
        {"stale_block_after_the_first",
         {
             {3000, {blk(5000, 6000), blk(1000, 2000)}, {{5000, 6000}}, 1000, 1, 1, 0, false},
         }},
        {"cumulative_ack_trims_and_drops_ranges",
         {
             {0,
              {blk(2000, 4000), blk(6000, 7000)},
              {{2000, 4000}, {6000, 7000}},
              3000,
              2,
              0,
              0,
              false},
             {3000, {}, {{3000, 4000}, {6000, 7000}}, 0, 0, 0, 0, false},
             {6500, {}, {{6500, 7000}}, 0, 0, 0, 0, false},
             {7000, {}, {}, 0, 0, 0, 0, false},
         }},
        {"block_straddling_snd_una_is_trimmed",
         {
             {2000,
              {blk(5000, 6000), blk(1500, 3000)},
              {{2000, 3000}, {5000, 6000}},
              2000,
              2,
              0,
              0,
              false},
         }},
    };
}

class tcp_sack_update : public ::testing::TestWithParam<update_case> {};

TEST_P(tcp_sack_update, scoreboard_follows_the_table) {
    const auto& c = GetParam();
    sack_scoreboard sb(base, smss);
    for (std::size_t i = 0; i < c.steps.size(); ++i) {
        const auto& s = c.steps[i];
        const auto u = sb.update(base + s.una, snd_nxt, s.blocks);
        EXPECT_EQ(offsets(sb), s.ranges) << "step " << i;
        EXPECT_EQ(u.newly_sacked, s.newly) << "step " << i;
        EXPECT_EQ(u.accepted, s.accepted) << "step " << i;
        EXPECT_EQ(u.stale, s.stale) << "step " << i;
        EXPECT_EQ(u.invalid, s.invalid) << "step " << i;
        EXPECT_EQ(u.dsack, s.dsack) << "step " << i;
        EXPECT_FALSE(u.overflow);
    }
}

INSTANTIATE_TEST_SUITE_P(table, tcp_sack_update, ::testing::ValuesIn(update_cases()),
                         [](const auto& tp) { return std::string(tp.param.name); });

TEST(tcp_sack, full_scoreboard_forgets_the_highest_range) {
    constexpr std::uint32_t n = sack_scoreboard_capacity;
    const seq_t nxt = seg(2 * n + 4);
    sack_scoreboard sb(base, smss);
    // Every other segment SACKed: n disjoint ranges fill the board.
    for (std::uint32_t k = 0; k < n; ++k) {
        const sack_block b{seg(2 * k + 1), seg(2 * k + 2)};
        EXPECT_FALSE(sb.update(base, nxt, std::span(&b, 1)).overflow) << k;
    }
    ASSERT_EQ(sb.ranges().size(), n);
    const sack_block above{seg(2 * n + 1), seg(2 * n + 2)};
    auto u = sb.update(base, nxt, std::span(&above, 1));
    EXPECT_TRUE(u.overflow);
    EXPECT_EQ(u.newly_sacked, 0U);
    EXPECT_EQ(sb.high_sacked(), seg(2 * n));
    // A lower new range is kept and the old highest is forgotten.
    const sack_block low{seg(0) + 100, seg(0) + 200};
    u = sb.update(base, nxt, std::span(&low, 1));
    EXPECT_TRUE(u.overflow);
    EXPECT_EQ(u.newly_sacked, 100U);
    EXPECT_EQ(sb.ranges().size(), n);
    EXPECT_EQ(sb.ranges()[0].start, seg(0) + 100);
    EXPECT_EQ(sb.high_sacked(), seg(2 * n - 2));
}

struct lost_case {
    const char* name;
    std::vector<sack_block> sacked;
    std::uint32_t query;  // offset
    bool lost;
};

TEST(tcp_sack, is_lost_counts_ranges_and_bytes_above_rfc6675_4) {
    const lost_case cases[] = {
        {"three_ranges_above", {blk(2000, 3000), blk(4000, 5000), blk(6000, 7000)}, 1000, true},
        {"two_ranges_2_smss_not_more", {blk(4000, 5000), blk(6000, 7000)}, 3000, false},
        {"one_range_3_smss", {blk(2000, 5000)}, 1000, true},
        {"one_range_exactly_2_smss", {blk(2000, 4000)}, 1000, false},
        {"one_range_2_smss_plus_1", {blk(2000, 4001)}, 1000, true},
        {"nothing_above", {blk(2000, 3000)}, 5000, false},
        {"three_small_ranges", {blk(2000, 2001), blk(3000, 3001), blk(4000, 4001)}, 0, true},
    };
    for (const auto& c : cases) {
        sack_scoreboard sb(base, smss);
        sb.update(base, snd_nxt, c.sacked);
        EXPECT_EQ(sb.is_lost(base + c.query), c.lost) << c.name;
    }
}

// The scenario of RFC 6675's examples: segments 2, 4 and 6 SACKed out of 0..9.
sack_scoreboard three_holes() {
    sack_scoreboard sb(base, smss);
    sb.update(base, snd_nxt,
              std::vector<sack_block>{blk(6000, 7000), blk(4000, 5000), blk(2000, 3000)});
    return sb;
}

TEST(tcp_sack, recovery_triggers_on_is_lost_of_first_unacked_rfc6675_5) {
    auto sb = three_holes();
    EXPECT_TRUE(sb.should_enter_recovery(0));  // IsLost(HighACK + 1)
    sack_scoreboard one(base, smss);
    one.update(base, snd_nxt, std::vector<sack_block>{blk(2000, 3000)});
    EXPECT_FALSE(one.should_enter_recovery(2));
    EXPECT_TRUE(one.should_enter_recovery(3));  // DupAcks >= DupThresh
}

TEST(tcp_sack, set_pipe_counts_unlost_and_retransmitted_octets_rfc6675_4) {
    auto sb = three_holes();
    // Hole [0,2000) is lost (3 ranges above); [3000,4000) and [5000,6000) are not; the 3000
    // bytes above the highest SACK are in flight: pipe = 1000 + 1000 + 3000.
    EXPECT_EQ(sb.pipe(snd_nxt), 5000U);
    sb.enter_recovery(snd_nxt);
    auto s = sb.next_seg(snd_nxt, false);
    sb.on_sent(s);  // retransmits [0, 1000): counted again by rule (b)
    EXPECT_EQ(sb.pipe(snd_nxt), 6000U);
    sb.update(seg(1), snd_nxt, {});  // that retransmission is acked
    EXPECT_EQ(sb.pipe(snd_nxt), 5000U);
    EXPECT_EQ(sb.pipe(seg(12)), 7000U);  // two new segments sent
}

struct next_step {
    bool can_send_new;
    next_seg_rule rule;
    std::uint32_t seq;  // offset
    std::uint32_t len;
    bool send;  // call on_sent afterwards
};

TEST(tcp_sack, next_seg_applies_rules_1_to_4_in_order_rfc6675_4) {
    auto sb = three_holes();
    sb.enter_recovery(snd_nxt);
    const next_step steps[] = {
        {false, next_seg_rule::lost, 0, 1000, true},          // rule 1: lowest lost hole
        {false, next_seg_rule::lost, 1000, 1000, true},       // rest of that hole
        {true, next_seg_rule::new_data, 10000, 1000, false},  // rule 2 before rule 3
        {false, next_seg_rule::unsacked, 3000, 1000, true},   // rule 3: not lost, not sent
        {false, next_seg_rule::unsacked, 5000, 1000, true},
        {false, next_seg_rule::rescue, 9000, 1000, true},  // rule 4: highest unSACKed octet
        {false, next_seg_rule::none, 0, 0, false},         // rescue once per recovery
        {true, next_seg_rule::new_data, 10000, 1000, false},
    };
    for (std::size_t i = 0; i < std::size(steps); ++i) {
        const auto& s = steps[i];
        const auto r = sb.next_seg(snd_nxt, s.can_send_new);
        EXPECT_EQ(r.rule, s.rule) << "step " << i;
        if (s.rule != next_seg_rule::none) {
            EXPECT_EQ(r.seq - base, s.seq) << "step " << i;
            EXPECT_EQ(r.len, s.len) << "step " << i;
        }
        if (s.send) {
            sb.on_sent(r);
        }
    }
    EXPECT_EQ(sb.high_rxt(), base + 6000);  // the rescue did not move HighRxt
}

TEST(tcp_sack, rescue_covers_highest_hole_when_all_sent_data_above_is_sacked) {
    sack_scoreboard sb(base, smss);
    sb.update(base, snd_nxt, std::vector<sack_block>{blk(8000, 10000)});
    sb.enter_recovery(snd_nxt);
    // 2000 bytes SACKed above: hole [0, 8000) is not lost, rule 3 walks it first.
    auto r = sb.next_seg(snd_nxt, false);
    EXPECT_EQ(r.rule, next_seg_rule::unsacked);
    EXPECT_EQ(r.seq, base);
    // Pretend the whole hole was retransmitted: only the rescue remains, which must include
    // the highest unSACKed octet (7999), i.e. [7000, 8000).
    sb.on_sent({next_seg_rule::unsacked, base, 8000});
    r = sb.next_seg(snd_nxt, false);
    EXPECT_EQ(r.rule, next_seg_rule::rescue);
    EXPECT_EQ(r.seq, base + 7000);
    EXPECT_EQ(r.len, 1000U);
}

TEST(tcp_sack, rto_forgets_sack_state_rfc2018_8) {
    auto sb = three_holes();
    sb.enter_recovery(snd_nxt);
    sb.on_rto();
    EXPECT_TRUE(sb.ranges().empty());
    EXPECT_FALSE(sb.in_recovery());
    EXPECT_EQ(sb.pipe(snd_nxt), 10000U);
    EXPECT_EQ(sb.next_seg(snd_nxt, false).rule, next_seg_rule::none);
}

}  // namespace
}  // namespace sluice::dp::net::tcp
