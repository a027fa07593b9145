// The service fast tables (ebpf/loader/svc_fast.cc, sl_svc_fast / sl_svc_fast6 +
// sl_svc_ports): the program must steer exactly what sl_services lists, whether it decides
// from the fast tables or, past SLUICE_XDP_FAST_ADDRS(6) addresses of a family, from the
// hash; load-time resync returns to the fast tables once everything fits. Root; skips
// otherwise.
#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <unistd.h>

#include "xdp_fixture.hh"

namespace sluice::ebpf::test {
namespace {

ip_addr a4(v4 a) { return ip_addr::from_v4(a); }

const std::vector<sluice_xdp_counter> steered = {SLUICE_CNT_STEER_SERVICE, SLUICE_CNT_PASS,
                                                 SLUICE_CNT_PASS_NO_XSK};
const std::vector<sluice_xdp_counter> not_service = {SLUICE_CNT_PASS,
                                                     SLUICE_CNT_PASS_NOT_SERVICE};

// 10.1.0.i: addresses beyond the fixture's.
v4 extra(int i) { return {10, 1, 0, static_cast<std::uint8_t>(i)}; }
// 2001:db8:6::i
v6 extra6(int i) {
    return {0x20, 0x01, 0x0d, 0xb8, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0, 0, static_cast<std::uint8_t>(i)};
}
ip_addr a6(const v6& b) {
    ip_addr r;
    r.bytes = b;
    return r;
}

class svc_fast : public xdp_fixture {
protected:
    bool hash_mode() { return (maps().read_config()->flags & SLUICE_XDP_F_SVC_HASH) != 0; }
    bool hash6_mode() { return (maps().read_config()->flags & SLUICE_XDP_F_SVC6_HASH) != 0; }
};

TEST_F(svc_fast, v6_services_are_served_from_the_fast_table_by_port_and_protocol) {
    EXPECT_FALSE(hash6_mode());
    expect_moved(run(tcp6(client6, svc6, 443, tcp_syn)).delta, steered);
    expect_moved(run(tcp6(client6, svc6, 444, tcp_syn)).delta, not_service);
    // The IPv4 port masks do not leak into IPv6: svc4 has tcp/80, svc6 does not.
    expect_moved(run(tcp6(client6, svc6, 80, tcp_syn)).delta, not_service);
    ASSERT_TRUE(maps().add_service({a6(svc6), 80, l4_proto::tcp}, 4).ok());
    expect_moved(run(tcp6(client6, svc6, 80, tcp_syn)).delta, steered);
    // Removing one of two services keeps the slot; removing the last frees it.
    ASSERT_TRUE(maps().remove_service({a6(svc6), 443, l4_proto::tcp}).ok());
    expect_moved(run(tcp6(client6, svc6, 443, tcp_syn)).delta, not_service);
    expect_moved(run(tcp6(client6, svc6, 80, tcp_syn)).delta, steered);
    ASSERT_TRUE(maps().remove_service({a6(svc6), 80, l4_proto::tcp}).ok());
    ASSERT_TRUE(maps().add_service({a6(extra6(1)), 443, l4_proto::tcp}, 5).ok());
    expect_moved(run(tcp6(client6, extra6(1), 443, tcp_syn)).delta, steered);
    expect_moved(run(tcp6(client6, svc6, 443, tcp_syn)).delta, not_service);
}

TEST_F(svc_fast, more_v6_addresses_than_slots_fall_back_to_the_hash_and_resync_returns) {
    for (int i = 1; i <= SLUICE_XDP_FAST_ADDRS6; ++i) {
        ASSERT_TRUE(maps().add_service({a6(extra6(i)), 8443, l4_proto::tcp}, i).ok());
    }
    EXPECT_TRUE(hash6_mode());
    EXPECT_FALSE(hash_mode());  // IPv4 stays on its fast tables
    for (int i = 1; i <= SLUICE_XDP_FAST_ADDRS6; ++i) {
        expect_moved(run(tcp6(client6, extra6(i), 8443, tcp_syn)).delta, steered);
    }
    expect_moved(run(tcp6(client6, svc6, 443, tcp_syn)).delta, steered);
    expect_moved(run(tcp6(client6, extra6(1), 8444, tcp_syn)).delta, not_service);
    ASSERT_TRUE(maps().remove_service({a6(extra6(2)), 8443, l4_proto::tcp}).ok());
    ASSERT_TRUE(maps().sync_flags().ok());
    EXPECT_FALSE(hash6_mode());
    for (int i = 1; i <= SLUICE_XDP_FAST_ADDRS6; ++i) {
        expect_moved(run(tcp6(client6, extra6(i), 8443, tcp_syn)).delta,
                     i == 2 ? not_service : steered);
    }
    expect_moved(run(tcp6(client6, svc6, 443, tcp_syn)).delta, steered);
}

TEST_F(svc_fast, fixture_services_are_served_from_the_fast_tables) {
    EXPECT_FALSE(hash_mode());
    expect_moved(run(tcp4(client4, svc4, 80, tcp_syn)).delta, steered);
    expect_moved(run(udp4(client4, svc4, 53)).delta, steered);
    // Same port, other protocol or other address: not a service.
    expect_moved(run(udp4(client4, svc4, 80)).delta, not_service);
    expect_moved(run(tcp4(client4, other4, 80, tcp_syn)).delta, not_service);
}

TEST_F(svc_fast, one_port_on_two_addresses_and_removal_of_one) {
    ASSERT_TRUE(maps().add_service({a4(extra(1)), 80, l4_proto::tcp}, 9).ok());
    expect_moved(run(tcp4(client4, extra(1), 80, tcp_syn)).delta, steered);
    ASSERT_TRUE(maps().remove_service({a4(svc4), 80, l4_proto::tcp}).ok());
    expect_moved(run(tcp4(client4, svc4, 80, tcp_syn)).delta, not_service);
    expect_moved(run(tcp4(client4, extra(1), 80, tcp_syn)).delta, steered);
    // svc4 keeps udp/53, so its ARP is still steered; extra(1)'s too.
    expect_moved(run(arp4(client4, svc4)).delta,
                 {SLUICE_CNT_STEER_ARP, SLUICE_CNT_PASS, SLUICE_CNT_PASS_NO_XSK});
    expect_moved(run(arp4(client4, extra(1))).delta,
                 {SLUICE_CNT_STEER_ARP, SLUICE_CNT_PASS, SLUICE_CNT_PASS_NO_XSK});
}

TEST_F(svc_fast, a_freed_slot_is_reused_without_steering_the_old_address) {
    ASSERT_TRUE(maps().add_service({a4(extra(1)), 8080, l4_proto::tcp}, 1).ok());
    ASSERT_TRUE(maps().remove_service({a4(extra(1)), 8080, l4_proto::tcp}).ok());
    ASSERT_TRUE(maps().add_service({a4(extra(2)), 9090, l4_proto::udp}, 2).ok());
    expect_moved(run(udp4(client4, extra(2), 9090)).delta, steered);
    expect_moved(run(tcp4(client4, extra(1), 8080, tcp_syn)).delta, not_service);
    expect_moved(run(udp4(client4, extra(1), 9090)).delta, not_service);
    expect_moved(run(arp4(client4, extra(1))).delta, not_service);
}

TEST_F(svc_fast, more_addresses_than_slots_fall_back_to_the_hash_and_resync_returns) {
    // The fixture uses one IPv4 address; fill the other slots and go one past.
    for (int i = 1; i <= SLUICE_XDP_FAST_ADDRS; ++i) {
        ASSERT_TRUE(maps().add_service({a4(extra(i)), 443, l4_proto::tcp}, i).ok());
    }
    EXPECT_TRUE(hash_mode());
    for (int i = 1; i <= SLUICE_XDP_FAST_ADDRS; ++i) {
        expect_moved(run(tcp4(client4, extra(i), 443, tcp_syn)).delta, steered);
    }
    expect_moved(run(tcp4(client4, svc4, 80, tcp_syn)).delta, steered);
    expect_moved(run(arp4(client4, extra(SLUICE_XDP_FAST_ADDRS))).delta,
                 {SLUICE_CNT_STEER_ARP, SLUICE_CNT_PASS, SLUICE_CNT_PASS_NO_XSK});
    expect_moved(run(tcp4(client4, extra(1), 444, tcp_syn)).delta, not_service);

    // Back under the limit: the hash stays in use until a resync (load) rebuilds the tables.
    ASSERT_TRUE(maps().remove_service({a4(extra(3)), 443, l4_proto::tcp}).ok());
    EXPECT_TRUE(hash_mode());
    ASSERT_TRUE(maps().sync_flags().ok());
    EXPECT_FALSE(hash_mode());
    for (int i = 1; i <= SLUICE_XDP_FAST_ADDRS; ++i) {
        expect_moved(run(tcp4(client4, extra(i), 443, tcp_syn)).delta,
                     i == 3 ? not_service : steered);
    }
    expect_moved(run(tcp4(client4, svc4, 80, tcp_syn)).delta, steered);
}

TEST_F(svc_fast, the_unspecified_address_is_served_from_the_hash) {
    ASSERT_TRUE(maps().add_service({a4({0, 0, 0, 0}), 7, l4_proto::udp}, 1).ok());
    EXPECT_TRUE(hash_mode());
    expect_moved(run(udp4(client4, {0, 0, 0, 0}, 7)).delta, steered);
    // Free slots hold 0.0.0.0: they must not make ARP for it look like a service.
    ASSERT_TRUE(maps().remove_service({a4({0, 0, 0, 0}), 7, l4_proto::udp}).ok());
    ASSERT_TRUE(maps().sync_flags().ok());
    EXPECT_FALSE(hash_mode());
    expect_moved(run(arp4(client4, {0, 0, 0, 0})).delta, not_service);
    expect_moved(run(udp4(client4, {0, 0, 0, 0}, 7)).delta, not_service);
}

TEST_F(svc_fast, re_adding_a_service_repairs_fast_tables_that_miss_it) {
    // As after an upgrade from ABI 1: sl_services has the entry, the fast tables do not.
    const int fast = bpf_obj_get((pin_root_ + "/sl_svc_fast").c_str());
    ASSERT_GE(fast, 0);
    const std::uint32_t zero = 0;
    const sluice_xdp_svc_fast empty{};
    ASSERT_EQ(bpf_map_update_elem(fast, &zero, &empty, BPF_ANY), 0);
    close(fast);
    expect_moved(run(tcp4(client4, svc4, 80, tcp_syn)).delta, not_service);
    ASSERT_TRUE(maps().add_service({a4(svc4), 80, l4_proto::tcp}, 1).ok());
    expect_moved(run(tcp4(client4, svc4, 80, tcp_syn)).delta, steered);
}

TEST_F(svc_fast, a_second_load_over_the_same_pins_keeps_steering) {
    ASSERT_TRUE(maps().add_service({a4(extra(5)), 25, l4_proto::tcp}, 1).ok());
    auto second = xdp_program::load(load_options{pin_root_});
    ASSERT_TRUE(second.ok()) << second.message();
    expect_moved(run(tcp4(client4, extra(5), 25, tcp_syn)).delta, steered);
    expect_moved(run(tcp4(client4, svc4, 80, tcp_syn)).delta, steered);
}

}  // namespace
}  // namespace sluice::ebpf::test
