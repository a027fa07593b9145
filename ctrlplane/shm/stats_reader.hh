// Control-plane view of the stats segment: per-lcore liveness, applied generation and counters.
// Runs on control-plane threads only; reads what lcores write and never writes itself.
#pragma once

#include <cstdint>

#include "ctrlplane/result.hh"
#include "ctrlplane/shm/contract.hh"
#include "ctrlplane/shm/endpoint_table.hh"
#include "ctrlplane/shm/segment.hh"

namespace sluice::cp::shm {

// When a registered lcore counts as alive (and so may hold back slot reclamation).
struct liveness_policy {
    // Lcores heartbeat from their poll loop at least every 10 ms (dataplane contract); 1 s is
    // 100 missed heartbeats, far beyond any burst, yet short enough that a hung process does not
    // freeze config publication for long.
    std::uint64_t heartbeat_timeout_ns = 1'000'000'000;
    // Also treat an lcore as dead as soon as its process is gone (kill(pid, 0) == ESRCH), so a
    // crashed dataplane releases its slots at once instead of after the timeout. Turn off when
    // the planes run in different PID namespaces: the pid would name nothing (or someone else).
    bool check_pid = true;
};

struct lcore_status {
    std::uint32_t lcore = 0;
    bool registered = false;
    bool alive = false;  // registered, process present and heartbeat fresh
    std::int32_t pid = 0;
    std::uint32_t incarnation = 0;
    std::uint64_t applied_generation = 0;
    std::uint64_t heartbeat_ns = 0;
};

struct lcore_counters {
    std::uint64_t counters[counter_count] = {};
    std::uint64_t latency[latency_buckets] = {};
    [[nodiscard]] std::uint64_t get(counter c) const noexcept {
        return counters[static_cast<std::uint32_t>(c)];
    }
};

[[nodiscard]] bool pid_alive(std::int32_t pid) noexcept;

// Liveness of one slot as seen at now_ns (CLOCK_MONOTONIC, injected by the caller).
// applied_generation is loaded with acquire: once it says g, the lcore is done with older slots.
[[nodiscard]] lcore_status read_status(const lcore_stats& s, std::uint32_t lcore,
                                       std::uint64_t now_ns, const liveness_policy& p) noexcept;

class stats_reader {
public:
    [[nodiscard]] static result<stats_reader> attach(const segment_options& o);

    [[nodiscard]] std::uint32_t lcore_count() const noexcept { return hdr_->lcore_count; }
    [[nodiscard]] lcore_status status(std::uint32_t lcore, std::uint64_t now_ns,
                                      const liveness_policy& p = {}) const noexcept;
    // True when every alive lcore reports applied_generation >= gen and at least one is alive.
    [[nodiscard]] bool all_applied(std::uint64_t gen, std::uint64_t now_ns,
                                   const liveness_policy& p = {}) const noexcept;
    // A consistent copy of one lcore's counters (seqcount); false if the lcore kept updating for
    // max_tries rounds, in which case `out` holds a possibly mixed but per-word valid copy.
    [[nodiscard]] bool read_counters(std::uint32_t lcore, lcore_counters& out,
                                     int max_tries = 64) const noexcept;

    // The endpoint-health table (written by the dataplane's config builder).
    [[nodiscard]] endpoint_table_reader endpoint_table() const noexcept;

    [[nodiscard]] int fd() const noexcept { return map_.fd(); }
    [[nodiscard]] const lcore_stats& slot(std::uint32_t lcore) const noexcept {
        return lcores_[lcore];
    }

private:
    explicit stats_reader(mapping m) noexcept;
    mapping map_;
    const stats_header* hdr_ = nullptr;
    const lcore_stats* lcores_ = nullptr;
};

}  // namespace sluice::cp::shm
