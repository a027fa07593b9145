// TCP input: header checks, demultiplexing to a connection or listener (with SYN cookies and
// TIME-WAIT reuse), and RFC 9293 §3.10.7 segment arrival processing up to the ACK step, then
// the FIN step; tcp_receive.cc has the ACK and data steps. Runs on the owning lcore. Every
// mbuf given to input() is either handed to the application (zero-copy), queued out of order,
// or freed.
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
    return l4_sum_ipv4(m, src, dst, IPPROTO_TCP) == 0xffffU;
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
    set_clock(now_tsc);  // timers armed below count from now, not from the last tick
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
        if (seg.len > 0 && seq_le(seg.seq + seg.len, t.rcv_nxt)) {
            note_dsack(s, t, seg.seq, seg.seq + seg.len);  // RFC 2883 §4: an old duplicate
        }
        send_ack(s, t);
        rte_pktmbuf_free(m);
        return;
    }
    // RFC 9293 §3.10.7.4 first check: sequence number.
    if (!segment_acceptable(seg.seq, seg.seg_len(), t.rcv_nxt, rcv_window(t))) {
        st.drop(drop_reason::tcp_unacceptable);
        if (!seg.has(th_rst)) {
            // RFC 2883 §4: data wholly below RCV.NXT is a duplicate; the ACK reports it.
            if (seg.len > 0 && seq_le(seg.seq + seg.len, t.rcv_nxt)) {
                note_dsack(s, t, seg.seq, seg.seq + seg.len);
            }
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
                if (t.rcv_held > 0) {
                    t.fin_held = true;  // told after the held data (resume_recv)
                } else if (t.handler != nullptr && !t.app_closed) {
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
        t.rtx_timer.arm_after(s.wheel_, s.params_.time_wait_ms, &on_rtx_timer, &t);
    }
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
    t->rcv_adv = t->rcv_nxt + std::min<std::uint32_t>(t->rcv_wnd, 0xffff);  // our SYN-ACK's
    return t;
}

}  // namespace sluice::dp::net::tcp
