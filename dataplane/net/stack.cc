// Per-worker stack plumbing and Ethernet input. Runs on the owning worker lcore.
#include "stack.hh"

#include <rte_ether.h>
#include <rte_prefetch.h>

#include "tcp/tcp_stack.hh"

namespace sluice::dp::net {

stack::~stack() { release(); }

status stack::add_port(const iface* ifc, std::uint16_t queue) {
    if (ifc->port_id >= max_ports) {
        return error{"port " + std::to_string(ifc->port_id) + " is above the supported maximum (" +
                     std::to_string(max_ports - 1) + ")"};
    }
    port_ctx& pc = ports_[ifc->port_id];
    auto table = arp_table::create(params_.arp, params_.socket_id);
    if (!table) {
        return error{table.message()};
    }
    pc.arp = std::move(table).value();
    if (pc.ifc == nullptr) {
        bound_[n_bound_++] = ifc->port_id;
    }
    pc.ifc = ifc;
    pc.queue = queue;
    pc.txq.bind(ifc->port_id, queue, &pc.stats);
    return ok_status();
}

void stack::input(std::uint16_t port, rte_mbuf** pkts, std::uint16_t n,
                  std::uint64_t now) noexcept {
    port_ctx& pc = ports_[port];
    std::uint64_t bytes = 0;
    for (std::uint16_t i = 0; i < n; ++i) {
        bytes += rte_pktmbuf_pkt_len(pkts[i]);
    }
    pc.stats.rx_packets.add(n);
    pc.stats.rx_bytes.add(bytes);
    for (std::uint16_t i = 0; i < n; ++i) {
        if (i + 1 < n) {
            rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 1], void*));
        }
        eth_input(pc, pkts[i], now);
    }
}

void stack::eth_input(port_ctx& pc, rte_mbuf* m, std::uint64_t now) noexcept {
    if (rte_pktmbuf_data_len(m) < sizeof(rte_ether_hdr)) [[unlikely]] {
        return drop(pc, m, drop_reason::eth_truncated);
    }
    const auto* eh = rte_pktmbuf_mtod(m, const rte_ether_hdr*);
    if (!rte_is_same_ether_addr(&eh->dst_addr, &pc.ifc->mac)) {
        // The group bit covers broadcast too. Multicast is accepted here; IPv4 then drops
        // what is not addressed to us.
        if (!rte_is_multicast_ether_addr(&eh->dst_addr)) {
            return drop(pc, m, drop_reason::eth_not_for_us);
        }
        pc.stats.count(event::eth_rx_multicast);
    }
    if (m->ol_flags & (RTE_MBUF_F_RX_VLAN_STRIPPED | RTE_MBUF_F_RX_QINQ_STRIPPED)) [[unlikely]] {
        return drop(pc, m, drop_reason::eth_vlan_unsupported);
    }
    switch (eh->ether_type) {
        case RTE_BE16(RTE_ETHER_TYPE_IPV4):
            rte_pktmbuf_adj(m, sizeof(rte_ether_hdr));
            return ipv4_input(pc, m, now);
        case RTE_BE16(RTE_ETHER_TYPE_ARP):
            rte_pktmbuf_adj(m, sizeof(rte_ether_hdr));
            return arp_input(pc, m, now);
        case RTE_BE16(RTE_ETHER_TYPE_VLAN):
        case RTE_BE16(RTE_ETHER_TYPE_QINQ):
            return drop(pc, m, drop_reason::eth_vlan_unsupported);
        case RTE_BE16(RTE_ETHER_TYPE_IPV6):
            return drop(pc, m, drop_reason::eth_ipv6_unsupported);
        default:
            return drop(pc, m, drop_reason::eth_type_unknown);
    }
}

void stack::flush() noexcept {
    for (std::uint16_t i = 0; i < n_bound_; ++i) {
        ports_[bound_[i]].txq.flush();
    }
}

void stack::release() noexcept {
    if (tcp_ != nullptr) {
        tcp_->release();  // queued and out-of-order mbufs go back before the pools are checked
    }
    for (auto& pc : ports_) {
        pc.txq.discard();
        pc.arp.reset();  // frees packets still waiting for resolution
    }
}

}  // namespace sluice::dp::net
