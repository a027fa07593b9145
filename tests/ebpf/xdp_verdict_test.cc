// Drives the Sluice XDP program through BPF_PROG_TEST_RUN: the shared case table (one
// parameterised test per row), then the stateful behaviours (SYN bucket, gateway verdicts,
// block list and service updates). Each test loads its own program with private pins.
#include <linux/bpf.h>
#include <time.h>
#include <unistd.h>

#include <chrono>

#include "xdp_fixture.hh"

namespace sluice::ebpf::test {
namespace {

ip_addr a4(v4 a) { return ip_addr::from_v4(a); }

std::uint64_t monotonic_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000ULL +
           static_cast<std::uint64_t>(ts.tv_nsec);
}

class xdp_case_table : public xdp_fixture, public ::testing::WithParamInterface<std::string> {};

TEST_P(xdp_case_table, gives_expected_action_and_moves_only_expected_counters) {
    const xdp_case& c = xdp_case_named(GetParam());
    const outcome o = run(c.frame);
    EXPECT_EQ(o.action, c.action);
    expect_moved(o.delta, c.moved);
}

std::vector<std::string> case_names() {
    std::vector<std::string> names;
    for (const auto& c : xdp_cases()) {
        names.push_back(c.name);
    }
    return names;
}

INSTANTIATE_TEST_SUITE_P(cases, xdp_case_table, ::testing::ValuesIn(case_names()),
                         [](const ::testing::TestParamInfo<std::string>& p) { return p.param; });

using xdp_verdict = xdp_fixture;

TEST_F(xdp_verdict, syn_flood_over_bucket_drops_that_source_while_another_passes) {
    // 1 SYN/s, burst 4: in one BPF_PROG_TEST_RUN of 20 repeats (microseconds) the bucket
    // refills by far less than one token, so exactly 4 are admitted.
    ASSERT_TRUE(maps().set_syn_limit(1, 4).ok());
    const outcome flood = run(tcp4(client4, svc4, 80, tcp_syn), 20);
    EXPECT_EQ(flood.action, XDP_DROP);
    EXPECT_EQ(flood.delta[SLUICE_CNT_STEER_SERVICE], 4u);
    EXPECT_EQ(flood.delta[SLUICE_CNT_DROP_SYN_LIMIT], 16u);

    const outcome other = run(tcp4(client4_b, svc4, 80, tcp_syn));
    EXPECT_EQ(other.action, XDP_PASS);
    expect_moved(other.delta, {SLUICE_CNT_STEER_SERVICE, SLUICE_CNT_PASS, SLUICE_CNT_PASS_NO_XSK});

    // Established traffic (ACK) from the flooding source is not limited.
    const outcome ack = run(tcp4(client4, svc4, 80, tcp_ack));
    expect_moved(ack.delta, {SLUICE_CNT_STEER_SERVICE, SLUICE_CNT_PASS, SLUICE_CNT_PASS_NO_XSK});

    // Disabling the limit admits the source again at once.
    ASSERT_TRUE(maps().set_syn_limit(0, 0).ok());
    const outcome again = run(tcp4(client4, svc4, 80, tcp_syn));
    expect_moved(again.delta, {SLUICE_CNT_STEER_SERVICE, SLUICE_CNT_PASS, SLUICE_CNT_PASS_NO_XSK});
}

TEST_F(xdp_verdict, syn_limit_ignores_syns_to_non_service_ports) {
    ASSERT_TRUE(maps().set_syn_limit(1, 1).ok());
    const outcome o = run(tcp4(client4, svc4, 22, tcp_syn), 10);
    EXPECT_EQ(o.action, XDP_PASS);
    expect_moved(o.delta, {SLUICE_CNT_PASS, SLUICE_CNT_PASS_NOT_SERVICE}, 10);
}

TEST_F(xdp_verdict, syn_limit_rejects_out_of_range_settings_with_reason) {
    auto st = maps().set_syn_limit(5, 0);
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.message().find("burst"), std::string::npos) << st.message();
    EXPECT_FALSE(maps().set_syn_limit(SLUICE_XDP_SYN_RATE_MAX + 1, 10).ok());
    EXPECT_FALSE(maps().set_syn_limit(10, SLUICE_XDP_SYN_BURST_MAX + 1).ok());
}

TEST_F(xdp_verdict, gateway_verdict_drops_service_traffic_until_it_expires) {
    const bytes syn = tcp4(client4, svc4, 80, tcp_syn);
    ASSERT_TRUE(maps()
                    .add_gateway_verdict(a4(client4), std::chrono::hours(1),
                                         gateway_reason::rate_limited)
                    .ok());
    const outcome active = run(syn);
    EXPECT_EQ(active.action, XDP_DROP);
    expect_moved(active.delta, {SLUICE_CNT_DROP_GATEWAY_VERDICT});

    // The verdict is about the L7 service: the client's SSH etc. still reach the kernel.
    const outcome ssh = run(tcp4(client4, svc4, 22, tcp_syn));
    expect_moved(ssh.delta, {SLUICE_CNT_PASS, SLUICE_CNT_PASS_NOT_SERVICE});

    // Expired: ignored, deleted (counted once), and the second packet finds nothing.
    ASSERT_TRUE(maps()
                    .add_gateway_verdict_until(a4(client4), monotonic_ns() - 1,
                                               gateway_reason::blocked)
                    .ok());
    const outcome expired = run(syn);
    EXPECT_EQ(expired.action, XDP_PASS);
    expect_moved(expired.delta, {SLUICE_CNT_GATEWAY_EXPIRED, SLUICE_CNT_STEER_SERVICE,
                                 SLUICE_CNT_PASS, SLUICE_CNT_PASS_NO_XSK});
    const outcome after = run(syn);
    expect_moved(after.delta, {SLUICE_CNT_STEER_SERVICE, SLUICE_CNT_PASS, SLUICE_CNT_PASS_NO_XSK});
    EXPECT_FALSE(maps().remove_gateway_verdict(a4(client4)).ok()) << "entry should be deleted";
}

TEST_F(xdp_verdict, gateway_verdict_rejects_non_positive_ttl) {
    auto st = maps().add_gateway_verdict(a4(client4), std::chrono::nanoseconds(0),
                                         gateway_reason::blocked);
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.message().find("198.51.100.7"), std::string::npos) << st.message();
}

TEST_F(xdp_verdict, block_list_add_list_remove_round_trips) {
    const bytes syn = tcp4(client4, svc4, 80, tcp_syn);
    auto c = cidr::parse("198.51.100.0/25");
    ASSERT_TRUE(c.ok());
    ASSERT_TRUE(maps().block(c.value()).ok());
    auto list = maps().blocked();
    ASSERT_TRUE(list.ok());
    EXPECT_EQ(list->size(), 4u);  // fixture's three plus this one
    EXPECT_NE(std::find(list->begin(), list->end(), c.value()), list->end());
    expect_moved(run(syn).delta, {SLUICE_CNT_DROP_BLOCKLIST});

    ASSERT_TRUE(maps().unblock(c.value()).ok());
    expect_moved(run(syn).delta,
                 {SLUICE_CNT_STEER_SERVICE, SLUICE_CNT_PASS, SLUICE_CNT_PASS_NO_XSK});
    auto again = maps().unblock(c.value());
    ASSERT_FALSE(again.ok());
    EXPECT_NE(again.message().find("198.51.100.0/25"), std::string::npos) << again.message();
}

TEST_F(xdp_verdict, emptied_then_refilled_block_list_is_enforced_again) {
    const bytes from_blocked = tcp4(blocked4, svc4, 80, tcp_syn);
    auto v4 = cidr::parse("192.0.2.0/24");
    auto v6 = cidr::parse("2001:db8:bad::/48");
    ASSERT_TRUE(maps().unblock(v4.value()).ok());
    ASSERT_TRUE(maps().unblock(v6.value()).ok());
    expect_moved(run(from_blocked).delta,
                 {SLUICE_CNT_STEER_SERVICE, SLUICE_CNT_PASS, SLUICE_CNT_PASS_NO_XSK});
    expect_moved(run(tcp6(blocked6, svc6, 443, tcp_syn)).delta,
                 {SLUICE_CNT_STEER_SERVICE, SLUICE_CNT_PASS, SLUICE_CNT_PASS_NO_XSK});
    ASSERT_TRUE(maps().block(v4.value()).ok());
    expect_moved(run(from_blocked).delta, {SLUICE_CNT_DROP_BLOCKLIST});
}

TEST_F(xdp_verdict, sync_flags_enforces_entries_written_behind_the_loaders_back) {
    // Remove the /24 through the API (its pre-filter bits cleared), then insert it again with
    // a raw map write, as bpftool would: the pre-filter keeps the program away from the trie
    // until sync_flags() rebuilds it.
    auto v4 = cidr::parse("192.0.2.0/24");
    ASSERT_TRUE(maps().unblock(v4.value()).ok());
    const int fd = bpf_obj_get((pin_root_ + "/sl_block_v4").c_str());
    ASSERT_GE(fd, 0);
    const sluice_xdp_lpm_v4 key{24, {192, 0, 2, 0}};
    const std::uint32_t one = 1;
    ASSERT_EQ(bpf_map_update_elem(fd, &key, &one, BPF_ANY), 0);
    close(fd);
    const bytes from_blocked = tcp4(blocked4, svc4, 80, tcp_syn);
    EXPECT_EQ(run(from_blocked).delta[SLUICE_CNT_DROP_BLOCKLIST], 0u);
    ASSERT_TRUE(maps().sync_flags().ok());
    expect_moved(run(from_blocked).delta, {SLUICE_CNT_DROP_BLOCKLIST});
}

TEST_F(xdp_verdict, arp_steering_follows_the_last_service_on_an_address) {
    const bytes arp = arp4(client4, svc4);
    const std::vector<sluice_xdp_counter> steered_arp = {SLUICE_CNT_STEER_ARP, SLUICE_CNT_PASS,
                                                         SLUICE_CNT_PASS_NO_XSK};
    // The fixture has tcp/80 and udp/53 on svc4: removing one keeps ARP steered.
    ASSERT_TRUE(maps().remove_service({a4(svc4), 80, l4_proto::tcp}).ok());
    expect_moved(run(arp).delta, steered_arp);
    expect_moved(run(tcp4(client4, svc4, 80, tcp_syn)).delta,
                 {SLUICE_CNT_PASS, SLUICE_CNT_PASS_NOT_SERVICE});
    ASSERT_TRUE(maps().remove_service({a4(svc4), 53, l4_proto::udp}).ok());
    expect_moved(run(arp).delta, {SLUICE_CNT_PASS, SLUICE_CNT_PASS_NOT_SERVICE});
    // Re-adding an existing service does not inflate the reference count.
    ASSERT_TRUE(maps().add_service({a4(svc4), 80, l4_proto::tcp}, 7).ok());
    ASSERT_TRUE(maps().add_service({a4(svc4), 80, l4_proto::tcp}, 8).ok());
    ASSERT_TRUE(maps().remove_service({a4(svc4), 80, l4_proto::tcp}).ok());
    expect_moved(run(arp).delta, {SLUICE_CNT_PASS, SLUICE_CNT_PASS_NOT_SERVICE});
    auto missing = maps().remove_service({a4(svc4), 80, l4_proto::tcp});
    ASSERT_FALSE(missing.ok());
    EXPECT_NE(missing.message().find("tcp 10.0.0.1:80"), std::string::npos) << missing.message();
}

TEST_F(xdp_verdict, second_load_reuses_pinned_maps) {
    auto second = xdp_program::load(load_options{pin_root_});
    ASSERT_TRUE(second.ok()) << second.message();
    ASSERT_TRUE(second.value()->maps().set_syn_limit(1, 1).ok());
    // A limit written through the second copy's maps governs the first program.
    const outcome o = run(tcp4(client4, svc4, 80, tcp_syn), 3);
    EXPECT_EQ(o.delta[SLUICE_CNT_DROP_SYN_LIMIT], 2u);
    auto pinned = xdp_maps::open_pinned(pin_root_);
    ASSERT_TRUE(pinned.ok()) << pinned.message();
    auto stats = pinned->read_stats();
    ASSERT_TRUE(stats.ok());
    EXPECT_GE(stats.value()[SLUICE_CNT_DROP_SYN_LIMIT], 2u);
}

TEST_F(xdp_verdict, open_pinned_names_the_missing_pin) {
    auto m = xdp_maps::open_pinned("/sys/fs/bpf/sluice-does-not-exist");
    ASSERT_FALSE(m.ok());
    EXPECT_NE(m.message().find("/sys/fs/bpf/sluice-does-not-exist/sl_services"), std::string::npos)
        << m.message();
}

}  // namespace
}  // namespace sluice::ebpf::test
