// ARP (RFC 826) on the worker lcore: answering for our address, learning neighbours, resolving
// next hops with a bounded hold queue, retries and expiry, and announcements (RFC 5227 §3).
#include <rte_arp.h>
#include <rte_ether.h>

#include "stack.hh"

namespace sluice::dp::net {

namespace {

// Sources that no neighbour may claim: 0/8 aside (probes are handled apart), multicast (224/4),
// limited broadcast, loopback (127/8). RFC 1122 §3.2.1.3.
bool bad_arp_sender(rte_be32_t ip_be) noexcept {
    const std::uint32_t ip = rte_be_to_cpu_32(ip_be);
    return (ip >> 28) == 0xe || ip == 0xffffffffU || (ip >> 24) == 127;
}

}  // namespace

void stack::arp_input(port_ctx& pc, rte_mbuf* m, std::uint64_t now) noexcept {
    if (rte_pktmbuf_data_len(m) < sizeof(rte_arp_hdr)) [[unlikely]] {
        return drop(pc, m, drop_reason::arp_malformed);
    }
    auto* ah = rte_pktmbuf_mtod(m, rte_arp_hdr*);
    // RFC 826 "Packet Reception": check hardware and protocol types and their lengths.
    if (ah->arp_hardware != RTE_BE16(RTE_ARP_HRD_ETHER) ||
        ah->arp_protocol != RTE_BE16(RTE_ETHER_TYPE_IPV4) || ah->arp_hlen != RTE_ETHER_ADDR_LEN ||
        ah->arp_plen != sizeof(rte_be32_t)) [[unlikely]] {
        return drop(pc, m, drop_reason::arp_malformed);
    }
    const std::uint16_t op = rte_be_to_cpu_16(ah->arp_opcode);
    if (op != RTE_ARP_OP_REQUEST && op != RTE_ARP_OP_REPLY) [[unlikely]] {
        return drop(pc, m, drop_reason::arp_malformed);
    }
    pc.stats.count(op == RTE_ARP_OP_REQUEST ? event::arp_request_rx : event::arp_reply_rx);

    const rte_be32_t sip = ah->arp_data.arp_sip;
    const rte_be32_t tip = ah->arp_data.arp_tip;
    const rte_ether_addr sha = ah->arp_data.arp_sha;
    const iface& ifc = *pc.ifc;
    if (bad_arp_sender(sip) || rte_is_multicast_ether_addr(&sha) ||
        (sip != 0 && sip == ifc.subnet_broadcast())) {
        return drop(pc, m, drop_reason::arp_bad_source);
    }
    if (sip == ifc.addr) {
        // RFC 5227 §2.4: someone else uses our address. Count it; do not let it poison the cache.
        if (!rte_is_same_ether_addr(&sha, &ifc.mac)) {
            pc.stats.count(event::arp_conflict);
        }
        return drop(pc, m, drop_reason::arp_bad_source);
    }

    const bool for_us = tip == ifc.addr;
    // RFC 826 merge: refresh an entry we already have for the sender; create one only when the
    // packet is for us. A zero sender is an RFC 5227 probe and teaches nothing.
    if (sip != 0) {
        learn(pc, sip, sha, now, /*create=*/for_us, /*notify=*/true);
    }
    if (!for_us) {
        return drop(pc, m, drop_reason::arp_not_for_us);
    }
    if (op == RTE_ARP_OP_REPLY) {
        rte_pktmbuf_free(m);  // learned above; nothing to answer
        return;
    }

    // Turn the request into the reply in place (RFC 826: swap, fill in our hardware address).
    ah->arp_opcode = RTE_BE16(RTE_ARP_OP_REPLY);
    ah->arp_data.arp_tha = sha;
    ah->arp_data.arp_tip = sip;
    ah->arp_data.arp_sha = ifc.mac;
    ah->arp_data.arp_sip = ifc.addr;
    const std::uint32_t extra = rte_pktmbuf_pkt_len(m) - sizeof(rte_arp_hdr);
    if (extra != 0) {
        (void)rte_pktmbuf_trim(m, static_cast<std::uint16_t>(extra));  // drop Ethernet padding
    }
    auto* eh = reinterpret_cast<rte_ether_hdr*>(rte_pktmbuf_prepend(m, sizeof(rte_ether_hdr)));
    if (eh == nullptr) [[unlikely]] {
        return drop(pc, m, drop_reason::headroom);
    }
    eh->dst_addr = sha;
    eh->src_addr = ifc.mac;
    eh->ether_type = RTE_BE16(RTE_ETHER_TYPE_ARP);
    m->ol_flags &= (RTE_MBUF_F_EXTERNAL | RTE_MBUF_F_INDIRECT);
    pc.txq.push(m);
    pc.stats.count(event::arp_reply_tx);
}

void stack::learn(port_ctx& pc, rte_be32_t ip, const rte_ether_addr& mac, std::uint64_t now,
                  bool create, bool notify) noexcept {
    arp_entry* e = create ? pc.arp->insert(ip) : pc.arp->lookup(ip);
    if (e == nullptr) {
        return;  // not known and not ours to create, or the table is full
    }
    const bool changed = !e->complete || !rte_is_same_ether_addr(&e->mac, &mac);
    e->mac = mac;
    e->retries = 0;
    e->deadline = now + pc.arp->params().timeout;
    pc.arp->mark_complete(e);
    if (changed) {
        pc.stats.count(event::arp_learned);
        if (notify && learned_fn_ != nullptr) {
            learned_fn_(learned_ctx_, pc.ifc->port_id, ip, mac);
        }
    }
    // Release what waited for this neighbour, in arrival order.
    for (std::uint8_t i = 0; i < e->npending; ++i) {
        rte_mbuf* p = e->pending[i];
        e->pending[i] = nullptr;
        auto* eh = reinterpret_cast<rte_ether_hdr*>(rte_pktmbuf_prepend(p, sizeof(rte_ether_hdr)));
        if (eh == nullptr) [[unlikely]] {
            drop(pc, p, drop_reason::headroom);
            continue;
        }
        eh->dst_addr = mac;
        eh->src_addr = pc.ifc->mac;
        eh->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV4);
        pc.txq.push(p);
    }
    e->npending = 0;
}

void stack::apply_neighbor(std::uint16_t port, rte_be32_t ip, const rte_ether_addr& mac,
                           std::uint64_t now) noexcept {
    if (serves(port)) {
        learn(ports_[port], ip, mac, now, /*create=*/true, /*notify=*/false);
    }
}

void stack::send_arp(port_ctx& pc, std::uint16_t op, const rte_ether_addr& eth_dst,
                     const rte_ether_addr& tha, rte_be32_t tip) noexcept {
    rte_mbuf* m = rte_pktmbuf_alloc(params_.pool);
    if (m == nullptr) [[unlikely]] {
        pc.stats.alloc_failures.add();
        return;
    }
    auto* eh = reinterpret_cast<rte_ether_hdr*>(
        rte_pktmbuf_append(m, sizeof(rte_ether_hdr) + sizeof(rte_arp_hdr)));
    eh->dst_addr = eth_dst;
    eh->src_addr = pc.ifc->mac;
    eh->ether_type = RTE_BE16(RTE_ETHER_TYPE_ARP);
    auto* ah = reinterpret_cast<rte_arp_hdr*>(eh + 1);
    ah->arp_hardware = RTE_BE16(RTE_ARP_HRD_ETHER);
    ah->arp_protocol = RTE_BE16(RTE_ETHER_TYPE_IPV4);
    ah->arp_hlen = RTE_ETHER_ADDR_LEN;
    ah->arp_plen = sizeof(rte_be32_t);
    ah->arp_opcode = rte_cpu_to_be_16(op);
    ah->arp_data.arp_sha = pc.ifc->mac;
    ah->arp_data.arp_sip = pc.ifc->addr;
    ah->arp_data.arp_tha = tha;
    ah->arp_data.arp_tip = tip;
    pc.txq.push(m);
}

void stack::send_gratuitous_arp(std::uint16_t port) noexcept {
    if (!serves(port)) {
        return;
    }
    port_ctx& pc = ports_[port];
    rte_ether_addr bcast;
    rte_ether_addr zero{};
    memset(&bcast, 0xff, sizeof(bcast));
    // RFC 5227 §3: an announcement is a request with sender and target IP both ours.
    send_arp(pc, RTE_ARP_OP_REQUEST, bcast, zero, pc.ifc->addr);
    pc.stats.count(event::arp_gratuitous_tx);
}

void stack::l2_output(port_ctx& pc, rte_mbuf* m, rte_be32_t next_hop, std::uint64_t now) noexcept {
    arp_entry* e = pc.arp->lookup(next_hop);
    if (e != nullptr && e->complete) [[likely]] {
        auto* eh = reinterpret_cast<rte_ether_hdr*>(rte_pktmbuf_prepend(m, sizeof(rte_ether_hdr)));
        if (eh == nullptr) [[unlikely]] {
            return drop(pc, m, drop_reason::headroom);
        }
        eh->dst_addr = e->mac;
        eh->src_addr = pc.ifc->mac;
        eh->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV4);
        pc.txq.push(m);
        return;
    }
    if (e == nullptr) {
        e = pc.arp->insert(next_hop);
        if (e == nullptr) {
            return drop(pc, m, drop_reason::arp_table_full);
        }
        rte_ether_addr bcast;
        rte_ether_addr zero{};
        memset(&bcast, 0xff, sizeof(bcast));
        send_arp(pc, RTE_ARP_OP_REQUEST, bcast, zero, next_hop);
        pc.stats.count(event::arp_request_tx);
        e->retries = 1;
        e->deadline = now + pc.arp->params().retry;
    }
    if (e->npending >= pc.arp->params().pending_max) {
        return drop(pc, m, drop_reason::arp_pending_overflow);
    }
    e->pending[e->npending++] = m;
}

void stack::tick(std::uint64_t now) noexcept {
    const bool sweep = now >= next_sweep_;
    if (sweep) {
        next_sweep_ = now + params_.tsc_hz;  // expiry is checked once a second
    }
    rte_ether_addr bcast;
    rte_ether_addr zero{};
    memset(&bcast, 0xff, sizeof(bcast));
    for (auto& pc : ports_) {
        if (pc.ifc == nullptr || pc.arp == nullptr) {
            continue;
        }
        arp_table& t = *pc.arp;
        if (!sweep && t.incomplete() == 0) {
            continue;
        }
        t.for_each([&](arp_entry& e) {
            if (now < e.deadline) {
                return;
            }
            if (e.complete) {
                pc.stats.count(event::arp_expired);
                t.remove(&e);
            } else if (e.retries >= t.params().max_retries) {
                for (std::uint8_t i = 0; i < e.npending; ++i) {
                    pc.stats.drop(drop_reason::arp_resolve_failed);
                }
                t.remove(&e);  // frees the waiting packets
            } else {
                send_arp(pc, RTE_ARP_OP_REQUEST, bcast, zero, e.ip);
                pc.stats.count(event::arp_request_tx);
                ++e.retries;
                e.deadline = now + t.params().retry;
            }
        });
    }
}

}  // namespace sluice::dp::net
