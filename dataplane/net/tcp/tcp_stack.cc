// tcp_stack: pools, the connection table, the application API and the timers. Runs on the
// owning worker lcore (construction and release on the main lcore at setup/shutdown).
#include <rte_errno.h>
#include <rte_hash_crc.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "net/tcp/ephemeral.hh"
#include "net/tcp/tcp_internal.hh"

namespace sluice::dp::net::tcp {

const char* to_string(tcp_state s) noexcept {
    static constexpr const char* names[] = {
        "CLOSED",     "LISTEN",     "SYN-SENT", "SYN-RECEIVED", "ESTABLISHED", "FIN-WAIT-1",
        "FIN-WAIT-2", "CLOSE-WAIT", "CLOSING",  "LAST-ACK",     "TIME-WAIT"};
    return names[static_cast<unsigned>(s)];
}

const char* to_string(close_reason r) noexcept {
    static constexpr const char* names[] = {"normal", "reset", "refused", "timeout", "aborted"};
    return names[static_cast<unsigned>(r)];
}

// The TCB at rest, without the buffers it points to (send queue, borrowed reassembly queue).
static_assert(sizeof(tcb) <= 1024, "issue 3: TCB state at rest must stay within 1 KiB");

tcp_stack::tcp_stack(net::stack& ip, const tcp_params& p)
    : ip_(ip), params_(p), tsc_per_ms_(p.tsc_hz / 1000), cookies_(p.cookie_key) {
    static unsigned instance = 0;  // setup time, main lcore: unique rte_hash names
    const std::string name = "sl_tcp_" + std::to_string(p.lcore) + "_" + std::to_string(instance++);
    rte_hash_parameters hp{};
    hp.name = name.c_str();
    // rte_hash buckets fill unevenly; 2x headroom keeps inserts from failing before the pool.
    hp.entries = p.max_connections * 2;
    hp.key_len = sizeof(flow_key);
    hp.hash_func = rte_hash_crc;
    hp.hash_func_init_val = static_cast<std::uint32_t>(p.isn_secret >> 32);
    hp.socket_id = p.socket_id;
    table_ = rte_hash_create(&hp);
    if (table_ == nullptr) {
        return;
    }
    tcbs_ = std::make_unique<tcb[]>(p.max_connections);
    flow_cache_ = std::make_unique<tcb*[]>(std::size_t{1} << flow_cache_bits);  // all null
    for (std::uint32_t i = 0; i < p.max_connections; ++i) {
        tcbs_[i].pool_index = i;
        tcbs_[i].next_free = i + 1;
    }
    free_head_ = 0;
    ooo_ = std::make_unique<reassembly_queue[]>(p.ooo_queues);
    ooo_free_.reserve(p.ooo_queues);
    for (std::uint32_t i = p.ooo_queues; i > 0; --i) {
        ooo_free_.push_back(&ooo_[i - 1]);
    }
}

tcp_stack::~tcp_stack() {
    release();
    rte_hash_free(table_);
}

void tcp_stack::release() noexcept {
    if (!tcbs_) {
        return;
    }
    for (std::uint32_t i = 0; i < params_.max_connections; ++i) {
        tcb& t = tcbs_[i];
        if (t.state != tcp_state::closed) {
            t.handler = nullptr;  // no callbacks at shutdown
            tcp_detail::free_tcb(*this, t);
        }
    }
}

void tcp_stack::tick(std::uint64_t now_tsc) noexcept { set_clock(now_tsc); }

connection* tcp_stack::lookup(const flow_key& k) const noexcept {
    tcb*& slot = flow_cache_[flow_slot(k)];
    if (slot != nullptr && std::memcmp(&slot->key, &k, sizeof(flow_key)) == 0) [[likely]] {
        return slot;
    }
    void* data = nullptr;
    if (rte_hash_lookup_data(table_, &k, &data) < 0) {
        return nullptr;
    }
    slot = static_cast<tcb*>(data);
    return slot;
}

void tcp_stack::flow_cache_forget(const tcb& t) noexcept {
    tcb*& slot = flow_cache_[flow_slot(t.key)];
    if (slot == &t) {
        slot = nullptr;
    }
}

bool tcp_stack::listen(std::uint16_t port, std::uint32_t backlog, tcp_handler* h) noexcept {
    const std::uint16_t be = rte_cpu_to_be_16(port);
    listener* free_slot = nullptr;
    for (auto& l : listeners_) {
        if (l.port == be) {
            return false;
        }
        // A slot unlistened with handshakes still pending stays reserved until they finish.
        if (l.port == 0 && l.pending == 0 && free_slot == nullptr) {
            free_slot = &l;
        }
    }
    if (free_slot == nullptr || port == 0 || h == nullptr || backlog == 0) {
        return false;
    }
    *free_slot = listener{be, backlog, 0, h};
    return true;
}

bool tcp_stack::unlisten(std::uint16_t port) noexcept {
    const std::uint16_t be = rte_cpu_to_be_16(port);
    for (auto& l : listeners_) {
        if (l.port == be && port != 0) {
            l.port = 0;  // handler kept: pending handshakes complete with it
            return true;
        }
    }
    return false;
}

bool tcp_stack::listening(std::uint16_t port) const noexcept {
    const std::uint16_t be = rte_cpu_to_be_16(port);
    for (const auto& l : listeners_) {
        if (l.port == be && port != 0) {
            return true;
        }
    }
    return false;
}

connection* tcp_stack::connect(std::uint16_t port_id, rte_be32_t dst, std::uint16_t dst_port,
                               tcp_handler* h, void* user, std::uint32_t timeout_ms) noexcept {
    if (!ip_.serves(port_id) || h == nullptr) {
        return nullptr;
    }
    const iface& ifc = tcp_detail::ifc_of(*this, port_id);
    flow_key k{};
    k.family = 4;
    k.local_addr[0] = ifc.addr;
    k.remote_addr[0] = dst;
    k.remote_port = rte_cpu_to_be_16(dst_port);
    static_assert(sizeof(rss_) / sizeof(rss_[0]) == net::max_ports);
    if (!rss_[port_id]) {
        rss_[port_id] = std::make_unique<rss_view>(rss_read(port_id));  // once per port
    }
    const rss_view& rss = *rss_[port_id];
    const std::uint16_t my_queue = ip_.queue_of(port_id);
    // RFC 6335 §6 dynamic range (ephemeral.hh; an afxdp: port's XDP program steers it).
    for (unsigned tries = 0; tries < ephemeral_port_count; ++tries) {
        const std::uint16_t p = static_cast<std::uint16_t>(
            ephemeral_port_min + (next_ephemeral_++ % ephemeral_port_count));
        k.local_port = rte_cpu_to_be_16(p);
        if (rss.active &&
            rss_queue(rss, rss_hash_v4(rss.key.data(), dst, ifc.addr, dst_port, p)) != my_queue) {
            continue;  // the answers would land on another lcore
        }
        if (lookup(k) != nullptr) {
            continue;
        }
        tcb* t = tcp_detail::alloc(*this, k, port_id);
        if (t == nullptr) {
            return nullptr;
        }
        t->handler = h;
        t->user = user;
        t->state = tcp_state::syn_sent;
        t->iss = tcp_detail::make_isn(*this, k);
        t->snd_una = t->iss;
        t->snd_nxt = t->iss + 1;
        t->snd_max = t->snd_nxt;
        t->connect_deadline_ms =
            timeout_ms == 0 ? 0 : static_cast<std::uint32_t>(now_ms_ + timeout_ms);
        tcp_detail::stats(*this, port_id).count(event::tcp_active_open);
        tcp_detail::send_syn(*this, *t);
        tcp_detail::arm_rtx(*this, *t);
        return t;
    }
    return nullptr;
}

std::uint32_t tcp_stack::send_space(const connection& c) const noexcept {
    return c.snd_queued >= params_.snd_buffer ? 0 : params_.snd_buffer - c.snd_queued;
}

namespace {
bool can_send(tcp_state s) noexcept {
    return s == tcp_state::established || s == tcp_state::close_wait ||
           s == tcp_state::syn_sent || s == tcp_state::syn_received;
}
void sndq_append(tcb& t, rte_mbuf* seg) noexcept {
    seg->next = nullptr;
    seg->nb_segs = 1;
    seg->pkt_len = seg->data_len;
    if (t.sndq_tail == nullptr) {
        t.sndq_head = seg;
    } else {
        t.sndq_tail->next = seg;
    }
    t.sndq_tail = seg;
    t.snd_queued += seg->data_len;
}
}  // namespace

std::uint32_t tcp_stack::send(connection& c, const void* data, std::uint32_t len) noexcept {
    if (!can_send(c.state) || c.fin_queued || c.doomed) {
        return 0;
    }
    std::uint32_t room = send_space(c);
    const auto* p = static_cast<const std::uint8_t*>(data);
    std::uint32_t done = 0;
    while (done < len && room > 0) {
        rte_mbuf* m = rte_pktmbuf_alloc(params_.pool);
        if (m == nullptr) {
            tcp_detail::stats(*this, c.port).drop(drop_reason::tcp_alloc_failed);
            break;
        }
        const std::uint32_t n =
            std::min({len - done, room, static_cast<std::uint32_t>(rte_pktmbuf_tailroom(m))});
        std::memcpy(rte_pktmbuf_append(m, static_cast<std::uint16_t>(n)), p + done, n);
        sndq_append(c, m);
        done += n;
        room -= n;
    }
    if (done < len) {
        c.want_writable = true;
    }
    if (done > 0 && c.state != tcp_state::syn_sent && c.state != tcp_state::syn_received) {
        tcp_detail::output(*this, c);
    }
    return done;
}

std::uint32_t tcp_stack::send_filled(connection& c, rte_mbuf* m) noexcept {
    const std::uint32_t len = m->data_len;
    if (!can_send(c.state) || c.fin_queued || c.doomed || len == 0 || m->next != nullptr ||
        send_space(c) < len) {
        const std::uint32_t n = send(c, rte_pktmbuf_mtod(m, const void*), len);
        rte_pktmbuf_free(m);
        return n;
    }
    sndq_append(c, m);
    if (c.state != tcp_state::syn_sent && c.state != tcp_state::syn_received) {
        tcp_detail::output(*this, c);
    }
    return len;
}

void tcp_stack::send_mbuf(connection& c, rte_mbuf* m) noexcept {
    if (!can_send(c.state) || c.fin_queued || c.doomed) {
        rte_pktmbuf_free(m);
        return;
    }
    while (m != nullptr) {
        rte_mbuf* next = m->next;
        if (m->data_len == 0) {
            m->next = nullptr;
            m->nb_segs = 1;
            rte_pktmbuf_free_seg(m);
        } else {
            sndq_append(c, m);
        }
        m = next;
    }
    if (c.snd_queued >= params_.snd_buffer) {
        c.want_writable = true;  // on_writable tells the app when room frees
    }
    if (c.state != tcp_state::syn_sent && c.state != tcp_state::syn_received) {
        tcp_detail::output(*this, c);
    }
}

void tcp_stack::set_keepalive(connection& c, std::uint32_t idle_ms, std::uint32_t interval_ms,
                              std::uint8_t probes) noexcept {
    c.ka_idle_ms = idle_ms;
    c.ka_interval_ms = std::max<std::uint32_t>(interval_ms, 1);
    c.ka_probes = probes;
    if (idle_ms == 0 && c.flight() == 0 && c.snd_queued == 0) {
        c.rtx_timer.stop();
    }
    tcp_detail::keepalive_rearm(*this, c);
}

void tcp_stack::ack_now(connection& c) noexcept {
    if (c.delack_timer.armed() && !c.doomed) {
        tcp_detail::send_ack(*this, c);  // cancels the delayed-ACK timer
    }
}

void tcp_stack::shutdown_write(connection& c) noexcept {
    // RFC 9293 §3.10.4 CLOSE: queue a FIN after the data; the state moves now.
    switch (c.state) {
        case tcp_state::established:
            c.state = tcp_state::fin_wait_1;
            break;
        case tcp_state::close_wait:
            c.state = tcp_state::last_ack;
            break;
        case tcp_state::syn_received:
            c.state = tcp_state::fin_wait_1;  // FIN goes once the handshake completes
            c.fin_queued = true;
            return;
        case tcp_state::syn_sent:
            tcp_detail::doom(*this, c);  // RFC 9293 §3.10.4: SYN-SENT close deletes the TCB
            return;
        default:
            return;
    }
    c.fin_queued = true;
    tcp_detail::output(*this, c);
}

void tcp_stack::close(connection& c) noexcept {
    c.app_closed = true;
    c.handler = nullptr;
    tcp_detail::rcvq_free(c);  // held data was not taken: discarded, like later data
    c.rcv_paused = false;
    shutdown_write(c);
}

void tcp_stack::abort(connection& c) noexcept {
    if (c.state == tcp_state::closed || c.doomed) {
        return;
    }
    // RFC 9293 §3.10.5 ABORT: send a RST in synchronized states, then delete the TCB.
    if (c.state != tcp_state::syn_sent && c.state != tcp_state::time_wait) {
        tcp_detail::send_rst(*this, c);
    }
    tcp_detail::doom(*this, c);
}

// ---- tcp_detail: lifecycle ----

const iface& tcp_detail::ifc_of(tcp_stack& s, std::uint16_t port) noexcept {
    return *s.ip_.ifc_of(port);
}

seq_t tcp_detail::make_isn(const tcp_stack& s, const flow_key& k) noexcept {
    // RFC 6528 §3: ISN = M + F(4-tuple, secret), M a 4 us clock. F is CRC32C keyed by the
    // secret here: cheap, and with SYN cookies (SipHash) covering the flood case.
    const auto f = rte_hash_crc(&k, sizeof(k), static_cast<std::uint32_t>(s.params_.isn_secret));
    return f + static_cast<seq_t>(s.now_ms_ * 250);
}

tcb* tcp_detail::alloc(tcp_stack& s, const flow_key& k, std::uint16_t port) noexcept {
    if (s.free_head_ >= s.params_.max_connections) {
        return nullptr;
    }
    tcb& t = s.tcbs_[s.free_head_];
    if (rte_hash_add_key_data(s.table_, &k, &t) < 0) {
        return nullptr;
    }
    s.free_head_ = t.next_free;
    ++s.in_use_;
    const std::uint32_t idx = t.pool_index;
    t.~tcb();
    new (&t) tcb();  // value-initialised: clang rejects {} with rtt_estimator's explicit ctor
    t.pool_index = idx;
    t.key = k;
    t.port = port;
    t.owner = &s;
    t.rtt = rtt_estimator(s.params_.rto);
    const iface& ifc = ifc_of(s, port);
    t.smss = static_cast<std::uint16_t>(ifc.mtu - 40);  // RFC 9293 §3.7.1 until negotiated
    t.rcv_wnd = std::min(s.params_.rcv_buffer, max_window_bytes);
    t.rcv_wscale = static_cast<std::uint8_t>(window_shift_for(t.rcv_wnd));
    return &t;
}

void tcp_detail::sndq_free(tcb& t) noexcept {
    rte_mbuf* m = t.sndq_head;
    while (m != nullptr) {
        rte_mbuf* next = m->next;
        m->next = nullptr;
        m->nb_segs = 1;
        rte_pktmbuf_free_seg(m);
        m = next;
    }
    t.sndq_head = t.sndq_tail = nullptr;
    t.snd_queued = 0;
}

void tcp_detail::sndq_drop_acked(tcb& t, std::uint32_t bytes) noexcept {
    t.snd_queued -= bytes;
    while (bytes > 0 && t.sndq_head != nullptr) {
        rte_mbuf* m = t.sndq_head;
        if (m->data_len > bytes) {
            // In-flight clones keep their own offsets; only this view of the buffer moves.
            m->data_off = static_cast<std::uint16_t>(m->data_off + bytes);
            m->data_len = static_cast<std::uint16_t>(m->data_len - bytes);
            m->pkt_len = m->data_len;
            return;
        }
        bytes -= m->data_len;
        t.sndq_head = m->next;
        m->next = nullptr;
        m->nb_segs = 1;
        rte_pktmbuf_free_seg(m);
    }
    if (t.sndq_head == nullptr) {
        t.sndq_tail = nullptr;
    }
}

void tcp_detail::free_tcb(tcp_stack& s, tcb& t) noexcept {
    if (t.state == tcp_state::closed) {
        return;
    }
    if (t.state == tcp_state::syn_received && t.listener < tcp_stack::max_listeners) {
        --s.listeners_[t.listener].pending;
    }
    t.rtx_timer.cancel(s.wheel_);  // out of the wheel: the TCB is reused
    t.delack_timer.cancel(s.wheel_);
    sndq_free(t);
    rcvq_free(t);
    if (t.ooo != nullptr) {
        t.ooo->clear();
        s.ooo_free_.push_back(t.ooo);
        t.ooo = nullptr;
    }
    rte_hash_del_key(s.table_, &t.key);
    s.flow_cache_forget(t);
    stats(s, t.port).count(event::tcp_closed);
    t.state = tcp_state::closed;
    t.handler = nullptr;
    t.next_free = s.free_head_;
    s.free_head_ = t.pool_index;
    --s.in_use_;
}

void tcp_detail::notify_closed(tcp_stack& s, tcb& t, close_reason why) noexcept {
    if (why == close_reason::normal && t.handler != nullptr && !t.app_closed) {
        flush_held(s, t);  // a clean end: the application gets everything first
        if (t.fin_held && t.handler != nullptr && !t.app_closed) {
            t.fin_held = false;
            t.handler->on_peer_shutdown(t);
        }
    }
    rcvq_free(t);
    if (t.handler != nullptr && !t.notified_closed && !t.app_closed) {
        t.notified_closed = true;
        tcp_handler* h = t.handler;
        t.handler = nullptr;
        h->on_closed(t, why);
    }
    t.handler = nullptr;
}

void tcp_detail::finish(tcp_stack& s, tcb& t, close_reason why) noexcept {
    notify_closed(s, t, why);
    free_tcb(s, t);
}

void tcp_detail::enter_time_wait(tcp_stack& s, tcb& t) noexcept {
    // RFC 9293 §3.10.7.4: TIME-WAIT holds the pair for 2 MSL (configurable here).
    t.state = tcp_state::time_wait;
    stats(s, t.port).count(event::tcp_time_wait);
    t.delack_timer.stop();
    sndq_free(t);
    t.rtx_timer.arm_after(s.wheel_, s.params_.time_wait_ms, &on_rtx_timer, &t);
    notify_closed(s, t, close_reason::normal);
}

void tcp_detail::established(tcp_stack& s, tcb& t) noexcept {
    if (t.state == tcp_state::syn_received && t.listener < tcp_stack::max_listeners) {
        --s.listeners_[t.listener].pending;
        t.handler = s.listeners_[t.listener].handler;
    }
    t.listener = 0xffff;
    t.state = t.fin_queued ? tcp_state::fin_wait_1 : tcp_state::established;
    t.retries = 0;
    t.rtx_timer.stop();
    if (t.rtt.backoffs() > 0 && !t.rtt.has_sample()) {
        t.rtt.on_established_after_syn_loss();
    }
    t.cc.emplace(s.params_.cc, t.smss, t.iss);
    if (t.sack_ok) {
        t.sack.emplace(t.snd_una, t.smss);
    }
    stats(s, t.port).count(event::tcp_established);
    if (t.handler != nullptr && !t.app_closed) {
        t.handler->on_established(t);
    }
}

void tcp_detail::doom(tcp_stack& s, tcb& t) noexcept {
    t.delack_timer.stop();
    sndq_free(t);
    rcvq_free(t);
    if (t.ooo != nullptr) {
        t.ooo->clear();
        s.ooo_free_.push_back(t.ooo);
        t.ooo = nullptr;
    }
    t.handler = nullptr;
    t.app_closed = true;
    t.doomed = true;
    t.rtx_timer.arm_after(s.wheel_, 0, &on_rtx_timer, &t);
}

void tcp_detail::challenge_ack(tcp_stack& s, tcb& t) noexcept {
    // RFC 5961 §7: a per-lcore budget per second, so an attacker cannot turn us into an ACK
    // amplifier (or probe the window through the rate).
    const std::uint64_t sec = s.now_ms_ / 1000;
    if (sec != s.challenge_window_s_) {
        s.challenge_window_s_ = sec;
        s.challenges_in_window_ = 0;
    }
    if (s.challenges_in_window_ >= s.params_.challenge_ack_limit) {
        stats(s, t.port).count(event::tcp_challenge_ack_limited);
        return;
    }
    ++s.challenges_in_window_;
    stats(s, t.port).count(event::tcp_challenge_ack);
    send_ack(s, t);
}

void tcp_detail::keepalive_rearm(tcp_stack& s, tcb& t) noexcept {
    if (t.ka_idle_ms == 0 || t.flight() != 0 || t.snd_queued != 0 || t.doomed ||
        (t.state != tcp_state::established && t.state != tcp_state::close_wait)) {
        return;
    }
    t.ka_sent = 0;
    t.rtx_timer.arm_after(s.wheel_, t.ka_idle_ms, &on_rtx_timer, &t);
}

void tcp_detail::arm_rtx(tcp_stack& s, tcb& t) noexcept {
    std::uint64_t ms = (t.rtt.rto_us() + 999) / 1000;
    if (t.state == tcp_state::syn_sent && t.connect_deadline_ms != 0) {
        const std::uint64_t left =
            t.connect_deadline_ms > s.now_ms_ ? t.connect_deadline_ms - s.now_ms_ : 0;
        ms = std::min(ms, left);
    }
    t.rtx_timer.arm_after(s.wheel_, std::max<std::uint64_t>(ms, 1), &on_rtx_timer, &t);
    t.rto_deadline = t.rtx_timer.deadline;
    t.tlp_armed = false;  // the timer holds the RTO now (schedule_tlp may replace it)
}

}  // namespace sluice::dp::net::tcp
