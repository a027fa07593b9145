// Out-of-order queue over real mbufs (EAL initialized by eal_main.cc). Every test checks that
// all mbufs went back to the pool, so reference counting mistakes fail the test.
#include "net/tcp/reassembly.hh"

#include <gtest/gtest.h>
#include <rte_mbuf.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "eal_env.hh"

namespace sluice::dp::net::tcp {
namespace {

using sluice::dp::test::test_pool;

// A chain carrying `hdr` header bytes then payload byte `fill` repeated `len` times, split
// into segments of at most `seg_size` bytes so that views cross segment boundaries.
rte_mbuf* make_chain(std::uint32_t hdr, std::uint32_t len, char fill,
                     std::uint32_t seg_size = 700) {
    rte_mbuf* head = nullptr;
    std::uint32_t left = hdr + len;
    std::uint32_t written = 0;
    while (left > 0) {
        rte_mbuf* m = rte_pktmbuf_alloc(test_pool);
        EXPECT_NE(m, nullptr);
        const std::uint32_t n = std::min(left, seg_size);
        auto* p = rte_pktmbuf_mtod(m, char*);
        for (std::uint32_t k = 0; k < n; ++k, ++written) {
            p[k] = written < hdr ? 'H' : fill;
        }
        rte_pktmbuf_append(m, static_cast<std::uint16_t>(n));
        if (head == nullptr) {
            head = m;
        } else {
            EXPECT_EQ(rte_pktmbuf_chain(head, m), 0);
        }
        left -= n;
    }
    return head;
}

std::string read_view(const rx_view& v) {
    std::string s(v.len, '\0');
    const void* p = rte_pktmbuf_read(v.m, v.off, v.len, s.data());
    if (p != s.data()) {
        std::memcpy(s.data(), p, v.len);
    }
    return s;
}

class tcp_reassembly : public ::testing::Test {
protected:
    void SetUp() override { avail_ = rte_mempool_avail_count(test_pool); }
    void TearDown() override {
        q_.clear();
        EXPECT_EQ(rte_mempool_avail_count(test_pool), avail_) << "mbufs leaked or double freed";
    }
    // Pops everything in order and returns the bytes, releasing the views.
    std::string drain(seq_t& rcv_nxt) {
        std::array<rx_view, 64> out{};
        std::string s;
        const std::size_t n = q_.pop_ready(rcv_nxt, out);
        for (std::size_t i = 0; i < n; ++i) {
            s += read_view(out[i]);
            rte_pktmbuf_free(out[i].m);
        }
        return s;
    }

    reassembly_queue q_;
    reassembly_counters c_;
    unsigned avail_ = 0;
};

constexpr std::uint32_t hdr = 54;    // Ethernet + IPv4 + TCP headers left in the mbuf
constexpr seq_t nxt0 = 0xfffffe00U;  // queue contents straddle the 2^32 wrap

TEST_F(tcp_reassembly, overlapping_segment_keeps_first_copy) {
    seq_t rcv_nxt = nxt0;
    // First copy: [100, 400) as 'A'. Second: [0, 1000) as 'B', overlapping all of it.
    EXPECT_EQ(q_.insert(nxt0 + 100, make_chain(hdr, 300, 'A'), hdr, 300, rcv_nxt, c_), 300U);
    EXPECT_EQ(q_.insert(nxt0, make_chain(hdr, 1000, 'B'), hdr, 1000, rcv_nxt, c_), 700U);
    EXPECT_EQ(c_.overlap_bytes, 300U);
    EXPECT_EQ(q_.size(), 3U);  // B[0,100), A[100,400), B[400,1000): B's chain shared twice
    const std::string got = drain(rcv_nxt);
    EXPECT_EQ(got, std::string(100, 'B') + std::string(300, 'A') + std::string(600, 'B'));
    EXPECT_EQ(rcv_nxt, nxt0 + 1000);
    EXPECT_TRUE(q_.empty());
}

struct seg_spec {
    std::uint32_t start, len;  // offsets from nxt0
    char fill;
};

struct reasm_case {
    const char* name;
    std::vector<seg_spec> segs;    // inserted in this order, all out of order (rcv_nxt fixed)
    std::uint32_t delivered_from;  // rcv_nxt offset when draining
    std::string expect;            // bytes delivered
    std::uint64_t overlap, duplicates;
};

std::string rep(std::size_t n, char c) { return std::string(n, c); }

std::vector<reasm_case> cases() {
    return {
        {"in_order_pieces_arriving_reversed",
         {{200, 100, 'c'}, {100, 100, 'b'}, {0, 100, 'a'}},
         0,
         rep(100, 'a') + rep(100, 'b') + rep(100, 'c'),
         0,
         0},
        {"exact_duplicate_is_dropped",
         {{100, 100, 'a'}, {100, 100, 'b'}, {0, 100, 'z'}},
         0,
         rep(100, 'z') + rep(100, 'a'),
         100,
         1},
        {"tail_overlap_trimmed",
         {{100, 100, 'a'}, {150, 100, 'b'}, {0, 100, 'z'}},
         0,
         rep(100, 'z') + rep(100, 'a') + rep(50, 'b'),
         50,
         0},
        {"head_overlap_trimmed",
         {{100, 100, 'a'}, {50, 100, 'b'}, {0, 50, 'z'}},
         0,
         rep(50, 'z') + rep(50, 'b') + rep(100, 'a'),
         50,
         0},
        {"new_segment_inside_existing_is_duplicate",
         {{0, 300, 'a'}, {100, 50, 'b'}},
         0,
         rep(300, 'a'),
         50,
         1},
        {"fills_three_gaps_between_four_entries",
         {{100, 50, 'a'}, {200, 50, 'a'}, {300, 50, 'a'}, {0, 400, 'b'}},
         0,
         rep(100, 'b') + rep(50, 'a') + rep(50, 'b') + rep(50, 'a') + rep(50, 'b') + rep(50, 'a') +
             rep(50, 'b'),
         150,
         0},
        {"hole_blocks_delivery", {{100, 100, 'a'}}, 0, "", 0, 0},
        {"data_below_rcv_nxt_is_trimmed_on_delivery", {{0, 300, 'a'}}, 100, rep(200, 'a'), 0, 0},
    };
}

class tcp_reassembly_table : public tcp_reassembly,
                             public ::testing::WithParamInterface<reasm_case> {};

TEST_P(tcp_reassembly_table, delivers_first_copies_in_order) {
    const auto& c = GetParam();
    for (const auto& s : c.segs) {
        q_.insert(nxt0 + s.start, make_chain(hdr, s.len, s.fill), hdr, s.len, nxt0, c_);
    }
    seq_t rcv_nxt = nxt0 + c.delivered_from;
    EXPECT_EQ(drain(rcv_nxt), c.expect);
    EXPECT_EQ(rcv_nxt, nxt0 + c.delivered_from + c.expect.size());
    EXPECT_EQ(c_.overlap_bytes, c.overlap);
    EXPECT_EQ(c_.duplicate_segments, c.duplicates);
}

INSTANTIATE_TEST_SUITE_P(table, tcp_reassembly_table, ::testing::ValuesIn(cases()),
                         [](const auto& tp) { return std::string(tp.param.name); });

TEST_F(tcp_reassembly, delivery_skips_exactly_the_bytes_below_rcv_nxt) {
    // Payload bytes differ by position, so an off-by-some in the trimmed view shows.
    rte_mbuf* m = make_chain(hdr, 300, 'a');
    for (std::uint32_t k = 0; k < 300; ++k) {
        const char c = static_cast<char>('a' + k % 26);
        std::uint32_t at = hdr + k;  // walk the chain to the segment holding byte hdr + k
        rte_mbuf* seg = m;
        while (at >= seg->data_len) {
            at -= seg->data_len;
            seg = seg->next;
        }
        rte_pktmbuf_mtod_offset(seg, char*, at)[0] = c;
    }
    q_.insert(nxt0, m, hdr, 300, nxt0, c_);
    seq_t rcv_nxt = nxt0 + 131;  // the in-order path delivered 131 bytes meanwhile
    std::string want;
    for (std::uint32_t k = 131; k < 300; ++k) {
        want += static_cast<char>('a' + k % 26);
    }
    EXPECT_EQ(drain(rcv_nxt), want);
    EXPECT_EQ(rcv_nxt, nxt0 + 300);
}

TEST_F(tcp_reassembly, data_already_delivered_is_trimmed_on_insert) {
    seq_t rcv_nxt = nxt0 + 100;
    EXPECT_EQ(q_.insert(nxt0, make_chain(hdr, 300, 'a'), hdr, 300, rcv_nxt, c_), 200U);
    EXPECT_EQ(q_.insert(nxt0 + 20, make_chain(hdr, 50, 'b'), hdr, 50, rcv_nxt, c_), 0U);
    EXPECT_EQ(c_.duplicate_segments, 1U);
    EXPECT_EQ(c_.overlap_bytes, 150U);
    EXPECT_EQ(drain(rcv_nxt), rep(200, 'a'));
}

TEST_F(tcp_reassembly, full_queue_drops_new_data_and_counts_it) {
    const seq_t rcv_nxt = nxt0;
    for (std::uint32_t k = 0; k < reassembly_capacity; ++k) {
        ASSERT_EQ(q_.insert(nxt0 + 100 + 200 * k, make_chain(hdr, 100, 'a'), hdr, 100, rcv_nxt, c_),
                  100U);
    }
    EXPECT_EQ(q_.size(), reassembly_capacity);
    EXPECT_EQ(q_.insert(nxt0 + 100000, make_chain(hdr, 100, 'b'), hdr, 100, rcv_nxt, c_), 0U);
    EXPECT_EQ(c_.dropped_full, 1U);
    EXPECT_EQ(c_.dropped_full_bytes, 100U);
    EXPECT_EQ(q_.size(), reassembly_capacity);
    EXPECT_EQ(q_.bytes(), 100U * reassembly_capacity);
}

// Regression (test_tcp_bulk, 5 % loss): one lost segment at the start of a full 256 KiB window
// must not cost the rest of the window. With 32 entries everything past the 32nd out-of-order
// segment was dropped, so the sender had to resend it all and Linux's upload stalled.
TEST_F(tcp_reassembly, a_full_window_of_mss_segments_behind_one_hole_is_all_held) {
    constexpr std::uint32_t mss = 1448;
    constexpr std::uint32_t window = 256 * 1024;
    constexpr std::uint32_t segs = window / mss;  // 181, the first of them lost
    seq_t rcv_nxt = nxt0;
    for (std::uint32_t k = 1; k < segs; ++k) {
        ASSERT_EQ(q_.insert(nxt0 + mss * k, make_chain(hdr, mss, static_cast<char>('a' + k % 26),
                                                       2000),
                            hdr, mss, rcv_nxt, c_),
                  mss)
            << "segment " << k;
    }
    EXPECT_EQ(c_.dropped_full, 0U);
    EXPECT_EQ(q_.bytes(), mss * (segs - 1));
    // The retransmission fills the hole (delivered directly by the caller); the whole window is
    // then deliverable in order.
    rcv_nxt += mss;
    std::string want;
    for (std::uint32_t k = 1; k < segs; ++k) {
        want += rep(mss, static_cast<char>('a' + k % 26));
    }
    std::string got;
    for (int rounds = 0; rounds < 8 && !q_.empty(); ++rounds) {
        got += drain(rcv_nxt);
    }
    EXPECT_EQ(got, want);
    EXPECT_EQ(rcv_nxt, nxt0 + mss * segs);
}

TEST_F(tcp_reassembly, gaps_beyond_capacity_keep_the_lowest_pieces) {
    const seq_t rcv_nxt = nxt0;
    // capacity - 1 entries with gaps between them, then one segment spanning all gaps: only
    // one free entry, so only the lowest gap [0, 100) is kept.
    for (std::uint32_t k = 0; k + 1 < reassembly_capacity; ++k) {
        q_.insert(nxt0 + 100 + 200 * k, make_chain(hdr, 100, 'a'), hdr, 100, rcv_nxt, c_);
    }
    const std::uint32_t span = 200 * reassembly_capacity;
    EXPECT_EQ(q_.insert(nxt0, make_chain(hdr, span, 'b', 1500), hdr, span, rcv_nxt, c_), 100U);
    EXPECT_EQ(q_.size(), reassembly_capacity);
    EXPECT_EQ(q_.entries()[0].seq, nxt0);
    EXPECT_GT(c_.dropped_full, 0U);
}

TEST_F(tcp_reassembly, pop_stops_when_output_is_full_and_resumes) {
    seq_t rcv_nxt = nxt0;
    for (std::uint32_t k = 0; k < 5; ++k) {
        q_.insert(nxt0 + 100 * k, make_chain(hdr, 100, static_cast<char>('a' + k)), hdr, 100,
                  rcv_nxt, c_);
    }
    std::array<rx_view, 2> out{};
    EXPECT_EQ(q_.pop_ready(rcv_nxt, out), 2U);
    EXPECT_EQ(read_view(out[0]), rep(100, 'a'));
    EXPECT_EQ(read_view(out[1]), rep(100, 'b'));
    for (auto& v : out) {
        rte_pktmbuf_free(v.m);
    }
    EXPECT_EQ(rcv_nxt, nxt0 + 200);
    EXPECT_EQ(drain(rcv_nxt), rep(100, 'c') + rep(100, 'd') + rep(100, 'e'));
}

TEST_F(tcp_reassembly, clear_releases_shared_chains) {
    const seq_t rcv_nxt = nxt0;
    q_.insert(nxt0 + 100, make_chain(hdr, 10, 'a'), hdr, 10, rcv_nxt, c_);
    q_.insert(nxt0 + 300, make_chain(hdr, 10, 'a'), hdr, 10, rcv_nxt, c_);
    q_.insert(nxt0 + 50, make_chain(hdr, 400, 'b'), hdr, 400, rcv_nxt, c_);  // 3 views, 1 chain
    EXPECT_EQ(q_.size(), 5U);
    q_.clear();  // TearDown checks every mbuf came back exactly once
    EXPECT_TRUE(q_.empty());
}

std::vector<std::pair<std::uint32_t, std::uint32_t>> blocks_of(const reassembly_queue& q,
                                                               std::size_t slots) {
    std::array<sack_block, 4> b{};
    const std::size_t n = q.sack_blocks(std::span(b.data(), slots));
    std::vector<std::pair<std::uint32_t, std::uint32_t>> v;
    for (std::size_t i = 0; i < n; ++i) {
        v.emplace_back(b[i].left - nxt0, b[i].right - nxt0);
    }
    return v;
}

TEST_F(tcp_reassembly, sack_blocks_put_the_latest_segment_first_rfc2018_4) {
    using blocks = std::vector<std::pair<std::uint32_t, std::uint32_t>>;
    const seq_t rcv_nxt = nxt0;
    EXPECT_TRUE(blocks_of(q_, 4).empty());
    q_.insert(nxt0 + 1000, make_chain(hdr, 100, 'a'), hdr, 100, rcv_nxt, c_);
    EXPECT_EQ(blocks_of(q_, 4), (blocks{{1000, 1100}}));
    q_.insert(nxt0 + 3000, make_chain(hdr, 100, 'b'), hdr, 100, rcv_nxt, c_);
    EXPECT_EQ(blocks_of(q_, 4), (blocks{{3000, 3100}, {1000, 1100}}));
    // Extends the first run: that run is now the most recent and is reported merged.
    q_.insert(nxt0 + 1100, make_chain(hdr, 100, 'c'), hdr, 100, rcv_nxt, c_);
    EXPECT_EQ(blocks_of(q_, 4), (blocks{{1000, 1200}, {3000, 3100}}));
    q_.insert(nxt0 + 5000, make_chain(hdr, 100, 'd'), hdr, 100, rcv_nxt, c_);
    q_.insert(nxt0 + 7000, make_chain(hdr, 100, 'e'), hdr, 100, rcv_nxt, c_);
    q_.insert(nxt0 + 9000, make_chain(hdr, 100, 'f'), hdr, 100, rcv_nxt, c_);
    // Three slots (timestamps on): the three most recent runs.
    EXPECT_EQ(blocks_of(q_, 3), (blocks{{9000, 9100}, {7000, 7100}, {5000, 5100}}));
    EXPECT_EQ(blocks_of(q_, 4), (blocks{{9000, 9100}, {7000, 7100}, {5000, 5100}, {1000, 1200}}));
    // A duplicate inside an old run makes that run the first block again.
    q_.insert(nxt0 + 3000, make_chain(hdr, 100, 'x'), hdr, 100, rcv_nxt, c_);
    EXPECT_EQ(blocks_of(q_, 3), (blocks{{3000, 3100}, {9000, 9100}, {7000, 7100}}));
}

TEST_F(tcp_reassembly, sack_blocks_fill_with_older_runs_and_forget_delivered_ones) {
    using blocks = std::vector<std::pair<std::uint32_t, std::uint32_t>>;
    seq_t rcv_nxt = nxt0;
    for (std::uint32_t k = 0; k < 6; ++k) {
        q_.insert(nxt0 + 200 + 1000 * k, make_chain(hdr, 100, 'a'), hdr, 100, rcv_nxt, c_);
    }
    // Five segments into the same run: only one recent run, the rest filled highest first.
    for (std::uint32_t k = 0; k < 5; ++k) {
        q_.insert(nxt0 + 300 + 100 * k, make_chain(hdr, 100, 'b'), hdr, 100, rcv_nxt, c_);
    }
    EXPECT_EQ(blocks_of(q_, 4), (blocks{{200, 800}, {5200, 5300}, {4200, 4300}, {3200, 3300}}));
    // Fill [0, 200): the first run is delivered and must vanish from the blocks.
    q_.insert(nxt0, make_chain(hdr, 200, 'z'), hdr, 200, rcv_nxt, c_);
    EXPECT_EQ(drain(rcv_nxt).size(), 800U);
    EXPECT_EQ(blocks_of(q_, 4), (blocks{{5200, 5300}, {4200, 4300}, {3200, 3300}, {2200, 2300}}));
}

// Random segments against a byte model of "first copy wins": every byte delivered must be the
// byte of the first segment that covered it, in order, with nothing lost. Boundaries are
// multiples of 100 within a 3000-byte window, so at most 30 entries exist and the capacity
// limit never drops data (that path has its own tests).
TEST_F(tcp_reassembly, random_segments_match_first_copy_model) {
    std::mt19937 rng(4242);  // injected, deterministic
    constexpr std::uint32_t window = 3000;
    constexpr std::uint32_t total = 60000;
    std::vector<char> model(total + window, 0);  // 0: no copy seen yet
    seq_t rcv_nxt = nxt0;
    std::uint32_t delivered = 0;  // offset of rcv_nxt from nxt0
    std::string out;
    int id = 0;
    while (delivered < total) {
        const std::uint32_t lo = delivered >= 300 ? delivered - 300 : 0;
        const std::uint32_t start =
            lo + 100 * static_cast<std::uint32_t>(rng() % ((window + 300) / 100));
        const std::uint32_t len = 100 * (1 + static_cast<std::uint32_t>(rng() % 8));
        if (start + len > delivered + window) {
            continue;  // the caller trims to the window; keep the model simple
        }
        const char fill = static_cast<char>('!' + (id++ % 90));
        for (std::uint32_t o = std::max(start, delivered); o < start + len; ++o) {
            if (model[o] == 0) {
                model[o] = fill;
            }
        }
        q_.insert(nxt0 + start, make_chain(hdr, len, fill, 64 + rng() % 700), hdr, len, rcv_nxt,
                  c_);
        ASSERT_LE(q_.size(), 30U);
        if (rng() % 3 == 0) {
            const std::string got = drain(rcv_nxt);
            out += got;
            delivered = rcv_nxt - nxt0;
            ASSERT_EQ(out.size(), delivered);
        }
    }
    ASSERT_EQ(c_.dropped_full, 0U);
    EXPECT_EQ(out, std::string(model.begin(), model.begin() + static_cast<long>(delivered)));
}

}  // namespace
}  // namespace sluice::dp::net::tcp
