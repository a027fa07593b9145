// TCP receive-side processing after demultiplexing: RFC 9293 §3.10.7.4's fifth (ACK) and
// seventh (text) steps, loss recovery (RFC 5681/6582 without SACK, RFC 6675 with it), delivery
// to the application, and ICMP fragmentation-needed feedback (RFC 1191). Runs on the owning
// lcore.
#include <algorithm>
#include <array>
#include <cstring>

#include "net/tcp/tcp_internal.hh"

namespace sluice::dp::net::tcp {

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
    t.probes_out = 0;  // the peer is alive (RFC 1122 §4.2.2.17)
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
            t.rtx_timer.stop();
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
    if (t.flight() == 0 && t.snd_queued > 0) {
        t.retries = 0;  // an answered zero-window probe (RFC 1122 §4.2.2.17); see on_rtx_timer
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
            t.rtx_timer.stop();
            t.tlp_armed = false;
        } else {
            arm_rtx(s, t);
            schedule_tlp(s, t);  // RFC 8985 §7.2: SND.UNA advanced, restart the PTO
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
    std::span<const sack_block> blocks(seg.opt.sack.data(), seg.opt.sack_count);
    seq_t dsack_right = 0;
    bool dsack = false;
    // RFC 2883 §4: a first block below the cumulative ACK, or inside the second block, is a
    // D-SACK: it reports a duplicate the peer received, not data it holds. It is not loss
    // information (a spurious retransmission at most), so the scoreboard never sees it.
    if (!blocks.empty() &&
        (seq_le(blocks[0].right, seg.ack) ||
         (blocks.size() >= 2 && seq_ge(blocks[0].left, blocks[1].left) &&
          seq_le(blocks[0].right, blocks[1].right)))) {
        stats(s, t.port).count(event::tcp_dsack_rx);
        dsack = true;
        dsack_right = blocks[0].right;
        blocks = blocks.subspan(1);
    }
    const auto upd = sb.update(t.snd_una, t.snd_max, blocks);
    // A peer that negotiated SACK but sends plain duplicates still gets RFC 5681's count.
    const bool plain_dup = seg.opt.sack_count == 0 && !new_ack && seg.ack == t.snd_una &&
                           seg.len == 0 && !seg.has(th_fin) &&
                           (seg.wnd << t.snd_wscale) == t.snd_wnd && t.flight() > 0;
    if (upd.newly_sacked > 0 || plain_dup) {
        ++t.dupacks;
    }
    // RFC 8985 §7.4: what this ACK says about an outstanding tail loss probe.
    const bool tlp_loss = tlp_ack(s, t, seg.ack, new_ack, dsack, dsack_right, upd.newly_sacked);
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
    if (t.flight() > 0 && (sb.should_enter_recovery(t.dupacks) || tlp_loss) &&
        cc.may_enter_recovery(seg.ack)) {
        stats(s, t.port).count(event::tcp_fast_retransmit);
        tlp_end_episode(s, t, true);  // the probe's SACK (or others') started recovery
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
    bool dup = false;
    if (seq_lt(seq, t.rcv_nxt)) {
        const std::uint32_t d = t.rcv_nxt - seq;
        // RFC 2883 §4 (partly) duplicate segment: report what we already had.
        note_dsack(s, t, seq, seq + std::min(d, len));
        dup = true;
        if (d >= len) {
            send_ack(s, t);
            return false;
        }
        off += d;
        len -= d;
        seq = t.rcv_nxt;
    }
    // Data beyond the window we offered is cut off here (RFC 9293 §3.10.7.4, first check).
    const seq_t wnd_end = t.rcv_nxt + rcv_window(t);
    bool trimmed = false;
    if (seq_gt(seq + len, wnd_end)) {
        len = wnd_end - seq;
        if (len == 0 || seq_ge(seq, wnd_end)) {
            return false;
        }
        trimmed = true;  // the ACK goes at once: the peer overran the window we offered
    }
    if (seq == t.rcv_nxt && hold_full(t, len)) {
        st.drop(drop_reason::tcp_unacceptable);  // as if the window were closed
        send_ack(s, t);
        return false;
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
    if (dup || trimmed || ++t.unacked_segs >= 2) {  // a D-SACK goes out at once
        send_ack(s, t);
    } else if (!t.delack_timer.armed()) {
        t.delack_timer.arm_after(s.wheel_, s.params_.delack_ms, &on_delack_timer, &t);
    }
    return true;
}

void tcp_detail::deliver(tcp_stack& s, tcb& t, const rx_view& v) noexcept {
    if (t.handler != nullptr && !t.app_closed && t.state != tcp_state::closed) {
        if (t.rcv_paused && hold(s, t, v)) {
            return;  // pause_recv: kept, counted against the window
        }
        t.handler->on_data(t, v);
    } else {
        rte_pktmbuf_free(v.m);  // the application closed: data is discarded
    }
}

}  // namespace sluice::dp::net::tcp
