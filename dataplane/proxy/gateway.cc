// See gateway.hh: config adoption, listeners, connection dispatch and the upstream pool. Runs
// on the owning worker lcore.
#include "gateway.hh"

#include <rte_cycles.h>
#include <rte_random.h>

#include <time.h>

#include <algorithm>

#include "../core/shm_link.hh"
#include "../filters/auth/auth.hh"
#include "../filters/trace/trace_context.hh"
#include "binary_session.hh"
#include "health_check.hh"
#include "http_session.hh"
#include "l4_session.hh"
#include "sessions.hh"
#include "services.hh"

namespace sluice::dp::proxy {

using net::tcp::close_reason;
using net::tcp::connection;

gateway::gateway(net::tcp::tcp_stack& tcp, rte_mempool* pool, config_hub& hub, unsigned index,
                 core::lcore_link* link, const gateway_params& p, gateway_services& svc)
    : http_sessions_(p.max_sessions),
      l4_sessions_(p.max_sessions / 4 + 1),
      binary_sessions_(p.max_sessions / 4 + 1),
      upstreams_(p.max_upstreams),
      requests_(p.max_requests),
      scratch_(std::make_unique<char[]>(scratch_size)),
      tcp_(tcp),
      pool_(pool),
      hub_(hub),
      index_(index),
      link_(link),
      params_(p),
      svc_(svc),
      rng_(rte_rand() | 1),
      id_rng_(std::make_unique<filters::fast_rng>(rte_rand())),
      auth_stats_(std::make_unique<filters::auth_counters>()) {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    const std::uint64_t unix_ms = static_cast<std::uint64_t>(ts.tv_sec) * 1000 +
                                  static_cast<std::uint64_t>(ts.tv_nsec) / 1'000'000;
    // The TCP stack's clock is TSC-based milliseconds (tcp_stack::tick).
    unix_offset_ms_ = unix_ms - rte_rdtsc() / (rte_get_tsc_hz() / 1000);
    ns_per_cycle_q32_ = (std::uint64_t{1'000'000'000} << 32) / rte_get_tsc_hz();
    health_ = std::make_unique<health_checker>(*this);
}

gateway::~gateway() { release(); }

std::uint64_t gateway::refresh_now_ns(std::uint64_t tsc) noexcept {
    // Before the stack's first input or tick (tsc 0) there is no burst clock: read the TSC.
    const std::uint64_t t = tsc != 0 ? tsc : rte_rdtsc();
    const std::uint64_t hz = rte_get_tsc_hz();
    ns_tsc_ = tsc;
    // Split: tsc * 1e9 overflows 64 bits after ~2^64 / 1e9 cycles (about 6 s at 3 GHz).
    now_ns_ = t / hz * 1'000'000'000ULL + t % hz * 1'000'000'000ULL / hz;
    return now_ns_;
}

std::uint64_t gateway::next_random() noexcept {
    // xorshift64*: per-lcore, fast, good enough for load balancing and ids.
    rng_ ^= rng_ >> 12;
    rng_ ^= rng_ << 25;
    rng_ ^= rng_ >> 27;
    return rng_ * 0x2545F4914F6CDD1DULL;
}

// refs entry index_ has one writer, this lcore (gateway_config.hh), so a load and a store do
// what fetch_add/fetch_sub did without a locked read-modify-write per request; the builder's
// acquire load in unreferenced() pairs with the release store of the last unpin.
void gateway::pin(gateway_config* c) noexcept {
    auto& refs = c->slot(index_).refs;
    refs.store(refs.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

void gateway::unpin(gateway_config* c) noexcept {
    auto& refs = c->slot(index_).refs;
    refs.store(refs.load(std::memory_order_relaxed) - 1, std::memory_order_release);
}

void gateway::poll() noexcept {
    gateway_config* next = hub_.current();
    if (next == cfg_) [[likely]] {
        return;
    }
    pin(next);
    gateway_config* old = cfg_;
    cfg_ = next;
    hub_.ack(index_, next->generation);
    reconcile_listeners(old);
    if (index_ == 0) {
        health_->reconfigure(next);  // before unpin: probes of `old` stop first
    }
    if (old != nullptr) {
        unpin(old);
    }
    ++stats_.config_switches;
    if (link_ != nullptr) {
        link_->report_applied(next->generation);
    }
}

void gateway::reconcile_listeners(const gateway_config* old_cfg) noexcept {
    (void)old_cfg;
    // Stop listening where the new config has no listener; connections already accepted stay.
    for (std::size_t i = 0; i < listening_.size();) {
        if (cfg_->listener_on(listening_[i]) == nullptr) {
            tcp_.unlisten(listening_[i]);
            listening_[i] = listening_.back();
            listening_.pop_back();
        } else {
            ++i;
        }
    }
    for (const auto& l : cfg_->listeners) {
        if (!tcp_.listening(l.port)) {
            if (tcp_.listen(l.port, params_.listen_backlog, this)) {
                listening_.push_back(l.port);
            }
        }
    }
}

void gateway::tick(std::uint64_t now_tsc) noexcept {
    (void)now_tsc;
    if (link_ == nullptr) {
        return;
    }
    using cp::shm::counter;
    if (stats_.requests == published_.requests && stats_.rate_limited == published_.rate_limited &&
        stats_.breaker_rejected == published_.breaker_rejected &&
        stats_.responses_2xx == published_.responses_2xx &&
        stats_.responses_4xx == published_.responses_4xx &&
        stats_.responses_5xx == published_.responses_5xx &&
        stats_.stream_idle_timeouts == published_.stream_idle_timeouts) {
        return;
    }
    link_->begin();
    auto push = [&](counter c, std::uint64_t now, std::uint64_t& was) {
        if (now != was) {
            link_->add(c, now - was);
            was = now;
        }
    };
    push(counter::requests, stats_.requests, published_.requests);
    push(counter::responses_2xx, stats_.responses_2xx, published_.responses_2xx);
    push(counter::responses_4xx, stats_.responses_4xx, published_.responses_4xx);
    push(counter::responses_5xx, stats_.responses_5xx, published_.responses_5xx);
    push(counter::rate_limited, stats_.rate_limited, published_.rate_limited);
    push(counter::breaker_open, stats_.breaker_rejected, published_.breaker_rejected);
    push(counter::stream_idle_timeouts, stats_.stream_idle_timeouts,
         published_.stream_idle_timeouts);
    link_->commit();
}

void gateway::release() noexcept {
    // The TCP stack's release() frees connections without callbacks; drop our references to
    // mbufs here.
    for (std::uint32_t i = 0; i < http_sessions_.capacity(); ++i) {
        http_sessions_.at(i).in.clear();
    }
    for (std::uint32_t i = 0; i < upstreams_.capacity(); ++i) {
        upstreams_.at(i).in.clear();
    }
    for (std::uint32_t i = 0; i < l4_sessions_.capacity(); ++i) {
        l4_sessions_.at(i).pending.clear();
    }
    binary_release_all(*this);
    health_->release();
}

// --- dispatch ---------------------------------------------------------------------------------

void gateway::on_established(connection& c) {
    if (c.user == nullptr) {
        accept(c);
        return;
    }
    auto* b = static_cast<conn_base*>(c.user);
    if (b->kind == conn_kind::health) {
        health_->on_established(*static_cast<health_probe*>(b));
        return;
    }
    if (b->kind == conn_kind::upstream) {
        auto* u = static_cast<upstream_conn*>(b);
        u->st = upstream_conn::state::busy;
        if (u->owner == nullptr) {
            release_upstream(*u, true);  // its session went away while it connected
            return;
        }
        switch (u->owner->kind) {
            case conn_kind::http:
                http_upstream_connected(*static_cast<http_session*>(u->owner), *u);
                break;
            case conn_kind::tcp:
                l4_upstream_connected(*static_cast<l4_session*>(u->owner), *u);
                break;
            case conn_kind::binary:
                binary_upstream_connected(*this, u->owner, *u);
                break;
            default:
                break;
        }
    }
}

void gateway::accept(connection& c) noexcept {
    const std::uint16_t port = rte_be_to_cpu_16(c.key.local_port);
    const listener_rt* l = cfg_ != nullptr ? cfg_->listener_on(port) : nullptr;
    if (l == nullptr) {
        ++stats_.downstream_rejected;
        tcp_.abort(c);
        return;
    }
    bool ok = false;
    switch (static_cast<cp::model::protocol>(l->protocol)) {
        case cp::model::protocol::http:
            ok = http_accept(*this, c, *l);
            break;
        case cp::model::protocol::tcp:
            ok = l4_accept(*this, c, *l);
            break;
        case cp::model::protocol::binary:
            ok = binary_accept(*this, c, *l);
            break;
    }
    if (!ok) {
        ++stats_.downstream_rejected;
        tcp_.abort(c);
        return;
    }
    ++stats_.downstream_accepted;
}

void gateway::on_data(connection& c, const net::tcp::rx_view& v) {
    auto* b = static_cast<conn_base*>(c.user);
    if (b == nullptr) {
        rte_pktmbuf_free(v.m);
        return;
    }
    switch (b->kind) {
        case conn_kind::health:
            health_->on_data(*static_cast<health_probe*>(b), v);
            break;
        case conn_kind::http:
            http_on_data(*static_cast<http_session*>(b), v);
            break;
        case conn_kind::tcp:
            l4_on_data(*static_cast<l4_session*>(b), c, v);
            break;
        case conn_kind::binary:
            binary_on_data(*this, b, c, v);
            break;
        case conn_kind::upstream: {
            auto* u = static_cast<upstream_conn*>(b);
            if (u->owner == nullptr) {  // idle: a pooled connection must not get data
                rte_pktmbuf_free(v.m);
                abort_upstream(*u);
                return;
            }
            switch (u->owner->kind) {
                case conn_kind::http:
                    http_upstream_data(*static_cast<http_session*>(u->owner), *u, v);
                    break;
                case conn_kind::tcp:
                    l4_upstream_data(*static_cast<l4_session*>(u->owner), *u, v);
                    break;
                case conn_kind::binary:
                    binary_upstream_data(*this, u->owner, *u, v);
                    break;
                default:
                    rte_pktmbuf_free(v.m);
                    break;
            }
            break;
        }
    }
}

// Backpressure: a send queue drained after it was full; the session resumes reading the side
// that feeds it (l4_session.cc, http_session.cc bodies, binary_session.cc).
void gateway::on_writable(connection& c) {
    auto* b = static_cast<conn_base*>(c.user);
    if (b == nullptr) {
        return;
    }
    if (b->kind == conn_kind::tcp) {
        l4_down_writable(*static_cast<l4_session*>(b));
    } else if (b->kind == conn_kind::http) {
        http_down_writable(*static_cast<http_session*>(b));
    } else if (b->kind == conn_kind::binary) {
        binary_down_writable(*this, b);
    } else if (b->kind == conn_kind::upstream) {
        auto* u = static_cast<upstream_conn*>(b);
        if (u->owner != nullptr && u->owner->kind == conn_kind::tcp) {
            l4_upstream_writable(*static_cast<l4_session*>(u->owner), *u);
        } else if (u->owner != nullptr && u->owner->kind == conn_kind::http) {
            http_upstream_writable(*static_cast<http_session*>(u->owner), *u);
        } else if (u->owner != nullptr && u->owner->kind == conn_kind::binary) {
            binary_upstream_writable(*this, u->owner, *u);
        }
    }
}

void gateway::on_peer_shutdown(connection& c) {
    auto* b = static_cast<conn_base*>(c.user);
    if (b == nullptr) {
        return;
    }
    switch (b->kind) {
        case conn_kind::health:
            break;  // the status line decides; the close follows
        case conn_kind::http:
            http_peer_shutdown(*static_cast<http_session*>(b));
            break;
        case conn_kind::tcp:
            l4_peer_shutdown(*static_cast<l4_session*>(b), c);
            break;
        case conn_kind::binary:
            binary_peer_shutdown(*this, b, c);
            break;
        case conn_kind::upstream: {
            auto* u = static_cast<upstream_conn*>(b);
            u->peer_fin = true;
            if (u->owner == nullptr) {
                abort_upstream(*u);  // the backend closed an idle pooled connection
                return;
            }
            switch (u->owner->kind) {
                case conn_kind::http:
                    http_upstream_fin(*static_cast<http_session*>(u->owner), *u);
                    break;
                case conn_kind::tcp:
                    l4_upstream_fin(*static_cast<l4_session*>(u->owner), *u);
                    break;
                case conn_kind::binary:
                    binary_upstream_fin(*this, u->owner, *u);
                    break;
                default:
                    break;
            }
            break;
        }
    }
}

void gateway::on_closed(connection& c, close_reason why) {
    auto* b = static_cast<conn_base*>(c.user);
    c.user = nullptr;
    if (b == nullptr) {
        return;
    }
    switch (b->kind) {
        case conn_kind::health:
            health_->on_closed(*static_cast<health_probe*>(b));
            break;
        case conn_kind::http:
            http_closed(*static_cast<http_session*>(b), why);
            break;
        case conn_kind::tcp:
            l4_closed(*static_cast<l4_session*>(b), c, why);
            break;
        case conn_kind::binary:
            binary_closed(*this, b, c, why);
            break;
        case conn_kind::upstream: {
            auto* u = static_cast<upstream_conn*>(b);
            const bool was_connecting = u->st == upstream_conn::state::connecting;
            conn_base* owner = u->owner;
            u->c = nullptr;
            u->st = upstream_conn::state::closed;
            if (owner == nullptr) {
                abort_upstream(*u);  // idle or orphaned: just forget it
                return;
            }
            switch (owner->kind) {
                case conn_kind::http:
                    http_upstream_closed(*static_cast<http_session*>(owner), *u, why,
                                         was_connecting);
                    break;
                case conn_kind::tcp:
                    l4_upstream_closed(*static_cast<l4_session*>(owner), *u, why);
                    break;
                case conn_kind::binary:
                    binary_upstream_closed(*this, owner, *u, why);
                    break;
                default:
                    break;
            }
            break;
        }
    }
}

// --- upstream pool ----------------------------------------------------------------------------

namespace {
void unlink_idle(endpoint_entry& e, upstream_conn& u) noexcept {
    if (u.prev_idle != nullptr) {
        u.prev_idle->next_idle = u.next_idle;
    } else {
        e.idle = u.next_idle;
    }
    if (u.next_idle != nullptr) {
        u.next_idle->prev_idle = u.prev_idle;
    }
    u.next_idle = u.prev_idle = nullptr;
    --e.idle_count;
}

// Left armed when a pooled connection is taken (no timer work per request): it lapses on a
// busy connection (release_upstream re-arms it) and re-arms for the remainder on one that
// went back to the pool since it was armed.
void on_idle_timeout(core::timer_wheel& w, core::timer_node& n, void* ctx) {
    (void)n;
    auto* u = static_cast<upstream_conn*>(ctx);
    if (u->st != upstream_conn::state::idle) {
        return;
    }
    const std::uint64_t idle = w.now() - std::min(w.now(), u->idle_since_ms);
    if (idle < u->idle_timeout_ms) {
        w.arm_after(u->idle_timer, u->idle_timeout_ms - idle, &on_idle_timeout, u);
        return;
    }
    u->gw->abort_upstream(*u);
}
}  // namespace

upstream_conn* gateway::acquire_upstream(gateway_config& cfg, std::uint32_t cl,
                                         std::uint32_t ep_idx) noexcept {
    const cluster_rt& cr = cfg.clusters[cl];
    const endpoint_rt& er = cr.endpoints[ep_idx];
    endpoint_entry* e = endpoints_.get(er.addr, er.port);
    if (e == nullptr) {
        ++stats_.upstream_unavailable;
        return nullptr;
    }
    while (e->idle != nullptr) {
        upstream_conn* u = e->idle;
        unlink_idle(*e, *u);
        if (u->c == nullptr || u->peer_fin) {
            abort_upstream(*u);
            continue;
        }
        u->st = upstream_conn::state::busy;
        u->idle_timeout_ms = cr.idle_timeout_ms;
        u->max_idle = cr.max_idle_per_endpoint;
        ++stats_.upstream_reused;
        return u;
    }
    if (e->open >= cr.max_conns_per_endpoint) {
        ++stats_.upstream_unavailable;
        return nullptr;
    }
    upstream_conn* u = upstreams_.alloc();
    if (u == nullptr) {
        ++stats_.pool_exhausted;
        return nullptr;
    }
    u->kind = conn_kind::upstream;
    u->gw = this;
    u->ep = e;
    u->owner = nullptr;
    u->in.clear();
    u->head_done = false;
    u->peer_fin = false;
    u->served = 0;
    u->fed = 0;
    u->next_idle = u->prev_idle = nullptr;
    u->idle_timeout_ms = cr.idle_timeout_ms;
    u->max_idle = cr.max_idle_per_endpoint;
    u->st = upstream_conn::state::connecting;
    // Connect from the port whose subnet holds the endpoint, else the first (the stack routes
    // through the gateway).
    u->c = tcp_.connect(svc_.egress_port(index_, er.addr), er.addr, er.port, this, u,
                        cr.connect_timeout_ms);
    if (u->c == nullptr) {
        u->st = upstream_conn::state::closed;
        upstreams_.free(u);
        ++stats_.upstream_connect_failures;
        return nullptr;
    }
    ++e->open;
    ++stats_.upstream_connects;
    return u;
}

void gateway::release_upstream(upstream_conn& u, bool reusable) noexcept {
    u.owner = nullptr;
    u.in.clear();
    u.head_done = false;
    u.fed = 0;
    if (!reusable || u.c == nullptr || u.peer_fin ||
        u.st != upstream_conn::state::busy) {
        abort_upstream(u);
        return;
    }
    endpoint_entry& e = *u.ep;
    if (e.idle_count >= u.max_idle) {
        // Close politely: the backend sees a FIN, not a reset.
        tcp_.close(*u.c);
        u.c->user = nullptr;
        u.c = nullptr;
        abort_upstream(u);
        return;
    }
    u.st = upstream_conn::state::idle;
    ++u.served;
    u.prev_idle = nullptr;
    u.next_idle = e.idle;
    if (e.idle != nullptr) {
        e.idle->prev_idle = &u;
    }
    e.idle = &u;
    ++e.idle_count;
    core::timer_wheel& w = timers();
    u.idle_since_ms = w.now();
    if (!u.idle_timer.armed() || u.idle_timer.expiry() > w.now() + u.idle_timeout_ms) {
        w.arm_after(u.idle_timer, u.idle_timeout_ms, &on_idle_timeout, &u);
    }
}

void gateway::abort_upstream(upstream_conn& u) noexcept {
    if (u.st == upstream_conn::state::idle) {
        unlink_idle(*u.ep, u);
    }
    timers().cancel(u.idle_timer);
    if (u.c != nullptr) {
        u.c->user = nullptr;
        tcp_.abort(*u.c);
        u.c = nullptr;
    }
    u.in.clear();
    u.owner = nullptr;
    if (u.ep != nullptr) {
        --u.ep->open;
        u.ep = nullptr;
    }
    u.st = upstream_conn::state::closed;
    upstreams_.free(&u);
}

}  // namespace sluice::dp::proxy
