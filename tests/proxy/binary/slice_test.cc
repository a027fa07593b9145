// Unit tests for slice_chain (proxy/binary/slice.hh): the zero-copy chain over a frame's byte
// range that the gateway forwards upstream.
#include "proxy/binary/slice.hh"

#include <gtest/gtest.h>
#include <rte_mbuf.h>

#include <cstring>

#include "../../unit/dpdk_env.hh"
#include "frame_cases.hh"

namespace bp = sluice::dp::proxy::binary;
using sluice::test::binary::bytes;

namespace {

rte_mbuf* chain_of(rte_mempool* pool, const bytes& b, std::initializer_list<std::size_t> segs) {
    rte_mbuf* head = nullptr;
    std::size_t at = 0;
    for (std::size_t s : segs) {
        rte_mbuf* m = rte_pktmbuf_alloc(pool);
        std::memcpy(rte_pktmbuf_append(m, static_cast<std::uint16_t>(s)), b.data() + at, s);
        at += s;
        if (head == nullptr) {
            head = m;
        } else if (rte_pktmbuf_chain(head, m) != 0) {
            return nullptr;
        }
    }
    return head;
}

bytes bytes_of(const rte_mbuf* m) {
    bytes out;
    for (; m != nullptr; m = m->next) {
        const auto* p = rte_pktmbuf_mtod(m, const std::uint8_t*);
        out.insert(out.end(), p, p + m->data_len);
    }
    return out;
}

TEST(binary_slice, covers_exactly_the_range_and_outlives_the_source) {
    auto& env = sluice::test::dpdk_env::get();
    const unsigned before = env.in_use();
    const bytes b = sluice::test::binary::pattern(3000, 4);
    for (std::uint32_t off : {0U, 1U, 999U, 1000U, 1500U}) {
        for (std::uint32_t len : {1U, 14U, 1000U, 1500U}) {
            if (off + len > b.size()) {
                continue;
            }
            rte_mbuf* src = chain_of(env.pool, b, {1000, 500, 1, 1499});
            ASSERT_NE(src, nullptr);
            rte_mbuf* s = bp::slice_chain(src, off, len, env.pool);
            ASSERT_NE(s, nullptr);
            rte_pktmbuf_free(src);  // the slice keeps the data alive
            EXPECT_EQ(s->pkt_len, len);
            EXPECT_EQ(rte_pktmbuf_pkt_len(s), len);
            EXPECT_EQ(bytes_of(s), bytes(b.begin() + off, b.begin() + off + len))
                << off << "+" << len;
            unsigned segs = 0;
            for (const rte_mbuf* m = s; m != nullptr; m = m->next) {
                ++segs;
                EXPECT_TRUE(RTE_MBUF_CLONED(m));  // zero-copy: indirect mbufs
            }
            EXPECT_EQ(s->nb_segs, segs);
            rte_pktmbuf_free(s);
        }
    }
    EXPECT_EQ(env.in_use(), before);
    EXPECT_EQ(bp::slice_chain(nullptr, 0, 0, env.pool), nullptr);
}

TEST(binary_slice, pool_exhaustion_returns_null_and_leaks_nothing) {
    auto& env = sluice::test::dpdk_env::get();
    rte_mempool* tiny = rte_pktmbuf_pool_create("slice_tiny", 2, 0, 0, 0, SOCKET_ID_ANY);
    ASSERT_NE(tiny, nullptr);
    const bytes b = sluice::test::binary::pattern(30, 4);
    rte_mbuf* src = chain_of(env.pool, b, {10, 10, 10});
    const unsigned before = env.in_use();
    EXPECT_EQ(bp::slice_chain(src, 0, 30, tiny), nullptr);  // needs 3 indirect mbufs
    EXPECT_EQ(rte_mempool_in_use_count(tiny), 0U);
    EXPECT_EQ(rte_mbuf_refcnt_read(src), 1);
    EXPECT_EQ(env.in_use(), before);
    rte_pktmbuf_free(src);
    rte_mempool_free(tiny);
}

}  // namespace
