// Frame construction for the XDP tests and benchmark; see packet_builder.hh.
#include "packet_builder.hh"

#include <algorithm>
#include <cassert>

namespace sluice::ebpf::test {
namespace {

void put16(bytes& b, std::uint16_t v) {
    b.push_back(static_cast<std::uint8_t>(v >> 8));
    b.push_back(static_cast<std::uint8_t>(v & 0xff));
}

template <std::size_t N>
void put(bytes& b, const std::array<std::uint8_t, N>& a) {
    b.insert(b.end(), a.begin(), a.end());
}

constexpr std::array<std::uint8_t, 6> mac_dst = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
constexpr std::array<std::uint8_t, 6> mac_src = {0x02, 0x00, 0x00, 0x00, 0x00, 0x02};

}  // namespace

bytes l2(std::uint16_t ethertype, std::initializer_list<std::uint16_t> tpids) {
    bytes b;
    b.reserve(128);  // whole frame; also avoids a GCC 12 -Wstringop-overflow false positive
    put(b, mac_dst);
    put(b, mac_src);
    std::uint16_t vid = 100;
    for (const auto tpid : tpids) {
        put16(b, tpid);
        put16(b, vid++);  // TCI: PCP 0, DEI 0, VID
    }
    put16(b, ethertype);
    return b;
}

void put_ipv4(bytes& b, v4 src, v4 dst, std::uint8_t proto, std::uint16_t l4_len,
              ipv4_fields f) {
    const std::uint16_t hlen = static_cast<std::uint16_t>(f.ihl * 4);
    b.push_back(static_cast<std::uint8_t>((f.version << 4) | (f.ihl & 0x0f)));
    b.push_back(0);                                           // DSCP/ECN
    put16(b, static_cast<std::uint16_t>(std::max(0, hlen + l4_len + f.tot_len_adjust)));
    put16(b, 0x1234);                                         // identification
    put16(b, f.frag);
    b.push_back(64);                                          // TTL
    b.push_back(proto);
    put16(b, 0);                                              // checksum (unchecked)
    put(b, src);
    put(b, dst);
    for (int i = 20; i < hlen; ++i) {
        b.push_back(1);  // RFC 791 §3.1 option type 1: No Operation
    }
}

void put_ipv6(bytes& b, const v6& src, const v6& dst, std::uint8_t nexthdr,
              std::uint16_t payload_len, std::uint8_t version) {
    b.push_back(static_cast<std::uint8_t>(version << 4));
    b.push_back(0);
    put16(b, 0);  // flow label
    put16(b, payload_len);
    b.push_back(nexthdr);
    b.push_back(64);  // hop limit
    put(b, src);
    put(b, dst);
}

void put_tcp(bytes& b, std::uint16_t sport, std::uint16_t dport, std::uint8_t flags,
             std::uint8_t doff) {
    put16(b, sport);
    put16(b, dport);
    put16(b, 0x0001);  // seq
    put16(b, 0x0000);
    put16(b, 0);  // ack
    put16(b, 0);
    b.push_back(static_cast<std::uint8_t>(doff << 4));
    b.push_back(flags);
    put16(b, 65535);  // window
    put16(b, 0);      // checksum
    put16(b, 0);      // urgent
}

void put_udp(bytes& b, std::uint16_t sport, std::uint16_t dport) {
    put16(b, sport);
    put16(b, dport);
    put16(b, 8);
    put16(b, 0);
}

void put_arp(bytes& b, v4 sender, v4 target, std::uint16_t hrd) {
    put16(b, hrd);
    put16(b, eth_ipv4);
    b.push_back(6);
    b.push_back(4);
    put16(b, 1);  // request
    put(b, mac_src);
    put(b, sender);
    put(b, std::array<std::uint8_t, 6>{});
    put(b, target);
}

bytes tcp4(v4 src, v4 dst, std::uint16_t dport, std::uint8_t flags,
           std::initializer_list<std::uint16_t> tpids, ipv4_fields f) {
    bytes b = l2(eth_ipv4, tpids);
    put_ipv4(b, src, dst, proto_tcp, 20, f);
    put_tcp(b, 40000, dport, flags);
    return b;
}

bytes udp4(v4 src, v4 dst, std::uint16_t dport) {
    bytes b = l2(eth_ipv4);
    put_ipv4(b, src, dst, proto_udp, 8);
    put_udp(b, 40000, dport);
    return b;
}

bytes tcp6(const v6& src, const v6& dst, std::uint16_t dport, std::uint8_t flags) {
    bytes b = l2(eth_ipv6);
    put_ipv6(b, src, dst, proto_tcp, 20);
    put_tcp(b, 40000, dport, flags);
    return b;
}

bytes arp4(v4 sender, v4 target, std::uint16_t hrd) {
    bytes b = l2(eth_arp);
    put_arp(b, sender, target, hrd);
    return b;
}

bytes truncated(const bytes& b, std::size_t n) {
    assert(n <= b.size());
    return bytes(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(n));
}

}  // namespace sluice::ebpf::test
