// Socket plumbing for the daemon: the Unix control socket (framed JSON), the loopback metrics
// listener and a strict HTTP/1.x request-line parser. Daemon thread only; all sockets are
// non-blocking and driven by the daemon's poll loop.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "ctrlplane/result.hh"

namespace sluice::cp::daemon {

// Control-socket frames: a 4-byte big-endian length, then that many bytes of UTF-8 JSON.
// 16 MiB bounds a config document many times over, and a hostile peer's allocation.
inline constexpr std::uint32_t max_frame = 16u << 20;
[[nodiscard]] std::string frame(std::string_view body);
// Takes one whole frame off the front of `buf`. nullopt: need more bytes. Error: oversized.
[[nodiscard]] result<std::optional<std::string>> unframe(std::string& buf);

// Binds and listens on a Unix socket at `path` (an existing socket file is replaced: callers hold
// the instance lock), then sets mode 0660 and group `gid`.
[[nodiscard]] result<int> listen_unix(const std::string& path, gid_t gid);
// "ADDR:PORT" or "[ADDR6]:PORT"; port 0 picks a free port. Returns the fd and the bound port.
[[nodiscard]] result<std::pair<int, std::uint16_t>> listen_tcp(const std::string& addr_port);

struct http_request {
    std::string method;
    std::string target;
};
// Parses "METHOD SP TARGET SP HTTP/1.0|1.1" from the head of a request (strict: single spaces,
// token method, target starting with '/', no control characters). nullopt: malformed (→ 400).
[[nodiscard]] std::optional<http_request> parse_request_line(std::string_view head);
[[nodiscard]] std::string http_response(int status, std::string_view reason,
                                        std::string_view content_type, std::string_view body);

}  // namespace sluice::cp::daemon
