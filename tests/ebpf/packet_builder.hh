// Builds raw Ethernet frames for the XDP case table (tests/ebpf) and benchmark
// (bench/ebpf). Fields are given in host order and written in network order. Checksums
// are left zero: the XDP program never verifies them. Test-only, any thread.
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <vector>

namespace sluice::ebpf::test {

using bytes = std::vector<std::uint8_t>;
using v4 = std::array<std::uint8_t, 4>;
using v6 = std::array<std::uint8_t, 16>;

// EtherTypes (IEEE 802 numbers, IANA registry).
constexpr std::uint16_t eth_ipv4 = 0x0800;
constexpr std::uint16_t eth_arp = 0x0806;
constexpr std::uint16_t eth_ipv6 = 0x86dd;
constexpr std::uint16_t eth_vlan = 0x8100;  // IEEE 802.1Q
constexpr std::uint16_t eth_qinq = 0x88a8;  // IEEE 802.1ad
constexpr std::uint16_t eth_lldp = 0x88cc;

// RFC 9293 §3.1 control bits.
constexpr std::uint8_t tcp_syn = 0x02;
constexpr std::uint8_t tcp_ack = 0x10;

// IP protocol numbers (IANA).
constexpr std::uint8_t proto_icmp = 1;
constexpr std::uint8_t proto_tcp = 6;
constexpr std::uint8_t proto_udp = 17;
constexpr std::uint8_t proto_ipv6_frag = 44;
constexpr std::uint8_t proto_icmpv6 = 58;

// Destination/source MAC, then one tag per TPID (VID 100 + i), then ethertype.
bytes l2(std::uint16_t ethertype, std::initializer_list<std::uint16_t> tpids = {});

struct ipv4_fields {
    std::uint8_t version = 4;
    std::uint8_t ihl = 5;        // 32-bit words; > 5 appends NOP options
    std::uint16_t frag = 0;      // flags + offset field, host order (0x2000 = MF)
    int tot_len_adjust = 0;      // added to the computed total length (malformed cases)
};
void put_ipv4(bytes& b, v4 src, v4 dst, std::uint8_t proto, std::uint16_t l4_len,
              ipv4_fields f = {});
void put_ipv6(bytes& b, const v6& src, const v6& dst, std::uint8_t nexthdr,
              std::uint16_t payload_len, std::uint8_t version = 6);
void put_tcp(bytes& b, std::uint16_t sport, std::uint16_t dport, std::uint8_t flags,
             std::uint8_t doff = 5);
void put_udp(bytes& b, std::uint16_t sport, std::uint16_t dport);
// RFC 826 request for Ethernet/IPv4; hrd != 1 makes a non-Ethernet ARP.
void put_arp(bytes& b, v4 sender, v4 target, std::uint16_t hrd = 1);

// Whole frames for the common cases.
bytes tcp4(v4 src, v4 dst, std::uint16_t dport, std::uint8_t flags,
           std::initializer_list<std::uint16_t> tpids = {}, ipv4_fields f = {});
bytes udp4(v4 src, v4 dst, std::uint16_t dport);
bytes tcp6(const v6& src, const v6& dst, std::uint16_t dport, std::uint8_t flags);
bytes arp4(v4 sender, v4 target, std::uint16_t hrd = 1);

// The first n bytes of b (n <= b.size()).
bytes truncated(const bytes& b, std::size_t n);

}  // namespace sluice::ebpf::test
