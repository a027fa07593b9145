// byte_chain: the gateway's receive queue over mbuf segments. Every split point of a multi-segment
// stream is taken and consumed, shared views are copied, and every mbuf goes back to the pool.
#include "proxy/byte_chain.hh"

#include <gtest/gtest.h>

#include <numeric>
#include <string>
#include <vector>

#include "../../unit/dpdk_env.hh"

namespace sluice::dp::proxy {
namespace {

using test::dpdk_env;

rte_mbuf* seg_of(const std::string& s) {
    rte_mbuf* m = rte_pktmbuf_alloc(dpdk_env::get().pool);
    char* p = rte_pktmbuf_append(m, static_cast<std::uint16_t>(s.size()));
    std::memcpy(p, s.data(), s.size());
    return m;
}

std::string read_all(const rte_mbuf* m) {
    std::string out;
    for (; m != nullptr; m = m->next) {
        out.append(rte_pktmbuf_mtod(m, const char*), m->data_len);
    }
    return out;
}

std::string contents(const byte_chain& c) {
    std::string out(c.size(), '\0');
    c.copy_out(0, c.size(), out.data());
    return out;
}

// Three segments "hdr:abcdefgh", "ijklmnop", "qrstuvwx:tail" appended as views that skip a
// 4-byte "hdr:" prefix and a 5-byte ":tail" suffix, like TCP payload inside packets.
void fill(byte_chain& c) {
    rte_mempool* pool = dpdk_env::get().pool;
    ASSERT_TRUE(c.append(seg_of("hdr:abcdefgh"), 4, 8, pool));
    ASSERT_TRUE(c.append(seg_of("ijklmnop"), 0, 8, pool));
    ASSERT_TRUE(c.append(seg_of("qrstuvwx:tail"), 0, 8, pool));
}

TEST(byte_chain, append_trims_views_to_their_payload) {
    const unsigned before = dpdk_env::get().in_use();
    {
        byte_chain c;
        fill(c);
        EXPECT_EQ(c.size(), 24u);
        EXPECT_EQ(contents(c), "abcdefghijklmnopqrstuvwx");
    }
    EXPECT_EQ(dpdk_env::get().in_use(), before);
}

TEST(byte_chain, take_at_every_split_point_keeps_both_halves_and_frees_everything) {
    const std::string all = "abcdefghijklmnopqrstuvwx";
    rte_mempool* pool = dpdk_env::get().pool;
    const unsigned before = dpdk_env::get().in_use();
    for (std::uint32_t n = 1; n <= all.size(); ++n) {
        byte_chain c;
        fill(c);
        rte_mbuf* head = c.take(n, pool);
        ASSERT_NE(head, nullptr);
        EXPECT_EQ(head->pkt_len, n);
        EXPECT_EQ(read_all(head), all.substr(0, n)) << n;
        EXPECT_EQ(contents(c), all.substr(n)) << n;
        rte_pktmbuf_free(head);  // the indirect part lets go of the shared segment
    }
    EXPECT_EQ(dpdk_env::get().in_use(), before);
}

TEST(byte_chain, consume_and_view_across_segments) {
    char scratch[32];
    byte_chain c;
    fill(c);
    // In one segment: a view into the mbuf itself.
    auto v = c.view(2, 4, scratch, sizeof(scratch));
    EXPECT_EQ(v, "cdef");
    EXPECT_NE(v.data(), scratch);
    // Across a boundary: copied.
    v = c.view(6, 6, scratch, sizeof(scratch));
    EXPECT_EQ(v, "ghijkl");
    EXPECT_EQ(v.data(), scratch);
    c.consume(10);
    EXPECT_EQ(contents(c), "klmnopqrstuvwx");
    c.consume(100);
    EXPECT_TRUE(c.empty());
}

TEST(byte_chain, shared_mbufs_are_copied_not_trimmed_in_place) {
    rte_mempool* pool = dpdk_env::get().pool;
    const unsigned before = dpdk_env::get().in_use();
    rte_mbuf* m = seg_of("0123456789");
    rte_mbuf_refcnt_update(m, 1);  // someone else holds it too (e.g. a retransmit queue)
    {
        byte_chain c;
        ASSERT_TRUE(c.append(m, 3, 4, pool));  // our reference moves into the chain
        EXPECT_EQ(contents(c), "3456");
        // The other owner still sees the whole buffer.
        EXPECT_EQ(std::string(rte_pktmbuf_mtod(m, const char*), m->data_len), "0123456789");
    }
    rte_pktmbuf_free(m);
    EXPECT_EQ(dpdk_env::get().in_use(), before);
}

TEST(byte_chain, adopt_takes_a_chain_made_by_take) {
    rte_mempool* pool = dpdk_env::get().pool;
    byte_chain a, b;
    fill(a);
    b.adopt(a.take(11, pool));
    EXPECT_EQ(contents(b), "abcdefghijk");
    EXPECT_EQ(contents(a), "lmnopqrstuvwx");
    std::string runs;
    b.for_each_run(0, [&](const char* p, std::uint32_t n) {
        runs += std::string(p, n) + "|";
        return true;
    });
    EXPECT_EQ(runs, "abcdefgh|ijk|");
}

}  // namespace
}  // namespace sluice::dp::proxy
