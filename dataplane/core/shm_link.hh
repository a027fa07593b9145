// The dataplane's side of the control-plane shared memory (docs/shm.md): the config segment,
// read through one cursor per worker, and the stats segment, where each worker owns one slot.
//
// shm_link::attach and register_worker run on the main lcore at start. Each worker then owns its
// lcore_link and calls poll() once per poll iteration (the generation check: one acquire load
// and a compare) and tick() from its timer slot (heartbeat and counters). Nothing here
// allocates, locks or makes a system call after start.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ctrlplane/shm/config_reader.hh"
#include "ctrlplane/shm/stats_writer.hh"
#include "../net/counters.hh"
#include "result.hh"

namespace sluice::dp::net {
class stack;
}

namespace sluice::dp::core {

struct lcore_stats;

// One worker's view of the control plane. Owned by shm_link; used by one worker lcore only.
class alignas(64) lcore_link {
public:
    lcore_link(const cp::shm::config_reader& cfg, cp::shm::lcore_stats_writer w,
               std::uint64_t tsc_hz, std::uint64_t base_tsc, std::uint64_t base_ns) noexcept
        : cursor_(cfg), stats_(w), tsc_hz_(tsc_hz), base_tsc_(base_tsc), base_ns_(base_ns) {}

    // Once per poll iteration, between bursts: adopts a newly published snapshot and reports
    // the generation now in use. Returns true when it switched.
    bool poll() noexcept {
        if (!cursor_.changed()) [[likely]] {
            return false;
        }
        if (!cursor_.refresh()) {
            return false;
        }
        stats_.report_applied(cursor_.generation());
        stats_.add(cp::shm::counter::config_switches);
        return true;
    }

    // From the worker's timer slot (about every millisecond): heartbeat, and the counters that
    // moved since the last call.
    void tick(std::uint64_t now_tsc, const net::stack& s, const lcore_stats& ls) noexcept;

    // The gateway's path: it reports the generation of the compiled config it switched to.
    void report_applied(std::uint64_t gen) noexcept {
        stats_.report_applied(gen);
        stats_.add(cp::shm::counter::config_switches);
    }
    // Counter updates outside tick() go between begin() and commit() (the slot's seqcount).
    void begin() noexcept { stats_.begin(); }
    void commit() noexcept { stats_.commit(); }
    void add(cp::shm::counter c, std::uint64_t n) noexcept { stats_.add(c, n); }
    void record_latency(std::uint64_t ns) noexcept {
        stats_.begin();
        stats_.record_latency(ns);
        stats_.commit();
    }

    [[nodiscard]] std::uint64_t generation() const noexcept { return cursor_.generation(); }
    [[nodiscard]] const cp::shm::config_cursor& cursor() const noexcept { return cursor_; }
    void deregister() noexcept { stats_.deregister(); }

private:
    cp::shm::config_cursor cursor_;
    cp::shm::lcore_stats_writer stats_;
    std::uint64_t tsc_hz_;
    std::uint64_t base_tsc_;
    std::uint64_t base_ns_;
    // Totals already published, so each tick adds only the difference.
    std::uint64_t sent_[static_cast<std::size_t>(cp::shm::counter::count_)]{};
};

class shm_link {
public:
    // Creates or attaches the instance's segments (ABI mismatches are refused with both
    // versions named). `dir` is /dev/shm unless tests say otherwise.
    [[nodiscard]] static result<std::unique_ptr<shm_link>> attach(const std::string& instance,
                                                                  const std::string& dir);
    ~shm_link();
    shm_link(const shm_link&) = delete;
    shm_link& operator=(const shm_link&) = delete;

    // Claims the stats slot of `lcore` and returns the worker's link (owned here).
    [[nodiscard]] result<lcore_link*> register_worker(unsigned lcore);
    [[nodiscard]] const cp::shm::config_reader& config() const noexcept { return cfg_; }
    // The stats segment's endpoint-health table. Give it to exactly one thread (the gateway's
    // config builder: config_hub::publish_health); valid while this shm_link lives.
    [[nodiscard]] cp::shm::endpoint_table_writer endpoint_table() noexcept {
        return st_.endpoint_table();
    }
    // Releases every slot (clean shutdown), so the control plane stops waiting for them.
    void deregister_all() noexcept;

private:
    shm_link(cp::shm::config_reader cfg, cp::shm::stats_segment st)
        : cfg_(std::move(cfg)), st_(std::move(st)) {}
    cp::shm::config_reader cfg_;
    cp::shm::stats_segment st_;
    std::vector<std::unique_ptr<lcore_link>> links_;
};

}  // namespace sluice::dp::core
