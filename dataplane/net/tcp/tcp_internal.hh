// Internals shared by the TCP connection code (tcp_stack.cc, tcp_input.cc, tcp_output.cc).
// Everything here runs on the lcore that owns the tcp_stack. Not for use outside net/tcp.
#pragma once

#include <rte_ip.h>
#include <rte_tcp.h>

#include <algorithm>

#include "../cksum.hh"
#include "net/stack.hh"
#include "net/tcp/tcp_stack.hh"

namespace sluice::dp::net::tcp {

// TCP header flag bits (RFC 9293 §3.1).
inline constexpr std::uint8_t th_fin = RTE_TCP_FIN_FLAG;
inline constexpr std::uint8_t th_syn = RTE_TCP_SYN_FLAG;
inline constexpr std::uint8_t th_rst = RTE_TCP_RST_FLAG;
inline constexpr std::uint8_t th_psh = RTE_TCP_PSH_FLAG;
inline constexpr std::uint8_t th_ack = RTE_TCP_ACK_FLAG;

// A parsed incoming segment (host order).
struct segment {
    seq_t seq = 0;
    seq_t ack = 0;
    std::uint32_t wnd = 0;     // raw 16-bit window, not yet scaled
    std::uint32_t hdr_len = 0;
    std::uint32_t len = 0;     // payload bytes
    std::uint8_t flags = 0;
    tcp_options opt{};
    [[nodiscard]] bool has(std::uint8_t f) const noexcept { return (flags & f) != 0; }
    // SEG.LEN: payload plus SYN and FIN (RFC 9293 §3.3.1).
    [[nodiscard]] std::uint32_t seg_len() const noexcept {
        return len + (has(th_syn) ? 1U : 0U) + (has(th_fin) ? 1U : 0U);
    }
};

// Friend of tcp_stack: the connection machinery as free functions over its state.
struct tcp_detail {
    // tcp_stack.cc: pool, table, lifecycle.
    static tcb* alloc(tcp_stack& s, const flow_key& k, std::uint16_t port) noexcept;
    static void free_tcb(tcp_stack& s, tcb& t) noexcept;
    static void finish(tcp_stack& s, tcb& t, close_reason why) noexcept;
    static void notify_closed(tcp_stack& s, tcb& t, close_reason why) noexcept;
    static void enter_time_wait(tcp_stack& s, tcb& t) noexcept;
    static void established(tcp_stack& s, tcb& t) noexcept;
    // Makes `t` inert at once (no events, buffers released) and frees it at the next tick, so
    // that abort()/close() are safe from inside a handler callback.
    static void doom(tcp_stack& s, tcb& t) noexcept;
    static void deliver(tcp_stack& s, tcb& t, const rx_view& v) noexcept;
    static seq_t make_isn(const tcp_stack& s, const flow_key& k) noexcept;
    static queue_stats& stats(tcp_stack& s, std::uint16_t port) noexcept {
        return s.ip_.stats(port);
    }
    static const iface& ifc_of(tcp_stack& s, std::uint16_t port) noexcept;
    static void on_rtx_timer(core::timer_wheel& w, core::timer_node& n, void* ctx) noexcept;
    static void on_delack_timer(core::timer_wheel& w, core::timer_node& n, void* ctx) noexcept;
    static void arm_rtx(tcp_stack& s, tcb& t) noexcept;
    static void challenge_ack(tcp_stack& s, tcb& t) noexcept;
    // Idle connection with keepalive on: (re)start the idle period on the retransmission timer,
    // which is free while nothing is outstanding.
    static void keepalive_rearm(tcp_stack& s, tcb& t) noexcept;
    static flow4 cookie_flow(const flow_key& k) noexcept {
        return flow4{k.remote_addr[0], k.local_addr[0], k.remote_port, k.local_port};
    }
    static void send_cookie_syn_ack(tcp_stack& s, std::uint16_t port, const flow_key& k,
                                    const segment& seg) noexcept;
    // An ACK to a listener without a TCB: rebuilds the connection if it carries a valid cookie.
    static tcb* accept_cookie(tcp_stack& s, std::uint16_t port, const flow_key& k,
                              const segment& seg, std::size_t listener) noexcept;
    static void sndq_drop_acked(tcb& t, std::uint32_t bytes) noexcept;
    static void sndq_free(tcb& t) noexcept;

    // tcp_output.cc: building and sending segments.
    static void send_syn(tcp_stack& s, tcb& t) noexcept;
    static void send_ack(tcp_stack& s, tcb& t) noexcept;
    static void send_rst_for(tcp_stack& s, std::uint16_t port, const flow_key& k,
                             const segment& seg) noexcept;
    static void send_rst(tcp_stack& s, tcb& t) noexcept;
    static bool send_data(tcp_stack& s, tcb& t, seq_t seq, std::uint32_t len,
                          std::uint8_t flags) noexcept;
    static void output(tcp_stack& s, tcb& t) noexcept;
    static bool tx_copy(tcp_stack& s, std::uint16_t port) noexcept;
    static void retransmit_first(tcp_stack& s, tcb& t) noexcept;
    // RFC 6675 §5 step (C) and later ACKs in recovery: send while cwnd - pipe >= SMSS.
    static void sack_output(tcp_stack& s, tcb& t) noexcept;
    static void sack_ack(tcp_stack& s, tcb& t, const segment& seg, bool new_ack,
                         std::uint32_t acked) noexcept;

    // tcp_flow.cc: receive flow control (held data, the advertised window), zero-window
    // probing, D-SACK bookkeeping.
    // Keeps `v` for a paused application; false (nothing taken) when it would need a copy
    // and the pool is empty: the caller delivers it instead.
    static bool hold(tcp_stack& s, tcb& t, const rx_view& v) noexcept;
    static void rcvq_free(tcb& t) noexcept;
    // A paused connection cannot hold `len` more bytes (segment or byte bound): in-order data
    // is refused.
    static bool hold_full(const tcb& t, std::uint32_t len) noexcept;
    // Hands held data to the application regardless of pause (the connection is ending).
    static void flush_held(tcp_stack& s, tcb& t) noexcept;
    // The 16-bit window field for a segment we send, and RCV.ADV moved to match (RFC 9293
    // §3.8.6.2, RFC 7323 §2.3-2.4).
    static std::uint16_t select_window(tcp_stack& s, tcb& t, bool syn) noexcept;
    // Whether receiver-side SWS avoidance (RFC 9293 §3.8.6.2.2) lets the window open now.
    static bool window_would_open(const tcb& t) noexcept;
    static void arm_persist(tcp_stack& s, tcb& t) noexcept;
    static void note_dsack(tcp_stack& s, tcb& t, seq_t left, seq_t right) noexcept;

    // tcp_tlp.cc: RFC 8985 §7 tail loss probe.
    // After new data went out or an ACK advanced SND.UNA (the RTO already set, RFC 6298
    // §5.1/5.3): replaces the RTO with the probe timeout when §7.2's conditions hold.
    static void schedule_tlp(tcp_stack& s, tcb& t) noexcept;
    // The probe timeout fired (from on_rtx_timer): sends the probe, re-arms the RTO. False when
    // no probe is allowed any more; the RTO is then restored or, if already due, runs.
    static bool tlp_fire(tcp_stack& s, tcb& t) noexcept;
    // RFC 8985 §7.4 on an ACK of a SACK connection; `dsack_right` is the right edge of a D-SACK
    // block on it (0 without one). Returns true when the ACK reports the probe SACKed above
    // unacked data: the holes below it are lost (the caller starts recovery).
    static bool tlp_ack(tcp_stack& s, tcb& t, seq_t ack, bool new_ack, bool dsack,
                        seq_t dsack_right, std::uint32_t newly_sacked) noexcept;
    // Loss recovery or an RTO begins: the open episode, if any, ends there.
    static void tlp_end_episode(tcp_stack& s, tcb& t, bool recovered) noexcept;

    // tcp_input.cc.
    static void input(tcp_stack& s, std::uint16_t port, rte_mbuf* m, const flow_key& k,
                      segment& seg) noexcept;
    static bool ack_received(tcp_stack& s, tcb& t, const segment& seg) noexcept;
    static bool data_received(tcp_stack& s, tcb& t, rte_mbuf* m, const segment& seg) noexcept;
};

// Free receive buffer: RCV.BUFF less what the application has not taken (held while paused).
inline std::uint32_t rcv_space(const tcb& t) noexcept {
    return t.rcv_held >= t.rcv_wnd ? 0 : t.rcv_wnd - t.rcv_held;
}

// What is left of the window we announced (RCV.ADV - RCV.NXT), bounded so that an RCV.ADV not
// yet set (before our first ACK) cannot read as a huge window.
inline std::uint32_t rcv_offered(const tcb& t) noexcept {
    if (!seq_gt(t.rcv_adv, t.rcv_nxt)) {
        return 0;
    }
    return std::min<std::uint32_t>(t.rcv_adv - t.rcv_nxt, t.rcv_wnd + (1U << t.rcv_wscale));
}

// RCV.WND for the acceptance tests (RFC 9293 §3.10.7.4 first check): everything we announced
// (we never take it back), or more when the buffer has more room.
inline std::uint32_t rcv_window(const tcb& t) noexcept {
    return std::max(rcv_offered(t), rcv_space(t));
}

inline std::uint32_t window_shift_for(std::uint32_t bytes) noexcept {
    std::uint8_t shift = 0;
    while ((bytes >> shift) > 0xffffU && shift < max_window_shift) {
        ++shift;
    }
    return shift;
}

}  // namespace sluice::dp::net::tcp
