// The gateway's per-connection and per-request objects (internal to dataplane/proxy). Each
// lives in a fixed pool of its worker (gateway.hh) and is touched only on that lcore.
#pragma once

#include <cstdint>
#include <optional>

#include "../core/timer/timer_wheel.hh"
#include "../net/tcp/tcp_stack.hh"
#include "byte_chain.hh"
#include "http/body_reader.hh"
#include "http/request_parser.hh"
#include "http/response_parser.hh"
#include "request_ctx.hh"

namespace sluice::dp::proxy {

class gateway;
class gateway_config;
struct endpoint_entry;

enum class conn_kind : std::uint8_t { http, tcp, binary, upstream, health };

struct conn_base {
    conn_kind kind = conn_kind::http;
};

struct request;

// One connection to a backend. HTTP: pooled per endpoint and reused across requests
// (keep-alive). L4 and binary sessions own theirs for their lifetime.
struct upstream_conn : conn_base {
    enum class state : std::uint8_t { connecting, idle, busy, closed };
    gateway* gw = nullptr;
    net::tcp::connection* c = nullptr;
    endpoint_entry* ep = nullptr;
    state st = state::closed;
    conn_base* owner = nullptr;  // the session using it (busy/connecting)
    byte_chain in;
    std::optional<http::response_parser> rp;
    http::body_reader body;
    std::uint32_t fed = 0;  // response head bytes fed to the parser
    bool head_done = false;
    bool peer_fin = false;
    std::uint32_t idle_timeout_ms = 0;
    std::uint32_t max_idle = 0;
    std::uint64_t served = 0;
    // Armed while idle in the pool, and left armed when the connection is taken again: it
    // checks idle_since_ms when it fires (gateway.cc), so a reuse costs no timer work.
    core::timer_node idle_timer;
    std::uint64_t idle_since_ms = 0;  // timer-wheel tick of the last release to the pool
    upstream_conn* next_idle = nullptr;
    upstream_conn* prev_idle = nullptr;
};

// One HTTP exchange: the request context filters see, plus the proxy's own progress.
struct request : request_ctx {
    gateway_config* cfg = nullptr;  // pinned for the whole exchange
    std::uint32_t route_idx = 0;
    std::uint32_t endpoint_idx = 0;
    std::uint8_t filters_run = 0;  // filters whose on_request_headers ran
    std::uint8_t filter_pos = 0;   // next filter to run (pause/resume)
    std::uint8_t attempts = 0;     // tries so far (1 = first)
    bool idempotent = false;
    bool head_sent = false;        // the request head went to the current upstream
    bool body_done = false;        // the whole request body went upstream
    bool body_started = false;     // some body bytes went upstream (no replay possible)
    bool response_started = false; // the response head went to the client
    bool dechunk = false;          // HTTP/1.0 client, chunked response: send payload only
    bool paused = false;
    bool acquired_request = false; // holds a breaker request slot
    bool counted_active = false;   // counted in the endpoint's active requests
    std::uint64_t start_tsc = 0;
    std::uint64_t start_ms = 0;
    std::uint32_t deadline_ms = 0;
    std::uint32_t stream_idle_ms = 0;   // route's, else cluster's
    std::uint64_t progress_ms = 0;      // last body progress either way (stream idle)
    rte_be32_t up_addr = 0;
    std::uint16_t up_port = 0;
    core::timer_node timer;    // request timeout
    core::timer_node backoff;  // retry backoff
    core::timer_node stream_idle;  // body progress (request body sent, response body relayed)
    core::timer_node wake;         // a paused filter's resume_after() timer
};

struct http_session : conn_base {
    enum class phase : std::uint8_t {
        head,        // reading a request head
        upstream,    // routed: connecting, sending, waiting for and relaying the response
        draining,    // a local reply was sent and the connection closes after it
        closed,
    };
    gateway* gw = nullptr;
    net::tcp::connection* c = nullptr;
    const listener_rt* listener = nullptr;
    gateway_config* cfg = nullptr;  // the config the session was accepted under (pinned)
    http::limits lim{};
    std::optional<http::request_parser> parser;
    http::body_reader body;
    byte_chain in;    // received, not yet parsed or forwarded
    byte_chain head;  // the current request's head (header views point here)
    std::uint32_t fed = 0;  // head bytes fed
    std::uint32_t head_len = 0;
    std::uint16_t port = 0;  // listener port (host order)
    std::uint32_t idle_ms = 0;
    phase ph = phase::head;
    request* req = nullptr;
    upstream_conn* up = nullptr;
    bool keep_alive = true;
    bool peer_fin = false;
    bool in_process = false;  // inside process(): finish_exchange lets its loop continue
    bool again = false;
    // Keep-alive idle timeout: armed at accept and left armed across requests; when it fires it
    // checks idle_since_ms (http_session.cc), so an exchange costs no timer work.
    core::timer_node idle_timer;
    std::uint64_t idle_since_ms = 0;  // timer-wheel tick the session last became idle
};

// L4 passthrough: bytes both ways, zero-copy, half-close propagated.
struct l4_session : conn_base {
    gateway* gw = nullptr;
    net::tcp::connection* down = nullptr;
    upstream_conn* up = nullptr;
    gateway_config* cfg = nullptr;
    byte_chain pending;  // client bytes that arrived before the upstream connected
    bool down_fin = false;
    bool up_fin = false;
    bool up_connected = false;
    std::uint32_t cluster = 0;
};

}  // namespace sluice::dp::proxy

#include "binary/frame_decoder.hh"

namespace sluice::dp::proxy {

// The binary framed protocol: per session, up to max_binary_upstreams backend connections (one
// per cluster in use), each with its own frame decoder for what the backend sends back.
inline constexpr std::uint32_t max_binary_upstreams = 4;

struct binary_session : conn_base {
    struct up_slot {
        upstream_conn* u = nullptr;
        std::uint32_t cluster = 0;
        bool connected = false;
        bool fin = false;
        std::uint64_t base = 0;  // stream offset of u->in's first byte
        std::optional<binary::frame_decoder> dec;
        byte_chain pending;      // client frames waiting for the connection
    };
    gateway* gw = nullptr;
    net::tcp::connection* c = nullptr;
    gateway_config* cfg = nullptr;
    std::uint32_t listener = 0;
    byte_chain in;
    std::uint64_t base = 0;  // stream offset of in's first byte
    std::optional<binary::frame_decoder> dec;
    binary::frame_counters counters;
    up_slot ups[max_binary_upstreams];
    bool client_fin = false;
    bool failing = false;
};

}  // namespace sluice::dp::proxy
