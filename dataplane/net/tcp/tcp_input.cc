// TCP input: header checks, demultiplexing to a connection or listener, and RFC 9293 §3.10.7
// segment arrival processing. Runs on the owning lcore. Every mbuf given to input() is either
// handed to the application (zero-copy), queued out of order, or freed here.
#include <rte_ip.h>

#include <algorithm>
#include <array>
#include <cstring>

#include "net/tcp/tcp_internal.hh"

namespace sluice::dp::net::tcp {

namespace {

bool checksum_ok(const rte_mbuf* m, rte_be32_t src, rte_be32_t dst) noexcept {
    const std::uint64_t ck = m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK;
    if (ck == RTE_MBUF_F_RX_L4_CKSUM_GOOD) {
        return true;
    }
    if (ck == RTE_MBUF_F_RX_L4_CKSUM_BAD) {
        return false;
    }
    rte_ipv4_hdr ih{};
    ih.version_ihl = RTE_IPV4_VHL_DEF;
    ih.total_length = rte_cpu_to_be_16(static_cast<std::uint16_t>(20 + m->pkt_len));
    ih.next_proto_id = IPPROTO_TCP;
    ih.src_addr = src;
    ih.dst_addr = dst;
    std::uint32_t sum = rte_ipv4_phdr_cksum(&ih, 0);
    sum += raw_cksum_chain(m, m->pkt_len);
    sum = (sum & 0xffffU) + (sum >> 16);
    sum = (sum & 0xffffU) + (sum >> 16);
    return sum == 0xffffU;
}

// RFC 9293 §3.7.1 MSS, RFC 7323 §2.2/§3.2 window scale and timestamps, RFC 2018 §2 SACK:
// each is on only if the peer's SYN carried it (we always offer all of them).
void negotiate(tcb& t, const tcp_options& o, std::uint16_t our_mss) noexcept {
    const std::uint16_t peer_mss = o.has_mss ? o.mss : 536;  // RFC 9293 §3.7.1 default
    t.ws_ok = o.has_window_scale;
    t.snd_wscale = t.ws_ok ? o.window_shift : 0;
    if (!t.ws_ok) {
        t.rcv_wscale = 0;
        t.rcv_wnd = std::min<std::uint32_t>(t.rcv_wnd, 0xffff);
    }
    t.sack_ok = o.sack_permitted;
    t.ts_ok = o.has_timestamps;
    t.ts_recent = o.ts_val;
    std::uint16_t smss = std::min(peer_mss, our_mss);
    // RFC 6691 §2: the MSS excludes options; timestamps take 12 bytes of every segment.
    if (t.ts_ok) {
        smss = static_cast<std::uint16_t>(smss - 12);
    }
    t.smss = std::max<std::uint16_t>(smss, 64);
}

}  // namespace

void tcp_stack::input(std::uint16_t port, rte_mbuf* m, rte_be32_t src, rte_be32_t dst,
                      std::uint64_t now_tsc) noexcept {
    now_tsc_ = now_tsc;
    const std::uint64_t per_ms = params_.tsc_hz / 1000;
    now_ms_ = per_ms == 0 ? 0 : std::max(now_ms_, now_tsc / per_ms);
    wheel_.advance(now_ms_);  // timers armed below count from now, not from the last tick
    queue_stats& st = ip_.stats(port);
    if (rte_pktmbuf_pkt_len(m) < sizeof(rte_tcp_hdr) ||
        rte_pktmbuf_data_len(m) < sizeof(rte_tcp_hdr)) [[unlikely]] {
        st.drop(drop_reason::tcp_truncated);
        rte_pktmbuf_free(m);
        return;
    }
    const auto* th = rte_pktmbuf_mtod(m, const rte_tcp_hdr*);
    segment seg;
    seg.hdr_len = static_cast<std::uint32_t>(th->data_off >> 4) * 4U;
    if (seg.hdr_len < sizeof(rte_tcp_hdr) || seg.hdr_len > rte_pktmbuf_data_len(m)) [[unlikely]] {
        st.drop(drop_reason::tcp_bad_offset);
        rte_pktmbuf_free(m);
        return;
    }
    if (!checksum_ok(m, src, dst)) [[unlikely]] {
        st.drop(drop_reason::tcp_bad_checksum);
        rte_pktmbuf_free(m);
        return;
    }
    seg.seq = rte_be_to_cpu_32(th->sent_seq);
    seg.ack = rte_be_to_cpu_32(th->recv_ack);
    seg.wnd = rte_be_to_cpu_16(th->rx_win);
    seg.flags = th->tcp_flags;
    seg.len = rte_pktmbuf_pkt_len(m) - seg.hdr_len;
    if (seg.hdr_len > sizeof(rte_tcp_hdr)) {
        (void)parse_options({reinterpret_cast<const std::uint8_t*>(th) + sizeof(rte_tcp_hdr),
                             seg.hdr_len - sizeof(rte_tcp_hdr)},
                            seg.opt);
    }
    flow_key k{};
    k.family = 4;
    k.local_addr[0] = dst;
    k.remote_addr[0] = src;
    k.local_port = th->dst_port;
    k.remote_port = th->src_port;
    st.count(event::tcp_segment_rx);
    tcp_detail::input(*this, port, m, k, seg);
}

void tcp_stack::icmp_frag_needed(std::uint16_t port, rte_mbuf* m,
                                 std::uint64_t now_tsc) noexcept {
    now_tsc_ = now_tsc;
    queue_stats& st = ip_.stats(port);
    // ICMP header (8: type, code, checksum, unused, next-hop MTU), then the offending datagram's
    // IP header and at least 8 bytes of its TCP header (RFC 792).
    std::uint8_t buf[8 + 60 + 8];
    const std::uint32_t len = rte_pktmbuf_pkt_len(m);
    const auto* p = len >= 8 + 20 + 8
                        ? static_cast<const std::uint8_t*>(
                              rte_pktmbuf_read(m, 0, std::min<std::uint32_t>(len, sizeof(buf)), buf))
                        : nullptr;
    const std::uint32_t ihl = p != nullptr ? (p[8] & 0x0fU) * 4U : 0;
    if (p == nullptr || (p[8] >> 4) != 4 || ihl < 20 || len < 8 + ihl + 8 || p[8 + 9] != 6) {
        st.drop(drop_reason::tcp_icmp_ignored);
        rte_pktmbuf_free(m);
        return;
    }
    const std::uint16_t mtu = static_cast<std::uint16_t>((p[6] << 8) | p[7]);
    const std::uint8_t* ip = p + 8;
    const std::uint8_t* th = ip + ihl;
    flow_key k{};
    k.family = 4;
    std::memcpy(&k.local_addr[0], ip + 12, 4);   // we sent it: source is us
    std::memcpy(&k.remote_addr[0], ip + 16, 4);
    std::memcpy(&k.local_port, th, 2);
    std::memcpy(&k.remote_port, th + 2, 2);
    const seq_t seq = (std::uint32_t{th[4]} << 24) | (std::uint32_t{th[5]} << 16) |
                      (std::uint32_t{th[6]} << 8) | th[7];
    rte_pktmbuf_free(m);
    tcb* t = lookup(k);
    // RFC 5927 §4.1: the quoted sequence number must be in flight; RFC 1191 §3: plateau floor
    // 68, but we never go below the RFC 9293 default MSS of 536 (what Linux's min_pmtu does).
    if (t == nullptr || t->doomed || !t->cc || !(seq_le(t->snd_una, seq) && seq_lt(seq, t->snd_max)) ||
        mtu < 68) {
        st.drop(drop_reason::tcp_icmp_ignored);
        return;
    }
    const std::uint32_t opt = t->ts_ok ? 12U : 0U;
    const std::uint32_t want = std::max<std::uint32_t>(mtu, 576) - 40 - opt;
    if (want >= t->smss) {
        return;  // already small enough
    }
    t->smss = static_cast<std::uint16_t>(want);
    st.count(event::tcp_pmtu_reduced);
    // RFC 1191 §6.5 / Linux's tcp_simple_retransmit: resend what is outstanding in the smaller
    // size now, without treating it as congestion.
    t->snd_nxt = t->snd_una;
    t->fin_sent = false;
    t->rtt_timing = false;
    tcp_detail::output(*this, *t);
}

void tcp_detail::input(tcp_stack& s, std::uint16_t port, rte_mbuf* m, const flow_key& k,
                       segment& seg) noexcept {
    queue_stats& st = stats(s, port);
    tcb* tp = s.lookup(k);
    if (tp == nullptr) {
        // RFC 9293 §3.10.7.2 LISTEN.
        std::size_t li = tcp_stack::max_listeners;
        for (std::size_t i = 0; i < tcp_stack::max_listeners; ++i) {
            if (s.listeners_[i].port == k.local_port && k.local_port != 0) {
                li = i;
            }
        }
        const bool syn_only = seg.has(th_syn) && !seg.has(th_ack) && !seg.has(th_rst);
        const bool ack_only = seg.has(th_ack) && !seg.has(th_syn) && !seg.has(th_rst);
        if (li != tcp_stack::max_listeners && ack_only && s.params_.syn_cookies &&
            accept_cookie(s, port, k, seg, li) != nullptr) {
            return input(s, port, m, k, seg);  // now as SYN-RECEIVED: the ACK completes it
        }
        if (li == tcp_stack::max_listeners || !syn_only) {
            // §3.10.7.1 CLOSED (and §3.10.7.2: an ACK to a listener gets a RST too).
            st.drop(drop_reason::tcp_no_socket);
            send_rst_for(s, port, k, seg);
            rte_pktmbuf_free(m);
            return;
        }
        auto& l = s.listeners_[li];
        if (l.pending >= l.backlog) {
            if (s.params_.syn_cookies) {
                send_cookie_syn_ack(s, port, k, seg);  // stateless (RFC 4987 §3.6)
            } else {
                st.drop(drop_reason::tcp_backlog_full);
            }
            rte_pktmbuf_free(m);
            return;
        }
        tcb* t = alloc(s, k, port);
        if (t == nullptr) {
            st.drop(drop_reason::tcp_table_full);
            rte_pktmbuf_free(m);
            return;
        }
        ++l.pending;
        t->listener = static_cast<std::uint16_t>(li);
        t->state = tcp_state::syn_received;
        t->irs = seg.seq;
        t->rcv_nxt = seg.seq + 1;
        t->iss = make_isn(s, k);
        t->snd_una = t->iss;
        t->snd_nxt = t->iss + 1;
        t->snd_max = t->snd_nxt;
        negotiate(*t, seg.opt, static_cast<std::uint16_t>(ifc_of(s, port).mtu - 40));
        t->snd_wnd = seg.wnd;  // RFC 7323 §2.2: never scaled in a SYN
        t->max_snd_wnd = t->snd_wnd;
        t->snd_wl1 = seg.seq;
        st.count(event::tcp_passive_open);
        send_syn(s, *t);  // data on a SYN is not queued; the peer sends it again
        arm_rtx(s, *t);
        rte_pktmbuf_free(m);
        return;
    }
    tcb& t = *tp;
    if (t.doomed) {
        st.drop(drop_reason::tcp_no_socket);  // aborted, freed at the next tick
        rte_pktmbuf_free(m);
        return;
    }
    if (t.state == tcp_state::syn_sent) {
        // RFC 9293 §3.10.7.3 SYN-SENT.
        const bool has_ack = seg.has(th_ack);
        if (has_ack && (seq_le(seg.ack, t.iss) || seq_gt(seg.ack, t.snd_max))) {
            st.drop(drop_reason::tcp_bad_ack);
            send_rst_for(s, port, k, seg);
            rte_pktmbuf_free(m);
            return;
        }
        if (seg.has(th_rst)) {
            rte_pktmbuf_free(m);
            if (!has_ack) {
                st.drop(drop_reason::tcp_rst_ignored);
                return;
            }
            st.count(event::tcp_reset_rx);
            finish(s, t, close_reason::refused);
            return;
        }
        if (!seg.has(th_syn)) {
            st.drop(drop_reason::tcp_no_ack);
            rte_pktmbuf_free(m);
            return;
        }
        t.irs = seg.seq;
        t.rcv_nxt = seg.seq + 1;
        negotiate(t, seg.opt, static_cast<std::uint16_t>(ifc_of(s, port).mtu - 40));
        t.snd_wnd = seg.wnd;
        t.max_snd_wnd = t.snd_wnd;
        t.snd_wl1 = seg.seq;
        t.snd_wl2 = seg.ack;
        rte_pktmbuf_free(m);
        if (has_ack) {
            t.snd_una = seg.ack;
            if (t.ts_ok && seg.opt.ts_ecr != 0) {
                t.rtt.on_sample(static_cast<std::uint32_t>(
                    (s.now_ms_ - seg.opt.ts_ecr) * 1000U));
            }
            send_ack(s, t);
            established(s, t);
            if (!t.doomed) {
                output(s, t);
            }
        } else {
            t.state = tcp_state::syn_received;  // simultaneous open (RFC 9293 Figure 7)
            send_syn(s, t);
        }
        return;
    }
    // RFC 6191 §2: a SYN may take over a TIME-WAIT pair if its timestamp is newer than
    // TS.Recent, or, without timestamps, its sequence number is above RCV.NXT (RFC 1122
    // §4.2.2.13).
    if (t.state == tcp_state::time_wait && seg.has(th_syn) && !seg.has(th_ack) &&
        !seg.has(th_rst)) {
        const bool newer = t.ts_ok && seg.opt.has_timestamps
                               ? seq_gt(seg.opt.ts_val, t.ts_recent)
                               : !t.ts_ok && !seg.opt.has_timestamps && seq_gt(seg.seq, t.rcv_nxt);
        if (newer) {
            st.count(event::tcp_time_wait_reused);
            free_tcb(s, t);
            return input(s, port, m, k, seg);  // no TCB now: goes to the listener
        }
    }
    // RFC 7323 §5.3 PAWS: an old timestamp on a non-RST segment is a duplicate.
    if (t.ts_ok && seg.opt.has_timestamps && !seg.has(th_rst) &&
        seq_lt(seg.opt.ts_val, t.ts_recent)) {
        st.drop(drop_reason::tcp_paws);
        send_ack(s, t);
        rte_pktmbuf_free(m);
        return;
    }
    // RFC 9293 §3.10.7.4 first check: sequence number.
    if (!segment_acceptable(seg.seq, seg.seg_len(), t.rcv_nxt, t.rcv_wnd)) {
        st.drop(drop_reason::tcp_unacceptable);
        if (!seg.has(th_rst)) {
            send_ack(s, t);
        }
        rte_pktmbuf_free(m);
        return;
    }
    if (t.ts_ok && seg.opt.has_timestamps && seq_le(seg.seq, t.rcv_nxt)) {
        t.ts_recent = seg.opt.ts_val;  // RFC 7323 §4.3
    }
    // Second check: RST. RFC 5961 §3.2: only an exact RCV.NXT match resets; anything else in
    // the window gets a challenge ACK.
    if (seg.has(th_rst)) {
        rte_pktmbuf_free(m);
        if (seg.seq != t.rcv_nxt) {
            challenge_ack(s, t);
            return;
        }
        st.count(event::tcp_reset_rx);
        if (t.state == tcp_state::time_wait || t.listener != 0xffff) {
            free_tcb(s, t);  // passive SYN-RECEIVED returns to LISTEN: nothing to tell
        } else {
            finish(s, t, close_reason::reset);
        }
        return;
    }
    // Fourth check: SYN in a synchronized state. RFC 5961 §4.2: challenge ACK.
    if (seg.has(th_syn)) {
        challenge_ack(s, t);
        rte_pktmbuf_free(m);
        return;
    }
    // Fifth check: ACK.
    if (!seg.has(th_ack)) {
        st.drop(drop_reason::tcp_no_ack);
        rte_pktmbuf_free(m);
        return;
    }
    if (t.state == tcp_state::syn_received) {
        if (!(seq_lt(t.snd_una, seg.ack) && seq_le(seg.ack, t.snd_max))) {
            st.drop(drop_reason::tcp_bad_ack);
            send_rst_for(s, port, k, seg);
            rte_pktmbuf_free(m);
            return;
        }
        // The ACK of our SYN: ESTABLISHED, then process the rest of the segment.
        t.snd_una = seg.ack;
        t.snd_nxt = seq_max(t.snd_nxt, seg.ack);
        t.snd_wnd = seg.wnd << t.snd_wscale;
        t.max_snd_wnd = std::max(t.max_snd_wnd, t.snd_wnd);
        t.snd_wl1 = seg.seq;
        t.snd_wl2 = seg.ack;
        if (t.ts_ok && seg.opt.has_timestamps && seg.opt.ts_ecr != 0) {
            t.rtt.on_sample(static_cast<std::uint32_t>((s.now_ms_ - seg.opt.ts_ecr) * 1000U));
        }
        established(s, t);
        if (t.doomed) {
            rte_pktmbuf_free(m);
            return;
        }
    }
    if (!ack_received(s, t, seg)) {
        rte_pktmbuf_free(m);
        return;
    }
    // Seventh step: segment text (ESTABLISHED, FIN-WAIT-1, FIN-WAIT-2).
    bool consumed = false;
    if (seg.len > 0 && (t.state == tcp_state::established || t.state == tcp_state::fin_wait_1 ||
                        t.state == tcp_state::fin_wait_2)) {
        consumed = data_received(s, t, m, seg);
        if (t.doomed) {
            if (!consumed) {
                rte_pktmbuf_free(m);
            }
            return;
        }
    }
    if (!consumed) {
        rte_pktmbuf_free(m);
    }
    // Eighth step: FIN, only once everything before it has arrived.
    if (seg.has(th_fin) && seg.seq + seg.len == t.rcv_nxt) {
        t.rcv_nxt += 1;
        send_ack(s, t);
        switch (t.state) {
            case tcp_state::established:
                t.state = tcp_state::close_wait;
                if (t.handler != nullptr && !t.app_closed) {
                    t.handler->on_peer_shutdown(t);
                }
                break;
            case tcp_state::fin_wait_1:
                t.state = tcp_state::closing;  // our FIN is not acked yet (else FIN-WAIT-2)
                break;
            case tcp_state::fin_wait_2:
                enter_time_wait(s, t);
                break;
            default:
                break;
        }
    } else if (seg.has(th_fin) && t.state == tcp_state::time_wait) {
        // A retransmitted FIN: ACK it and restart the 2 MSL timeout (RFC 9293 §3.10.7.4).
        send_ack(s, t);
        s.wheel_.arm_after(t.rtx_timer, s.params_.time_wait_ms, &on_rtx_timer, &t);
    }
}

// RFC 9293 §3.10.7.4 fifth check for synchronized states. Returns false when the segment
// must not be processed further (dropped, or the connection ended).
bool tcp_detail::ack_received(tcp_stack& s, tcb& t, const segment& seg) noexcept {
    queue_stats& st = stats(s, t.port);
    // RFC 5961 §5.2: acceptable only within [SND.UNA - MAX.SND.WND, SND.NXT]; SND.MAX here,
    // since after an RTO SND.NXT moves back while ACKs for later data may still arrive.
    if (!ack_in_rfc5961_window(seg.ack, t.snd_una, t.snd_max, t.max_snd_wnd)) {
        st.drop(drop_reason::tcp_bad_ack);
        challenge_ack(s, t);
        return false;
    }
    const std::uint32_t wnd = seg.wnd << t.snd_wscale;
    const bool new_ack = seq_gt(seg.ack, t.snd_una);
    std::uint32_t acked = 0;
    if (new_ack) {
        acked = seg.ack - t.snd_una;
        const bool fin_acked = t.fin_sent && acked == t.snd_queued + 1;
        const std::uint32_t data_acked = std::min(acked, t.snd_queued);
        // RTT: RFC 7323 §4.1 from the echoed timestamp, else RFC 6298 §3 (Karn) timing.
        if (t.ts_ok && seg.opt.has_timestamps && seg.opt.ts_ecr != 0) {
            t.rtt.on_sample(static_cast<std::uint32_t>((s.now_ms_ - seg.opt.ts_ecr) * 1000U));
        } else if (t.rtt_timing && seq_gt(seg.ack, t.rtt_seq)) {
            t.rtt.on_sample(static_cast<std::uint32_t>((s.now_ms_ - t.rtt_start_ms) * 1000U));
            t.rtt_timing = false;
        }
        sndq_drop_acked(t, data_acked);
        t.snd_una = seg.ack;
        if (seq_lt(t.snd_nxt, t.snd_una)) {
            t.snd_nxt = t.snd_una;
        }
        t.retries = 0;
        if (fin_acked) {
            t.fin_queued = false;  // nothing more to send, ever
            s.wheel_.cancel(t.rtx_timer);
            if (t.state == tcp_state::fin_wait_1) {
                t.state = tcp_state::fin_wait_2;
            } else if (t.state == tcp_state::closing) {
                enter_time_wait(s, t);
                return false;
            } else if (t.state == tcp_state::last_ack) {
                finish(s, t, close_reason::normal);
                return false;
            }
        }
    }
    if (t.sack && t.cc) {
        sack_ack(s, t, seg, new_ack, acked);  // RFC 6675 loss recovery
    } else if (!new_ack) {
        // RFC 5681 §2 duplicate ACK: no data, no window change, data outstanding.
        if (seg.ack == t.snd_una && seg.len == 0 && !seg.has(th_fin) && wnd == t.snd_wnd &&
            t.flight() > 0 && t.cc) {
            ++t.dupacks;
            if (t.dupacks == 3 && t.cc->may_enter_recovery(seg.ack)) {
                // RFC 5681 §3.2 / RFC 6582: fast retransmit and NewReno fast recovery.
                st.count(event::tcp_fast_retransmit);
                t.cc->enter_recovery(t.flight(), t.snd_nxt, recovery_mode::newreno);
                retransmit_first(s, t);
                arm_rtx(s, t);
            } else if (t.dupacks > 3 && t.cc->in_recovery()) {
                t.cc->on_dupack_in_recovery();
            }
        }
    } else if (t.cc) {
        if (t.cc->in_recovery()) {
            const auto r = t.cc->on_ack_in_recovery(seg.ack, acked, t.flight());
            if (r != recovery_ack::full) {
                retransmit_first(s, t);  // RFC 6582 §3.2 step 5: partial ACK
            }
        } else {
            t.cc->on_ack(acked, s.now_ms_ * 1000U, t.rtt.srtt_us());
        }
        t.dupacks = 0;
    }
    if (new_ack) {
        // RFC 6298 §5.2-5.3: stop the timer when all is acked, else restart it.
        if (t.flight() == 0) {
            s.wheel_.cancel(t.rtx_timer);
        } else {
            arm_rtx(s, t);
        }
    }
    keepalive_rearm(s, t);  // anything from the peer restarts the idle period
    // Window update (fifth check): only from a segment newer than the last one that set it.
    if (seq_lt(t.snd_wl1, seg.seq) || (t.snd_wl1 == seg.seq && seq_le(t.snd_wl2, seg.ack))) {
        t.snd_wnd = wnd;
        t.max_snd_wnd = std::max(t.max_snd_wnd, wnd);
        t.snd_wl1 = seg.seq;
        t.snd_wl2 = seg.ack;
    }
    if (t.want_writable && s.send_space(t) >= s.params_.snd_buffer / 2 && t.handler != nullptr &&
        !t.app_closed) {
        t.want_writable = false;
        t.handler->on_writable(t);
        if (t.doomed) {
            return false;
        }
    }
    if (!(t.sack && t.sack->in_recovery())) {
        output(s, t);
    }
    return true;
}

// RFC 6675: the scoreboard takes every ACK; an ACK that SACKs new data counts as a DupAck
// whatever its window (§2), and recovery starts on DupThresh of them or when IsLost(HighACK+1)
// (§5 (C)). In recovery, cwnd stays at ssthresh and sending is limited by pipe.
void tcp_detail::sack_ack(tcp_stack& s, tcb& t, const segment& seg, bool new_ack,
                          std::uint32_t acked) noexcept {
    sack_scoreboard& sb = *t.sack;
    congestion_control& cc = *t.cc;
    const auto upd =
        sb.update(t.snd_una, t.snd_max, std::span(seg.opt.sack.data(), seg.opt.sack_count));
    // A peer that negotiated SACK but sends plain duplicates still gets RFC 5681's count.
    const bool plain_dup = seg.opt.sack_count == 0 && !new_ack && seg.ack == t.snd_una &&
                           seg.len == 0 && !seg.has(th_fin) &&
                           (seg.wnd << t.snd_wscale) == t.snd_wnd && t.flight() > 0;
    if (upd.newly_sacked > 0 || plain_dup) {
        ++t.dupacks;
    }
    if (sb.in_recovery()) {
        if (new_ack) {
            const auto r = cc.on_ack_in_recovery(seg.ack, acked, t.flight());
            if (r == recovery_ack::full || seq_ge(t.snd_una, sb.recovery_point())) {
                sb.exit_recovery();  // §5 step (A): RecoveryPoint reached
                t.dupacks = 0;
                return;
            }
        }
        sack_output(s, t);
        return;
    }
    if (new_ack) {
        cc.on_ack(acked, s.now_ms_ * 1000U, t.rtt.srtt_us());
        if (upd.newly_sacked == 0) {
            t.dupacks = 0;
        }
    }
    if (t.flight() > 0 && sb.should_enter_recovery(t.dupacks) && cc.may_enter_recovery(seg.ack)) {
        stats(s, t.port).count(event::tcp_fast_retransmit);
        cc.enter_recovery(t.flight(), t.snd_max, recovery_mode::sack);
        sb.enter_recovery(t.snd_max);
        // §5 step 4.3: the first segment presumed dropped goes now, whatever pipe says.
        retransmit_first(s, t);
        sb.on_sent(next_seg_result{next_seg_rule::unsacked, t.snd_una,
                                   std::min<std::uint32_t>(t.smss, t.snd_queued)});
        sack_output(s, t);
        arm_rtx(s, t);
    }
}

// Seventh step: in-order data goes to the application at once (zero-copy); out-of-order data
// waits in a borrowed reassembly queue. Returns whether `m` was consumed.
bool tcp_detail::data_received(tcp_stack& s, tcb& t, rte_mbuf* m, const segment& seg) noexcept {
    queue_stats& st = stats(s, t.port);
    seq_t seq = seg.seq;
    std::uint32_t off = seg.hdr_len;
    std::uint32_t len = seg.len;
    if (seq_lt(seq, t.rcv_nxt)) {
        const std::uint32_t d = t.rcv_nxt - seq;
        if (d >= len) {
            send_ack(s, t);
            return false;
        }
        off += d;
        len -= d;
        seq = t.rcv_nxt;
    }
    const seq_t wnd_end = t.rcv_nxt + t.rcv_wnd;
    if (seq_gt(seq + len, wnd_end)) {
        len = wnd_end - seq;
        if (len == 0 || seq_ge(seq, wnd_end)) {
            return false;
        }
    }
    if (seq != t.rcv_nxt) {
        if (t.ooo == nullptr) {
            if (s.ooo_free_.empty()) {
                st.drop(drop_reason::tcp_ooo_dropped);
                send_ack(s, t);
                return false;
            }
            t.ooo = s.ooo_free_.back();
            s.ooo_free_.pop_back();
        }
        st.count(event::tcp_ooo_queued);
        t.ooo->insert(seq, m, off, len, t.rcv_nxt, s.ooo_counters_);
        send_ack(s, t);  // RFC 5681 §4.2: out-of-order data is ACKed at once (with SACK)
        return true;
    }
    t.rcv_nxt += len;
    deliver(s, t, rx_view{m, off, len});
    if (t.doomed) {
        return true;
    }
    if (t.ooo != nullptr) {
        std::array<rx_view, 8> ready{};
        for (;;) {
            const std::size_t n = t.ooo->pop_ready(t.rcv_nxt, ready);
            for (std::size_t i = 0; i < n; ++i) {
                deliver(s, t, ready[i]);
            }
            if (n < ready.size()) {
                break;
            }
        }
        if (t.ooo->empty()) {
            s.ooo_free_.push_back(t.ooo);
            t.ooo = nullptr;
        }
        send_ack(s, t);  // RFC 5681 §4.2: a segment that fills a hole is ACKed at once
        return true;
    }
    // Delayed ACK (RFC 1122 §4.2.3.2, RFC 5681 §4.2): every second full segment, else within
    // delack_ms.
    if (seg.has(th_fin)) {
        return true;  // the FIN step ACKs now
    }
    if (++t.unacked_segs >= 2) {
        send_ack(s, t);
    } else if (!t.delack_timer.armed()) {
        s.wheel_.arm_after(t.delack_timer, s.params_.delack_ms, &on_delack_timer, &t);
    }
    return true;
}

tcb* tcp_detail::accept_cookie(tcp_stack& s, std::uint16_t port, const flow_key& k,
                               const segment& seg, std::size_t li) noexcept {
    const auto mss = s.cookies_.decode(cookie_flow(k), seg.seq, seg.ack, s.now_ms_ / 1000);
    if (!mss) {
        return nullptr;
    }
    tcb* t = alloc(s, k, port);
    if (t == nullptr) {
        stats(s, port).drop(drop_reason::tcp_table_full);
        return nullptr;
    }
    stats(s, port).count(event::tcp_syn_cookie_accepted);
    // Rebuild what the SYN negotiated: MSS from the cookie; window scale and SACK from our
    // TSval echoed in TSecr when timestamps were on, else none (we did not offer them).
    tcp_options o{};
    o.has_mss = true;
    o.mss = *mss;
    if (seg.opt.has_timestamps) {
        const auto ts = syn_cookie_codec::decode_ts(seg.opt.ts_ecr);
        o.has_timestamps = true;
        o.ts_val = seg.opt.ts_val;
        o.has_window_scale = ts.window_shift.has_value();
        o.window_shift = ts.window_shift.value_or(0);
        o.sack_permitted = ts.sack_permitted;
    }
    negotiate(*t, o, static_cast<std::uint16_t>(ifc_of(s, port).mtu - 40));
    ++s.listeners_[li].pending;  // established() takes it back
    t->listener = static_cast<std::uint16_t>(li);
    t->state = tcp_state::syn_received;
    t->irs = seg.seq - 1;
    t->rcv_nxt = seg.seq;
    t->iss = seg.ack - 1;
    t->snd_una = t->iss;
    t->snd_nxt = seg.ack;
    t->snd_max = seg.ack;
    t->snd_wl1 = seg.seq;
    return t;
}

void tcp_detail::deliver(tcp_stack& s, tcb& t, const rx_view& v) noexcept {
    (void)s;
    if (t.handler != nullptr && !t.app_closed && t.state != tcp_state::closed) {
        t.handler->on_data(t, v);
    } else {
        rte_pktmbuf_free(v.m);  // the application closed: data is discarded
    }
}

}  // namespace sluice::dp::net::tcp
