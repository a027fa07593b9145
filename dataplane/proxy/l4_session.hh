// L4 TCP passthrough (listener protocol `tcp`): each client connection gets its own upstream
// connection to an endpoint of the cluster the listener's route picks; bytes are relayed both
// ways as the mbufs that carried them (zero-copy), and a FIN on either side becomes a
// shutdown(write) on the other (half-close is propagated). A full send queue on one side
// pauses reading on the other (TCP receive-window backpressure). Internal to dataplane/proxy;
// runs on the worker lcore that owns the client connection.
#pragma once

#include "../net/tcp/tcp_stack.hh"
#include "sessions.hh"

namespace sluice::dp::proxy {

struct listener_rt;

bool l4_accept(gateway& gw, net::tcp::connection& c, const listener_rt& l) noexcept;
void l4_on_data(l4_session& s, net::tcp::connection& c, const net::tcp::rx_view& v) noexcept;
void l4_peer_shutdown(l4_session& s, net::tcp::connection& c) noexcept;
void l4_closed(l4_session& s, net::tcp::connection& c, net::tcp::close_reason why) noexcept;
void l4_upstream_connected(l4_session& s, upstream_conn& u) noexcept;
void l4_upstream_data(l4_session& s, upstream_conn& u, const net::tcp::rx_view& v) noexcept;
void l4_upstream_fin(l4_session& s, upstream_conn& u) noexcept;
void l4_upstream_closed(l4_session& s, upstream_conn& u, net::tcp::close_reason why) noexcept;
// on_writable of the client side / of the upstream side: resumes reading the other side
// (backpressure, docs/tcp.md).
void l4_down_writable(l4_session& s) noexcept;
void l4_upstream_writable(l4_session& s, upstream_conn& u) noexcept;

}  // namespace sluice::dp::proxy
