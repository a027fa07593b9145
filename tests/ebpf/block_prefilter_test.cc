// The block-list pre-filter (ebpf/loader/block_prefilter.cc, sl_blk4_pf / sl_blk6_pf) and the
// exact host table of partly blocked IPv4 /24s (sl_blk4_hosts): a case table of
// block/unblock sequences, each followed by probes that check both the program's verdict
// (BPF_PROG_TEST_RUN) and, for IPv4, the /24's pre-filter state read back from the pinned
// bitmap (none, FULL, or PART) and the /24's slot in the pinned host table (present with the
// probed host's bit equal to the verdict exactly when PART). Plus: the program decides a PART
// /24 from the table without the trie, and a full table bucket falls back to the trie.
// Root and bpffs; skips otherwise.
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <unistd.h>

#include <cstring>

#include "xdp_fixture.hh"

namespace sluice::ebpf::test {
namespace {

// IPv6: the source's bucket in sl_blk6_pf / sl_blk6_exact: bit clear (not blocked, nothing
// asked), decided by the exact prefix table, or sent to the trie.
constexpr int v6_none = 10;
constexpr int v6_exact = 11;
constexpr int v6_trie = 12;
constexpr int none = 0;
constexpr int full = SLUICE_XDP_PF4_FULL;
constexpr int part = SLUICE_XDP_PF4_PART;

struct probe {
    const char* src;
    bool blocked;
    int pf_state;  // IPv4: expected 2-bit state of the source's /24; IPv6: v6_*
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
         {{"100.1.2.3", true, full}, {"100.1.2.200", true, full}, {"100.2.0.1", true, full}}},
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
        {"slash22_and_slash28_inside_both_present",
         {"100.70.4.0/22", "100.70.5.16/28"},
         {},
         {{"100.70.5.20", true, full},
          {"100.70.5.15", true, full},
          {"100.70.7.255", true, full},
          {"100.70.8.0", false, none}}},
        {"deleting_the_slash22_keeps_the_slash28_exactly",
         {"100.70.4.0/22", "100.70.5.16/28"},
         {"100.70.4.0/22"},
         {{"100.70.5.16", true, part},
          {"100.70.5.31", true, part},
          {"100.70.5.15", false, part},
          {"100.70.5.32", false, part},
          {"100.70.4.1", false, none},
          {"100.70.7.255", false, none}}},
        {"deleting_the_slash28_keeps_the_slash22",
         {"100.70.4.0/22", "100.70.5.16/28"},
         {"100.70.5.16/28"},
         {{"100.70.5.20", true, full},
          {"100.70.4.0", true, full},
          {"100.70.7.255", true, full},
          {"100.70.8.0", false, none}}},
        {"hosts_and_a_slash30_share_one_slash24_entry",
         {"198.18.20.1/32", "198.18.20.7/32", "198.18.20.64/30"},
         {},
         {{"198.18.20.1", true, part},
          {"198.18.20.2", false, part},
          {"198.18.20.7", true, part},
          {"198.18.20.63", false, part},
          {"198.18.20.64", true, part},
          {"198.18.20.67", true, part},
          {"198.18.20.68", false, part}}},
        {"removing_one_host_restores_it_and_keeps_its_neighbour",
         {"198.18.20.1/32", "198.18.20.7/32"},
         {"198.18.20.7/32"},
         {{"198.18.20.1", true, part}, {"198.18.20.7", false, part}}},
        {"removing_the_last_host_clears_the_entry",
         {"198.18.20.1/32"},
         {"198.18.20.1/32"},
         {{"198.18.20.1", false, none}}},
        {"first_and_last_host_of_each_word",
         {"198.18.22.0/32", "198.18.22.63/32", "198.18.22.64/32", "198.18.22.255/32"},
         {},
         {{"198.18.22.0", true, part},
          {"198.18.22.1", false, part},
          {"198.18.22.62", false, part},
          {"198.18.22.63", true, part},
          {"198.18.22.64", true, part},
          {"198.18.22.65", false, part},
          {"198.18.22.254", false, part},
          {"198.18.22.255", true, part}}},
        {"a_slash24_over_blocked_hosts_makes_it_full",
         {"198.18.21.5/32", "198.18.21.0/24"},
         {},
         {{"198.18.21.5", true, full}, {"198.18.21.6", true, full}}},
        {"removing_the_slash24_over_blocked_hosts_restores_the_hosts",
         {"198.18.21.5/32", "198.18.21.0/24"},
         {"198.18.21.0/24"},
         {{"198.18.21.5", true, part}, {"198.18.21.6", false, part}}},
        {"v6_slash48",
         {"2001:db8:1::/48"},
         {},
         {{"2001:db8:1:5::1", true, v6_exact}, {"2001:db8:2::1", false, v6_none}}},
        {"v6_slash20_sets_every_bucket",
         {"3fff::/20"},
         {},
         {{"3fff:fff::1", true, v6_trie}, {"3fff:1000::1", false, v6_trie}}},
        {"v6_slash40_sets_its_256_slash48s",
         {"2001:db8:100::/40"},
         {},
         {{"2001:db8:100::1", true, v6_exact},
          {"2001:db8:1ff:ffff::1", true, v6_exact},
          {"2001:db8:200::1", false, v6_none},
          {"2001:db8:ff:ffff::1", false, v6_none}}},
        {"v6_slash128",
         {"2001:db8:5::5/128"},
         {},
         {{"2001:db8:5::5", true, v6_trie}, {"2001:db8:5::6", false, v6_trie}}},
        {"v6_slash8_covers_every_bucket",
         {"3f00::/8"},
         {},
         {{"3f01::1", true, v6_trie}, {"2001:db8:1::1", false, v6_trie}}},
        {"v6_deleting_the_short_of_two_overlapping_keeps_the_long",
         {"2001:db8:1::/48", "2001:db8:1:2::/64"},
         {"2001:db8:1::/48"},
         {{"2001:db8:1:2::9", true, v6_exact}, {"2001:db8:1:3::9", false, v6_exact}}},
        {"v6_deleting_the_long_of_two_overlapping_keeps_the_short",
         {"2001:db8:1::/48", "2001:db8:1:2::/64"},
         {"2001:db8:1:2::/64"},
         {{"2001:db8:1:2::9", true, v6_exact}, {"2001:db8:1:3::9", true, v6_exact}}},
        {"v6_slash56_lists_its_256_slash64s",
         {"2001:db8:7:ab00::/56"},
         {},
         {{"2001:db8:7:ab00::1", true, v6_exact},
          {"2001:db8:7:abff::1", true, v6_exact},
          {"2001:db8:7:ac00::1", false, v6_exact},
          {"2001:db8:7:aaff::1", false, v6_exact}}},
        {"v6_slash52_goes_to_the_trie",
         {"2001:db8:8:1000::/52"},
         {},
         {{"2001:db8:8:1fff::1", true, v6_trie}, {"2001:db8:8:2000::1", false, v6_trie}}},
        {"v6_removing_a_slash128_gives_its_slash48_back_to_the_table",
         {"2001:db8:9:1::/64", "2001:db8:9:2::5/128"},
         {"2001:db8:9:2::5/128"},
         {{"2001:db8:9:1::1", true, v6_exact}, {"2001:db8:9:2::5", false, v6_exact}}},
        {"v6_slash64_and_slash128_in_one_slash48_both_present",
         {"2001:db8:9:1::/64", "2001:db8:9:2::5/128"},
         {},
         {{"2001:db8:9:1::1", true, v6_trie},
          {"2001:db8:9:2::5", true, v6_trie},
          {"2001:db8:9:2::6", false, v6_trie}}},
        {"v6_deleting_a_slash44_keeps_a_slash64_inside",
         {"2001:db8:10::/44", "2001:db8:1a:1::/64"},
         {"2001:db8:10::/44"},
         {{"2001:db8:1a:1::1", true, v6_exact},
          {"2001:db8:1a:2::1", false, v6_exact},
          {"2001:db8:10::1", false, v6_none}}},
        {"v6_deleting_a_slash64_inside_a_slash44_keeps_the_slash44",
         {"2001:db8:10::/44", "2001:db8:1a:1::/64"},
         {"2001:db8:1a:1::/64"},
         {{"2001:db8:1a:1::1", true, v6_exact},
          {"2001:db8:1a:2::1", true, v6_exact},
          {"2001:db8:1f:ffff::1", true, v6_exact},
          {"2001:db8:20::1", false, v6_none}}},
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

// The source's IPv6 bucket: v6_none, v6_exact or v6_trie, from the pinned bitmaps.
int pf6_state(const std::string& pin_root, const ip_addr& a) {
    std::uint64_t top = 0;
    for (int i = 0; i < 8; ++i) {
        top = (top << 8) | a.bytes[i];
    }
    const std::uint32_t idx = sluice_xdp_pf6_index(top >> 16);
    const std::uint32_t word = idx >> 6;
    int bits[2] = {0, 0};
    const char* names[2] = {"/sl_blk6_pf", "/sl_blk6_exact"};
    for (int m = 0; m < 2; ++m) {
        const int fd = bpf_obj_get((pin_root + names[m]).c_str());
        EXPECT_GE(fd, 0);
        std::uint64_t w = 0;
        EXPECT_EQ(bpf_map_lookup_elem(fd, &word, &w), 0);
        close(fd);
        bits[m] = static_cast<int>((w >> (idx & 63)) & 1);
    }
    return bits[0] == 0 ? v6_none : (bits[1] != 0 ? v6_exact : v6_trie);
}

// a's /24 in the pinned sl_blk4_hosts: -1 when it has no slot, else a's host bit (0 or 1).
int hosts4_state(const std::string& pin_root, const ip_addr& a) {
    const int fd = bpf_obj_get((pin_root + "/sl_blk4_hosts").c_str());
    EXPECT_GE(fd, 0);
    std::uint32_t host = 0;
    std::memcpy(&host, &a.bytes[12], 4);
    host = ntohl(host);
    const std::uint32_t idx = host >> 8;
    const std::uint32_t bucket = sluice_xdp_hosts4_bucket_of(idx);
    sluice_xdp_hosts4_bucket b{};
    EXPECT_EQ(bpf_map_lookup_elem(fd, &bucket, &b), 0);
    close(fd);
    for (int s = 0; s < SLUICE_XDP_HOSTS4_SLOTS; ++s) {
        if (b.key[s] == idx + 1) {
            const std::uint32_t h = host & 0xff;
            return static_cast<int>((b.bits[s][h >> 6] >> (h & 63)) & 1);
        }
    }
    return -1;
}

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
        if (!a.is_v4) {
            EXPECT_EQ(pf6_state(pin_root_, a), p.pf_state) << p.src;
        } else {
            EXPECT_EQ(pf4_state(a), p.pf_state) << p.src;
            // PART: the table holds the /24 and decides exactly; otherwise no slot.
            EXPECT_EQ(hosts4_state(pin_root_, a), p.pf_state == part ? int{p.blocked} : -1)
                << p.src;
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

using block_hosts4 = xdp_fixture;

bytes syn_from(const ip_addr& a) { return tcp4(a.v4(), svc4, 80, tcp_syn); }

ip_addr v4_of(std::uint32_t host_order) {
    const std::uint32_t n = htonl(host_order);
    const auto* b = reinterpret_cast<const std::uint8_t*>(&n);
    return ip_addr::parse(std::to_string(b[0]) + "." + std::to_string(b[1]) + "." +
                          std::to_string(b[2]) + "." + std::to_string(b[3]))
        .value();
}

TEST_F(block_hosts4, partly_blocked_slash24_is_decided_without_the_trie) {
    const cidr host = cidr::parse("198.18.30.9/32").value();
    ASSERT_TRUE(maps().block(host).ok());
    // Remove the trie entry behind the loader's back: the program must still drop the host,
    // which only the host table can tell it.
    const int trie = bpf_obj_get((pin_root_ + "/sl_block_v4").c_str());
    ASSERT_GE(trie, 0);
    sluice_xdp_lpm_v4 k{32, {198, 18, 30, 9}};
    EXPECT_EQ(bpf_map_delete_elem(trie, &k), 0);
    close(trie);
    EXPECT_EQ(run(syn_from(host.addr)).action, XDP_DROP);
    EXPECT_EQ(run(syn_from(ip_addr::parse("198.18.30.10").value())).action, XDP_PASS);
    // A resync rebuilds the table from the trie, which no longer has the host.
    ASSERT_TRUE(maps().sync_flags().ok());
    EXPECT_EQ(run(syn_from(host.addr)).action, XDP_PASS);
    EXPECT_EQ(hosts4_state(pin_root_, host.addr), -1);
}

TEST_F(block_hosts4, v6_exact_bucket_is_decided_without_the_trie) {
    const cidr net = cidr::parse("2001:db8:30::/48").value();
    ASSERT_TRUE(maps().block(net).ok());
    const int trie = bpf_obj_get((pin_root_ + "/sl_block_v6").c_str());
    ASSERT_GE(trie, 0);
    sluice_xdp_lpm_v6 k{48, {}};
    std::memcpy(k.addr, net.addr.bytes.data(), 16);
    EXPECT_EQ(bpf_map_delete_elem(trie, &k), 0);
    close(trie);
    const ip_addr inside = ip_addr::parse("2001:db8:30:1::1").value();
    const auto syn6 = [](const ip_addr& a) { return tcp6(a.bytes, svc6, 443, tcp_syn); };
    EXPECT_EQ(run(syn6(inside)).action, XDP_DROP);
    ASSERT_TRUE(maps().sync_flags().ok());
    EXPECT_EQ(run(syn6(inside)).action, XDP_PASS);
}

TEST_F(block_hosts4, full_bucket_leaves_the_slash24_to_the_trie) {
    // Nine /24s of 10.0.0.0/8 that share one table bucket (one with none of the fixture's
    // entries): eight get its slots, the ninth must be decided by the trie.
    const std::uint32_t fixture_bucket = sluice_xdp_hosts4_bucket_of((203u << 16) | 113u);
    std::vector<std::uint32_t> idx;
    const std::uint32_t want = sluice_xdp_hosts4_bucket_of(0x0a0000u) == fixture_bucket
                                   ? sluice_xdp_hosts4_bucket_of(0x0a0001u)
                                   : sluice_xdp_hosts4_bucket_of(0x0a0000u);
    for (std::uint32_t i = 0x0a0000u; i < 0x0b0000u && idx.size() < 9; ++i) {
        if (sluice_xdp_hosts4_bucket_of(i) == want) {
            idx.push_back(i);
        }
    }
    ASSERT_EQ(idx.size(), 9u);
    std::vector<cidr> entries;
    for (const std::uint32_t i : idx) {
        entries.push_back(cidr{v4_of((i << 8) | 9), 32});
    }
    ASSERT_TRUE(maps().block_all(entries).ok());
    int in_table = 0;
    for (const std::uint32_t i : idx) {
        EXPECT_EQ(run(syn_from(v4_of((i << 8) | 9))).action, XDP_DROP) << i;
        EXPECT_EQ(run(syn_from(v4_of((i << 8) | 10))).action, XDP_PASS) << i;
        in_table += hosts4_state(pin_root_, v4_of((i << 8) | 9)) == 1 ? 1 : 0;
    }
    EXPECT_EQ(in_table, SLUICE_XDP_HOSTS4_SLOTS);
    // Free a slot: verdicts stay exact, and the next sync gives the waiting /24 that slot.
    ASSERT_TRUE(maps().unblock(entries[0]).ok());
    ASSERT_TRUE(maps().sync_flags().ok());
    in_table = 0;
    for (std::size_t n = 0; n < idx.size(); ++n) {
        const ip_addr a = v4_of((idx[n] << 8) | 9);
        EXPECT_EQ(run(syn_from(a)).action, n == 0 ? XDP_PASS : XDP_DROP) << idx[n];
        in_table += hosts4_state(pin_root_, a) == 1 ? 1 : 0;
    }
    EXPECT_EQ(in_table, 8);
}

TEST(block_prefilter_words, host_sets_cover_long_entries_outside_full_slash24s) {
    const auto hs = detail::partial_hosts4({
        cidr::parse("198.18.1.128/25").value(), cidr::parse("198.18.1.3/32").value(),
        cidr::parse("198.18.2.0/24").value(),  // FULL: its /32 below gets no host set
        cidr::parse("198.18.2.7/32").value(),
        cidr::parse("2001:db8::1/128").value(),  // other family: ignored
    });
    ASSERT_EQ(hs.size(), 1u);
    const auto it = hs.find((198u << 16) | (18u << 8) | 1u);
    ASSERT_NE(it, hs.end());
    EXPECT_EQ(it->second[0], 1ULL << 3);
    EXPECT_EQ(it->second[1], 0u);
    EXPECT_EQ(it->second[2], ~0ULL);
    EXPECT_EQ(it->second[3], ~0ULL);
}

TEST(block_prefilter_words, v6_exact_prefixes_expand_representable_lengths_only) {
    const auto px = detail::exact_prefixes6({
        cidr::parse("2001:db8:100::/40").value(),     // 256 /48s
        cidr::parse("2001:db8:7:ab00::/56").value(),  // 256 /64s
        cidr::parse("2001:db8:9:1::/64").value(),     // one /64
        cidr::parse("2001:db8:9:2::5/128").value(),   // trie: one bucket
        cidr::parse("2001:db8:8:1000::/52").value(),  // trie: one bucket
        cidr::parse("10.0.0.0/8").value(),            // other family: ignored
    });
    EXPECT_FALSE(px.all_trie);
    EXPECT_EQ(px.listed.size(), 256u + 256u + 1u);
    EXPECT_EQ(px.trie_buckets.size(), 2u);
    EXPECT_TRUE(detail::exact_prefixes6({cidr::parse("3f00::/8").value()}).all_trie);
}

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
