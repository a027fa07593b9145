// The block-list pre-filter (ebpf/loader/block_prefilter.cc, sl_blk4_pf / sl_blk6_pf): a
// case table of block/unblock sequences, each followed by probes that check both the
// program's verdict (BPF_PROG_TEST_RUN) and, for IPv4, the /24's pre-filter state read back
// from the pinned bitmap, which shows whether the program decides without the LPM trie
// (none, FULL) or asks it (PART). Root and bpffs; skips otherwise.
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <unistd.h>

#include <cstring>

#include "xdp_fixture.hh"

namespace sluice::ebpf::test {
namespace {

constexpr int v6_probe = -1;  // no pre-filter state check (IPv6 bits are hashed buckets)
constexpr int none = 0;
constexpr int full = SLUICE_XDP_PF4_FULL;
constexpr int part = SLUICE_XDP_PF4_PART;

struct probe {
    const char* src;
    bool blocked;
    int pf_state;  // IPv4: expected 2-bit state of the source's /24
};

struct prefilter_case {
    const char* name;
    std::vector<const char*> add;
    std::vector<const char*> remove;  // after all adds
    std::vector<probe> probes;
};

// The fixture already blocks 192.0.2.0/24, 203.0.113.128/25 and 2001:db8:bad::/48; these
// rows use other ranges.
const std::vector<prefilter_case>& cases() {
    static const std::vector<prefilter_case> t = {
        {"slash8_marks_every_slash24_full",
         {"100.0.0.0/8"},
         {},
         {{"100.0.0.1", true, full},
          {"100.200.3.4", true, full},
          {"100.255.255.255", true, full},
          {"99.255.255.255", false, none},
          {"101.0.0.0", false, none}}},
        {"slash24_is_full_and_its_neighbours_untouched",
         {"198.18.7.0/24"},
         {},
         {{"198.18.7.0", true, full},
          {"198.18.7.255", true, full},
          {"198.18.6.255", false, none},
          {"198.18.8.0", false, none}}},
        {"slash25_sends_its_slash24_to_the_trie",
         {"198.18.9.0/25"},
         {},
         {{"198.18.9.127", true, part},
          {"198.18.9.128", false, part},
          {"198.18.10.1", false, none}}},
        {"slash32_blocks_one_host",
         {"198.18.10.10/32"},
         {},
         {{"198.18.10.10", true, part},
          {"198.18.10.11", false, part},
          {"198.18.11.10", false, none}}},
        {"overlap_short_and_long_both_present",
         {"100.0.0.0/8", "100.1.2.0/25"},
         {},
         {{"100.1.2.3", true, full | part},
          {"100.1.2.200", true, full | part},
          {"100.2.0.1", true, full}}},
        {"deleting_the_short_of_two_overlapping_keeps_the_long",
         {"100.0.0.0/8", "100.1.2.0/25"},
         {"100.0.0.0/8"},
         {{"100.1.2.3", true, part}, {"100.1.2.200", false, part}, {"100.2.0.1", false, none}}},
        {"deleting_the_long_of_two_overlapping_keeps_the_short",
         {"100.0.0.0/8", "100.1.2.0/25"},
         {"100.1.2.0/25"},
         {{"100.1.2.3", true, full}, {"100.1.2.200", true, full}}},
        {"deleting_a_slash16_keeps_an_overlapping_slash24",
         {"100.64.0.0/16", "100.64.1.0/24"},
         {"100.64.0.0/16"},
         {{"100.64.1.9", true, full}, {"100.64.2.9", false, none}}},
        {"deleting_everything_clears_the_bits",
         {"100.0.0.0/8", "100.1.2.0/25"},
         {"100.0.0.0/8", "100.1.2.0/25"},
         {{"100.1.2.3", false, none}, {"100.2.0.1", false, none}}},
        {"v6_slash48",
         {"2001:db8:1::/48"},
         {},
         {{"2001:db8:1:5::1", true, v6_probe}, {"2001:db8:2::1", false, v6_probe}}},
        {"v6_slash20_sets_every_bucket",
         {"3fff::/20"},
         {},
         {{"3fff:fff::1", true, v6_probe}, {"3fff:1000::1", false, v6_probe}}},
        {"v6_slash40_sets_its_256_slash48s",
         {"2001:db8:100::/40"},
         {},
         {{"2001:db8:100::1", true, v6_probe},
          {"2001:db8:1ff:ffff::1", true, v6_probe},
          {"2001:db8:200::1", false, v6_probe},
          {"2001:db8:ff:ffff::1", false, v6_probe}}},
        {"v6_slash128",
         {"2001:db8:5::5/128"},
         {},
         {{"2001:db8:5::5", true, v6_probe}, {"2001:db8:5::6", false, v6_probe}}},
        {"v6_slash8_covers_every_bucket",
         {"3f00::/8"},
         {},
         {{"3f01::1", true, v6_probe}, {"2001:db8:1::1", false, v6_probe}}},
        {"v6_deleting_the_short_of_two_overlapping_keeps_the_long",
         {"2001:db8:1::/48", "2001:db8:1:2::/64"},
         {"2001:db8:1::/48"},
         {{"2001:db8:1:2::9", true, v6_probe}, {"2001:db8:1:3::9", false, v6_probe}}},
        {"v6_deleting_the_long_of_two_overlapping_keeps_the_short",
         {"2001:db8:1::/48", "2001:db8:1:2::/64"},
         {"2001:db8:1:2::/64"},
         {{"2001:db8:1:2::9", true, v6_probe}, {"2001:db8:1:3::9", true, v6_probe}}},
    };
    return t;
}

class block_prefilter : public xdp_fixture, public ::testing::WithParamInterface<std::string> {
protected:
    // The 2-bit state of a's /24 in the pinned sl_blk4_pf.
    int pf4_state(const ip_addr& a) {
        const int fd = bpf_obj_get((pin_root_ + "/sl_blk4_pf").c_str());
        EXPECT_GE(fd, 0);
        std::uint32_t host = 0;
        std::memcpy(&host, &a.bytes[12], 4);
        const std::uint32_t idx = ntohl(host) >> 8;
        const std::uint32_t word = idx >> 5;
        std::uint64_t w = 0;
        EXPECT_EQ(bpf_map_lookup_elem(fd, &word, &w), 0);
        close(fd);
        return static_cast<int>((w >> ((idx & 31) * 2)) & 3);
    }
};

const prefilter_case& case_named(const std::string& n) {
    for (const auto& c : cases()) {
        if (n == c.name) {
            return c;
        }
    }
    std::abort();
}

TEST_P(block_prefilter, verdicts_and_bitmap_follow_the_trie) {
    const prefilter_case& c = case_named(GetParam());
    for (const char* text : c.add) {
        auto st = maps().block(cidr::parse(text).value());
        ASSERT_TRUE(st.ok()) << text << ": " << st.message();
    }
    for (const char* text : c.remove) {
        auto st = maps().unblock(cidr::parse(text).value());
        ASSERT_TRUE(st.ok()) << text << ": " << st.message();
    }
    for (const probe& p : c.probes) {
        const ip_addr a = ip_addr::parse(p.src).value();
        const bytes frame =
            a.is_v4 ? tcp4(a.v4(), svc4, 80, tcp_syn) : tcp6(a.bytes, svc6, 443, tcp_syn);
        const outcome o = run(frame);
        EXPECT_EQ(o.delta[SLUICE_CNT_DROP_BLOCKLIST], p.blocked ? 1u : 0u) << p.src;
        EXPECT_EQ(o.action, p.blocked ? XDP_DROP : XDP_PASS) << p.src;
        if (p.pf_state != v6_probe) {
            EXPECT_EQ(pf4_state(a), p.pf_state) << p.src;
        }
    }
}

std::vector<std::string> names() {
    std::vector<std::string> n;
    for (const auto& c : cases()) {
        n.emplace_back(c.name);
    }
    return n;
}

INSTANTIATE_TEST_SUITE_P(cases, block_prefilter, ::testing::ValuesIn(names()),
                         [](const ::testing::TestParamInfo<std::string>& p) { return p.param; });

TEST(block_prefilter_words, slash0_marks_everything_and_other_family_is_ignored) {
    const auto v4 = detail::prefilter_words(
        {cidr::parse("0.0.0.0/0").value(), cidr::parse("2001:db8::/32").value()}, false);
    ASSERT_EQ(v4.size(), SLUICE_XDP_PF4_WORDS);
    // FULL (01) in every 2-bit field.
    for (const auto w : v4) {
        ASSERT_EQ(w, 0x5555555555555555ULL);
    }
    const auto v6 = detail::prefilter_words({cidr::parse("0.0.0.0/0").value()}, true);
    for (const auto w : v6) {
        ASSERT_EQ(w, 0u);
    }
}

int popcount(const std::vector<std::uint64_t>& w) {
    int n = 0;
    for (const auto x : w) {
        n += __builtin_popcountll(x);
    }
    return n;
}

TEST(block_prefilter_words, v6_sets_one_bucket_per_slash48_covered) {
    // A /48 and anything longer inside it: one bit. A /40: at most 256 (hash collisions can
    // only make it fewer). Shorter than /24: every bit.
    EXPECT_EQ(popcount(detail::prefilter_words({cidr::parse("2001:db8:1::/48").value()}, true)), 1);
    EXPECT_EQ(popcount(detail::prefilter_words({cidr::parse("2001:db8:1:2::5/128").value()}, true)),
              1);
    const int n40 =
        popcount(detail::prefilter_words({cidr::parse("2001:db8:100::/40").value()}, true));
    EXPECT_GT(n40, 240);
    EXPECT_LE(n40, 256);
    EXPECT_EQ(popcount(detail::prefilter_words({cidr::parse("2001::/16").value()}, true)),
              static_cast<int>(SLUICE_XDP_PF6_BITS));
}

}  // namespace
}  // namespace sluice::ebpf::test
