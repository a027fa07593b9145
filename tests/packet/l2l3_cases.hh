// The L2/L3 input case table: crafted frames, valid and malformed, each with the one drop reason
// or event it must produce and how many frames must leave in answer. Used by the unit tests
// (tests/unit/l2l3_test.cc), as the seed corpus of the L2/L3 fuzz target, and by the benchmarks.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "../../dataplane/net/counters.hh"
#include "frames.hh"

namespace sluice::test {

// The test network: we are 198.18.0.2/24 (RFC 2544 benchmarking range), the peer and default
// gateway is 198.18.0.1.
inline constexpr std::uint32_t our_ip = ip4(198, 18, 0, 2);
inline constexpr std::uint32_t peer_ip = ip4(198, 18, 0, 1);
inline constexpr std::uint32_t other_ip = ip4(198, 18, 0, 77);
inline constexpr mac peer_mac = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
inline constexpr mac other_mac = {0x02, 0x00, 0x00, 0x00, 0x00, 0x77};

struct l2l3_case {
    std::string name;
    bytes frame;
    std::optional<dp::net::drop_reason> drop;  // the one drop it must cause
    std::optional<dp::net::event> event;       // an event it must count
    std::size_t replies = 0;                   // frames sent in answer
};

inline bytes echo_frame(const mac& us, std::size_t len = 56, const ipv4_opts& o = {}) {
    return eth(us, peer_mac, 0x0800, ipv4(peer_ip, our_ip, 1, icmp_echo(8, 0x4242, 1, len), o));
}

inline std::vector<l2l3_case> l2l3_cases(const mac& us) {
    using dr = dp::net::drop_reason;
    using ev = dp::net::event;
    std::vector<l2l3_case> c;
    const bytes echo = echo_frame(us);
    const bytes arp_req = eth(broadcast_mac, peer_mac, 0x0806, arp(1, peer_mac, peer_ip, {}, our_ip));

    // Valid traffic.
    c.push_back({"icmp_echo_request", echo, std::nullopt, ev::icmp_echo_request, 1});
    c.push_back({"icmp_echo_large", echo_frame(us, 1472), std::nullopt, ev::icmp_echo_reply_tx, 1});
    c.push_back({"icmp_echo_zero_payload", echo_frame(us, 0), std::nullopt, ev::icmp_echo_request, 1});
    c.push_back({"arp_request_for_us", arp_req, std::nullopt, ev::arp_reply_tx, 1});
    {
        bytes padded = arp_req;
        padded.resize(60, 0);  // minimum Ethernet frame without FCS
        c.push_back({"arp_request_padded", padded, std::nullopt, ev::arp_reply_tx, 1});
    }
    c.push_back({"arp_reply_for_us", eth(us, peer_mac, 0x0806, arp(2, peer_mac, peer_ip, us, our_ip)),
                 std::nullopt, ev::arp_reply_rx, 0});
    c.push_back({"arp_probe_for_us",
                 eth(broadcast_mac, peer_mac, 0x0806, arp(1, peer_mac, 0, {}, our_ip)),
                 std::nullopt, ev::arp_reply_tx, 1});
    {
        ipv4_opts o;
        o.options = {0x01, 0x01, 0x01, 0x00};  // NOP NOP NOP EOL
        c.push_back({"ipv4_with_options", echo_frame(us, 56, o), std::nullopt, ev::ipv4_options, 1});
    }
    {
        ipv4_opts o;
        o.ttl = 0;  // RFC 1122 §3.2.1.7: a host does not discard for TTL
        c.push_back({"ipv4_ttl_zero_still_answered", echo_frame(us, 56, o), std::nullopt,
                     ev::icmp_echo_request, 1});
    }
    {
        bytes f = echo_frame(us, 8);
        f.resize(f.size() + 12, 0);  // Ethernet padding after the datagram
        c.push_back({"ipv4_trailing_padding", f, std::nullopt, ev::icmp_echo_request, 1});
    }

    // Ethernet.
    c.push_back({"eth_empty", {}, dr::eth_truncated, std::nullopt, 0});
    c.push_back({"eth_13_bytes", bytes(echo.begin(), echo.begin() + 13), dr::eth_truncated,
                 std::nullopt, 0});
    c.push_back({"eth_other_unicast_mac", eth(other_mac, peer_mac, 0x0800, bytes(echo.begin() + 14, echo.end())),
                 dr::eth_not_for_us, std::nullopt, 0});
    c.push_back({"eth_vlan_tagged", eth(us, peer_mac, 0x8100, bytes(echo.begin() + 12, echo.end())),
                 dr::eth_vlan_unsupported, std::nullopt, 0});
    c.push_back({"eth_qinq_tagged", eth(us, peer_mac, 0x88a8, bytes(echo.begin() + 12, echo.end())),
                 dr::eth_vlan_unsupported, std::nullopt, 0});
    c.push_back({"eth_ipv6", eth(us, peer_mac, 0x86dd, bytes(40, 0)), dr::eth_ipv6_unsupported,
                 std::nullopt, 0});
    c.push_back({"eth_lldp", eth({0x01, 0x80, 0xc2, 0, 0, 0x0e}, peer_mac, 0x88cc, bytes(30, 0)),
                 dr::eth_type_unknown, ev::eth_rx_multicast, 0});
    c.push_back({"eth_header_only", eth(us, peer_mac, 0x0800, {}), dr::ipv4_truncated,
                 std::nullopt, 0});

    // ARP.
    c.push_back({"arp_truncated", bytes(arp_req.begin(), arp_req.begin() + 14 + 27),
                 dr::arp_malformed, std::nullopt, 0});
    {
        bytes f = arp_req;
        put16(f, 14, 6);  // IEEE 802 hardware type
        c.push_back({"arp_bad_hardware_type", f, dr::arp_malformed, std::nullopt, 0});
        f = arp_req;
        put16(f, 16, 0x86dd);
        c.push_back({"arp_bad_protocol_type", f, dr::arp_malformed, std::nullopt, 0});
        f = arp_req;
        f[18] = 8;
        c.push_back({"arp_bad_hardware_length", f, dr::arp_malformed, std::nullopt, 0});
        f = arp_req;
        f[19] = 16;
        c.push_back({"arp_bad_protocol_length", f, dr::arp_malformed, std::nullopt, 0});
        f = arp_req;
        put16(f, 20, 3);  // RARP request
        c.push_back({"arp_bad_opcode", f, dr::arp_malformed, std::nullopt, 0});
    }
    c.push_back({"arp_request_for_other",
                 eth(broadcast_mac, peer_mac, 0x0806, arp(1, peer_mac, peer_ip, {}, other_ip)),
                 dr::arp_not_for_us, ev::arp_request_rx, 0});
    c.push_back({"arp_sender_multicast_ip",
                 eth(broadcast_mac, peer_mac, 0x0806, arp(1, peer_mac, ip4(224, 0, 0, 1), {}, our_ip)),
                 dr::arp_bad_source, std::nullopt, 0});
    c.push_back({"arp_sender_multicast_mac",
                 eth(broadcast_mac, peer_mac, 0x0806,
                     arp(1, {0x01, 0, 0x5e, 0, 0, 1}, peer_ip, {}, our_ip)),
                 dr::arp_bad_source, std::nullopt, 0});
    c.push_back({"arp_conflict_with_our_address",
                 eth(broadcast_mac, other_mac, 0x0806, arp(1, other_mac, our_ip, {}, our_ip)),
                 dr::arp_bad_source, ev::arp_conflict, 0});

    // IPv4.
    const std::size_t ip = 14;
    {
        bytes f = echo;
        f.resize(ip + 19);
        c.push_back({"ipv4_shorter_than_header", f, dr::ipv4_truncated, std::nullopt, 0});
        f = echo;
        f[ip] = 0x65;
        c.push_back({"ipv4_version_6", f, dr::ipv4_bad_version, std::nullopt, 0});
        f = echo;
        f[ip] = 0x44;
        c.push_back({"ipv4_ihl_4", f, dr::ipv4_bad_ihl, std::nullopt, 0});
        f = echo;
        f[ip] = 0x4f;  // 60-byte header in a 20-byte-header frame of 98 bytes is fine; shorten
        f.resize(ip + 40);
        c.push_back({"ipv4_ihl_beyond_packet", f, dr::ipv4_bad_ihl, std::nullopt, 0});
        f = echo;
        put16(f, ip + 2, 19);
        c.push_back({"ipv4_total_length_below_header", f, dr::ipv4_bad_total_length,
                     std::nullopt, 0});
        f = echo;
        put16(f, ip + 2, static_cast<std::uint16_t>(f.size() - ip + 1));
        put16(f, ip + 10, 0);
        put16(f, ip + 10, inet_checksum(f, ip, 20));
        c.push_back({"ipv4_total_length_beyond_frame", f, dr::ipv4_truncated, std::nullopt, 0});
        f = echo;
        f[ip + 10] ^= 0x01;
        c.push_back({"ipv4_bad_checksum", f, dr::ipv4_bad_checksum, std::nullopt, 0});
    }
    {
        ipv4_opts o;
        o.frag = 0x2000;  // MF
        c.push_back({"ipv4_first_fragment", echo_frame(us, 56, o), dr::ipv4_fragment, std::nullopt, 0});
        o.frag = 0x0010;  // offset 128
        c.push_back({"ipv4_later_fragment", echo_frame(us, 56, o), dr::ipv4_fragment, std::nullopt, 0});
    }
    c.push_back({"ipv4_not_our_address",
                 eth(us, peer_mac, 0x0800, ipv4(peer_ip, other_ip, 1, icmp_echo(8, 1, 1, 8))),
                 dr::ipv4_not_for_us, std::nullopt, 0});
    c.push_back({"ipv4_broadcast_destination",
                 eth(broadcast_mac, peer_mac, 0x0800,
                     ipv4(peer_ip, ip4(255, 255, 255, 255), 1, icmp_echo(8, 1, 1, 8))),
                 dr::ipv4_not_for_us, ev::eth_rx_multicast, 0});
    for (auto [name, src] : std::vector<std::pair<std::string, std::uint32_t>>{
             {"ipv4_source_zero", 0},
             {"ipv4_source_broadcast", ip4(255, 255, 255, 255)},
             {"ipv4_source_multicast", ip4(239, 1, 2, 3)},
             {"ipv4_source_loopback", ip4(127, 0, 0, 1)},
             {"ipv4_source_subnet_broadcast", ip4(198, 18, 0, 255)},
             {"ipv4_source_is_us", our_ip}}) {
        c.push_back({name, eth(us, peer_mac, 0x0800, ipv4(src, our_ip, 1, icmp_echo(8, 1, 1, 8))),
                     dr::ipv4_bad_source, std::nullopt, 0});
    }
    c.push_back({"ipv4_udp_unhandled", eth(us, peer_mac, 0x0800, ipv4(peer_ip, our_ip, 17, bytes(8, 0))),
                 dr::ipv4_proto_unhandled, std::nullopt, 0});
    c.push_back({"ipv4_tcp_unhandled", eth(us, peer_mac, 0x0800, ipv4(peer_ip, our_ip, 6, bytes(20, 0))),
                 dr::ipv4_proto_unhandled, std::nullopt, 0});

    // ICMP.
    c.push_back({"icmp_truncated", eth(us, peer_mac, 0x0800, ipv4(peer_ip, our_ip, 1, bytes(7, 8))),
                 dr::icmp_truncated, std::nullopt, 0});
    {
        bytes f = echo;
        f[ip + 20 + 2] ^= 0x40;
        c.push_back({"icmp_bad_checksum", f, dr::icmp_bad_checksum, std::nullopt, 0});
        f = echo;
        f.back() ^= 0x01;  // payload changed, checksum not
        c.push_back({"icmp_payload_corrupted", f, dr::icmp_bad_checksum, std::nullopt, 0});
    }
    c.push_back({"icmp_echo_reply_to_us",
                 eth(us, peer_mac, 0x0800, ipv4(peer_ip, our_ip, 1, icmp_echo(0, 1, 1, 8))),
                 dr::icmp_type_unhandled, std::nullopt, 0});
    {
        bytes icmp = icmp_echo(8, 1, 1, 8);
        icmp[1] = 1;  // echo with a non-zero code
        put16(icmp, 2, 0);
        put16(icmp, 2, inet_checksum(icmp, 0, icmp.size()));
        c.push_back({"icmp_echo_nonzero_code", eth(us, peer_mac, 0x0800, ipv4(peer_ip, our_ip, 1, icmp)),
                     dr::icmp_type_unhandled, std::nullopt, 0});
    }
    return c;
}

}  // namespace sluice::test
