// L2/L3 input path, driven by the case table in tests/packet/l2l3_cases.hh through a real DPDK
// net_ring port, plus the ARP resolution state machine under an injected clock.
#include <gtest/gtest.h>

#include <cstring>

#include "../packet/l2l3_cases.hh"
#include "dpdk_env.hh"

namespace sluice::test {
namespace {

using dp::net::drop_reason;
using dp::net::event;

std::uint64_t total_drops(const dp::net::queue_stats& s) {
    std::uint64_t t = 0;
    for (std::size_t i = 0; i < dp::net::drop_reason_count; ++i) {
        t += s.dropped(static_cast<drop_reason>(i));
    }
    return t;
}

class l2l3_table : public ::testing::TestWithParam<l2l3_case> {};

TEST_P(l2l3_table, frame_gives_its_drop_reason_event_and_replies) {
    auto& env = dpdk_env::get();
    const l2l3_case& c = GetParam();
    auto s = env.make_stack();
    // The peer is already a known neighbour, so answers leave at once.
    env.add_peer(*s, 0);
    const unsigned before = env.in_use();

    rte_mbuf* m = env.mbuf_of(c.frame);
    ASSERT_NE(m, nullptr);
    s->input(env.port, &m, 1, 1000);
    const auto out = env.drain(*s);
    const auto& st = s->stats(env.port);

    EXPECT_EQ(st.rx_packets.read(), 1U);
    EXPECT_EQ(out.size(), c.replies);
    EXPECT_EQ(st.tx_packets.read(), c.replies);
    if (c.drop) {
        EXPECT_EQ(st.dropped(*c.drop), 1U) << "expected drop " << dp::net::to_string(*c.drop);
        EXPECT_EQ(total_drops(st), 1U);
    } else {
        EXPECT_EQ(total_drops(st), 0U);
    }
    if (c.event) {
        EXPECT_GE(st.counted(*c.event), 1U) << "expected event " << dp::net::to_string(*c.event);
    }
    EXPECT_EQ(env.in_use(), before) << "mbufs leaked or held";
}

INSTANTIATE_TEST_SUITE_P(cases, l2l3_table,
                         ::testing::ValuesIn(l2l3_cases(dpdk_env::get().our_mac)),
                         [](const auto& p) { return p.param.name; });

TEST(icmp, echo_reply_swaps_addresses_and_keeps_payload) {
    auto& env = dpdk_env::get();
    auto s = env.make_stack();
    env.add_peer(*s, 0);
    ipv4_opts o;
    o.options = {0x01, 0x01, 0x01, 0x00};
    const bytes req = echo_frame(env.our_mac, 100, o);
    rte_mbuf* m = env.mbuf_of(req);
    s->input(env.port, &m, 1, 0);
    const auto out = env.drain(*s);
    ASSERT_EQ(out.size(), 1U);
    const bytes& r = out[0];
    ASSERT_EQ(r.size(), 14U + 20U + 8U + 100U);  // options are not echoed
    EXPECT_TRUE(std::equal(peer_mac.begin(), peer_mac.end(), r.begin()));
    EXPECT_TRUE(std::equal(env.our_mac.begin(), env.our_mac.end(), r.begin() + 6));
    EXPECT_EQ(get16(r, 12), 0x0800);
    EXPECT_EQ(r[14], 0x45);
    EXPECT_EQ(get16(r, 16), 20 + 8 + 100);
    EXPECT_EQ(r[22], 64);  // TTL
    EXPECT_EQ(r[23], 1);
    EXPECT_EQ(get32(r, 26), our_ip);
    EXPECT_EQ(get32(r, 30), peer_ip);
    EXPECT_EQ(inet_checksum(r, 14, 20), 0);
    EXPECT_EQ(r[34], 0);  // echo reply
    EXPECT_EQ(inet_checksum(r, 34, 108), 0);
    const std::size_t req_icmp = 14 + 24;
    EXPECT_EQ(get16(r, 38), get16(req, req_icmp + 4));  // identifier
    EXPECT_EQ(get16(r, 40), get16(req, req_icmp + 6));  // sequence
    EXPECT_TRUE(std::equal(r.begin() + 42, r.end(), req.begin() + req_icmp + 8));
}

TEST(arp, request_for_us_gets_a_reply_with_our_mac) {
    auto& env = dpdk_env::get();
    auto s = env.make_stack();
    rte_mbuf* m = env.mbuf_of(eth(broadcast_mac, peer_mac, 0x0806, arp(1, peer_mac, peer_ip, {}, our_ip)));
    s->input(env.port, &m, 1, 0);
    const auto out = env.drain(*s);
    ASSERT_EQ(out.size(), 1U);
    const bytes& r = out[0];
    ASSERT_EQ(r.size(), 42U);
    EXPECT_TRUE(std::equal(peer_mac.begin(), peer_mac.end(), r.begin()));
    EXPECT_EQ(get16(r, 12), 0x0806);
    EXPECT_EQ(get16(r, 20), 2);  // reply
    EXPECT_TRUE(std::equal(env.our_mac.begin(), env.our_mac.end(), r.begin() + 22));
    EXPECT_EQ(get32(r, 28), our_ip);
    EXPECT_TRUE(std::equal(peer_mac.begin(), peer_mac.end(), r.begin() + 32));
    EXPECT_EQ(get32(r, 38), peer_ip);
    // RFC 826: the requester was learned.
    auto* e = s->neighbors(env.port)->lookup(rte_cpu_to_be_32(peer_ip));
    ASSERT_NE(e, nullptr);
    EXPECT_TRUE(e->complete);
}

TEST(arp, reply_to_unknown_neighbour_is_held_until_resolution) {
    auto& env = dpdk_env::get();
    auto s = env.make_stack();
    rte_mbuf* m = env.mbuf_of(echo_frame(env.our_mac));
    s->input(env.port, &m, 1, 0);
    auto out = env.drain(*s);
    ASSERT_EQ(out.size(), 1U);  // our ARP request, not the echo reply
    EXPECT_EQ(get16(out[0], 12), 0x0806);
    EXPECT_TRUE(std::equal(broadcast_mac.begin(), broadcast_mac.end(), out[0].begin()));
    EXPECT_EQ(get16(out[0], 20), 1);
    EXPECT_EQ(get32(out[0], 38), peer_ip);
    EXPECT_EQ(s->stats(env.port).counted(event::arp_request_tx), 1U);

    m = env.mbuf_of(eth(env.our_mac, peer_mac, 0x0806, arp(2, peer_mac, peer_ip, env.our_mac, our_ip)));
    s->input(env.port, &m, 1, 10);
    out = env.drain(*s);
    ASSERT_EQ(out.size(), 1U);  // the held echo reply
    EXPECT_EQ(get16(out[0], 12), 0x0800);
    EXPECT_TRUE(std::equal(peer_mac.begin(), peer_mac.end(), out[0].begin()));
    EXPECT_EQ(out[0][34], 0);
}

TEST(arp, hold_queue_overflow_drops_and_counts) {
    auto& env = dpdk_env::get();
    auto p = env.params();
    p.arp.pending_max = 2;
    auto s = env.make_stack(p);
    const unsigned before = env.in_use();
    for (int i = 0; i < 3; ++i) {
        rte_mbuf* m = env.mbuf_of(echo_frame(env.our_mac));
        s->input(env.port, &m, 1, 0);
    }
    (void)env.drain(*s);
    EXPECT_EQ(s->stats(env.port).dropped(drop_reason::arp_pending_overflow), 1U);
    EXPECT_EQ(s->stats(env.port).counted(event::arp_request_tx), 1U);  // one request for all
    EXPECT_EQ(env.in_use(), before + 2);  // two held
    s->release();
    EXPECT_EQ(env.in_use(), before);
}

TEST(arp, resolution_gives_up_after_retries_and_frees_held_packets) {
    auto& env = dpdk_env::get();
    auto s = env.make_stack();
    const unsigned before = env.in_use();
    const std::uint64_t hz = dpdk_env::hz;
    rte_mbuf* m = env.mbuf_of(echo_frame(env.our_mac));
    s->input(env.port, &m, 1, 0);
    (void)env.drain(*s);
    // Retries at 1 s and 2 s (3 requests in all), then give up at 3 s.
    for (std::uint64_t t = 1; t <= 3; ++t) {
        s->tick(t * hz + 1);
        (void)env.drain(*s);
    }
    const auto& st = s->stats(env.port);
    EXPECT_EQ(st.counted(event::arp_request_tx), 3U);
    EXPECT_EQ(st.dropped(drop_reason::arp_resolve_failed), 1U);
    EXPECT_EQ(s->neighbors(env.port)->size(), 0U);
    EXPECT_EQ(env.in_use(), before);
}

TEST(arp, reachable_entry_expires_after_timeout) {
    auto& env = dpdk_env::get();
    auto s = env.make_stack();
    env.add_peer(*s, 0);
    s->tick(299 * dpdk_env::hz);
    EXPECT_EQ(s->neighbors(env.port)->size(), 1U);
    s->tick(301 * dpdk_env::hz);
    EXPECT_EQ(s->neighbors(env.port)->size(), 0U);
    EXPECT_EQ(s->stats(env.port).counted(event::arp_expired), 1U);
}

TEST(arp, expired_entry_is_not_answered_from_the_last_hit_cache) {
    // arp_table answers the entry it last found without hashing; once that entry expires, the
    // next frame to the same neighbour must start a new resolution, not reuse the old MAC.
    auto& env = dpdk_env::get();
    auto s = env.make_stack();
    env.add_peer(*s, 0);
    rte_mbuf* m = env.mbuf_of(echo_frame(env.our_mac));
    s->input(env.port, &m, 1, 10);
    auto out = env.drain(*s);
    ASSERT_EQ(out.size(), 1U);  // the echo reply, straight to the known MAC
    EXPECT_EQ(get16(out[0], 12), 0x0800);
    s->tick(301 * dpdk_env::hz);
    ASSERT_EQ(s->neighbors(env.port)->size(), 0U);
    m = env.mbuf_of(echo_frame(env.our_mac));
    s->input(env.port, &m, 1, 301 * dpdk_env::hz + 1);
    out = env.drain(*s);
    ASSERT_EQ(out.size(), 1U);  // an ARP request; the reply waits for it
    EXPECT_EQ(get16(out[0], 12), 0x0806);
    EXPECT_EQ(get32(out[0], 38), peer_ip);
    EXPECT_EQ(s->stats(env.port).counted(event::arp_request_tx), 1U);
    s->release();
}

TEST(arp, gratuitous_announcement_names_our_address_twice) {
    auto& env = dpdk_env::get();
    auto s = env.make_stack();
    s->send_gratuitous_arp(env.port);
    const auto out = env.drain(*s);
    ASSERT_EQ(out.size(), 1U);
    EXPECT_TRUE(std::equal(broadcast_mac.begin(), broadcast_mac.end(), out[0].begin()));
    EXPECT_EQ(get16(out[0], 20), 1);
    EXPECT_EQ(get32(out[0], 28), our_ip);
    EXPECT_EQ(get32(out[0], 38), our_ip);
}

TEST(ipv4, off_link_destination_is_sent_to_the_gateway) {
    auto& env = dpdk_env::get();
    auto s = env.make_stack();
    const std::uint32_t far = ip4(203, 0, 113, 9);
    rte_mbuf* m = env.mbuf_of(
        eth(env.our_mac, peer_mac, 0x0800, ipv4(far, our_ip, 1, icmp_echo(8, 7, 7, 16))));
    s->input(env.port, &m, 1, 0);
    const auto out = env.drain(*s);
    ASSERT_EQ(out.size(), 1U);
    EXPECT_EQ(get16(out[0], 12), 0x0806);
    EXPECT_EQ(get32(out[0], 38), peer_ip);  // resolving the gateway, not 203.0.113.9
    s->release();
}

TEST(ipv4, off_link_destination_without_gateway_is_no_route) {
    auto& env = dpdk_env::get();
    dp::net::iface ifc = env.ifc;
    ifc.gateway = 0;
    dp::net::stack s(env.params());
    ASSERT_TRUE(s.add_port(&ifc, 0).ok());
    const unsigned before = env.in_use();
    rte_mbuf* m = env.mbuf_of(eth(env.our_mac, peer_mac, 0x0800,
                                  ipv4(ip4(203, 0, 113, 9), our_ip, 1, icmp_echo(8, 7, 7, 16))));
    s.input(env.port, &m, 1, 0);
    EXPECT_TRUE(env.drain(s).empty());
    EXPECT_EQ(s.stats(env.port).dropped(drop_reason::no_route), 1U);
    EXPECT_EQ(env.in_use(), before);
}

TEST(eth, burst_of_mixed_frames_is_counted_per_reason) {
    auto& env = dpdk_env::get();
    auto s = env.make_stack();
    env.add_peer(*s, 0);
    const auto cases = l2l3_cases(env.our_mac);
    std::vector<rte_mbuf*> burst;
    std::size_t replies = 0;
    for (const auto& c : cases) {
        burst.push_back(env.mbuf_of(c.frame));
        replies += c.replies;
    }
    for (std::size_t off = 0; off < burst.size(); off += dp::net::burst_size) {
        const auto n = static_cast<std::uint16_t>(
            std::min<std::size_t>(dp::net::burst_size, burst.size() - off));
        s->input(env.port, burst.data() + off, n, 0);
    }
    EXPECT_EQ(env.drain(*s).size(), replies);
    EXPECT_EQ(s->stats(env.port).rx_packets.read(), cases.size());
}

}  // namespace
}  // namespace sluice::test

namespace sluice::test {
namespace {

// A request split over two mbufs at an odd offset: DPDK 22.11's rte_raw_cksum_mbuf gets such
// chains wrong, so this guards the stack's own chain checksum (dataplane/net/cksum.hh).
TEST(icmp, echo_request_in_an_mbuf_chain_split_at_an_odd_offset_is_answered) {
    auto& env = dpdk_env::get();
    auto s = env.make_stack();
    env.add_peer(*s);
    const bytes req = echo_frame(env.our_mac, 200);
    const std::size_t split = 14 + 20 + 8 + 13;
    rte_mbuf* head = env.mbuf_of(bytes(req.begin(), req.begin() + split));
    rte_mbuf* tail = env.mbuf_of(bytes(req.begin() + split, req.end()));
    ASSERT_NE(head, nullptr);
    ASSERT_NE(tail, nullptr);
    ASSERT_EQ(rte_pktmbuf_chain(head, tail), 0);
    const unsigned before = env.in_use() - 2;
    s->input(env.port, &head, 1, 0);
    const auto out = env.drain(*s);
    ASSERT_EQ(out.size(), 1U);
    EXPECT_EQ(s->stats(env.port).dropped(dp::net::drop_reason::icmp_bad_checksum), 0U);
    EXPECT_EQ(out[0][34], 0);  // echo reply
    EXPECT_EQ(inet_checksum(out[0], 34, out[0].size() - 34), 0);
    EXPECT_EQ(env.in_use(), before);
}

}  // namespace
}  // namespace sluice::test
