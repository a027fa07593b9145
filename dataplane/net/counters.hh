// Per-queue counters of the L2/L3 path. Each (worker lcore, port) pair owns one queue_stats,
// written with plain single-writer stores by that lcore only; the main lcore reads them for
// dumps. Relaxed atomic load/store (never read-modify-write) keeps the reads race-free without
// costing the writer anything on x86-64.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace sluice::dp::net {

// Why a packet was dropped. Every drop in the dataplane is counted under exactly one reason.
enum class drop_reason : std::uint8_t {
    eth_truncated,        // shorter than an Ethernet header
    eth_not_for_us,       // unicast to another MAC
    eth_vlan_unsupported, // 802.1Q/802.1ad tagged, or VLAN stripped by the NIC
    eth_ipv6_unsupported, // IPv6 is not served yet
    eth_type_unknown,     // any other EtherType (LLDP, ...)
    arp_malformed,        // bad hardware/protocol type or lengths, or truncated
    arp_not_for_us,       // request or reply for an address we do not own
    arp_bad_source,       // sender IP is multicast, broadcast or ours (conflict)
    ipv4_truncated,       // shorter than its header or its total length
    ipv4_bad_version,
    ipv4_bad_ihl,         // IHL < 5 or beyond the packet
    ipv4_bad_total_length,
    ipv4_bad_checksum,
    ipv4_fragment,        // fragments are dropped, not reassembled (docs/architecture.md)
    ipv4_not_for_us,      // destination is not our address
    ipv4_bad_source,      // source is multicast, broadcast, loopback or zero
    ipv4_proto_unhandled, // no handler for this IP protocol (yet)
    icmp_truncated,
    icmp_bad_checksum,
    icmp_type_unhandled,  // anything but echo request
    arp_pending_overflow, // too many packets already waiting for this next hop
    arp_table_full,       // no free ARP entry for a new next hop
    arp_resolve_failed,   // next hop never answered our requests
    no_route,             // destination off-link and no gateway configured
    headroom,             // no room to prepend a header (should not happen with our pools)
    tx_full,              // the NIC queue did not take the packet
    // TCP (issue 3). A TCP segment that was processed (even a pure ACK) is consumed, not dropped.
    tcp_truncated,        // shorter than a TCP header
    tcp_bad_offset,       // data offset < 5 words or beyond the segment
    tcp_bad_checksum,
    tcp_no_socket,        // no connection or listener; answered with RST (RFC 9293 §3.10.7.1)
    tcp_unacceptable,     // failed the sequence check (RFC 9293 §3.10.7.4 first check); ACKed
    tcp_paws,             // RFC 7323 §5 PAWS: old timestamp
    tcp_backlog_full,     // SYN refused: listener's SYN-RECEIVED backlog is full
    tcp_table_full,       // SYN refused: no free TCB on this lcore
    tcp_bad_ack,          // ACK outside what we sent (RFC 9293 §3.10.7.4 fifth check)
    tcp_ooo_dropped,      // out-of-order data with no reassembly room
    tcp_no_ack,           // segment without ACK in a synchronized state
    tcp_rst_ignored,      // RST outside the window, or unacceptable in SYN-SENT
    tcp_alloc_failed,     // no mbuf for a reply or a segment
    tcp_icmp_ignored,     // ICMP frag-needed for no connection, or failing RFC 5927 checks
    count_
};

inline constexpr std::size_t drop_reason_count = static_cast<std::size_t>(drop_reason::count_);

constexpr std::string_view to_string(drop_reason r) noexcept {
    constexpr std::array<std::string_view, drop_reason_count> names = {
        "eth_truncated",        "eth_not_for_us",     "eth_vlan_unsupported",
        "eth_ipv6_unsupported", "eth_type_unknown",   "arp_malformed",
        "arp_not_for_us",       "arp_bad_source",     "ipv4_truncated",
        "ipv4_bad_version",     "ipv4_bad_ihl",       "ipv4_bad_total_length",
        "ipv4_bad_checksum",    "ipv4_fragment",      "ipv4_not_for_us",
        "ipv4_bad_source",      "ipv4_proto_unhandled", "icmp_truncated",
        "icmp_bad_checksum",    "icmp_type_unhandled", "arp_pending_overflow",
        "arp_table_full",       "arp_resolve_failed", "no_route",
        "headroom",             "tx_full",            "tcp_truncated",
        "tcp_bad_offset",       "tcp_bad_checksum",   "tcp_no_socket",
        "tcp_unacceptable",     "tcp_paws",           "tcp_backlog_full",
        "tcp_table_full",       "tcp_bad_ack",        "tcp_ooo_dropped",
        "tcp_no_ack",           "tcp_rst_ignored",    "tcp_alloc_failed",
        "tcp_icmp_ignored",
    };
    auto i = static_cast<std::size_t>(r);
    return i < names.size() ? names[i] : "unknown";
}

// Things that happened, as opposed to drops.
enum class event : std::uint8_t {
    arp_request_rx,
    arp_reply_rx,
    arp_request_tx,
    arp_reply_tx,
    arp_gratuitous_tx,
    arp_learned,          // a new or changed neighbour entry
    arp_expired,
    arp_conflict,         // someone else claims our address
    ipv4_options,         // header carried options; they were skipped
    eth_rx_multicast,     // frames to a multicast or broadcast MAC that were accepted
    icmp_echo_request,
    icmp_echo_reply_tx,
    // TCP (issue 3).
    tcp_segment_rx,       // valid TCP segments processed
    tcp_segment_tx,
    tcp_passive_open,     // SYN accepted by a listener (SYN-RECEIVED)
    tcp_active_open,      // connect() sent a SYN
    tcp_established,
    tcp_closed,           // a TCB returned to the pool
    tcp_reset_rx,         // RST accepted
    tcp_reset_tx,         // RST sent (any reason)
    tcp_rto,              // retransmission timer expiries
    tcp_retransmit,       // segments sent again (RTO or fast retransmit)
    tcp_fast_retransmit,  // RFC 5681 §3.2 / RFC 6582 recovery entered
    tcp_ooo_queued,       // segments queued out of order
    tcp_challenge_ack,    // RFC 5961 challenge ACKs sent
    tcp_delayed_ack,      // ACKs sent by the delayed-ACK timer
    tcp_time_wait,        // connections that entered TIME-WAIT
    tcp_timeout,          // connections given up (retries or connect timeout)
    tcp_challenge_ack_limited,  // challenge ACKs not sent: over the RFC 5961 §7 rate limit
    tcp_time_wait_reused, // a SYN took over a TIME-WAIT pair (RFC 6191)
    tcp_syn_cookie_sent,  // SYN-ACKs with a cookie (backlog full, RFC 4987 §3.6)
    tcp_syn_cookie_accepted,  // connections rebuilt from a valid cookie ACK
    tcp_keepalive_probe,  // keepalive probes sent
    tcp_pmtu_reduced,     // ICMP frag-needed lowered a connection's MSS (RFC 1191)
    tcp_persist_probe,    // zero-window probes sent (RFC 9293 §3.8.6.1)
    tcp_dsack_tx,         // ACKs reporting a duplicate segment in a D-SACK block (RFC 2883)
    tcp_dsack_rx,         // D-SACK blocks received (RFC 2883 §4; not loss information)
    tcp_zero_window_tx,   // ACKs advertising a zero window (receiver paused, buffer full)
    tcp_tlp_probe,        // tail loss probes sent (RFC 8985 §7.3)
    tcp_tlp_recovery,     // probe episodes that ended in loss recovery (RFC 8985 §7.4)
    count_
};

inline constexpr std::size_t event_count = static_cast<std::size_t>(event::count_);

constexpr std::string_view to_string(event e) noexcept {
    constexpr std::array<std::string_view, event_count> names = {
        "arp_request_rx", "arp_reply_rx", "arp_request_tx", "arp_reply_tx",
        "arp_gratuitous_tx", "arp_learned", "arp_expired", "arp_conflict",
        "ipv4_options", "eth_rx_multicast", "icmp_echo_request", "icmp_echo_reply_tx",
        "tcp_segment_rx", "tcp_segment_tx", "tcp_passive_open", "tcp_active_open",
        "tcp_established", "tcp_closed", "tcp_reset_rx", "tcp_reset_tx", "tcp_rto",
        "tcp_retransmit", "tcp_fast_retransmit", "tcp_ooo_queued", "tcp_challenge_ack",
        "tcp_delayed_ack", "tcp_time_wait", "tcp_timeout", "tcp_challenge_ack_limited",
        "tcp_time_wait_reused", "tcp_syn_cookie_sent", "tcp_syn_cookie_accepted",
        "tcp_keepalive_probe", "tcp_pmtu_reduced", "tcp_persist_probe", "tcp_dsack_tx",
        "tcp_dsack_rx", "tcp_zero_window_tx", "tcp_tlp_probe", "tcp_tlp_recovery",
    };
    auto i = static_cast<std::size_t>(e);
    return i < names.size() ? names[i] : "unknown";
}

// A single-writer counter: the owning lcore adds with a plain load and store.
struct counter {
    std::uint64_t v = 0;
    void add(std::uint64_t n = 1) noexcept {
        __atomic_store_n(&v, __atomic_load_n(&v, __ATOMIC_RELAXED) + n, __ATOMIC_RELAXED);
    }
    [[nodiscard]] std::uint64_t read() const noexcept { return __atomic_load_n(&v, __ATOMIC_RELAXED); }
};

struct alignas(64) queue_stats {
    counter rx_packets, rx_bytes, tx_packets, tx_bytes;
    counter alloc_failures;  // mbuf allocation failures on this lcore for this port
    std::array<counter, drop_reason_count> drops{};
    std::array<counter, event_count> events{};

    void drop(drop_reason r) noexcept { drops[static_cast<std::size_t>(r)].add(); }
    void count(event e) noexcept { events[static_cast<std::size_t>(e)].add(); }
    [[nodiscard]] std::uint64_t dropped(drop_reason r) const noexcept {
        return drops[static_cast<std::size_t>(r)].read();
    }
    [[nodiscard]] std::uint64_t counted(event e) const noexcept {
        return events[static_cast<std::size_t>(e)].read();
    }
};

}  // namespace sluice::dp::net
