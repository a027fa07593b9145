// HTTP/1.1 reverse proxy: one downstream session at a time per connection (pipelined requests
// wait in the receive queue, so responses go out in order), the filter chain, the upstream
// exchange on a pooled keep-alive connection, timeouts and retries. Runs on the worker lcore
// that owns the connection. Request bodies and response bodies are forwarded as the mbufs
// that carried them (zero-copy); only heads are rewritten (copied).
#include "http_session.hh"

#include <rte_cycles.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "../core/shm_link.hh"
#include "filter_chain.hh"
#include "gateway.hh"
#include "head_writer.hh"
#include "services.hh"
#include "upstream_select.hh"

namespace sluice::dp::proxy {

using net::tcp::close_reason;
using net::tcp::connection;

std::string_view reason_phrase(std::uint16_t status) noexcept {
    switch (status) {
        case 100: return "Continue";
        case 200: return "OK";
        case 201: return "Created";
        case 204: return "No Content";
        case 206: return "Partial Content";
        case 301: return "Moved Permanently";
        case 302: return "Found";
        case 304: return "Not Modified";
        case 400: return "Bad Request";
        case 401: return "Unauthorized";
        case 403: return "Forbidden";
        case 404: return "Not Found";
        case 405: return "Method Not Allowed";
        case 408: return "Request Timeout";
        case 413: return "Content Too Large";
        case 414: return "URI Too Long";
        case 429: return "Too Many Requests";
        case 431: return "Request Header Fields Too Large";
        case 500: return "Internal Server Error";
        case 501: return "Not Implemented";
        case 502: return "Bad Gateway";
        case 503: return "Service Unavailable";
        case 504: return "Gateway Timeout";
        case 505: return "HTTP Version Not Supported";
        default: return "";
    }
}

namespace {

// Response bodies up to this size that arrived with their head are copied into the head's
// segment (measured in bench/gateway: a separate 16-byte segment cost a packet and an ACK).
constexpr std::uint64_t inline_body_max = 1024;

void process(http_session& s) noexcept;
void finish_exchange(http_session& s, bool upstream_reusable) noexcept;
void proceed_upstream(http_session& s) noexcept;
void fail_exchange(http_session& s, std::uint16_t status, bool upstream_failed) noexcept;

gateway& gw_of(http_session& s) { return *s.gw; }

void count_status(gateway& gw, std::uint16_t st) noexcept {
    auto& x = gw.stats_;
    if (st < 200) {
        ++x.responses_1xx;
    } else if (st < 300) {
        ++x.responses_2xx;
    } else if (st < 400) {
        ++x.responses_3xx;
    } else if (st < 500) {
        ++x.responses_4xx;
    } else {
        ++x.responses_5xx;
    }
}

void free_session(http_session& s) noexcept {
    gateway& gw = gw_of(s);
    gw.timers().cancel(s.idle_timer);
    s.in.clear();
    s.head.clear();
    s.parser.reset();
    s.ph = http_session::phase::closed;
    if (s.c != nullptr) {
        s.c->user = nullptr;
        s.c = nullptr;
    }
    --gw.stats_.downstream_active;
    gw.http_sessions_.free(&s);
}

// Closes the client side politely (FIN after what is queued) and frees the session.
void close_session(http_session& s) noexcept {
    if (s.c != nullptr) {
        s.gw->tcp().close(*s.c);
    }
    free_session(s);
}

void abort_session(http_session& s) noexcept {
    if (s.c != nullptr) {
        connection* c = s.c;
        c->user = nullptr;
        s.c = nullptr;
        s.gw->tcp().abort(*c);
    }
    free_session(s);
}

// The idle timer is not moved per request: it fires at most idle_ms after it was armed and
// closes the session only if it has been idle (no exchange) for idle_ms by then; otherwise it
// re-arms for the remainder. During an exchange it lapses and finish_exchange re-arms it.
void on_idle(core::timer_wheel& w, core::timer_node& n, void* ctx) {
    (void)n;
    auto* s = static_cast<http_session*>(ctx);
    if (s->req != nullptr) {
        return;
    }
    const std::uint64_t idle = w.now() - std::min(w.now(), s->idle_since_ms);
    if (idle < s->idle_ms) {
        w.arm_after(s->idle_timer, s->idle_ms - idle, &on_idle, s);
        return;
    }
    close_session(*s);
}

void arm_idle(http_session& s) noexcept {
    core::timer_wheel& w = s.gw->timers();
    s.idle_since_ms = w.now();
    if (!s.idle_timer.armed() || s.idle_timer.expiry() > w.now() + s.idle_ms) {
        w.arm_after(s.idle_timer, s.idle_ms, &on_idle, &s);
    }
}

// Sends bytes to the client; false if the queue refused some (the connection is then broken
// for this exchange).
bool send_client(http_session& s, const char* p, std::uint32_t n) noexcept {
    if (s.c == nullptr) {
        return false;
    }
    return s.gw->tcp().send(*s.c, p, n) == n;
}

// Builds a head with fill(head_writer&) straight into a TX mbuf and queues that mbuf
// (tcp_stack::send_filled: no copy out of the worker's scratch); a head larger than one mbuf
// is built again in the scratch buffer and copied by send(). Returns the bytes queued, 0 on
// overflow; `size` gets the head's length.
template <typename Fill>
std::uint32_t send_head(gateway& gw, connection& c, std::uint32_t& size, Fill&& fill) noexcept {
    if (rte_mbuf* m = rte_pktmbuf_alloc(gw.pool()); m != nullptr) {
        head_writer w(rte_pktmbuf_mtod(m, char*), rte_pktmbuf_tailroom(m));
        fill(w);
        if (!w.overflow()) {
            size = w.size();
            m->data_len = static_cast<std::uint16_t>(w.size());
            m->pkt_len = w.size();
            return gw.tcp().send_filled(c, m);
        }
        rte_pktmbuf_free(m);
    }
    head_writer w(gw.scratch_.get(), gateway::scratch_size);
    fill(w);
    size = w.size();
    if (w.overflow()) {
        return 0;
    }
    return gw.tcp().send(c, w.data(), w.size());
}

void run_complete_filters(request& r) noexcept { run_complete_chain(r); }

void run_response_filters(request& r) noexcept { run_response_chain(r); }

void release_request(http_session& s) noexcept {
    request* r = s.req;
    if (r == nullptr) {
        return;
    }
    gateway& gw = gw_of(s);
    gw.timers().cancel(r->timer);
    gw.timers().cancel(r->backoff);
    gw.timers().cancel(r->stream_idle);
    gw.timers().cancel(r->wake);
    end_try(gw, *r);
    if (r->acquired_request) {
        release_request_slot(gw, *r);
    }
    if (r->cfg != nullptr) {
        gw.unpin(r->cfg);
        r->cfg = nullptr;
    }
    s.req = nullptr;
    gw.requests_.free(r);
}

// Sends a locally generated response (errors, filter replies). `close` forces Connection:
// close; the session closes after it when the request's body is unread or the client asked.
void send_local(http_session& s, std::uint16_t status, std::string_view body,
                bool close) noexcept {
    gateway& gw = gw_of(s);
    request* r = s.req;
    if (close) {
        s.keep_alive = false;
    }
    if (r != nullptr) {
        r->status_ = status;
        r->local_ = true;
        run_response_filters(*r);
    }
    head_writer w(gw.scratch_.get(), gateway::scratch_size);
    w.status_line(status, reason_phrase(status));
    w.header("content-type", "text/plain");
    w.header_num("content-length", body.size());
    if (r != nullptr) {
        if (r->request_id_len != 0) {
            w.header("x-request-id", {r->request_id, r->request_id_len});
        }
        w.apply_response_edits(*r);
    }
    if (!s.keep_alive) {
        w.header("connection", "close");
    }
    w.end();
    w.append(body);
    if (w.overflow()) {
        abort_session(s);
        return;
    }
    send_client(s, w.data(), w.size());
    if (r != nullptr) {
        r->bytes_out_ += w.size();
    }
    ++gw.stats_.local_replies;
    count_status(gw, status);
    finish_exchange(s, false);
}

void on_request_timeout(core::timer_wheel& w, core::timer_node& n, void* ctx) {
    (void)w, (void)n;
    auto* s = static_cast<http_session*>(ctx);
    ++s->gw->stats_.upstream_timeouts;
    fail_exchange(*s, 504, true);
}

void on_backoff(core::timer_wheel& w, core::timer_node& n, void* ctx) {
    (void)w, (void)n;
    auto* s = static_cast<http_session*>(ctx);
    if (s->req != nullptr) {
        proceed_upstream(*s);
    }
}

// Stream idle (issue 6): a request body being sent or a response body being relayed that makes
// no progress for stream_idle_ms ends the exchange, independently of the request timeout.
// Progress only stamps r.progress_ms (no timer work per segment); the timer, armed once when the
// request head goes upstream, re-arms itself for the remainder until the stamp is too old.
// Waiting for the response head (whole request sent) or in a paused filter is not a stall: the
// request timeout covers that.
bool streaming(const request& r) noexcept {
    return (r.head_sent && !r.body_done) || r.response_started;
}

void on_stream_idle(core::timer_wheel& w, core::timer_node& n, void* ctx) {
    (void)n;
    auto* s = static_cast<http_session*>(ctx);
    request* r = s->req;
    if (r == nullptr) {
        return;
    }
    const std::uint64_t now = s->gw->now_ms();
    const std::uint64_t idle = now - std::min(now, r->progress_ms);
    if (!streaming(*r) || idle < r->stream_idle_ms) {
        const std::uint64_t left = streaming(*r) ? r->stream_idle_ms - idle : r->stream_idle_ms;
        w.arm_after(r->stream_idle, left, &on_stream_idle, s);
        return;
    }
    ++s->gw->stats_.stream_idle_timeouts;
    // Before the response head: 504 (the request body stalled, or the backend stopped reading
    // it). After it: fail_exchange resets both connections (the client sees a short body).
    // A stalled response is the backend's failure (outlier detection); a stalled upload is not.
    fail_exchange(*s, 504, r->body_done);
}

void stream_progress(http_session& s) noexcept {
    if (s.req != nullptr) {
        s.req->progress_ms = s.gw->now_ms();
    }
}

// The upstream failed this exchange (connect failure, reset, timeout, bad response): retry if
// the policy and the request allow, else answer `status` (or abort when the response already
// started).
void fail_exchange(http_session& s, std::uint16_t status, bool upstream_failed) noexcept {
    gateway& gw = gw_of(s);
    request* r = s.req;
    if (r == nullptr) {
        return;
    }
    if (s.up != nullptr) {
        upstream_conn* u = s.up;
        s.up = nullptr;
        gw.abort_upstream(*u);
    }
    if (upstream_failed) {
        report_endpoint(gw, *r, false);
    }
    if (r->response_started) {
        // Part of the response is with the client: all we can do is cut it short.
        run_complete_filters(*r);
        release_request(s);
        abort_session(s);
        return;
    }
    gw.timers().cancel(r->timer);
    // The request body may be partly unread: close after the answer unless it was complete.
    send_local(s, status, reason_phrase(status), !r->body_done);
}

// --- request side -----------------------------------------------------------------------------

bool run_request_filters(http_session& s) noexcept {
    request& r = *s.req;
    const chain_status v = run_request_chain(r);
    if (v == chain_status::respond) {
        const bool body_pending = s.parser->head().body != http::body_kind::none;
        send_local(s, r.local_status_, {r.local_body_, r.local_body_len_}, body_pending);
        return false;
    }
    return v == chain_status::proceed;
}

void start_request(http_session& s) noexcept {
    gateway& gw = gw_of(s);
    const http::request_head& h = s.parser->head();
    ++gw.stats_.requests;
    // The idle timer stays armed (on_idle ignores a session with a request in progress).
    // The head's bytes leave the receive queue for the exchange's lifetime: header views stay
    // valid while the body and pipelined requests behind it are read.
    rte_mbuf* hm = s.in.take(s.head_len, gw.pool());
    if (hm == nullptr) {
        ++gw.stats_.pool_exhausted;
        abort_session(s);
        return;
    }
    s.head.adopt(hm);
    s.keep_alive = h.keep_alive;
    request* r = gw.requests_.alloc();
    gateway_config* cfg = gw.config();
    if (r == nullptr || cfg == nullptr) {
        ++gw.stats_.pool_exhausted;
        s.req = nullptr;
        send_local(s, 503, "no capacity\n", true);
        return;
    }
    s.req = r;
    r->reset_ctx();
    r->session_ = &s;
    r->gw_ = &gw;
    r->head_ = &h;
    r->cfg = cfg;
    gw.pin(cfg);
    r->start_tsc = rte_rdtsc();
    r->start_ms = gw.now_ms();
    r->attempts = 0;
    r->filters_run = 0;
    r->filter_pos = 0;
    r->head_sent = false;
    r->body_done = h.body == http::body_kind::none;
    r->body_started = false;
    r->response_started = false;
    r->paused = false;
    r->acquired_request = false;
    r->counted_active = false;
    r->idempotent = h.m == http::method::get || h.m == http::method::head ||
                    h.m == http::method::options || h.m == http::method::put ||
                    h.m == http::method::delete_ || h.m == http::method::trace;
    r->dechunk = false;
    r->client_addr_ = s.c->key.remote_addr[0];
    r->client_port_ = rte_be_to_cpu_16(s.c->key.remote_port);
    fill_request_views(s, *r);
    r->listener_ = cfg->listener_on(s.port);
    if (r->listener_ == nullptr) {
        send_local(s, 503, "listener removed\n", true);
        return;
    }
    // Route (first match wins), then the cluster (weighted split).
    const std::uint32_t ri = match_route(s, *r);
    if (ri == cfg::no_route) {
        ++gw.stats_.no_route;
        // Listener filters still run (trace ids, access log) before the 404.
        r->route_ = nullptr;
        if (!run_request_filters(s)) {
            return;
        }
        send_local(s, 404, "no route\n", h.body != http::body_kind::none);
        return;
    }
    r->route_idx = ri;
    r->route_ = &cfg->route_info[ri];
    r->cluster_idx_ = pick_cluster(gw, *r->route_);
    r->cluster_ = &cfg->clusters[r->cluster_idx_];
    const std::uint32_t tmo =
        r->route_->timeout_ms != 0 ? r->route_->timeout_ms : r->cluster_->request_timeout_ms;
    gw.timers().arm_after(r->timer, tmo, &on_request_timeout, &s);
    r->stream_idle_ms = r->route_->stream_idle_ms != 0 ? r->route_->stream_idle_ms
                                                       : r->cluster_->stream_idle_ms;
    if (!run_request_filters(s)) {
        return;
    }
    proceed_upstream(s);
}

void send_request_head(http_session& s) noexcept {
    gateway& gw = gw_of(s);
    request& r = *s.req;
    upstream_conn& u = *s.up;
    std::uint32_t size = 0;
    const std::uint32_t sent =
        send_head(gw, *u.c, size, [&](head_writer& w) { write_upstream_head(w, s, r); });
    if (sent == 0 || sent != size) {
        fail_exchange(s, 502, false);
        return;
    }
    r.head_sent = true;
    r.progress_ms = gw.now_ms();
    if (!r.stream_idle.armed()) {
        gw.timers().arm_after(r.stream_idle, r.stream_idle_ms, &on_stream_idle, &s);
    }
    if (!u.rp) {
        u.rp.emplace();  // once per pooled connection (construction clears 128 header slots)
    }
    u.rp->reset(s.parser->head().m == http::method::head);
    u.fed = 0;
    u.head_done = false;
    if (!r.body_done) {
        s.body.start(s.parser->head().body, s.parser->head().content_length);
    }
    process(s);  // forwards whatever body bytes are already here
}

// Checks the body bytes already received before anything goes upstream: a malformed chunked
// body that arrived with its head (the usual smuggling shape) is refused without the backend
// ever seeing the request. Bytes arriving later are checked before each is forwarded.
bool body_prefix_valid(http_session& s) noexcept {
    const http::request_head& h = s.parser->head();
    if (h.body != http::body_kind::chunked || s.in.empty()) {
        return true;
    }
    http::body_reader probe(s.lim);
    probe.start(h.body, h.content_length);
    bool ok = true;
    s.in.for_each_run(0, [&](const char* p, std::uint32_t n) {
        while (n > 0) {
            const auto st = probe.feed(p, n);
            if (st.err != http::error::none) {
                ++s.gw->stats_.parse_errors[static_cast<std::size_t>(st.err)];
                ok = false;
                return false;
            }
            if (st.done || st.consumed == 0) {
                return false;
            }
            p += st.consumed;
            n -= st.consumed;
        }
        return true;
    });
    return ok;
}

void proceed_upstream(http_session& s) noexcept {
    gateway& gw = gw_of(s);
    request& r = *s.req;
    if (r.attempts == 0 && !body_prefix_valid(s)) {
        send_local(s, 400, "malformed body\n", true);
        return;
    }
    ++r.attempts;
    std::uint32_t ep = 0;
    if (!pick_endpoint(gw, r, ep)) {
        ++gw.stats_.upstream_unavailable;
        fail_exchange(s, 503, false);
        return;
    }
    r.endpoint_idx = ep;
    upstream_conn* u = gw.acquire_upstream(*r.cfg, r.cluster_idx_, ep);
    if (u == nullptr) {
        fail_exchange(s, 503, false);
        return;
    }
    const endpoint_rt& e = r.cluster_->endpoints[ep];
    r.up_addr = e.addr;
    r.up_port = e.port;
    s.up = u;
    u->owner = &s;
    if (u->st == upstream_conn::state::busy) {
        send_request_head(s);
    }
    // else: http_upstream_connected() sends it
}

// Backpressure on bodies (docs/tcp.md, "Receive flow control"): when the side a body goes
// to has a full send queue, stop reading the side it comes from; that side's TCP window then
// closes. The full side's on_writable resumes it (http_down_writable / http_upstream_writable),
// and every exchange end resumes both, so a paused connection never outlives its exchange.
void push_back_if_full(gateway& gw, connection* from, const connection* to) noexcept {
    if (from != nullptr && to != nullptr && gw.tcp().send_space(*to) == 0) {
        gw.tcp().pause_recv(*from);
    }
}

// Forwards request body bytes from the receive queue to the upstream, zero-copy.
void forward_request_body(http_session& s) noexcept {
    gateway& gw = gw_of(s);
    request& r = *s.req;
    while (!r.body_done && !s.in.empty() && s.up != nullptr && s.up->c != nullptr) {
        http::body_reader::step st{};
        s.in.for_each_run(0, [&](const char* p, std::uint32_t n) {
            st = s.body.feed(p, n);
            return false;  // one run per step
        });
        if (st.err != http::error::none) {
            ++gw.stats_.parse_errors[static_cast<std::size_t>(st.err)];
            fail_exchange(s, http::status_for(st.err), false);
            return;
        }
        if (st.consumed == 0) {
            break;
        }
        r.body_started = true;
        r.bytes_in_ += st.consumed;
        rte_mbuf* m = s.in.take(st.consumed, gw.pool());
        if (m == nullptr) {
            ++gw.stats_.pool_exhausted;
            fail_exchange(s, 503, false);
            return;
        }
        gw.tcp().send_mbuf(*s.up->c, m);
        if (st.done) {
            r.body_done = true;
        } else {
            push_back_if_full(gw, s.c, s.up->c);
        }
    }
    if (!r.body_done && s.in.empty() && s.c != nullptr) {
        gw.tcp().ack_now(*s.c);  // more body to come: do not make the client's Nagle wait
    }
}

void process(http_session& s) noexcept {
    if (s.in_process) {
        s.again = true;  // finish_exchange from inside the loop: the loop goes on
        return;
    }
    s.in_process = true;
    for (;;) {
        s.again = false;
        if (s.ph == http_session::phase::closed) {
            return;  // freed under us (the pool slot stays; nothing else may be touched)
        }
        if (s.ph == http_session::phase::draining) {
            s.in.clear();
            break;
        }
        if (s.req != nullptr) {
            // Filters paused, or the exchange is on its way: forward body bytes if any.
            if (s.req->head_sent) {
                forward_request_body(s);
            }
            if (s.again) {
                continue;
            }
            break;
        }
        if (s.in.empty()) {
            break;
        }
        using pst = http::request_parser::state;
        s.in.for_each_run(s.fed, [&](const char* p, std::uint32_t n) {
            const std::uint32_t k = s.parser->feed_head(p, n);
            s.fed += k;
            return s.parser->head_state() == pst::need_more && k == n;
        });
        if (s.parser->head_state() == pst::need_more) {
            if (s.c != nullptr) {
                s.gw->tcp().ack_now(*s.c);  // the client may hold the rest under Nagle
            }
            break;
        }
        if (s.parser->head_state() == pst::error) {
            const http::error e = s.parser->err();
            ++s.gw->stats_.parse_errors[static_cast<std::size_t>(e)];
            ++s.gw->stats_.requests;
            s.ph = http_session::phase::draining;
            const std::uint16_t st = http::status_for(e);
            std::string_view why = http::to_string(e);
            send_local(s, st == 0 ? 400 : st, why, true);
            return;  // closed
        }
        s.head_len = s.fed;
        start_request(s);  // may finish at once (local reply) and loop to the next request
    }
    s.in_process = false;
}

// --- response side ----------------------------------------------------------------------------

bool retry_allowed(http_session& s, std::uint32_t cause) noexcept {
    request& r = *s.req;
    const route_rt* rt = r.route();
    if (rt == nullptr || r.response_started || r.attempts > rt->retry_attempts) {
        return false;
    }
    if ((rt->retry_on & cause) == 0) {
        return false;
    }
    // A body already (partly) sent cannot be replayed; connect failures sent nothing.
    if (r.body_started) {
        return false;
    }
    if (cause != cp::model::retry_connect_failure && !r.idempotent) {
        return false;
    }
    return try_retry_budget(*s.gw, r);
}

void schedule_retry(http_session& s) noexcept {
    gateway& gw = gw_of(s);
    request& r = *s.req;
    ++gw.stats_.retries;
    end_try(gw, r);
    r.head_sent = false;
    // Jittered exponential backoff, base 25 ms (issue 6; Envoy's default base interval).
    const std::uint32_t base = 25u << std::min<std::uint32_t>(r.attempts - 1, 4);
    const std::uint32_t delay = 1 + static_cast<std::uint32_t>(gw.next_random() % base);
    gw.timers().arm_after(r.backoff, delay, &on_backoff, &s);
}

void relay_response(http_session& s, upstream_conn& u) noexcept;

void response_head_done(http_session& s, upstream_conn& u) noexcept {
    gateway& gw = gw_of(s);
    request& r = *s.req;
    const http::response_head& h = u.rp->head();
    if (h.status < 200) {
        // 100 Continue goes to a client that asked for it; other interim responses are
        // dropped (RFC 9110 §15.2: a proxy may drop 1xx to HTTP/1.0 clients; we keep it simple).
        if (h.status == 100 && s.parser->head().expect_continue &&
            s.parser->head().version_minor == 1) {
            static constexpr char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
            send_client(s, cont, sizeof(cont) - 1);
        }
        u.in.consume(u.fed);
        u.rp->reset(s.parser->head().m == http::method::head);
        u.fed = 0;
        return;
    }
    // Retry on 5xx before anything reached the client, if the route says so.
    if (h.status >= 500) {
        report_endpoint(gw, r, false);
        std::uint32_t cause = cp::model::retry_5xx;
        if (h.status >= 502 && h.status <= 504) {
            cause |= cp::model::retry_gateway_error;
        }
        if (retry_allowed(s, cause)) {
            upstream_conn* up = s.up;
            s.up = nullptr;
            gw.release_upstream(*up, false);
            schedule_retry(s);
            return;
        }
    } else {
        report_endpoint(gw, r, true);
    }
    u.head_done = true;
    r.status_ = h.status;
    r.response_started = true;
    r.progress_ms = gw.now_ms();
    // The request timeout ends with the response head (docs/gateway.md); the body is guarded by
    // stream_idle from here on, so a long download is not cut at the request timeout.
    gw.timers().cancel(r.timer);
    r.dechunk = h.body == http::body_kind::chunked && s.parser->head().version_minor == 0;
    if (h.body == http::body_kind::until_close || r.dechunk || !h.keep_alive) {
        // The client learns the end of the body from the close.
        if (h.body == http::body_kind::until_close || r.dechunk) {
            s.keep_alive = false;
        }
    }
    run_response_filters(r);
    // A small body that is already here goes out in the same segment as the head: one packet
    // (and one client ACK) less per response. Larger bodies are forwarded zero-copy below.
    const bool inline_body = h.body == http::body_kind::length &&
                             h.content_length <= inline_body_max &&
                             u.in.size() - u.fed >= h.content_length;
    std::uint32_t size = 0;
    const std::uint32_t sent = s.c == nullptr ? 0 : send_head(gw, *s.c, size, [&](head_writer& w) {
        write_client_head(w, s, r, u);
        if (inline_body) {
            w.append_slice(u.in, {u.fed, static_cast<std::uint32_t>(h.content_length)});
        }
    });
    if (sent == 0 || sent != size) {
        fail_exchange(s, 502, false);
        return;
    }
    r.bytes_out_ += size;
    count_status(gw, h.status);
    if (inline_body) {
        u.in.consume(u.fed + static_cast<std::uint32_t>(h.content_length));
        finish_exchange(s, h.keep_alive && !u.peer_fin && u.in.empty());
        return;
    }
    u.in.consume(u.fed);
    u.body.start(h.body, h.content_length);
    if (h.body == http::body_kind::none) {
        finish_exchange(s, h.keep_alive && !u.peer_fin);
    }
}

void relay_response(http_session& s, upstream_conn& u) noexcept {
    gateway& gw = gw_of(s);
    for (;;) {
        if (s.req == nullptr || s.up != &u) {
            return;
        }
        if (!u.head_done) {
            using pst = http::response_parser::state;
            u.in.for_each_run(u.fed, [&](const char* p, std::uint32_t n) {
                const std::uint32_t k = u.rp->feed_head(p, n);
                u.fed += k;
                return u.rp->head_state() == pst::need_more && k == n;
            });
            if (u.rp->head_state() == pst::need_more) {
                if (u.c != nullptr) {
                    gw.tcp().ack_now(*u.c);  // the backend may hold the rest under Nagle
                }
                return;
            }
            if (u.rp->head_state() == pst::error) {
                ++gw.stats_.upstream_parse_errors;
                fail_exchange(s, 502, true);
                return;
            }
            response_head_done(s, u);
            continue;
        }
        if (u.in.empty()) {
            if (u.c != nullptr) {
                gw.tcp().ack_now(*u.c);  // body incomplete: do not make Nagle wait 40 ms
            }
            return;
        }
        http::body_reader::step st{};
        u.in.for_each_run(0, [&](const char* p, std::uint32_t n) {
            st = u.body.feed(p, n);
            return false;
        });
        if (st.err != http::error::none) {
            ++gw.stats_.upstream_parse_errors;
            fail_exchange(s, 502, true);
            return;
        }
        if (st.consumed == 0) {
            return;
        }
        request& r = *s.req;
        if (r.dechunk) {
            // HTTP/1.0 client: payload only, framing dropped.
            if (st.payload_len != 0) {
                u.in.consume(st.payload_off);
                rte_mbuf* m = u.in.take(st.payload_len, gw.pool());
                if (m == nullptr) {
                    fail_exchange(s, 502, false);
                    return;
                }
                r.bytes_out_ += st.payload_len;
                gw.tcp().send_mbuf(*s.c, m);
                push_back_if_full(gw, u.c, s.c);
                u.in.consume(st.consumed - st.payload_off - st.payload_len);
            } else {
                u.in.consume(st.consumed);
            }
        } else {
            rte_mbuf* m = u.in.take(st.consumed, gw.pool());
            if (m == nullptr) {
                fail_exchange(s, 502, false);
                return;
            }
            r.bytes_out_ += st.consumed;
            gw.tcp().send_mbuf(*s.c, m);
            push_back_if_full(gw, u.c, s.c);
        }
        if (st.done) {
            const bool reusable =
                u.rp->head().keep_alive && !u.peer_fin && u.in.empty();
            finish_exchange(s, reusable);
            return;
        }
    }
}

void finish_exchange(http_session& s, bool upstream_reusable) noexcept {
    gateway& gw = gw_of(s);
    request* r = s.req;
    if (s.up != nullptr) {
        upstream_conn* u = s.up;
        s.up = nullptr;
        if (u->c != nullptr && gw.tcp().recv_paused(*u->c)) {
            if (gw.tcp().recv_held(*u->c) != 0) {
                upstream_reusable = false;  // bytes after the response: not reusable
            } else {
                gw.tcp().resume_recv(*u->c);  // nothing to deliver: only the window reopens
            }
        }
        gw.release_upstream(*u, upstream_reusable && r != nullptr && r->body_done);
    }
    if (r != nullptr) {
        run_complete_filters(*r);
        if (gw.link() != nullptr) {
            gw.link()->record_latency(gw.cycles_to_ns(rte_rdtsc() - r->start_tsc));
        }
        if (!r->body_done) {
            s.keep_alive = false;  // the rest of the body is unread: the framing is lost
        }
        release_request(s);
    }
    s.head.clear();
    s.fed = 0;
    s.head_len = 0;
    if (!s.keep_alive || s.peer_fin || s.ph == http_session::phase::draining) {
        close_session(s);
        return;
    }
    s.parser->reset();
    s.ph = http_session::phase::head;
    arm_idle(s);
    if (s.c != nullptr && gw.tcp().recv_paused(*s.c)) {
        // Paused for the request body: what was held is the next request (or the rest of
        // this body, which the keep-alive check above already turned into a close).
        gw.tcp().resume_recv(*s.c);
        if (s.ph == http_session::phase::closed) {
            return;
        }
    }
    // Pipelined requests already received are served now, in order (by the loop in process()
    // when we are inside it).
    if (s.in_process) {
        s.again = true;
    } else if (!s.in.empty()) {
        process(s);
    }
}

}  // namespace

// --- entry points (gateway.cc dispatch) -------------------------------------------------------

void http_down_writable(http_session& s) noexcept {
    // The client's queue drained: read the response body from the backend again.
    if (s.up != nullptr && s.up->c != nullptr && s.req != nullptr) {
        s.gw->tcp().resume_recv(*s.up->c);
    }
}

void http_upstream_writable(http_session& s, upstream_conn& u) noexcept {
    // The backend's queue drained: read the request body from the client again.
    if (s.up == &u && s.c != nullptr && s.ph != http_session::phase::closed) {
        s.gw->tcp().resume_recv(*s.c);
    }
}

bool http_accept(gateway& gw, connection& c, const listener_rt& l) noexcept {
    http_session* s = gw.http_sessions_.alloc();
    if (s == nullptr) {
        ++gw.stats_.pool_exhausted;
        return false;
    }
    s->kind = conn_kind::http;
    s->gw = &gw;
    s->c = &c;
    s->port = l.port;
    s->lim = http::limits{};
    s->lim.max_request_line = l.max_request_line;
    s->lim.max_header_bytes = l.max_header_bytes;
    s->lim.max_headers = l.max_headers;
    s->parser.emplace(s->lim);
    s->body = http::body_reader(s->lim);
    s->in.clear();
    s->head.clear();
    s->fed = 0;
    s->head_len = 0;
    s->ph = http_session::phase::head;
    s->req = nullptr;
    s->up = nullptr;
    s->keep_alive = true;
    s->peer_fin = false;
    s->in_process = false;
    s->again = false;
    s->idle_ms = gw.params().downstream_idle_ms;
    c.user = s;
    ++gw.stats_.downstream_active;
    arm_idle(*s);
    return true;
}

void http_on_data(http_session& s, const net::tcp::rx_view& v) noexcept {
    if (!s.in.append(v.m, v.off, v.len, s.gw->pool())) {
        ++s.gw->stats_.pool_exhausted;
        abort_session(s);
        return;
    }
    if (s.ph == http_session::phase::draining) {
        s.in.clear();
        return;
    }
    stream_progress(s);
    process(s);
}

void http_peer_shutdown(http_session& s) noexcept {
    s.peer_fin = true;
    if (s.req == nullptr && s.in.empty()) {
        close_session(s);  // idle keep-alive connection closed by the client
    }
    // Otherwise the exchange in progress completes, then finish_exchange closes.
}

void http_closed(http_session& s, close_reason why) noexcept {
    (void)why;
    s.c = nullptr;  // already gone
    gateway& gw = gw_of(s);
    if (s.up != nullptr) {
        upstream_conn* u = s.up;
        s.up = nullptr;
        gw.abort_upstream(*u);
    }
    if (s.req != nullptr) {
        run_complete_filters(*s.req);
        release_request(s);
    }
    free_session(s);
}

void http_upstream_connected(http_session& s, upstream_conn& u) noexcept {
    if (s.req == nullptr || s.up != &u) {
        s.gw->release_upstream(u, true);
        return;
    }
    send_request_head(s);
}

void http_upstream_data(http_session& s, upstream_conn& u, const net::tcp::rx_view& v) noexcept {
    if (!u.in.append(v.m, v.off, v.len, s.gw->pool())) {
        ++s.gw->stats_.pool_exhausted;
        fail_exchange(s, 502, false);
        return;
    }
    if (s.req == nullptr || s.up != &u || !s.req->head_sent) {
        return;  // data before we asked for anything: ignored until the exchange is over
    }
    stream_progress(s);
    relay_response(s, u);
}

void http_upstream_fin(http_session& s, upstream_conn& u) noexcept {
    if (s.req == nullptr || s.up != &u) {
        return;
    }
    if (u.head_done && u.rp->head().body == http::body_kind::until_close) {
        relay_response(s, u);
        if (s.req != nullptr && s.up == &u) {
            finish_exchange(s, false);  // the close ends the body
        }
        return;
    }
    relay_response(s, u);  // anything complete goes first
    if (s.req != nullptr && s.up == &u) {
        // The backend closed mid-exchange: RFC 9112 §9.3.1 lets us retry idempotent requests.
        ++s.gw->stats_.upstream_resets;
        if (retry_allowed(s, cp::model::retry_reset)) {
            upstream_conn* up = s.up;
            s.up = nullptr;
            s.gw->abort_upstream(*up);
            schedule_retry(s);
            return;
        }
        fail_exchange(s, 502, true);
    }
}

void http_upstream_closed(http_session& s, upstream_conn& u, close_reason why,
                          bool was_connecting) noexcept {
    gateway& gw = gw_of(s);
    if (s.req == nullptr || s.up != &u) {
        gw.abort_upstream(u);
        return;
    }
    if (was_connecting) {
        ++gw.stats_.upstream_connect_failures;
        report_endpoint(gw, *s.req, false);
        s.up = nullptr;
        gw.abort_upstream(u);
        if (retry_allowed(s, cp::model::retry_connect_failure)) {
            schedule_retry(s);
            return;
        }
        if (why == close_reason::timeout) {
            ++gw.stats_.upstream_timeouts;
            fail_exchange(s, 504, false);
        } else {
            fail_exchange(s, 503, false);
        }
        return;
    }
    if (u.head_done && u.rp->head().body == http::body_kind::until_close &&
        why == close_reason::normal) {
        relay_response(s, u);
        if (s.req != nullptr && s.up == &u) {
            finish_exchange(s, false);
        }
        return;
    }
    ++gw.stats_.upstream_resets;
    s.up = nullptr;
    gw.abort_upstream(u);
    if (retry_allowed(s, cp::model::retry_reset)) {
        schedule_retry(s);
        return;
    }
    fail_exchange(s, 502, true);
}

void http_resume(http_session& s) noexcept {
    if (s.req == nullptr || !s.req->paused) {
        return;
    }
    s.req->paused = false;
    if (run_request_filters(s)) {
        proceed_upstream(s);
    }
}

}  // namespace sluice::dp::proxy
