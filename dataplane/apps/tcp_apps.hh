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
//   tcp-http-source:PORT:BYTES  a fixed HTTP/1.1 answer for curl/wget: after any request's
//                          header block ("\r\n\r\n") it sends "200 OK", Content-Length: BYTES
//                          and BYTES of the source pattern, then closes (Connection: close)
//   tcp-http-sink:PORT     takes one PUT/POST with a Content-Length body, hashes the body with
//                          SHA-256 and answers "200 OK" with "<bytes> <sha256 hex>\n", then
//                          closes (chunked bodies get 411 Length Required)
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

enum class tcp_app_kind : std::uint8_t { echo, source, sink, client, http_source, http_sink };

struct tcp_app_spec {
    tcp_app_kind kind = tcp_app_kind::echo;
    std::uint16_t port = 0;
    std::uint64_t bytes = 0;  // source, http-source and client
    rte_be32_t addr = 0;      // client only: the server
    std::uint32_t backlog = 128;  // listeners: SYN-RECEIVED bound (--app-backlog)
};

// Parses "tcp-echo:PORT", "tcp-source:PORT:BYTES", "tcp-sink:PORT",
// "tcp-client:A.B.C.D:PORT:BYTES", "tcp-http-source:PORT:BYTES" or "tcp-http-sink:PORT".
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

// The HTTP apps' request framing, for tests. Scans a request header block (up to and including
// "\r\n\r\n") for Content-Length (case-insensitive, RFC 9110 §8.6) and chunked
// Transfer-Encoding. `length` is -1 when absent or malformed.
struct http_request_head {
    std::int64_t length = -1;
    bool chunked = false;          // any Transfer-Encoding but identity
    bool expect_continue = false;  // "Expect: 100-continue" (curl sends it for big uploads)
};
[[nodiscard]] http_request_head parse_http_head(std::string_view head) noexcept;

}  // namespace sluice::dp::apps
