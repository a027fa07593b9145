// See binary_session.hh. Runs on the owning worker lcore.
#include "binary_session.hh"

#include <array>

#include "../filters/ratelimit/ratelimit.hh"
#include "binary/frame.hh"
#include "gateway.hh"
#include "upstream_select.hh"

namespace sluice::dp::proxy {

using net::tcp::close_reason;
using net::tcp::connection;

namespace {

binary_session& as_bin(conn_base* b) { return *static_cast<binary_session*>(b); }

void free_bin(binary_session& s) noexcept {
    gateway& gw = *s.gw;
    for (auto& up : s.ups) {
        if (up.u != nullptr) {
            upstream_conn* u = up.u;
            up.u = nullptr;
            gw.abort_upstream(*u);
        }
        up.pending.clear();
        up.dec.reset();
    }
    s.in.clear();
    s.dec.reset();
    if (s.cfg != nullptr) {
        gw.unpin(s.cfg);
        s.cfg = nullptr;
    }
    if (s.c != nullptr) {
        s.c->user = nullptr;
        s.c = nullptr;
    }
    --gw.stats_.downstream_active;
    gw.binary_sessions_.free(&s);
}

void count_error(gateway& gw, binary::frame_error e) noexcept {
    const auto i = static_cast<std::size_t>(e);
    if (i < 8) {
        ++gw.stats_.binary_errors[i];
    }
}

// Answers an error frame, then closes (FIN after it) and frees the session.
void fail(binary_session& s, binary::frame_error e, std::string_view why) noexcept {
    gateway& gw = *s.gw;
    count_error(gw, e);
    if (s.c != nullptr) {
        std::array<std::uint8_t, binary::max_error_frame> buf{};
        const std::size_t n = binary::encode_error_frame(e, why, buf);
        gw.tcp().send(*s.c, buf.data(), static_cast<std::uint32_t>(n));
        gw.tcp().close(*s.c);
    }
    free_bin(s);
}

void abort_bin(binary_session& s) noexcept {
    if (s.c != nullptr) {
        connection* c = s.c;
        c->user = nullptr;
        s.c = nullptr;
        s.gw->tcp().abort(*c);
    }
    free_bin(s);
}

binary_session::up_slot* slot_of(binary_session& s, const upstream_conn& u) noexcept {
    for (auto& up : s.ups) {
        if (up.u == &u) {
            return &up;
        }
    }
    return nullptr;
}

// The connection to `cluster`, opened on first use; nullptr when none can be had.
binary_session::up_slot* upstream_for(binary_session& s, std::uint32_t cluster) noexcept {
    gateway& gw = *s.gw;
    binary_session::up_slot* free_slot = nullptr;
    for (auto& up : s.ups) {
        if (up.u != nullptr && up.cluster == cluster) {
            return &up;
        }
        if (up.u == nullptr && free_slot == nullptr) {
            free_slot = &up;
        }
    }
    if (free_slot == nullptr) {
        return nullptr;
    }
    std::uint32_t ep = 0;
    const std::uint64_t hash = filters::key_hash_ipv4(s.c->key.remote_addr[0]);
    if (!pick_endpoint_for(gw, *s.cfg, cluster, hash, ep)) {
        return nullptr;
    }
    upstream_conn* u = gw.acquire_upstream(*s.cfg, cluster, ep);
    if (u == nullptr) {
        return nullptr;
    }
    if (u->st != upstream_conn::state::connecting) {
        gw.release_upstream(*u, true);  // a pooled HTTP connection: not for frames
        return nullptr;
    }
    u->owner = &s;
    free_slot->u = u;
    free_slot->cluster = cluster;
    free_slot->connected = false;
    free_slot->fin = false;
    free_slot->base = 0;
    free_slot->pending.clear();
    free_slot->dec.emplace(s.counters, s.cfg->listeners[s.listener].max_frame_payload);
    return free_slot;
}

void send_to(gateway& gw, binary_session::up_slot& up, rte_mbuf* m) noexcept {
    if (up.connected && up.u != nullptr && up.u->c != nullptr) {
        gw.tcp().send_mbuf(*up.u->c, m);
    } else {
        up.pending.append(m, 0, m->pkt_len, gw.pool());
    }
}

// Feeds one run of newly received client bytes to the decoder (one call) and forwards each
// complete frame to its cluster. Returns the bytes the decoder consumed; the session may be
// gone afterwards (s.c == nullptr).
std::uint32_t pump_client(binary_session& s, const rte_mbuf* m, std::uint32_t off,
                          std::uint32_t len) {
    gateway& gw = *s.gw;
    std::array<binary::frame_info, 16> frames{};
    const auto r = s.dec->feed(m, off, len, frames);
    // From here on `m` may be changed by take(): only the frame infos are used.
    for (std::uint32_t i = 0; i < r.frames; ++i) {
        const binary::frame_info& f = frames[i];
        if (f.error != binary::frame_error::none) {
            fail(s, f.error, binary::to_string(f.error));
            return r.consumed;
        }
        ++gw.stats_.binary_frames;
        cfg::request_key k;
        k.listener = s.listener;
        k.command = f.command;
        k.client_addr = reinterpret_cast<const std::uint8_t*>(&s.c->key.remote_addr[0]);
        k.client_family = 4;
        const std::uint32_t ri = s.cfg->routes.match(k);
        if (ri == cfg::no_route) {
            ++gw.stats_.no_route;
            fail(s, binary::frame_error::no_route, "no route for this command");
            return r.consumed;
        }
        const std::uint32_t cl = pick_cluster(gw, s.cfg->route_info[ri]);
        binary_session::up_slot* up = upstream_for(s, cl);
        if (up == nullptr) {
            ++gw.stats_.upstream_unavailable;
            fail(s, binary::frame_error::upstream_unavailable, "no upstream");
            return r.consumed;
        }
        // Frames are contiguous in the stream: the frame starts at in's first byte.
        s.in.consume(static_cast<std::uint32_t>(f.frame_offset - s.base));
        s.base = f.frame_offset;
        rte_mbuf* fm = s.in.take(static_cast<std::uint32_t>(f.frame_size()), gw.pool());
        if (fm == nullptr) {
            fail(s, binary::frame_error::internal, "out of buffers");
            return r.consumed;
        }
        s.base += f.frame_size();
        send_to(gw, *up, fm);
    }
    return r.consumed;
}

std::uint32_t pump_upstream(binary_session& s, binary_session::up_slot& up, const rte_mbuf* m,
                            std::uint32_t off, std::uint32_t len) {
    gateway& gw = *s.gw;
    std::array<binary::frame_info, 16> frames{};
    const auto r = up.dec->feed(m, off, len, frames);
    for (std::uint32_t i = 0; i < r.frames; ++i) {
        const binary::frame_info& f = frames[i];
        if (f.error != binary::frame_error::none) {
            // A backend speaking garbage: the client gets an error frame, not the garbage.
            fail(s, binary::frame_error::upstream_unavailable, "bad frame from upstream");
            return r.consumed;
        }
        up.u->in.consume(static_cast<std::uint32_t>(f.frame_offset - up.base));
        up.base = f.frame_offset;
        rte_mbuf* fm = up.u->in.take(static_cast<std::uint32_t>(f.frame_size()), gw.pool());
        if (fm == nullptr) {
            fail(s, binary::frame_error::internal, "out of buffers");
            return r.consumed;
        }
        up.base += f.frame_size();
        gw.tcp().send_mbuf(*s.c, fm);
    }
    return r.consumed;
}

// Feeds the bytes of `q` from offset `pos` on, one segment run at a time, to
// pump(seg, off, len) -> bytes consumed. pump may take whole frames off q's front, which shifts
// later offsets left; it stops when the session is gone (`alive()` false) or nothing moves.
template <typename Pump, typename Alive>
void feed_new_bytes(byte_chain& q, std::uint32_t pos, Pump&& pump, Alive&& alive) {
    while (alive() && pos < q.size()) {
        const rte_mbuf* seg = q.head();
        std::uint32_t o = pos;
        while (seg != nullptr && o >= seg->data_len) {
            o -= seg->data_len;
            seg = seg->next;
        }
        if (seg == nullptr) {
            return;
        }
        const std::uint32_t size_before = q.size();
        const std::uint32_t used = pump(seg, o, seg->data_len - o);
        if (!alive() || used == 0) {
            return;
        }
        pos = pos + used - (size_before - q.size());
    }
}

// Backpressure (docs/tcp.md "Receive flow control"; the same scheme as l4_session.cc): when the
// connection a frame goes to has a full send queue, stop reading from the side that feeds it,
// so its TCP window closes instead of the gateway queueing the stream. Client frames may go to
// any of the session's upstreams, so the client is read again only when none of them is full;
// every upstream feeds the one client connection, so a full client queue pauses each upstream
// that brings more, and the client's on_writable resumes them all. Per session and direction
// at most about one send queue (snd_buffer) per connection written to, one receive window
// (rcv_buffer) per connection read from and one frame being decoded are held.

// A slot is full when its send queue is (send_space 0: at or past snd_buffer until it drains
// to half), or, while it connects, when the frames waiting for it reach snd_buffer.
bool slot_full(gateway& gw, const binary_session::up_slot& up) noexcept {
    if (up.u == nullptr) {
        return false;
    }
    if (up.connected) {
        return up.u->c != nullptr && gw.tcp().send_space(*up.u->c) == 0;
    }
    return up.pending.size() >= gw.tcp().params().snd_buffer;
}

bool any_slot_full(binary_session& s) noexcept {
    for (const auto& up : s.ups) {
        if (slot_full(*s.gw, up)) {
            return true;
        }
    }
    return false;
}

// After client frames went out: hold the client while an upstream is full.
void push_back_client_if_full(binary_session& s) noexcept {
    if (s.c != nullptr && any_slot_full(s)) {
        s.gw->tcp().pause_recv(*s.c);
    }
}

// After an upstream drained, connected or went away: read the client again unless another
// upstream is still full. resume_recv delivers what was held at once (binary_on_data), which
// may pause the client again or end the session.
void resume_client_unless_full(binary_session& s) noexcept {
    if (s.c != nullptr && !any_slot_full(s)) {
        s.gw->tcp().resume_recv(*s.c);
    }
}

void maybe_done(binary_session& s) noexcept {
    if (!s.client_fin) {
        return;
    }
    for (auto& up : s.ups) {
        if (up.u != nullptr && !up.fin) {
            return;
        }
    }
    if (s.c != nullptr) {
        s.gw->tcp().close(*s.c);
    }
    free_bin(s);
}

}  // namespace

bool binary_accept(gateway& gw, connection& c, const listener_rt& l) noexcept {
    binary_session* s = gw.binary_sessions_.alloc();
    if (s == nullptr) {
        ++gw.stats_.pool_exhausted;
        return false;
    }
    s->kind = conn_kind::binary;
    s->gw = &gw;
    s->c = &c;
    s->cfg = gw.config();
    gw.pin(s->cfg);
    s->listener = s->cfg->listener_index(l);
    s->in.clear();
    s->base = 0;
    s->counters = {};
    s->dec.emplace(s->counters, l.max_frame_payload);
    s->client_fin = false;
    s->failing = false;
    for (auto& up : s->ups) {
        up.u = nullptr;
    }
    c.user = s;
    ++gw.stats_.downstream_active;
    return true;
}

void binary_on_data(gateway& gw, conn_base* b, connection& c, const net::tcp::rx_view& v) noexcept {
    (void)c;
    binary_session& s = as_bin(b);
    // append() may trim or copy the mbuf, so the decoder reads the queue's own bytes: append
    // first, then feed the new tail.
    const std::uint32_t before = s.in.size();
    if (!s.in.append(v.m, v.off, v.len, gw.pool())) {
        abort_bin(s);
        return;
    }
    feed_new_bytes(
        s.in, before,
        [&](const rte_mbuf* seg, std::uint32_t o, std::uint32_t n) {
            return pump_client(s, seg, o, n);
        },
        [&] { return s.c != nullptr; });
    push_back_client_if_full(s);
}

void binary_peer_shutdown(gateway& gw, conn_base* b, connection& c) noexcept {
    (void)c;
    binary_session& s = as_bin(b);
    s.client_fin = true;
    for (auto& up : s.ups) {
        if (up.u != nullptr && up.connected && up.u->c != nullptr) {
            gw.tcp().shutdown_write(*up.u->c);
        }
    }
    maybe_done(s);
}

void binary_closed(gateway& gw, conn_base* b, connection& c, close_reason why) noexcept {
    (void)gw, (void)c, (void)why;
    binary_session& s = as_bin(b);
    s.c = nullptr;
    free_bin(s);
}

void binary_upstream_connected(gateway& gw, conn_base* b, upstream_conn& u) noexcept {
    binary_session& s = as_bin(b);
    binary_session::up_slot* up = slot_of(s, u);
    if (up == nullptr) {
        gw.abort_upstream(u);
        return;
    }
    up->connected = true;
    if (!up->pending.empty()) {
        rte_mbuf* m = up->pending.take(up->pending.size(), gw.pool());
        if (m != nullptr) {
            gw.tcp().send_mbuf(*u.c, m);
        }
    }
    if (s.client_fin) {
        gw.tcp().shutdown_write(*u.c);
    }
    push_back_client_if_full(s);   // still full after the flush, or another one is ...
    resume_client_unless_full(s);  // ... else read the client paused while this one connected
}

void binary_upstream_data(gateway& gw, conn_base* b, upstream_conn& u,
                          const net::tcp::rx_view& v) noexcept {
    binary_session& s = as_bin(b);
    binary_session::up_slot* up = slot_of(s, u);
    if (up == nullptr || s.c == nullptr) {
        rte_pktmbuf_free(v.m);
        return;
    }
    const std::uint32_t before = u.in.size();
    if (!u.in.append(v.m, v.off, v.len, gw.pool())) {
        abort_bin(s);
        return;
    }
    feed_new_bytes(
        u.in, before,
        [&](const rte_mbuf* seg, std::uint32_t o, std::uint32_t n) {
            return pump_upstream(s, *up, seg, o, n);
        },
        [&] { return s.c != nullptr && up->u != nullptr; });
    if (s.c != nullptr && up->u != nullptr && up->u->c != nullptr &&
        gw.tcp().send_space(*s.c) == 0) {
        gw.tcp().pause_recv(*up->u->c);  // the client's queue is full: hold this backend
    }
}

void binary_down_writable(gateway& gw, conn_base* b) noexcept {
    binary_session& s = as_bin(b);
    // The client's send queue drained: read every backend again. Each resume_recv delivers
    // what that backend's connection held (binary_upstream_data), which may pause it again or
    // end the session (then every slot is empty and s.c is null).
    for (auto& up : s.ups) {
        if (s.c == nullptr) {
            return;
        }
        if (up.u != nullptr && up.u->c != nullptr) {
            gw.tcp().resume_recv(*up.u->c);
        }
    }
}

void binary_upstream_writable(gateway& gw, conn_base* b, upstream_conn& u) noexcept {
    (void)gw, (void)u;
    resume_client_unless_full(as_bin(b));
}

void binary_upstream_fin(gateway& gw, conn_base* b, upstream_conn& u) noexcept {
    (void)gw;
    binary_session& s = as_bin(b);
    if (binary_session::up_slot* up = slot_of(s, u); up != nullptr) {
        up->fin = true;
    }
    maybe_done(s);
}

void binary_upstream_closed(gateway& gw, conn_base* b, upstream_conn& u,
                            close_reason why) noexcept {
    binary_session& s = as_bin(b);
    binary_session::up_slot* up = slot_of(s, u);
    if (up != nullptr) {
        up->u = nullptr;
        up->pending.clear();
    }
    gw.abort_upstream(u);
    if (why != close_reason::normal && s.c != nullptr) {
        fail(s, binary::frame_error::upstream_unavailable, "upstream connection failed");
        return;
    }
    if (up != nullptr) {
        up->fin = true;
    }
    maybe_done(s);
    resume_client_unless_full(s);  // this slot may have been the full one (s.c null if done)
}

void binary_release_all(gateway& gw) noexcept {
    for (std::uint32_t i = 0; i < gw.binary_sessions_.capacity(); ++i) {
        auto& s = gw.binary_sessions_.at(i);
        s.in.clear();
        for (auto& up : s.ups) {
            up.pending.clear();
        }
    }
}

}  // namespace sluice::dp::proxy
