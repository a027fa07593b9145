// The binary framed protocol proxy (listener protocol `binary`, docs/binary-protocol.md).
// Each complete, valid client frame is routed by its command to a cluster (routes with
// `match.command`) and forwarded, unchanged and zero-copy, on the session's connection to that
// cluster (one per cluster, opened on first use). Backend frames are validated the same way
// and relayed to the client whole, so frames from different backends never interleave. A bad
// magic, an unsupported version, an over-long length or a CRC mismatch is counted, answered
// with an error frame (command 0xFF) and the connection is closed.
//
// Internal to dataplane/proxy; runs on the worker lcore that owns the client connection.
#pragma once

#include "../net/tcp/tcp_stack.hh"
#include "sessions.hh"

namespace sluice::dp::proxy {

class gateway;
struct listener_rt;

bool binary_accept(gateway& gw, net::tcp::connection& c, const listener_rt& l) noexcept;
void binary_on_data(gateway& gw, conn_base* s, net::tcp::connection& c,
                    const net::tcp::rx_view& v) noexcept;
void binary_peer_shutdown(gateway& gw, conn_base* s, net::tcp::connection& c) noexcept;
void binary_closed(gateway& gw, conn_base* s, net::tcp::connection& c,
                   net::tcp::close_reason why) noexcept;
void binary_upstream_connected(gateway& gw, conn_base* s, upstream_conn& u) noexcept;
void binary_upstream_data(gateway& gw, conn_base* s, upstream_conn& u,
                          const net::tcp::rx_view& v) noexcept;
void binary_upstream_fin(gateway& gw, conn_base* s, upstream_conn& u) noexcept;
void binary_upstream_closed(gateway& gw, conn_base* s, upstream_conn& u,
                            net::tcp::close_reason why) noexcept;
// Shutdown: drops every mbuf binary sessions hold.
void binary_release_all(gateway& gw) noexcept;

}  // namespace sluice::dp::proxy
