// TCP output: segment construction (zero-copy from the send queue), the send loop, RST
// generation, and the retransmission and delayed-ACK timers. Runs on the owning lcore.
#include <rte_ethdev.h>

#include <algorithm>
#include <cstring>

#include "net/tcp/tcp_internal.hh"

namespace sluice::dp::net::tcp {

namespace {

// RFC 9293 §3.1 checksum: pseudo-header + header + data, over the whole mbuf chain.
void fill_checksum(rte_mbuf* m, rte_be32_t src, rte_be32_t dst) noexcept {
    rte_pktmbuf_mtod(m, rte_tcp_hdr*)->cksum =
        static_cast<std::uint16_t>(~l4_sum_ipv4(m, src, dst, IPPROTO_TCP));
}

// A header-only mbuf with the TCP header and `opt_len` option bytes appended.
rte_tcp_hdr* new_header(rte_mbuf*& m, rte_mempool* pool, std::size_t opt_len) noexcept {
    m = rte_pktmbuf_alloc(pool);
    if (m == nullptr) {
        return nullptr;
    }
    auto* th = reinterpret_cast<rte_tcp_hdr*>(
        rte_pktmbuf_append(m, static_cast<std::uint16_t>(sizeof(rte_tcp_hdr) + opt_len)));
    std::memset(th, 0, sizeof(*th));
    th->data_off = static_cast<std::uint8_t>(((sizeof(rte_tcp_hdr) + opt_len) / 4) << 4);
    return th;
}

// Payloads up to this size are copied into the header mbuf even when the port takes chains:
// an indirect mbuf costs an allocation, an attach and a detach (two atomic refcount updates),
// a second segment for the NIC, and a receiving Sluice stack over a ring port copies a shared
// segment again (proxy::byte_chain). Measured in bench/gateway/inproc_bench (60-140 byte
// request and response segments); bulk data stays zero-copy.
constexpr std::uint32_t copy_max_bytes = 256;

}  // namespace

// Sends one segment of `t`: header, options, and `len` bytes of the send queue starting at
// `seq` attached as indirect mbufs (the queued data is never copied again). Returns false if
// no mbuf was available (the retransmission timer recovers).
bool tcp_detail::send_data(tcp_stack& s, tcb& t, seq_t seq, std::uint32_t len,
                           std::uint8_t flags) noexcept {
    std::array<std::uint8_t, max_option_bytes> opt{};
    std::size_t opt_len = 0;
    const bool syn = (flags & th_syn) != 0;
    if (syn) {
        syn_option_spec spec;
        spec.mss = static_cast<std::uint16_t>(ifc_of(s, t.port).mtu - 40);
        const bool synack = (flags & th_ack) != 0;
        spec.window_scale = !synack || t.ws_ok;
        spec.window_shift = t.rcv_wscale;
        spec.sack_permitted = !synack || t.sack_ok;
        spec.timestamps = !synack || t.ts_ok;
        spec.ts_val = static_cast<std::uint32_t>(s.now_ms_);
        spec.ts_ecr = synack ? t.ts_recent : 0;
        opt_len = build_syn_options(opt, spec);
    } else if (t.ts_ok || (t.sack_ok && (t.ooo != nullptr || t.dsack_pending) && len == 0)) {
        std::array<sack_block, max_sack_blocks> blocks{};
        std::size_t nb = 0;
        const std::size_t room = t.ts_ok ? 3 : 4;
        if (t.sack_ok && t.dsack_pending && len == 0 && (flags & th_ack) != 0) {
            // RFC 2883 §4: the duplicate goes first, the blocks we hold after it.
            blocks[nb++] = sack_block{t.dsack_left, t.dsack_right};
            t.dsack_pending = false;
            stats(s, t.port).count(event::tcp_dsack_tx);
        }
        if (t.sack_ok && t.ooo != nullptr && len == 0) {
            nb += t.ooo->sack_blocks(std::span(blocks.data() + nb, room - nb));
        }
        opt_len = build_segment_options(opt, t.ts_ok, static_cast<std::uint32_t>(s.now_ms_),
                                        t.ts_recent, std::span(blocks.data(), nb));
    }
    rte_mbuf* m = nullptr;
    rte_tcp_hdr* th = new_header(m, s.params_.pool, opt_len);
    if (th == nullptr) {
        stats(s, t.port).drop(drop_reason::tcp_alloc_failed);
        return false;
    }
    std::memcpy(reinterpret_cast<std::uint8_t*>(th) + sizeof(*th), opt.data(), opt_len);
    th->src_port = t.key.local_port;
    th->dst_port = t.key.remote_port;
    th->sent_seq = rte_cpu_to_be_32(seq);
    th->recv_ack = (flags & th_ack) != 0 ? rte_cpu_to_be_32(t.rcv_nxt) : 0;
    th->tcp_flags = flags;
    th->rx_win = rte_cpu_to_be_16(select_window(s, t, syn));
    // Attach (or copy) [seq, seq + len) from the send queue.
    if (len > 0) {
        std::uint32_t skip = seq - t.snd_una;
        rte_mbuf* q = t.sndq_head;
        while (q != nullptr && skip >= q->data_len) {
            skip -= q->data_len;
            q = q->next;
        }
        if ((len <= copy_max_bytes || tx_copy(s, t.port)) && len <= rte_pktmbuf_tailroom(m)) {
            auto* dst = rte_pktmbuf_mtod_offset(m, std::uint8_t*, m->data_len);
            (void)rte_pktmbuf_append(m, static_cast<std::uint16_t>(len));
            for (std::uint32_t left = len; left > 0 && q != nullptr; q = q->next, skip = 0) {
                const std::uint32_t n = std::min(left, q->data_len - skip);
                std::memcpy(dst, rte_pktmbuf_mtod_offset(q, const std::uint8_t*, skip), n);
                dst += n;
                left -= n;
            }
            q = nullptr;  // nothing left to attach
        }
        rte_mbuf* last = m;
        std::uint32_t left = q == nullptr ? 0 : len;
        while (left > 0 && q != nullptr) {
            rte_mbuf* mi = rte_pktmbuf_alloc(s.params_.pool);
            if (mi == nullptr) {
                rte_pktmbuf_free(m);
                stats(s, t.port).drop(drop_reason::tcp_alloc_failed);
                return false;
            }
            rte_pktmbuf_attach(mi, q);
            const std::uint32_t n = std::min(left, q->data_len - skip);
            mi->data_off = static_cast<std::uint16_t>(mi->data_off + skip);
            mi->data_len = static_cast<std::uint16_t>(n);
            mi->pkt_len = n;
            last->next = mi;
            last = mi;
            m->nb_segs++;
            m->pkt_len += n;
            left -= n;
            skip = 0;
            q = q->next;
        }
    }
    fill_checksum(m, t.key.local_addr[0], t.key.remote_addr[0]);
    if ((flags & th_ack) != 0) {
        t.unacked_segs = 0;
        t.delack_timer.stop();
    }
    stats(s, t.port).count(event::tcp_segment_tx);
    s.ip_.ipv4_output(t.port, m, t.key.remote_addr[0], IPPROTO_TCP, s.now_tsc_);
    return true;
}

bool tcp_detail::tx_copy(tcp_stack& s, std::uint16_t port) noexcept {
    switch (s.params_.tx) {
        case tcp_params::tx_mode::attach:
            return false;
        case tcp_params::tx_mode::copy:
            return true;
        case tcp_params::tx_mode::automatic:
            break;
    }
    if (s.tx_copy_[port] < 0) {  // once per port, not per packet
        rte_eth_dev_info info{};
        const bool multi = rte_eth_dev_info_get(port, &info) == 0 &&
                           (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS) != 0;
        s.tx_copy_[port] = multi ? 0 : 1;
    }
    return s.tx_copy_[port] != 0;
}

void tcp_detail::send_syn(tcp_stack& s, tcb& t) noexcept {
    const std::uint8_t flags = t.state == tcp_state::syn_sent ? th_syn : (th_syn | th_ack);
    send_data(s, t, t.iss, 0, flags);
}

void tcp_detail::send_ack(tcp_stack& s, tcb& t) noexcept {
    send_data(s, t, t.snd_nxt, 0, th_ack);
}

void tcp_detail::send_rst(tcp_stack& s, tcb& t) noexcept {
    stats(s, t.port).count(event::tcp_reset_tx);
    send_data(s, t, t.snd_nxt, 0, th_rst | th_ack);
}

// RFC 9293 §3.10.7.1 (CLOSED): never answer a RST; if the segment has ACK, <SEQ=SEG.ACK><RST>;
// otherwise <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>. `k` is the key from our side.
void tcp_detail::send_rst_for(tcp_stack& s, std::uint16_t port, const flow_key& k,
                              const segment& seg) noexcept {
    if (seg.has(th_rst)) {
        return;
    }
    rte_mbuf* m = nullptr;
    rte_tcp_hdr* th = new_header(m, s.params_.pool, 0);
    if (th == nullptr) {
        stats(s, port).drop(drop_reason::tcp_alloc_failed);
        return;
    }
    th->src_port = k.local_port;
    th->dst_port = k.remote_port;
    if (seg.has(th_ack)) {
        th->sent_seq = rte_cpu_to_be_32(seg.ack);
        th->tcp_flags = th_rst;
    } else {
        th->recv_ack = rte_cpu_to_be_32(seg.seq + seg.seg_len());
        th->tcp_flags = th_rst | th_ack;
    }
    fill_checksum(m, k.local_addr[0], k.remote_addr[0]);
    stats(s, port).count(event::tcp_reset_tx);
    stats(s, port).count(event::tcp_segment_tx);
    s.ip_.ipv4_output(port, m, k.remote_addr[0], IPPROTO_TCP, s.now_tsc_);
}

// RFC 4987 §3.6: a SYN-ACK that keeps no state; its ISN is the cookie. Window scale and SACK
// are offered only when timestamps can carry them back (syn_cookie.hh).
void tcp_detail::send_cookie_syn_ack(tcp_stack& s, std::uint16_t port, const flow_key& k,
                                     const segment& seg) noexcept {
    const std::uint16_t peer_mss = seg.opt.has_mss ? seg.opt.mss : 536;
    const auto g = s.cookies_.encode(cookie_flow(k), seg.seq, peer_mss, s.now_ms_ / 1000);
    syn_option_spec spec;
    spec.mss = g.mss;
    if (seg.opt.has_timestamps) {
        syn_cookie_ts_options to;
        if (seg.opt.has_window_scale) {
            to.window_shift = seg.opt.window_shift;
        }
        to.sack_permitted = seg.opt.sack_permitted;
        spec.timestamps = true;
        spec.ts_val = syn_cookie_codec::encode_ts(static_cast<std::uint32_t>(s.now_ms_), to);
        spec.ts_ecr = seg.opt.ts_val;
        spec.window_scale = seg.opt.has_window_scale;
        spec.window_shift =
            static_cast<std::uint8_t>(window_shift_for(std::min(s.params_.rcv_buffer,
                                                                max_window_bytes)));
        spec.sack_permitted = seg.opt.sack_permitted;
    }
    std::array<std::uint8_t, max_option_bytes> opt{};
    const std::size_t opt_len = build_syn_options(opt, spec);
    rte_mbuf* m = nullptr;
    rte_tcp_hdr* th = new_header(m, s.params_.pool, opt_len);
    if (th == nullptr) {
        stats(s, port).drop(drop_reason::tcp_alloc_failed);
        return;
    }
    std::memcpy(reinterpret_cast<std::uint8_t*>(th) + sizeof(*th), opt.data(), opt_len);
    th->src_port = k.local_port;
    th->dst_port = k.remote_port;
    th->sent_seq = rte_cpu_to_be_32(g.isn);
    th->recv_ack = rte_cpu_to_be_32(seg.seq + 1);
    th->tcp_flags = th_syn | th_ack;
    th->rx_win = rte_cpu_to_be_16(static_cast<std::uint16_t>(
        std::min<std::uint32_t>(s.params_.rcv_buffer, 0xffff)));
    fill_checksum(m, k.local_addr[0], k.remote_addr[0]);
    stats(s, port).count(event::tcp_syn_cookie_sent);
    stats(s, port).count(event::tcp_segment_tx);
    s.ip_.ipv4_output(port, m, k.remote_addr[0], IPPROTO_TCP, s.now_tsc_);
}

// Sends what the windows allow: new data in SMSS pieces (Nagle off: proxies want latency),
// then a FIN once the queue is all sent (RFC 9293 §3.10.4). Arms the retransmission timer.
void tcp_detail::output(tcp_stack& s, tcb& t) noexcept {
    switch (t.state) {
        case tcp_state::established:
        case tcp_state::close_wait:
        case tcp_state::fin_wait_1:
        case tcp_state::closing:
        case tcp_state::last_ack:
            break;
        default:
            return;
    }
    const std::uint32_t cwnd = t.cc ? t.cc->cwnd() : initial_window(t.smss);
    const std::uint32_t win = std::min(t.snd_wnd, cwnd);
    // With nothing in flight the timer, if armed, is the keepalive or persist timer: the
    // first segment sent must replace it with the RTO (RFC 6298 §5.1).
    const bool was_idle = t.flight() == 0;
    bool sent = false;
    bool sent_new = false;
    for (;;) {
        const std::uint32_t off = t.snd_nxt - t.snd_una;
        if (off < t.snd_queued) {
            const std::int64_t usable =
                static_cast<std::int64_t>(win) - static_cast<std::int64_t>(off);
            if (usable <= 0) {
                break;
            }
            const std::uint32_t len = std::min<std::uint32_t>(
                {t.smss, t.snd_queued - off, static_cast<std::uint32_t>(usable)});
            // RFC 9293 §3.7.4 Nagle: a less-than-full segment waits while data is unacked.
            if (t.nagle && len < t.smss && t.flight() > 0 && !t.fin_queued) {
                break;
            }
            const bool last = off + len == t.snd_queued;
            const bool fin = last && t.fin_queued;
            std::uint8_t flags = th_ack | (last ? th_psh : 0) | (fin ? th_fin : 0);
            const bool rexmit = seq_lt(t.snd_nxt, t.snd_max);
            if (!send_data(s, t, t.snd_nxt, len, flags)) {
                break;
            }
            if (rexmit) {
                stats(s, t.port).count(event::tcp_retransmit);
            } else {
                t.last_seg_start = t.snd_nxt;
                sent_new = true;
                if (!t.rtt_timing && !t.ts_ok) {
                    t.rtt_timing = true;
                    t.rtt_seq = t.snd_nxt;
                    t.rtt_start_ms = static_cast<std::uint32_t>(s.now_ms_);
                }
            }
            t.snd_nxt += len + (fin ? 1 : 0);
            t.fin_sent = t.fin_sent || fin;
            t.snd_max = seq_max(t.snd_max, t.snd_nxt);
            sent = true;
        } else if (t.fin_queued && off == t.snd_queued) {
            if (!send_data(s, t, t.snd_nxt, 0, th_ack | th_fin)) {
                break;
            }
            t.snd_nxt += 1;
            t.fin_sent = true;
            t.snd_max = seq_max(t.snd_max, t.snd_nxt);
            sent = true;
        } else {
            break;
        }
    }
    if (sent) {
        t.persist_backoff = 0;  // the window is open again
        if (was_idle || !t.rtx_timer.armed()) {
            arm_rtx(s, t);
        }
        if (sent_new) {
            schedule_tlp(s, t);  // RFC 8985 §7.2: (re)start the PTO after new data
        }
    } else if (t.snd_queued > 0 && t.flight() == 0 && !t.rtx_timer.armed()) {
        arm_persist(s, t);  // data waits behind a zero window (RFC 9293 §3.8.6.1)
    }
}

void tcp_detail::sack_output(tcp_stack& s, tcb& t) noexcept {
    sack_scoreboard& sb = *t.sack;
    const std::uint32_t cwnd = t.cc->cwnd();
    const seq_t data_end = t.snd_una + t.snd_queued;
    // Bounded: one window's worth of segments at most per ACK.
    for (unsigned guard = 0; guard < 64; ++guard) {
        if (sb.pipe(t.snd_max) + t.smss > cwnd) {
            return;
        }
        const std::uint32_t off = t.snd_nxt - t.snd_una;
        const bool can_new = off < t.snd_queued && off < t.snd_wnd;
        const next_seg_result ns = sb.next_seg(t.snd_max, can_new);
        if (ns.rule == next_seg_rule::none) {
            return;
        }
        if (ns.rule == next_seg_rule::new_data) {
            const std::uint32_t len =
                std::min<std::uint32_t>({t.smss, t.snd_queued - off, t.snd_wnd - off});
            const bool fin = t.fin_queued && off + len == t.snd_queued;
            if (!send_data(s, t, t.snd_nxt, len, th_ack | (fin ? th_fin : 0))) {
                return;
            }
            t.last_seg_start = t.snd_nxt;
            t.snd_nxt += len + (fin ? 1 : 0);
            t.fin_sent = t.fin_sent || fin;
            t.snd_max = seq_max(t.snd_max, t.snd_nxt);
        } else {
            // A retransmission never runs past the queued data (the FIN rides on the last piece).
            const std::uint32_t len =
                seq_lt(ns.seq, data_end) ? std::min<std::uint32_t>(ns.len, data_end - ns.seq) : 0;
            const bool fin = t.fin_sent && ns.seq + len == data_end;
            if (len == 0 && !fin) {
                return;
            }
            if (!send_data(s, t, ns.seq, len, th_ack | (fin ? th_fin : 0))) {
                return;
            }
            stats(s, t.port).count(event::tcp_retransmit);
        }
        sb.on_sent(ns);
    }
}

void tcp_detail::retransmit_first(tcp_stack& s, tcb& t) noexcept {
    const std::uint32_t len = std::min<std::uint32_t>(t.smss, t.snd_queued);
    const bool fin = t.fin_sent && len == t.snd_queued;
    if (len == 0 && !fin) {
        return;
    }
    stats(s, t.port).count(event::tcp_retransmit);
    send_data(s, t, t.snd_una, len, th_ack | (fin ? th_fin : 0));
}

void tcp_detail::on_delack_timer(core::timer_wheel& w, core::timer_node&, void* ctx) noexcept {
    auto& t = *static_cast<tcb*>(ctx);
    if (!t.delack_timer.due(w, &on_delack_timer, &t)) {
        return;  // stopped or moved later since it was filed (lazy_timer)
    }
    stats(*t.owner, t.port).count(event::tcp_delayed_ack);
    send_ack(*t.owner, t);
}

// RFC 6298 §5.4-5.6 retransmission timer; also SYN retries, the connect timeout, the zero
// window probe and the end of TIME-WAIT.
void tcp_detail::on_rtx_timer(core::timer_wheel& w, core::timer_node&, void* ctx) noexcept {
    auto& t = *static_cast<tcb*>(ctx);
    if (!t.rtx_timer.due(w, &on_rtx_timer, &t)) {
        return;  // stopped or moved later since it was filed (lazy_timer)
    }
    tcp_stack& s = *t.owner;
    queue_stats& st = stats(s, t.port);
    if (t.state == tcp_state::time_wait || t.doomed) {
        free_tcb(s, t);
        return;
    }
    if (t.state == tcp_state::syn_sent || t.state == tcp_state::syn_received) {
        const bool deadline = t.state == tcp_state::syn_sent && t.connect_deadline_ms != 0 &&
                              s.now_ms_ >= t.connect_deadline_ms;
        if (deadline || ++t.retries > s.params_.syn_retries) {
            st.count(event::tcp_timeout);
            finish(s, t, close_reason::timeout);
            return;
        }
        st.count(event::tcp_rto);
        t.rtt.on_timeout();
        send_syn(s, t);
        arm_rtx(s, t);
        return;
    }
    if (t.flight() == 0 && t.snd_queued > 0) {
        // Zero-window probe (RFC 9293 §3.8.6.1): one byte beyond the window. SND.NXT stays, so
        // the probe is not in flight and never runs the RTO's retry count: RFC 1122
        // §4.2.2.17 keeps the connection open as long as the peer answers. It is given up
        // only after data_retries probes without any ACK at all (probes_out, reset by every
        // acceptable ACK), as Linux does. The interval doubles per probe, capped.
        if (++t.probes_out > s.params_.data_retries) {
            st.count(event::tcp_timeout);
            send_rst(s, t);
            finish(s, t, close_reason::timeout);
            return;
        }
        st.count(event::tcp_persist_probe);
        if (send_data(s, t, t.snd_nxt, 1, th_ack)) {
            t.snd_max = seq_max(t.snd_max, t.snd_nxt + 1);  // its ACK must be acceptable
        }
        if (t.persist_backoff < 30) {
            ++t.persist_backoff;
        }
        arm_persist(s, t);
        return;
    }
    if (t.flight() == 0) {
        t.tlp_armed = false;
        if (t.ka_idle_ms == 0) {
            return;
        }
        if (t.ka_sent >= t.ka_probes) {
            st.count(event::tcp_timeout);
            send_rst(s, t);
            finish(s, t, close_reason::timeout);
            return;
        }
        // RFC 1122 §4.2.3.6: a probe is an ACK with SEG.SEQ = SND.NXT - 1 and no data, which
        // the peer must answer with an ACK.
        ++t.ka_sent;
        st.count(event::tcp_keepalive_probe);
        send_data(s, t, t.snd_nxt - 1, 0, th_ack);
        t.rtx_timer.arm_after(s.wheel_, t.ka_interval_ms, &on_rtx_timer, &t);
        return;
    }
    // RFC 8985 §7.3: the timer held the probe timeout, not the RTO.
    if (t.tlp_armed && tlp_fire(s, t)) {
        return;
    }
    if (++t.retries > s.params_.data_retries) {
        st.count(event::tcp_timeout);
        send_rst(s, t);
        finish(s, t, close_reason::timeout);
        return;
    }
    st.count(event::tcp_rto);
    tlp_end_episode(s, t, false);
    // RFC 5681 §3.1 eq. 4 and RFC 6298 §5.5-5.6: collapse cwnd, back off, go back to SND.UNA.
    if (t.cc) {
        t.cc->on_rto(t.flight(), t.snd_nxt, t.retries > 1);
    }
    if (t.sack) {
        t.sack->on_rto();  // RFC 2018 §8: forget SACK state after a timeout
    }
    t.rtt.on_timeout();
    t.rtt_timing = false;
    t.dupacks = 0;
    t.snd_nxt = t.snd_una;
    t.fin_sent = false;
    output(s, t);
    if (!t.rtx_timer.armed()) {
        arm_rtx(s, t);
    }
}

}  // namespace sluice::dp::net::tcp
