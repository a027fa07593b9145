// sluicectl's side of the control socket: one framed JSON request, one framed JSON reply
// (protocol in docs/cli.md). Runs in the CLI process, blocking with a timeout.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace sluice::cp::cli {

// Exit codes (docs/cli.md): keep in sync with the table there.
enum exit_code : int {
    exit_ok = 0,
    exit_refused = 1,      // the daemon refused: invalid config or edit, unknown object
    exit_usage = 2,        // bad command line (CLI11)
    exit_unreachable = 3,  // no daemon at the socket, or no permission to talk to it
    exit_busy = 4,         // daemon busy (an lcore lags) or an I/O error on its side: retry
    exit_protocol = 5,     // unexpected reply (version skew?)
};

struct reply {
    int code = exit_ok;     // exit_ok when the daemon answered ok
    nlohmann::ordered_json body;    // the daemon's reply, or {"ok":false,"error":...} made here
};

// Connects to `socket_path`, sends `req`, waits up to timeout_ms for the reply.
[[nodiscard]] reply call(const std::string& socket_path, const nlohmann::ordered_json& req,
                         int timeout_ms = 10'000);

}  // namespace sluice::cp::cli
