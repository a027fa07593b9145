// The shared XDP case table; see xdp_cases.hh.
#include "xdp_cases.hh"

#include <linux/bpf.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>

namespace sluice::ebpf::test {
namespace {

ip_addr a4(v4 a) { return ip_addr::from_v4(a); }
ip_addr a6(const v6& a) {
    ip_addr r;
    r.bytes = a;
    return r;
}

// Counter lists for the usual outcomes. In BPF_PROG_TEST_RUN no AF_XDP socket is bound, so
// bpf_redirect_map() returns its XDP_PASS fallback: steering shows as STEER_* + PASS + NO_XSK.
const std::vector<sluice_xdp_counter> steered = {SLUICE_CNT_STEER_SERVICE, SLUICE_CNT_PASS,
                                                 SLUICE_CNT_PASS_NO_XSK};
const std::vector<sluice_xdp_counter> not_service = {SLUICE_CNT_PASS, SLUICE_CNT_PASS_NOT_SERVICE};
const std::vector<sluice_xdp_counter> trunc = {SLUICE_CNT_PASS, SLUICE_CNT_PASS_TRUNCATED};
const std::vector<sluice_xdp_counter> frag = {SLUICE_CNT_PASS, SLUICE_CNT_PASS_FRAGMENT};
const std::vector<sluice_xdp_counter> other_l3 = {SLUICE_CNT_PASS, SLUICE_CNT_PASS_OTHER_L3};
const std::vector<sluice_xdp_counter> other_l4 = {SLUICE_CNT_PASS, SLUICE_CNT_PASS_OTHER_L4};
const std::vector<sluice_xdp_counter> returned = {SLUICE_CNT_STEER_RETURN, SLUICE_CNT_PASS,
                                                  SLUICE_CNT_PASS_NO_XSK};
const std::vector<sluice_xdp_counter> blocked = {SLUICE_CNT_DROP_BLOCKLIST};
const std::vector<sluice_xdp_counter> malformed = {SLUICE_CNT_DROP_MALFORMED};

bytes icmp4(v4 src, v4 dst) {
    bytes b = l2(eth_ipv4);
    put_ipv4(b, src, dst, proto_icmp, 8);
    b.insert(b.end(), {8, 0, 0, 0, 0, 1, 0, 1});  // RFC 792 echo request
    return b;
}

bytes frag4(v4 src, std::uint16_t frag_field) {
    return tcp4(src, svc4, 80, tcp_syn, {}, ipv4_fields{.frag = frag_field});
}

bytes ipv6_with(std::uint8_t nexthdr, const v6& src) {
    bytes b = l2(eth_ipv6);
    put_ipv6(b, src, svc6, nexthdr, 8);
    b.insert(b.end(), 8, 0);
    return b;
}

std::vector<xdp_case> build() {
    const bytes syn = tcp4(client4, svc4, 80, tcp_syn);
    const bytes syn6 = tcp6(client6, svc6, 443, tcp_syn);
    const bytes udp = udp4(client4, svc4, 53);
    const bytes arp = arp4(client4, svc4);
    const bytes vlan = tcp4(client4, svc4, 80, tcp_syn, {eth_vlan});
    const bytes opts = tcp4(client4, svc4, 80, tcp_syn, {}, ipv4_fields{.ihl = 6});

    std::vector<xdp_case> t = {
        // Steering to the service, in every encapsulation the parser knows.
        {"tcp4_syn_to_service", syn, XDP_PASS, steered},
        {"tcp4_ack_to_service", tcp4(client4, svc4, 80, tcp_ack), XDP_PASS, steered},
        {"udp4_to_service", udp, XDP_PASS, steered},
        {"tcp4_vlan_to_service", vlan, XDP_PASS, steered},
        {"tcp4_qinq_to_service", tcp4(client4, svc4, 80, tcp_syn, {eth_qinq, eth_vlan}), XDP_PASS,
         steered},
        {"tcp4_options_ihl6_to_service", opts, XDP_PASS, steered},
        {"tcp4_options_ihl15_to_service",
         tcp4(client4, svc4, 80, tcp_syn, {}, ipv4_fields{.ihl = 15}), XDP_PASS, steered},
        {"tcp6_syn_to_service", syn6, XDP_PASS, steered},
        {"tcp4_from_unblocked_neighbour", tcp4(unblocked4, svc4, 80, tcp_syn), XDP_PASS, steered},
        // Everything else reaches the kernel.
        {"tcp4_service_addr_other_port", tcp4(client4, svc4, 22, tcp_syn), XDP_PASS, not_service},
        {"tcp4_other_addr_service_port", tcp4(client4, other4, 80, tcp_syn), XDP_PASS,
         not_service},
        {"udp4_service_addr_tcp_port", udp4(client4, svc4, 80), XDP_PASS, not_service},
        {"tcp6_service_addr_other_port", tcp6(client6, svc6, 80, tcp_syn), XDP_PASS, not_service},
        {"tcp4_triple_vlan", tcp4(client4, svc4, 80, tcp_syn, {eth_qinq, eth_vlan, eth_vlan}),
         XDP_PASS, other_l3},
        {"lldp", l2(eth_lldp), XDP_PASS, other_l3},
        // ICMPv4 to a service address is the dataplane's (echo, PMTUD errors of its flows).
        {"icmp4_to_service_addr", icmp4(client4, svc4), XDP_PASS, steered},
        {"icmp4_to_other_addr", icmp4(client4, other4), XDP_PASS, other_l4},
        {"icmp6_to_service_addr", ipv6_with(proto_icmpv6, client6), XDP_PASS, other_l4},
        // ARP: the dataplane answers for its own (service) addresses.
        {"arp_for_service_addr", arp, XDP_PASS,
         {SLUICE_CNT_STEER_ARP, SLUICE_CNT_PASS, SLUICE_CNT_PASS_NO_XSK}},
        {"arp_for_other_addr", arp4(client4, other4), XDP_PASS, not_service},
        {"arp_non_ethernet_hardware", arp4(client4, svc4, 6), XDP_PASS, other_l3},
        // Fragments carry no (or only a first) L4 header: the kernel reassembles.
        {"ipv4_first_fragment_mf", frag4(client4, 0x2000), XDP_PASS, frag},
        {"ipv4_later_fragment", frag4(client4, 0x0010), XDP_PASS, frag},
        {"ipv4_last_fragment", frag4(client4, 0x00b9), XDP_PASS, frag},
        {"ipv4_df_is_not_a_fragment", frag4(client4, 0x4000), XDP_PASS, steered},
        {"ipv6_fragment_header", ipv6_with(proto_ipv6_frag, client6), XDP_PASS, frag},
        // Block list, checked before anything else about an IP packet.
        {"blocked_v4_to_service", tcp4(blocked4, svc4, 80, tcp_syn), XDP_DROP, blocked},
        {"blocked_v4_icmp", icmp4(blocked4, other4), XDP_DROP, blocked},
        {"blocked_v4_fragment", frag4(blocked4, 0x0010), XDP_DROP, blocked},
        {"blocked_v6_to_service", tcp6(blocked6, svc6, 443, tcp_syn), XDP_DROP, blocked},
        // A /25 leaves its /24 "partly blocked": the pre-filter sends both to the trie.
        {"blocked_v4_inside_slash25", tcp4(blocked4_in_25, svc4, 80, tcp_syn), XDP_DROP, blocked},
        {"tcp4_beside_blocked_slash25", tcp4(beside_blocked_25, svc4, 80, tcp_syn), XDP_PASS,
         steered},
        // Return traffic: a backend's answer to a connection the dataplane opened from a
        // service address and an ephemeral port. Only TCP, only to a service address, only
        // inside the range.
        {"tcp4_return_synack_to_service_addr",
         tcp4(backend4, svc4, 50000, tcp_syn | tcp_ack), XDP_PASS, returned},
        {"tcp4_return_at_range_ends", tcp4(backend4, svc4, return_max, tcp_ack), XDP_PASS,
         returned},
        {"tcp4_return_first_port", tcp4(backend4, svc4, return_min, tcp_ack), XDP_PASS,
         returned},
        {"tcp4_below_return_range", tcp4(backend4, svc4, return_min - 1, tcp_ack), XDP_PASS,
         not_service},
        {"tcp4_return_range_other_addr", tcp4(backend4, other4, 50000, tcp_ack), XDP_PASS,
         not_service},
        {"udp4_return_range_service_addr", udp4(backend4, svc4, 50000), XDP_PASS, not_service},
        {"tcp6_return_to_service_addr", tcp6(client6, svc6, 60000, tcp_ack), XDP_PASS, returned},
        {"blocked_v4_return_traffic", tcp4(blocked4, svc4, 50000, tcp_ack), XDP_DROP, blocked},
        // Headers the kernel's own input path discards.
        {"ipv4_ihl_below_5", tcp4(client4, svc4, 80, tcp_syn, {}, ipv4_fields{.ihl = 4}),
         XDP_DROP, malformed},
        {"ipv4_version_6_in_ipv4_ethertype",
         tcp4(client4, svc4, 80, tcp_syn, {}, ipv4_fields{.version = 6}), XDP_DROP, malformed},
        {"ipv4_total_length_below_header",
         tcp4(client4, svc4, 80, tcp_syn, {}, ipv4_fields{.tot_len_adjust = -30}), XDP_DROP,
         malformed},
        {"ipv6_version_4_in_ipv6_ethertype",
         [] {
             bytes b = l2(eth_ipv6);
             put_ipv6(b, client6, svc6, proto_tcp, 20, 4);
             put_tcp(b, 40000, 443, tcp_syn);
             return b;
         }(),
         XDP_DROP, malformed},
        {"tcp_data_offset_below_5",
         [] {
             bytes b = l2(eth_ipv4);
             put_ipv4(b, client4, svc4, proto_tcp, 20);
             put_tcp(b, 40000, 80, tcp_syn, 4);
             return b;
         }(),
         XDP_DROP, malformed},
    };

    // Truncated at every header boundary: the kernel gets them and decides. The kernel
    // refuses BPF_PROG_TEST_RUN input shorter than ETH_HLEN (14), so the first cut is
    // inside the VLAN tag.
    struct cut {
        const char* name;
        const bytes* frame;
        std::size_t len;
    };
    const cut cuts[] = {
        {"truncated_in_vlan_tag", &vlan, 14 + 2},
        {"truncated_in_ipv4_header", &syn, 14 + 19},
        {"truncated_in_ipv4_options", &opts, 14 + 23},
        {"truncated_in_tcp_header", &syn, 14 + 20 + 19},
        {"truncated_in_udp_header", &udp, 14 + 20 + 7},
        {"truncated_in_ipv6_header", &syn6, 14 + 39},
        {"truncated_in_tcp_after_ipv6", &syn6, 14 + 40 + 12},
        {"truncated_in_arp", &arp, 14 + 27},
    };
    for (const auto& c : cuts) {
        t.push_back({c.name, truncated(*c.frame, c.len), XDP_PASS, trunc});
    }
    return t;
}

}  // namespace

status apply_fixture(xdp_maps& maps) {
    const service services[] = {
        {a4(svc4), 80, l4_proto::tcp},
        {a4(svc4), 53, l4_proto::udp},
        {a6(svc6), 443, l4_proto::tcp},
    };
    std::uint32_t id = 1;
    for (const auto& s : services) {
        if (auto st = maps.add_service(s, id++); !st) {
            return st;
        }
    }
    for (const char* c : {"192.0.2.0/24", "203.0.113.128/25", "2001:db8:bad::/48"}) {
        auto parsed = cidr::parse(c);
        if (!parsed) {
            return error{parsed.message()};
        }
        if (auto st = maps.block(parsed.value()); !st) {
            return st;
        }
    }
    return maps.set_return_ports(return_min, return_max);
}

const std::vector<xdp_case>& xdp_cases() {
    static const std::vector<xdp_case> table = build();
    return table;
}

const xdp_case& xdp_case_named(const std::string& name) {
    for (const auto& c : xdp_cases()) {
        if (c.name == name) {
            return c;
        }
    }
    std::fprintf(stderr, "no XDP case named '%s'\n", name.c_str());
    std::abort();
}

result<run_result> test_run(int prog_fd, const bytes& frame, std::uint32_t repeat) {
    bpf_test_run_opts opts{};
    opts.sz = sizeof(opts);
    opts.data_in = frame.data();
    opts.data_size_in = static_cast<__u32>(frame.size());
    opts.repeat = repeat;
    if (bpf_prog_test_run_opts(prog_fd, &opts) != 0) {
        return error{errno_message("BPF_PROG_TEST_RUN on a " + std::to_string(frame.size()) +
                                       "-byte frame",
                                   errno)};
    }
    return run_result{static_cast<int>(opts.retval), opts.duration};
}

}  // namespace sluice::ebpf::test
