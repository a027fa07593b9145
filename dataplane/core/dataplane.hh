// The dataplane process after EAL init: creates mempools, opens ports, builds workers, launches
// them on their lcores, does housekeeping on the main lcore (signals, stats), and shuts down
// gracefully, proving on the way out that every mbuf came back to its pool.
//
// Threading: every method runs on the main lcore; workers run worker::run().
#pragma once

#include <rte_mempool.h>

#include <atomic>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "config.hh"
#include "port.hh"
#include "result.hh"
#include "shm_link.hh"
#include "../proxy/config_hub.hh"
#include "../proxy/gateway.hh"
#include "../proxy/services.hh"
#include "worker.hh"

namespace sluice::dp::core {

class dataplane {
public:
    explicit dataplane(dp_config cfg) : cfg_(std::move(cfg)) {}
    ~dataplane();
    dataplane(const dataplane&) = delete;
    dataplane& operator=(const dataplane&) = delete;

    // Pools, ports and workers; nothing is polling yet.
    [[nodiscard]] status setup();
    // Launches the workers and runs housekeeping until `quit` is set (SIGINT/SIGTERM).
    void run(const std::atomic<bool>& quit, std::atomic<bool>& dump_requested);
    // Stops workers, writes the final stats, closes ports, checks mbufs. Returns the number of
    // mbufs that did not come back (0 when clean).
    std::uint64_t shutdown();

    // Renders stats: a human-readable table, and JSON for tools.
    [[nodiscard]] std::string stats_text() const;
    [[nodiscard]] std::string stats_json() const;
    // Prints stats_text() to stdout and, when configured, writes stats_json() to the stats file
    // atomically; then prints "sluice-dataplane: stats seq=N".
    void dump_stats();

    [[nodiscard]] const std::vector<port_info>& ports() const noexcept { return ports_; }
    [[nodiscard]] const std::vector<std::unique_ptr<worker>>& workers() const noexcept {
        return workers_;
    }

private:
    [[nodiscard]] status start_apps();
    [[nodiscard]] status start_gateway();
    [[nodiscard]] status create_pools(const std::vector<unsigned>& worker_lcores,
                                      const std::vector<std::uint16_t>& port_ids,
                                      const std::vector<std::vector<unsigned>>& serving);

    dp_config cfg_;
    std::vector<rte_mempool*> pools_;     // indexed by NUMA socket; nullptr if unused
    std::vector<rte_mempool*> umem_pools_;  // one per AF_XDP queue
    std::uint16_t data_room_ = 0;
    std::vector<port_info> ports_;
    std::vector<std::optional<created_device>> created_;  // per cfg_.ports entry (afxdp/auto)
    std::set<int> xsk_fds_;  // AF_XDP sockets of the ports opened so far (mode report)
    std::vector<std::unique_ptr<net::iface>> ifaces_;
    // TCP test applications (--app), one handler per worker and app; declared before workers_
    // so that they outlive every connection.
    std::vector<std::unique_ptr<net::tcp::tcp_handler>> apps_;
    // The gateway (issue 6): shared services, the config builder, one gateway per worker.
    // Declared before workers_ so that they are destroyed after them.
    std::unique_ptr<proxy::gateway_services> gw_services_;
    std::unique_ptr<proxy::config_hub> gw_hub_;
    std::vector<std::unique_ptr<proxy::gateway>> gateways_;
    std::vector<std::unique_ptr<worker>> workers_;
    std::unique_ptr<shm_link> shm_;  // set when attached to a control-plane instance
    bool launched_ = false;
    bool main_is_worker_ = false;
    std::atomic<bool> stop_workers_{false};
    std::uint64_t dump_seq_ = 0;
    std::uint64_t started_tsc_ = 0;
};

}  // namespace sluice::dp::core
