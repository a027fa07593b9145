// The SACK scoreboard against a brute-force model: one flag per octet of a small flight,
// IsLost and SetPipe evaluated octet by octet exactly as RFC 6675 §4 words them. Random ACKs
// (injected, seeded RNG) with valid, stale, overlapping and out-of-window blocks.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

#include "net/tcp/sack.hh"

namespace sluice::dp::net::tcp {
namespace {

constexpr std::uint32_t smss = 100;
constexpr std::uint32_t flight = 3000;  // octets in [una0, una0 + flight)

struct model {
    seq_t una0;
    std::uint32_t una = 0;  // offset of SND.UNA
    std::vector<bool> sacked = std::vector<bool>(flight, false);

    // IsLost for every octet in one pass from the top: what counts is the SACKed data strictly
    // above each octet (ranges starting above it, and bytes).
    std::vector<bool> lost() const {
        std::vector<bool> l(flight, false);
        std::uint32_t ranges = 0;
        std::uint32_t bytes = 0;
        for (std::uint32_t o = flight; o-- > 0;) {
            l[o] = ranges >= 3 || bytes > 2 * smss;
            if (sacked[o]) {
                ++bytes;
                if (o == 0 || !sacked[o - 1]) {
                    ++ranges;  // a range starts at o
                }
            }
        }
        return l;
    }
    bool is_lost(std::uint32_t o) const { return lost()[o]; }
    std::uint32_t pipe(std::uint32_t high_rxt) const {
        std::uint32_t p = 0;
        const auto l = lost();
        for (std::uint32_t o = una; o < flight; ++o) {
            if (sacked[o]) {
                continue;
            }
            if (!l[o]) {
                ++p;
            }
            if (o < high_rxt) {
                ++p;
            }
        }
        return p;
    }
};

TEST(tcp_sack_model, scoreboard_matches_octet_model_on_random_acks) {
    std::mt19937 rng(20261126);
    for (int round = 0; round < 30; ++round) {
        model m{static_cast<seq_t>(rng())};
        sack_scoreboard sb(m.una0, smss);
        const seq_t nxt = m.una0 + flight;
        for (int ack = 0; ack < 60; ++ack) {
            // Occasionally advance the cumulative ACK.
            if (rng() % 6 == 0 && m.una < flight) {
                m.una = std::min<std::uint32_t>(flight, m.una + rng() % 300);
            }
            std::vector<sack_block> blocks;
            const int nb = 1 + static_cast<int>(rng() % 4);
            for (int b = 0; b < nb; ++b) {
                // Boundaries on a 50-byte grid (and sometimes off it) so that the exact
                // thresholds (2 * SMSS bytes above, 3 ranges) actually occur.
                const bool grid = rng() % 4 != 0;
                const auto l = grid ? 50 * static_cast<std::uint32_t>(rng() % 64)
                                    : static_cast<std::uint32_t>(rng() % (flight + 200));
                const auto r = l + (grid ? 50 * (1 + static_cast<std::uint32_t>(rng() % 8))
                                         : 1 + static_cast<std::uint32_t>(rng() % 400));
                blocks.push_back({m.una0 + l, m.una0 + r});
            }
            const auto u = sb.update(m.una0 + m.una, nxt, blocks);
            // Apply to the model what the scoreboard is specified to accept: blocks within
            // (SND.UNA, SND.NXT], trimmed at SND.UNA; a D-SACK first block is skipped.
            for (std::size_t b = 0; b < blocks.size(); ++b) {
                const std::uint32_t l = blocks[b].left - m.una0;
                const std::uint32_t r = blocks[b].right - m.una0;
                if (b == 0 && (r <= m.una || (blocks.size() > 1 && blocks[1].left - m.una0 <= l &&
                                              r <= blocks[1].right - m.una0))) {
                    continue;
                }
                if (r > flight || r <= m.una) {
                    continue;
                }
                for (std::uint32_t o = std::max(l, m.una); o < r; ++o) {
                    m.sacked[o] = true;
                }
            }
            for (std::uint32_t o = 0; o < m.una; ++o) {
                m.sacked[o] = false;  // cumulatively acked, no longer on the scoreboard
            }
            ASSERT_FALSE(u.overflow);
            // Compare ranges octet by octet.
            std::vector<bool> got(flight, false);
            for (const auto& r : sb.ranges()) {
                for (seq_t s = r.start; s != r.end; ++s) {
                    got[s - m.una0] = true;
                }
            }
            ASSERT_EQ(got, m.sacked) << "round " << round << " ack " << ack;
            // IsLost at a few points, and pipe with and without retransmissions.
            for (int q = 0; q < 20; ++q) {
                const std::uint32_t o = m.una + rng() % (flight - m.una + 1);
                if (o < flight && !m.sacked[o]) {
                    ASSERT_EQ(sb.is_lost(m.una0 + o), m.is_lost(o)) << o;
                }
            }
            ASSERT_EQ(sb.pipe(nxt), m.pipe(0)) << "round " << round << " ack " << ack;
        }
        // Loss recovery: retransmit via NextSeg until it has nothing left; pipe stays in step.
        sb.enter_recovery(nxt);
        for (int step = 0; step < 200; ++step) {
            const auto seg = sb.next_seg(nxt, false);
            if (seg.rule == next_seg_rule::none) {
                break;
            }
            ASSERT_LE(seg.len, smss);
            const std::uint32_t o = seg.seq - m.una0;
            for (std::uint32_t k = o; k < o + seg.len; ++k) {
                ASSERT_FALSE(m.sacked[k]) << "NextSeg returned SACKed data";
            }
            if (seg.rule == next_seg_rule::lost) {
                ASSERT_TRUE(m.is_lost(o));  // rule 1.c
            }
            sb.on_sent(seg);
            ASSERT_EQ(sb.pipe(nxt), m.pipe(sb.high_rxt() - m.una0));
        }
    }
}

}  // namespace
}  // namespace sluice::dp::net::tcp
