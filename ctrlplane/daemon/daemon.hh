// sluice-ctrlplane's core: owns the config_store, serves the Unix control socket and the
// metrics endpoint, and every ~100 ms watches the stats segment (new lcores registering) and
// the segments' identity (recreated by a restarted dataplane) to republish the config in force.
// Everything runs on one thread in run(); handlers never block (non-blocking sockets + poll).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <tuple>

#include "ctrlplane/daemon/metrics.hh"
#include "ctrlplane/result.hh"
#include "ctrlplane/store/config_store.hh"

namespace sluice::cp::daemon {

struct daemon_options {
    std::string instance = "default";
    std::string run_dir = "/run/sluice";          // <instance>.sock, <instance>.lock
    std::string state_dir = "/var/lib/sluice";    // <instance>.yaml: the persisted config
    std::string config_file;                      // applied at start when nothing is persisted
    std::string metrics = "127.0.0.1:9145";       // loopback by default, never public
    std::uint64_t watch_interval_ms = 100;        // "republish within 1 s" with 10x margin
    store::store_options store;                   // shm options and persist path, filled by main
};

[[nodiscard]] std::uint64_t mono_ns() noexcept;

namespace detail {
// {"ok": false, "error": message, "kind": invalid|busy|io|abi}: every refusal on the socket.
[[nodiscard]] nlohmann::ordered_json fail_reply(const error& e);
}  // namespace detail

class ctrl_daemon {
public:
    // Opens the store and restores the config (resume: no republish if it is already live).
    [[nodiscard]] static result<std::unique_ptr<ctrl_daemon>> start(daemon_options o);
    // Binds the sockets. Separate from start() so the caller logs what it restored first.
    [[nodiscard]] result<void> listen();
    // Runs until SIGTERM/SIGINT (signal_fd readable). Returns 0 on a clean stop.
    int run(int signal_fd);
    [[nodiscard]] std::uint16_t metrics_port() const noexcept { return metrics_port_; }
    [[nodiscard]] std::uint64_t generation() const noexcept { return store_->generation(); }

    ctrl_daemon(daemon_options o, store::config_store s);
    ctrl_daemon(const ctrl_daemon&) = delete;
    ctrl_daemon& operator=(const ctrl_daemon&) = delete;
    ~ctrl_daemon();

private:
    struct conn {
        bool http = false;
        std::string in;
        std::string out;
        bool close_after_write = false;
        std::uint64_t since_ns = 0;  // accepted at; idle peers are dropped (see watch())
    };
    nlohmann::ordered_json handle(const nlohmann::ordered_json& req);
    nlohmann::ordered_json do_apply(const std::string& yaml, const std::string& file, bool dry_run);
    nlohmann::ordered_json status_json();
    void on_readable(int fd, conn& c);
    void watch();
    void accept_all(int lfd, bool http);

    daemon_options opts_;
    std::optional<store::config_store> store_;
    metrics metrics_;
    int ctl_fd_ = -1;
    int http_fd_ = -1;
    std::uint16_t metrics_port_ = 0;
    std::map<int, conn> conns_;
    // (lcore, pid, incarnation) of alive registered lcores at the last watch.
    std::set<std::tuple<std::uint32_t, std::int32_t, std::uint32_t>> seen_;
    bool republish_pending_ = false;
    std::uint64_t started_ns_ = 0;
    std::uint64_t last_watch_ns_ = 0;
};

}  // namespace sluice::cp::daemon
