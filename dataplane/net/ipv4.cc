// IPv4 input and output (RFC 791, RFC 1122 §3.2) and ICMP echo (RFC 792) on the worker lcore.
// Sluice is an end host, not a router: packets not addressed to us are dropped, never forwarded.
// Fragments are dropped and counted rather than reassembled (docs/architecture.md explains why).
#include <rte_icmp.h>
#include <rte_ip.h>

#include "cksum.hh"
#include "stack.hh"
#include "tcp/tcp_stack.hh"

namespace sluice::dp::net {

namespace {

// RFC 1122 §3.2.1.3: a source address must not be 0, broadcast, multicast or loopback.
bool bad_ipv4_source(rte_be32_t src_be, const iface& ifc) noexcept {
    const std::uint32_t src = rte_be_to_cpu_32(src_be);
    return src == 0 || src == 0xffffffffU || (src >> 28) == 0xe || (src >> 24) == 127 ||
           src_be == ifc.subnet_broadcast() || src_be == ifc.addr;
}

// RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), for one changed 16-bit word (host order values).
std::uint16_t cksum_update16(std::uint16_t hc, std::uint16_t old_word,
                             std::uint16_t new_word) noexcept {
    std::uint32_t sum = static_cast<std::uint16_t>(~hc);
    sum += static_cast<std::uint16_t>(~old_word);
    sum += new_word;
    sum = (sum & 0xffffU) + (sum >> 16);
    sum = (sum & 0xffffU) + (sum >> 16);
    return static_cast<std::uint16_t>(~sum);
}

}  // namespace

void stack::ipv4_input(port_ctx& pc, rte_mbuf* m, std::uint64_t now) noexcept {
    const std::uint32_t len = rte_pktmbuf_pkt_len(m);
    if (rte_pktmbuf_data_len(m) < sizeof(rte_ipv4_hdr)) [[unlikely]] {
        return drop(pc, m, drop_reason::ipv4_truncated);
    }
    const auto* ih = rte_pktmbuf_mtod(m, const rte_ipv4_hdr*);
    // RFC 1122 §3.2.1.1: silently discard a datagram whose version is not 4.
    if ((ih->version_ihl >> 4) != 4) [[unlikely]] {
        return drop(pc, m, drop_reason::ipv4_bad_version);
    }
    const std::uint32_t ihl = static_cast<std::uint32_t>(ih->version_ihl & 0x0f) * 4U;
    if (ihl < sizeof(rte_ipv4_hdr) || ihl > rte_pktmbuf_data_len(m)) [[unlikely]] {
        return drop(pc, m, drop_reason::ipv4_bad_ihl);
    }
    const std::uint32_t total = rte_be_to_cpu_16(ih->total_length);
    if (total < ihl) [[unlikely]] {
        return drop(pc, m, drop_reason::ipv4_bad_total_length);
    }
    if (total > len) [[unlikely]] {
        return drop(pc, m, drop_reason::ipv4_truncated);
    }
    // RFC 1122 §3.2.1.2: verify the header checksum, unless the NIC already did.
    const std::uint64_t ck = m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK;
    if (ck == RTE_MBUF_F_RX_IP_CKSUM_BAD) [[unlikely]] {
        return drop(pc, m, drop_reason::ipv4_bad_checksum);
    }
    if (ck != RTE_MBUF_F_RX_IP_CKSUM_GOOD && rte_raw_cksum(ih, ihl) != 0xffff) [[unlikely]] {
        return drop(pc, m, drop_reason::ipv4_bad_checksum);
    }
    if ((ih->fragment_offset &
         RTE_BE16(RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK)) != 0) [[unlikely]] {
        return drop(pc, m, drop_reason::ipv4_fragment);
    }
    const iface& ifc = *pc.ifc;
    if (ih->dst_addr != ifc.addr) {
        return drop(pc, m, drop_reason::ipv4_not_for_us);
    }
    if (bad_ipv4_source(ih->src_addr, ifc)) [[unlikely]] {
        return drop(pc, m, drop_reason::ipv4_bad_source);
    }
    // RFC 1122 §3.2.1.7: a host must not discard a datagram for its TTL; nothing to check.
    if (ihl > sizeof(rte_ipv4_hdr)) {
        pc.stats.count(event::ipv4_options);  // RFC 1122 §3.2.1.8: options are passed over
    }
    if (len > total && rte_pktmbuf_trim(m, static_cast<std::uint16_t>(len - total)) != 0)
        [[unlikely]] {
        return drop(pc, m, drop_reason::ipv4_bad_total_length);  // padding spans segments
    }
    const rte_be32_t src = ih->src_addr;
    switch (ih->next_proto_id) {
        case IPPROTO_ICMP:
            rte_pktmbuf_adj(m, static_cast<std::uint16_t>(ihl));
            return icmp_input(pc, m, src, now);
        case IPPROTO_TCP:
            if (tcp_ != nullptr) {
                const rte_be32_t dst = ih->dst_addr;
                rte_pktmbuf_adj(m, static_cast<std::uint16_t>(ihl));
                return tcp_->input(ifc.port_id, m, src, dst, now);
            }
            return drop(pc, m, drop_reason::ipv4_proto_unhandled);
        default:
            return drop(pc, m, drop_reason::ipv4_proto_unhandled);
    }
}

void stack::icmp_input(port_ctx& pc, rte_mbuf* m, rte_be32_t src, std::uint64_t now) noexcept {
    const std::uint32_t len = rte_pktmbuf_pkt_len(m);
    if (len < sizeof(rte_icmp_hdr) || rte_pktmbuf_data_len(m) < sizeof(rte_icmp_hdr)) [[unlikely]] {
        return drop(pc, m, drop_reason::icmp_truncated);
    }
    auto* ic = rte_pktmbuf_mtod(m, rte_icmp_hdr*);
    // RFC 1191 §4: destination unreachable, fragmentation needed and DF set: TCP lowers its MSS.
    if (ic->icmp_type == 3 && ic->icmp_code == 4 && tcp_ != nullptr) {
        std::uint16_t sum = 0;
        if (rte_raw_cksum_mbuf(m, 0, len, &sum) != 0 || sum != 0xffff) [[unlikely]] {
            return drop(pc, m, drop_reason::icmp_bad_checksum);
        }
        return tcp_->icmp_frag_needed(pc.ifc->port_id, m, now);
    }
    if (ic->icmp_type != RTE_IP_ICMP_ECHO_REQUEST || ic->icmp_code != 0) {
        return drop(pc, m, drop_reason::icmp_type_unhandled);
    }
    // Not rte_raw_cksum_mbuf: DPDK 22.11's is wrong for chains split at odd offsets (cksum.hh).
    if (raw_cksum_chain(m, len) != 0xffff) [[unlikely]] {
        return drop(pc, m, drop_reason::icmp_bad_checksum);
    }
    pc.stats.count(event::icmp_echo_request);
    // RFC 792: the reply is the request with type 0; identifier, sequence and data unchanged.
    ic->icmp_type = RTE_IP_ICMP_ECHO_REPLY;
    ic->icmp_cksum = rte_cpu_to_be_16(cksum_update16(
        rte_be_to_cpu_16(ic->icmp_cksum), RTE_IP_ICMP_ECHO_REQUEST << 8, RTE_IP_ICMP_ECHO_REPLY << 8));
    pc.stats.count(event::icmp_echo_reply_tx);
    ipv4_output(pc.ifc->port_id, m, src, IPPROTO_ICMP, now);
}

void stack::ipv4_output(std::uint16_t port, rte_mbuf* m, rte_be32_t dst, std::uint8_t proto,
                        std::uint64_t now) noexcept {
    port_ctx& pc = ports_[port];
    const iface& ifc = *pc.ifc;
    if (rte_pktmbuf_headroom(m) < sizeof(rte_ipv4_hdr) + sizeof(rte_ether_hdr)) [[unlikely]] {
        return drop(pc, m, drop_reason::headroom);
    }
    rte_be32_t next_hop = dst;
    if (!ifc.on_link(dst)) {
        if (ifc.gateway == 0) {
            return drop(pc, m, drop_reason::no_route);
        }
        next_hop = ifc.gateway;
    }
    auto* ih = reinterpret_cast<rte_ipv4_hdr*>(rte_pktmbuf_prepend(m, sizeof(rte_ipv4_hdr)));
    ih->version_ihl = RTE_IPV4_VHL_DEF;
    ih->type_of_service = 0;
    ih->total_length = rte_cpu_to_be_16(static_cast<std::uint16_t>(rte_pktmbuf_pkt_len(m)));
    // RFC 6864 §4.1: the ID of an atomic datagram (DF set, not fragmented) has no meaning.
    ih->packet_id = 0;
    ih->fragment_offset = RTE_BE16(RTE_IPV4_HDR_DF_FLAG);
    ih->time_to_live = ifc.ttl;
    ih->next_proto_id = proto;
    ih->src_addr = ifc.addr;
    ih->dst_addr = dst;
    ih->hdr_checksum = 0;
    // Keep only the flags that describe the buffer itself; RX flags must not leak into TX.
    m->ol_flags &= (RTE_MBUF_F_EXTERNAL | RTE_MBUF_F_INDIRECT);
    if (ifc.tx_ipv4_cksum) {
        m->l2_len = sizeof(rte_ether_hdr);
        m->l3_len = sizeof(rte_ipv4_hdr);
        m->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM;
    } else {
        ih->hdr_checksum = rte_ipv4_cksum(ih);
    }
    l2_output(pc, m, next_hop, now);
}

}  // namespace sluice::dp::net
