// The binary framed protocol proxy (listener protocol `binary`, docs/binary-protocol.md).
// Each complete, valid client frame is routed by its command to a cluster (routes with
// `match.command`) and forwarded, unchanged and zero-copy, on the session's connection to that
// cluster (one per cluster, opened on first use). Backend frames are validated the same way
// and relayed to the client whole, so frames from different backends never interleave. A bad
// magic, an unsupported version, an over-long length or a CRC mismatch is counted, answered
// with an error frame (command 0xFF) and the connection is closed. A full send queue on one
// side pauses reading on the side that feeds it (TCP receive-window backpressure, as L4).
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
// on_writable of the client side / of an upstream side: backpressure (docs/tcp.md "Receive
// flow control"). A full client send queue pauses reading from the backends that feed it, a
// full upstream send queue (or frames waiting for a connecting upstream, up to snd_buffer)
// pauses reading from the client; these resume them.
void binary_down_writable(gateway& gw, conn_base* s) noexcept;
void binary_upstream_writable(gateway& gw, conn_base* s, upstream_conn& u) noexcept;
// Shutdown: drops every mbuf binary sessions hold.
void binary_release_all(gateway& gw) noexcept;

}  // namespace sluice::dp::proxy
