// The parser fed the way the gateway feeds it: one mbuf segment's data at a time, the message
// starting part-way into the first segment; then every slice resolved against the chain with
// resolve() must equal the bytes of the message, without a copy when the slice lies in one
// segment.
#include <gtest/gtest.h>
#include <rte_mbuf.h>

#include <cstring>
#include <string>
#include <vector>

#include "../../unit/dpdk_env.hh"
#include "http_cases.hh"
#include "http_driver.hh"
#include "proxy/http/mbuf_slice.hh"

namespace sluice::test::http {

void PrintTo(const request_case& c, std::ostream* os) { *os << c.name; }

namespace {

constexpr std::uint32_t prefix = 5;  // bytes of an earlier message before ours in segment one

// `prefix` junk bytes then `raw`, in segments of `seg` bytes.
rte_mbuf* chain_of(const std::string& raw, std::uint32_t seg) {
    const std::string all = std::string(prefix, 'J') + raw;
    rte_mbuf* head = nullptr;
    for (std::size_t at = 0; at < all.size(); at += seg) {
        rte_mbuf* m = rte_pktmbuf_alloc(dpdk_env::get().pool);
        if (m == nullptr) {
            rte_pktmbuf_free(head);
            return nullptr;
        }
        const auto n = static_cast<std::uint16_t>(std::min<std::size_t>(seg, all.size() - at));
        std::memcpy(rte_pktmbuf_append(m, n), all.data() + at, n);
        if (head == nullptr) {
            head = m;
        } else if (rte_pktmbuf_chain(head, m) != 0) {
            rte_pktmbuf_free(m);
            rte_pktmbuf_free(head);
            return nullptr;
        }
    }
    return head;
}

bool inside_chain(const rte_mbuf* m, const char* p) {
    for (; m != nullptr; m = m->next) {
        const char* d = rte_pktmbuf_mtod(m, const char*);
        if (p >= d && p < d + m->data_len) {
            return true;
        }
    }
    return false;
}

class mbuf_chain : public ::testing::TestWithParam<request_case> {};

TEST_P(mbuf_chain, segments_parse_and_slices_resolve) {
    const request_case& c = GetParam();
    if (c.raw.size() > 20000) {
        GTEST_SKIP() << "limit case: covered by the span tests";
    }
    for (std::uint32_t seg : {1U, 7U, 64U, 1500U}) {
        if (seg == 1 && c.raw.size() > 4000) {
            continue;  // one mbuf per byte would drain the test pool
        }
        rte_mbuf* chain = chain_of(c.raw, seg);
        ASSERT_NE(chain, nullptr);
        h::request_parser p;
        // Feed segment by segment, starting `prefix` bytes into the first.
        std::uint32_t skip = prefix;
        for (const rte_mbuf* m = chain; m != nullptr; m = m->next) {
            const char* d = rte_pktmbuf_mtod(m, const char*);
            const std::uint32_t n = m->data_len;
            if (skip >= n) {
                skip -= n;
                continue;
            }
            p.feed_head(d + skip, n - skip);
            skip = 0;
            if (p.head_state() != h::request_parser::state::need_more) {
                break;
            }
        }
        if (c.err != h::error::none) {
            // Body errors show only in the body reader; the head may be fine.
            if (p.head_state() == h::request_parser::state::error) {
                EXPECT_EQ(p.err(), c.err);
            }
            rte_pktmbuf_free(chain);
            continue;
        }
        ASSERT_EQ(p.head_state(), h::request_parser::state::done) << "seg " << seg;
        const auto& hd = p.head();
        std::vector<h::slice> slices = {hd.method_tok, hd.target, hd.path, hd.query, hd.host};
        for (std::uint16_t i = 0; i < hd.header_count; ++i) {
            slices.push_back(hd.headers[i].name);
            slices.push_back(hd.headers[i].value);
        }
        char scratch[16384];
        for (const h::slice s : slices) {
            const std::string_view v = h::resolve(chain, prefix, s, scratch, sizeof(scratch));
            ASSERT_EQ(v, h::view_of(c.raw.data(), s)) << "seg " << seg << " off " << s.off;
            const bool one_segment = (prefix + s.off) / seg == (prefix + s.off + s.len - 1) / seg;
            if (s.len != 0) {
                EXPECT_EQ(inside_chain(chain, v.data()), one_segment) << "seg " << seg;
            }
        }
        rte_pktmbuf_free(chain);
    }
}

INSTANTIATE_TEST_SUITE_P(cases, mbuf_chain, ::testing::ValuesIn(request_cases()),
                         [](const auto& tp) { return std::string(tp.param.name); });

TEST(http_resolve, short_chain_or_small_scratch_gives_empty_view) {
    rte_mbuf* chain = chain_of("GET / HTTP/1.1\r\n", 4);
    ASSERT_NE(chain, nullptr);
    char scratch[4];
    EXPECT_EQ(h::resolve(chain, prefix, {0, 3}, scratch, sizeof(scratch)), "GET");  // one segment
    EXPECT_EQ(h::resolve(chain, prefix, {0, 10}, scratch, sizeof(scratch)), "");
    EXPECT_EQ(h::resolve(chain, prefix, {100, 2}, scratch, sizeof(scratch)), "");
    char big[64];
    EXPECT_EQ(h::resolve(chain, prefix, {0, 14}, big, sizeof(big)), "GET / HTTP/1.1");
    rte_pktmbuf_free(chain);
}

}  // namespace
}  // namespace sluice::test::http
