// TCP receive flow control, zero-window probing and D-SACK bookkeeping. Runs on the owning
// lcore.
//
// Receive flow control: while the application has paused a connection (pause_recv), in-order
// data is not handed to on_data but kept in the TCB as one mbuf chain trimmed to its payload
// (zero-copy; small segments are coalesced into the tail mbuf so that a peer sending tiny
// segments cannot pin one mbuf per byte). What is held counts against RCV.BUFF (rcv_buffer),
// so the window we announce shrinks as data is held and reaches zero when the buffer is full.
// The right edge we announced is never moved left (RFC 9293 §3.8.6.2.1, RFC 7323 §2.4), and
// the window only opens again in steps of min(RCV.BUFF/2, MSS) (receiver-side silly window
// syndrome avoidance, RFC 9293 §3.8.6.2.2, RFC 1122 §4.2.3.3). resume_recv hands the held
// chain over in one on_data and sends a window update when the window can open.
#include <algorithm>
#include <cstring>

#include "net/tcp/tcp_internal.hh"

namespace sluice::dp::net::tcp {

namespace {

// Bounds the mbufs one paused connection may pin. 256 KiB of full 1448-byte segments is 182
// mbufs; tiny segments are coalesced, so only a hostile mix reaches this. Beyond it (or beyond
// the byte bound in hold_full), in-order data is dropped and ACKed as if the window were
// closed (RFC 9293 §3.8.6.2.1 lets a receiver drop what it cannot buffer; the peer resends).
constexpr std::uint16_t max_held_segments = 1024;

// Cuts `m` down to [off, off + len): segments wholly outside are freed, the rest are narrowed.
// Returns the new head (nullptr when len is 0); `tail` and `nsegs` describe the result.
rte_mbuf* trim_to_view(rte_mbuf* m, std::uint32_t off, std::uint32_t len, rte_mbuf*& tail,
                       std::uint16_t& nsegs) noexcept {
    rte_mbuf* head = nullptr;
    tail = nullptr;
    nsegs = 0;
    while (m != nullptr) {
        rte_mbuf* next = m->next;
        m->next = nullptr;
        m->nb_segs = 1;
        if (len == 0 || off >= m->data_len) {
            if (len != 0) {
                off -= m->data_len;
            }
            rte_pktmbuf_free_seg(m);
            m = next;
            continue;
        }
        m->data_off = static_cast<std::uint16_t>(m->data_off + off);
        m->data_len = static_cast<std::uint16_t>(std::min<std::uint32_t>(m->data_len - off, len));
        m->pkt_len = m->data_len;
        off = 0;
        len -= m->data_len;
        if (head == nullptr) {
            head = m;
        } else {
            tail->next = m;
        }
        tail = m;
        ++nsegs;
        m = next;
    }
    return head;
}

// Takes the view's reference and returns a chain holding exactly its bytes: trimmed in place,
// or, when a segment's header is shared (the reassembly queue hands out several views of one
// mbuf, each with its own reference), copied so the other views stay intact. nullptr when
// len is 0, or when the copy found no mbuf (the view is freed either way).
rte_mbuf* own_view(rte_mempool* pool, const rx_view& v, rte_mbuf*& tail,
                   std::uint16_t& nsegs) noexcept {
    for (const rte_mbuf* m = v.m; m != nullptr; m = m->next) {
        if (rte_mbuf_refcnt_read(m) != 1) {
            rte_mbuf* c = v.len == 0 ? nullptr : rte_pktmbuf_copy(v.m, pool, v.off, v.len);
            rte_pktmbuf_free(v.m);
            if (c == nullptr) {
                return nullptr;
            }
            return trim_to_view(c, 0, v.len, tail, nsegs);
        }
    }
    return trim_to_view(v.m, v.off, v.len, tail, nsegs);
}

// Whether `small` may be copied into `into`'s tailroom (we own `into`'s buffer alone).
bool can_coalesce(const rte_mbuf* into, const rte_mbuf* small) noexcept {
    return RTE_MBUF_DIRECT(into) && rte_mbuf_refcnt_read(into) == 1 &&
           small->data_len <= rte_pktmbuf_tailroom(into);
}

}  // namespace

bool tcp_stack::send_view(connection& c, const rx_view& v) noexcept {
    rte_mbuf* tail = nullptr;
    std::uint16_t nsegs = 0;
    rte_mbuf* m = own_view(params_.pool, v, tail, nsegs);
    if (m == nullptr) {
        if (v.len == 0) {
            return true;
        }
        tcp_detail::stats(*this, c.port).drop(drop_reason::tcp_alloc_failed);
        return false;
    }
    m->nb_segs = nsegs;
    m->pkt_len = v.len;
    send_mbuf(c, m);
    return true;
}

void tcp_stack::pause_recv(connection& c) noexcept { c.rcv_paused = true; }

void tcp_stack::resume_recv(connection& c) noexcept {
    if (!c.rcv_paused || c.doomed || c.state == tcp_state::closed) {
        return;
    }
    c.rcv_paused = false;
    if (c.rcvq_head != nullptr) {
        const rx_view v{c.rcvq_head, 0, c.rcv_held};
        c.rcvq_head = c.rcvq_tail = nullptr;
        c.rcv_held = 0;
        tcp_detail::deliver(*this, c, v);
        if (c.doomed || c.state == tcp_state::closed) {
            return;
        }
    }
    if (c.fin_held && !c.rcv_paused) {
        c.fin_held = false;
        if (c.handler != nullptr && !c.app_closed) {
            c.handler->on_peer_shutdown(c);
        }
        if (c.doomed || c.state == tcp_state::closed) {
            return;
        }
    }
    // RFC 9293 §3.8.6.2.2: tell the peer once the window has grown enough to be worth it
    // (a peer stuck at a zero window also finds out through its probes).
    const bool receiving = c.state == tcp_state::established || c.state == tcp_state::fin_wait_1 ||
                           c.state == tcp_state::fin_wait_2;
    if (receiving && tcp_detail::window_would_open(c)) {
        tcp_detail::send_ack(*this, c);
    }
}

std::uint64_t tcp_stack::held_bytes() const noexcept {
    std::uint64_t n = 0;
    if (!tcbs_) {
        return 0;
    }
    for (std::uint32_t i = 0; i < params_.max_connections; ++i) {
        n += tcbs_[i].state != tcp_state::closed ? tcbs_[i].rcv_held : 0;
    }
    return n;
}

std::uint64_t tcp_stack::queued_bytes() const noexcept {
    std::uint64_t n = 0;
    if (!tcbs_) {
        return 0;
    }
    for (std::uint32_t i = 0; i < params_.max_connections; ++i) {
        n += tcbs_[i].state != tcp_state::closed ? tcbs_[i].snd_queued : 0;
    }
    return n;
}

bool tcp_detail::hold(tcp_stack& s, tcb& t, const rx_view& v) noexcept {
    // A shared mbuf needs a copy; without a free mbuf the view goes to the application
    // after all (the pause is a request to slow down: nothing is lost).
    for (const rte_mbuf* q = v.m; q != nullptr; q = q->next) {
        if (rte_mbuf_refcnt_read(q) != 1) {
            if (rte_mempool_avail_count(s.params_.pool) == 0) {
                return false;
            }
            break;
        }
    }
    rte_mbuf* tail = nullptr;
    std::uint16_t nsegs = 0;
    rte_mbuf* m = own_view(s.params_.pool, v, tail, nsegs);
    if (m == nullptr) {
        if (v.len != 0) {
            stats(s, t.port).drop(drop_reason::tcp_alloc_failed);
        }
        return true;
    }
    t.rcv_held += v.len;
    if (t.rcvq_head == nullptr) {
        m->nb_segs = nsegs;
        m->pkt_len = v.len;
        t.rcvq_head = m;
        t.rcvq_tail = tail;
        return true;
    }
    // A one-segment piece that fits the tail's room is copied there (no mbuf pinned for it).
    if (nsegs == 1 && can_coalesce(t.rcvq_tail, m)) {
        std::memcpy(rte_pktmbuf_mtod_offset(t.rcvq_tail, std::uint8_t*, t.rcvq_tail->data_len),
                    rte_pktmbuf_mtod(m, const std::uint8_t*), m->data_len);
        t.rcvq_tail->data_len = static_cast<std::uint16_t>(t.rcvq_tail->data_len + m->data_len);
        t.rcvq_head->pkt_len += m->data_len;
        rte_pktmbuf_free_seg(m);
        return true;
    }
    t.rcvq_tail->next = m;
    t.rcvq_tail = tail;
    t.rcvq_head->nb_segs = static_cast<std::uint16_t>(t.rcvq_head->nb_segs + nsegs);
    t.rcvq_head->pkt_len += v.len;
    return true;
}

bool tcp_detail::hold_full(const tcb& t, std::uint32_t len) noexcept {
    // rcv_buffer plus 1/8 for the rounding creep above: only a peer that keeps sending small
    // segments into a paused connection gets here.
    const std::uint64_t limit = std::uint64_t{t.rcv_wnd} + t.rcv_wnd / 8;
    return t.rcv_paused && t.rcvq_head != nullptr &&
           (t.rcvq_head->nb_segs >= max_held_segments || t.rcv_held + std::uint64_t{len} > limit);
}

void tcp_detail::rcvq_free(tcb& t) noexcept {
    if (t.rcvq_head != nullptr) {
        rte_pktmbuf_free(t.rcvq_head);
    }
    t.rcvq_head = t.rcvq_tail = nullptr;
    t.rcv_held = 0;
    t.fin_held = false;
}

void tcp_detail::flush_held(tcp_stack& s, tcb& t) noexcept {
    if (t.rcvq_head == nullptr) {
        return;
    }
    const rx_view v{t.rcvq_head, 0, t.rcv_held};
    t.rcvq_head = t.rcvq_tail = nullptr;
    t.rcv_held = 0;
    t.rcv_paused = false;
    deliver(s, t, v);
}

bool tcp_detail::window_would_open(const tcb& t) noexcept {
    const std::uint32_t space = rcv_space(t);
    const std::uint32_t cur = rcv_offered(t);
    // RFC 9293 §3.8.6.2.2: RCV.BUFF - RCV.USER - RCV.WND >= min(Fr * RCV.BUFF, Eff.snd.MSS),
    // Fr = 1/2.
    const std::uint32_t step = std::min<std::uint32_t>(t.rcv_wnd / 2, t.smss);
    return space > cur && space - cur >= step;
}

std::uint16_t tcp_detail::select_window(tcp_stack& s, tcb& t, bool syn) noexcept {
    if (syn) {
        // RFC 7323 §2.2: the window in a SYN is never scaled.
        const std::uint32_t w = std::min<std::uint32_t>(t.rcv_wnd, 0xffff);
        t.rcv_adv = t.rcv_nxt + w;
        return static_cast<std::uint16_t>(w);
    }
    const std::uint32_t cur = rcv_offered(t);
    const std::uint32_t space = rcv_space(t);
    const std::uint32_t wnd = window_would_open(t) ? space : cur;
    const std::uint8_t ws = t.rcv_wscale;
    const std::uint64_t unit = std::uint64_t{1} << ws;
    // RFC 7323 §2.4: scaling rounds down, which would move the right edge left; round what we
    // already announced up instead (the peer may send up to it, and we accept it). Rounding up
    // creeps the edge forward by less than one unit per ACK, so a peer sending small segments
    // could keep a paused window from closing (RFC 7323 Appendix F); hold_full() bounds what
    // is held instead (Linux's choice before tcp_shrink_window): the edge is never retracted.
    const auto cur_units = static_cast<std::uint32_t>((cur + unit - 1) >> ws);
    const std::uint32_t w = std::min<std::uint32_t>(std::max(wnd >> ws, cur_units), 0xffff);
    t.rcv_adv = t.rcv_nxt + (w << ws);
    if (w == 0) {
        stats(s, t.port).count(event::tcp_zero_window_tx);
    }
    return static_cast<std::uint16_t>(w);
}

// RFC 9293 §3.8.6.1 / RFC 1122 §4.2.2.17: probes back off exponentially like the RTO, up to
// its maximum (RFC 6298 §5.5: at least 60 s).
void tcp_detail::arm_persist(tcp_stack& s, tcb& t) noexcept {
    const std::uint64_t max_us = std::max(s.params_.rto.max_us, rto_max_floor_us);
    const std::uint64_t us =
        std::min<std::uint64_t>(std::uint64_t{t.rtt.rto_us()} << t.persist_backoff, max_us);
    t.rtx_timer.arm_after(s.wheel_, std::max<std::uint64_t>((us + 999) / 1000, 1), &on_rtx_timer,
                          &t);
    t.tlp_armed = false;
}

// RFC 2883 §4: the next ACK's first SACK block reports this duplicate.
void tcp_detail::note_dsack(tcp_stack& s, tcb& t, seq_t left, seq_t right) noexcept {
    (void)s;
    if (!t.sack_ok || !seq_lt(left, right)) {
        return;
    }
    t.dsack_pending = true;
    t.dsack_left = left;
    t.dsack_right = right;
}

}  // namespace sluice::dp::net::tcp
