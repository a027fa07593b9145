// Small TCP test applications that run inside the dataplane on every worker lcore, selected with
// `--app` (docs/tcp.md, "Test applications"). They exist to exercise the TCP stack against real
// peers (tests/integration/test_tcp.py); they are not part of the gateway.
//
//   tcp-echo:PORT          echoes what it receives; closes after the peer's FIN
//   tcp-source:PORT:BYTES  sends BYTES of the pattern byte[i] = i % 251, then closes
//   tcp-sink:PORT          counts bytes and their FNV-1a 64 hash; after the peer's FIN it
//                          replies "<bytes> <fnv1a64 hex>\n" and closes (a half-close test)
//   tcp-client:A.B.C.D:PORT:BYTES  active open from each worker when it starts: sends BYTES of
//                          the source pattern, shuts down writing, discards what comes back,
//                          and closes after the peer's FIN
//
// Threading: one handler object per worker lcore, called only on that lcore. Per-connection
// state lives in a fixed array sized at start (no allocation per connection).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <rte_byteorder.h>

#include "../core/result.hh"
#include "../net/tcp/tcp_stack.hh"

namespace sluice::dp::apps {

enum class tcp_app_kind : std::uint8_t { echo, source, sink, client };

struct tcp_app_spec {
    tcp_app_kind kind = tcp_app_kind::echo;
    std::uint16_t port = 0;
    std::uint64_t bytes = 0;  // source and client
    rte_be32_t addr = 0;      // client only: the server
    std::uint32_t backlog = 128;  // listeners: SYN-RECEIVED bound (--app-backlog)
};

// Parses "tcp-echo:PORT", "tcp-source:PORT:BYTES", "tcp-sink:PORT" or
// "tcp-client:A.B.C.D:PORT:BYTES".
[[nodiscard]] result<tcp_app_spec> parse_tcp_app(std::string_view spec);

// Creates the handler for one lcore and starts listening on `tcp` (a client instead connects
// from `start_client`, on the lcore). The handler must outlive every connection of `tcp`.
[[nodiscard]] result<std::unique_ptr<net::tcp::tcp_handler>> start_tcp_app(
    const tcp_app_spec& spec, net::tcp::tcp_stack& tcp);
// For tcp-client: opens the connection; call on the worker's lcore with the handler made by
// start_tcp_app. `port_id` is the DPDK port to connect from.
void start_client(net::tcp::tcp_handler& h, std::uint16_t port_id) noexcept;

// The sink's hash, for tests: FNV-1a 64 over a byte range, continuing from `h`.
constexpr std::uint64_t fnv1a64_init = 0xcbf29ce484222325ULL;
[[nodiscard]] std::uint64_t fnv1a64(std::uint64_t h, const std::uint8_t* p, std::size_t n) noexcept;

}  // namespace sluice::dp::apps
