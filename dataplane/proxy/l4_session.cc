// See l4_session.hh. Runs on the owning worker lcore.
#include "l4_session.hh"

#include "../filters/ratelimit/ratelimit.hh"
#include "gateway.hh"
#include "upstream_select.hh"

namespace sluice::dp::proxy {

using net::tcp::close_reason;
using net::tcp::connection;

namespace {

void free_l4(l4_session& s) noexcept {
    gateway& gw = *s.gw;
    s.pending.clear();
    if (s.cfg != nullptr) {
        gw.unpin(s.cfg);
        s.cfg = nullptr;
    }
    --gw.stats_.downstream_active;
    gw.l4_sessions_.free(&s);
}

// Tears both sides down with RST (an error on one side: the other must not see a clean end).
void abort_l4(l4_session& s) noexcept {
    gateway& gw = *s.gw;
    if (s.up != nullptr) {
        upstream_conn* u = s.up;
        s.up = nullptr;
        gw.abort_upstream(*u);
    }
    if (s.down != nullptr) {
        connection* d = s.down;
        s.down = nullptr;
        d->user = nullptr;
        gw.tcp().abort(*d);
    }
    free_l4(s);
}

// Both directions finished: close what is left politely.
void maybe_done(l4_session& s) noexcept {
    if (!(s.down_fin && s.up_fin)) {
        return;
    }
    gateway& gw = *s.gw;
    if (s.up != nullptr) {
        upstream_conn* u = s.up;
        s.up = nullptr;
        if (u->c != nullptr) {
            u->c->user = nullptr;
            gw.tcp().close(*u->c);
            u->c = nullptr;
        }
        gw.abort_upstream(*u);
    }
    if (s.down != nullptr) {
        s.down->user = nullptr;
        gw.tcp().close(*s.down);
        s.down = nullptr;
    }
    free_l4(s);
}

void forward(gateway& gw, byte_chain& from, connection* to, std::uint64_t& counter) noexcept {
    if (to == nullptr || from.empty()) {
        return;
    }
    const std::uint32_t n = from.size();
    rte_mbuf* m = from.take(n, gw.pool());
    if (m != nullptr) {
        counter += n;
        gw.tcp().send_mbuf(*to, m);
    }
}

// Backpressure (docs/tcp.md "Receive flow control"): when the side we write to has a full
// send queue, stop reading from the side that feeds it; the TCP window then closes towards
// that peer instead of the gateway buffering the whole stream. The writer's on_writable
// (queue drained to half) resumes the reader. So per session and direction at most one send
// queue (snd_buffer) plus one receive window (rcv_buffer) is held.
void push_back_if_full(gateway& gw, connection* from, const connection* to) noexcept {
    if (from != nullptr && to != nullptr && gw.tcp().send_space(*to) == 0) {
        gw.tcp().pause_recv(*from);
    }
}

connection* up_conn(const l4_session& s) noexcept {
    return s.up != nullptr ? s.up->c : nullptr;
}

}  // namespace

bool l4_accept(gateway& gw, connection& c, const listener_rt& l) noexcept {
    gateway_config* cfg = gw.config();
    l4_session* s = gw.l4_sessions_.alloc();
    if (s == nullptr) {
        ++gw.stats_.pool_exhausted;
        return false;
    }
    s->kind = conn_kind::tcp;
    s->gw = &gw;
    s->down = &c;
    s->up = nullptr;
    s->down_fin = s->up_fin = false;
    s->up_connected = false;
    s->pending.clear();
    s->cfg = cfg;
    gw.pin(cfg);
    ++gw.stats_.downstream_active;
    ++gw.stats_.l4_sessions;
    c.user = s;
    // The listener's route: the first route bound to this listener (docs/config.md).
    cfg::request_key k;
    k.listener = cfg->listener_index(l);
    k.client_addr = reinterpret_cast<const std::uint8_t*>(&c.key.remote_addr[0]);
    k.client_family = 4;
    const std::uint32_t ri = cfg->routes.match(k);
    std::uint32_t ep = 0;
    if (ri == cfg::no_route) {
        ++gw.stats_.no_route;
        abort_l4(*s);
        return true;  // accepted, then reset: counted as no_route
    }
    s->cluster = pick_cluster(gw, cfg->route_info[ri]);
    const std::uint64_t hash = filters::key_hash_ipv4(c.key.remote_addr[0]);
    if (!pick_endpoint_for(gw, *cfg, s->cluster, hash, ep)) {
        ++gw.stats_.upstream_unavailable;
        abort_l4(*s);
        return true;
    }
    upstream_conn* u = gw.acquire_upstream(*cfg, s->cluster, ep);
    if (u == nullptr) {
        abort_l4(*s);
        return true;
    }
    // A pooled HTTP keep-alive connection must not carry a raw stream: L4 always opens anew.
    if (u->st != upstream_conn::state::connecting) {
        gw.release_upstream(*u, true);
        abort_l4(*s);
        return true;
    }
    s->up = u;
    u->owner = s;
    return true;
}

void l4_on_data(l4_session& s, connection& c, const net::tcp::rx_view& v) noexcept {
    (void)c;
    gateway& gw = *s.gw;
    if (!s.pending.append(v.m, v.off, v.len, gw.pool())) {
        abort_l4(s);
        return;
    }
    if (s.up_connected && s.up != nullptr) {
        forward(gw, s.pending, s.up->c, gw.stats_.l4_bytes_up);
        push_back_if_full(gw, s.down, up_conn(s));
    } else if (s.pending.size() >= gw.tcp().params().snd_buffer && s.down != nullptr) {
        gw.tcp().pause_recv(*s.down);  // the upstream is still connecting: hold the client
    }
}

void l4_down_writable(l4_session& s) noexcept {
    // The client's send queue drained: read from the backend again.
    if (connection* u = up_conn(s)) {
        s.gw->tcp().resume_recv(*u);
    }
}

void l4_upstream_writable(l4_session& s, upstream_conn& u) noexcept {
    (void)u;
    if (s.down != nullptr) {
        s.gw->tcp().resume_recv(*s.down);
    }
}

void l4_peer_shutdown(l4_session& s, connection& c) noexcept {
    (void)c;
    s.down_fin = true;
    if (s.up_connected && s.up != nullptr && s.up->c != nullptr) {
        forward(*s.gw, s.pending, s.up->c, s.gw->stats_.l4_bytes_up);
        s.gw->tcp().shutdown_write(*s.up->c);
    }
    maybe_done(s);
}

void l4_closed(l4_session& s, connection& c, close_reason why) noexcept {
    (void)c;
    s.down = nullptr;
    if (why == close_reason::normal && s.up != nullptr && s.up->c != nullptr) {
        // Clean close from the client side after both FINs: finish the other side politely.
        s.down_fin = s.up_fin = true;
        maybe_done(s);
        return;
    }
    abort_l4(s);
}

void l4_upstream_connected(l4_session& s, upstream_conn& u) noexcept {
    s.up_connected = true;
    forward(*s.gw, s.pending, u.c, s.gw->stats_.l4_bytes_up);
    if (s.down_fin && u.c != nullptr) {
        s.gw->tcp().shutdown_write(*u.c);
    }
    if (s.down != nullptr && u.c != nullptr) {
        if (s.gw->tcp().send_space(*u.c) == 0) {
            s.gw->tcp().pause_recv(*s.down);
        } else {
            s.gw->tcp().resume_recv(*s.down);  // paused while connecting
        }
    }
}

void l4_upstream_data(l4_session& s, upstream_conn& u, const net::tcp::rx_view& v) noexcept {
    gateway& gw = *s.gw;
    if (!u.in.append(v.m, v.off, v.len, gw.pool())) {
        abort_l4(s);
        return;
    }
    forward(gw, u.in, s.down, gw.stats_.l4_bytes_down);
    push_back_if_full(gw, u.c, s.down);
}

void l4_upstream_fin(l4_session& s, upstream_conn& u) noexcept {
    (void)u;
    s.up_fin = true;
    if (s.down != nullptr) {
        s.gw->tcp().shutdown_write(*s.down);
    }
    maybe_done(s);
}

void l4_upstream_closed(l4_session& s, upstream_conn& u, close_reason why) noexcept {
    s.up = nullptr;
    s.gw->abort_upstream(u);
    if (why == close_reason::normal) {
        s.up_fin = true;
        if (s.down != nullptr) {
            s.gw->tcp().shutdown_write(*s.down);
        }
        s.down_fin = true;  // nothing more can go up
        maybe_done(s);
        return;
    }
    abort_l4(s);
}

}  // namespace sluice::dp::proxy
