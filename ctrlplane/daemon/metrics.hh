// Stats aggregation for the daemon: sums per-lcore counters from the stats segment, keeps a
// 60-sample history at 1 s resolution for rates, and renders Prometheus text exposition format
// (version 0.0.4) and the JSON that `sluicectl stats`/`status` print. Daemon thread only.
#pragma once

#include <nlohmann/json.hpp>

#include <array>
#include <cstdint>
#include <deque>
#include <string>

#include "ctrlplane/shm/contract.hh"
#include "ctrlplane/shm/stats_reader.hh"

namespace sluice::cp::daemon {

// Prometheus-style names of shm::counter values, in enum order.
[[nodiscard]] std::string_view counter_name(std::uint32_t i) noexcept;

struct totals {
    std::array<std::uint64_t, shm::counter_count> counters{};
    std::uint32_t lcores_registered = 0;
    std::uint32_t lcores_alive = 0;
};

class metrics {
public:
    // 60 s of history at 1 s resolution: enough for "per second over the last minute" without
    // a time-series store (Prometheus keeps the long history).
    static constexpr std::size_t history_len = 61;

    [[nodiscard]] static totals sum(const shm::stats_reader& r, std::uint64_t now_ns,
                                    const shm::liveness_policy& p);

    // Records a sample if at least 1 s passed since the last one.
    void tick(const shm::stats_reader& r, std::uint64_t now_ns, const shm::liveness_policy& p);

    // Per-second rate of a counter over the last `window_s` seconds of history (0 without two
    // samples). A counter that went down (dataplane restarted) counts from its new value.
    [[nodiscard]] double rate(shm::counter c, std::uint64_t window_s) const;

    [[nodiscard]] std::string prometheus(const shm::stats_reader& r, std::uint64_t now_ns,
                                         const shm::liveness_policy& p,
                                         std::uint64_t generation) const;
    [[nodiscard]] nlohmann::ordered_json lcores_json(const shm::stats_reader& r, std::uint64_t now_ns,
                                             const shm::liveness_policy& p) const;
    [[nodiscard]] nlohmann::ordered_json stats_json(const shm::stats_reader& r, std::uint64_t now_ns,
                                            const shm::liveness_policy& p) const;

private:
    struct sample {
        std::uint64_t t_ns;
        totals t;
    };
    std::deque<sample> hist_;
};

}  // namespace sluice::cp::daemon
