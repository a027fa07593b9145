// The HTTP/1.1 reverse proxy's connection logic (internal to dataplane/proxy): downstream
// sessions and the upstream side of each exchange. Called by gateway.cc's dispatch on the
// owning worker lcore. docs/gateway.md describes the request life cycle.
#pragma once

#include "../net/tcp/tcp_stack.hh"
#include "sessions.hh"

namespace sluice::dp::proxy {

struct listener_rt;

bool http_accept(gateway& gw, net::tcp::connection& c, const listener_rt& l) noexcept;
void http_on_data(http_session& s, const net::tcp::rx_view& v) noexcept;
void http_peer_shutdown(http_session& s) noexcept;
void http_closed(http_session& s, net::tcp::close_reason why) noexcept;
void http_upstream_connected(http_session& s, upstream_conn& u) noexcept;
void http_upstream_data(http_session& s, upstream_conn& u, const net::tcp::rx_view& v) noexcept;
void http_upstream_fin(http_session& s, upstream_conn& u) noexcept;
void http_upstream_closed(http_session& s, upstream_conn& u, net::tcp::close_reason why,
                          bool was_connecting) noexcept;
// on_writable of the client / of the exchange's upstream: resumes reading the other side
// (body backpressure, docs/tcp.md "Receive flow control").
void http_down_writable(http_session& s) noexcept;
void http_upstream_writable(http_session& s, upstream_conn& u) noexcept;
// Filter chain resumption (request_ctx::resume()).
void http_resume(http_session& s) noexcept;

// Fills the request's views (method, path, query, target, host) from the session's head.
void fill_request_views(http_session& s, request& r) noexcept;

// The reason phrase for a status code (RFC 9110 §15), "" when unknown.
[[nodiscard]] std::string_view reason_phrase(std::uint16_t status) noexcept;

}  // namespace sluice::dp::proxy
