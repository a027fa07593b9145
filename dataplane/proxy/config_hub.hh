// Publishes compiled gateway configs to the workers without stalling them.
//
// A builder thread (not an lcore) watches the control plane's config segment with its own
// cursor. When a new generation appears it validates the snapshot, compiles it into a
// gateway_config (route index, load-balancer tables, filters; this may allocate and take
// milliseconds for large configs) and publishes a pointer with a release store. Each worker
// checks that pointer once per poll iteration (one acquire load and a compare), switches
// between bursts, and then reports the generation to the control plane as applied: "applied"
// means the worker serves new requests with it.
//
// Reclamation: a request pins the config it started under (a per-worker reference count, so a
// request is served entirely under one generation) and a worker pins its current config. The
// builder frees a retired config once every worker's count on it is zero.
//
// Shared-memory safety: only the builder reads the snapshot bytes, and it finishes before the
// workers can report the generation, so the control plane cannot reuse the slot under it (the
// slot of generation N is reused only after every lcore reported a newer one). It re-checks
// the slot after copying anyway (config_cursor::still_valid).
//
// A snapshot that fails to compile (e.g. a regex RE2 rejects) is logged and counted; the last
// good config stays in force.
//
// Endpoint health: when given the stats segment's endpoint-health table (publish_health), the
// builder thread, its only writer, copies every cluster breaker's per-endpoint outlier state of
// the current config into it about every 100 ms, for `sluicectl cluster health`.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "ctrlplane/shm/config_reader.hh"
#include "verdict_writer.hh"
#include "ctrlplane/shm/endpoint_table.hh"
#include "gateway_config.hh"

namespace sluice::dp::proxy {

class config_hub {
public:
    config_hub(const cp::shm::config_reader& reader, unsigned workers, gateway_services& svc);
    ~config_hub();
    config_hub(const config_hub&) = delete;
    config_hub& operator=(const config_hub&) = delete;

    // Builds whatever is published now (synchronously, so workers start with it), then starts
    // the builder thread.
    void start();
    void stop();

    // Workers: the newest compiled config (acquire). nullptr until the first one is built.
    [[nodiscard]] gateway_config* current() const noexcept {
        return current_.load(std::memory_order_acquire);
    }
    // Workers: after pinning the config of generation `gen` as current, so that older ones can
    // be freed once their request pins are gone (a worker never goes back to an older one).
    void ack(unsigned worker, std::uint64_t gen) noexcept {
        acked_[worker].v.store(gen, std::memory_order_release);
    }
    // Before start(), main thread: where to publish endpoint health (see above). Without it
    // nothing is published.
    void publish_health(cp::shm::endpoint_table_writer w) noexcept { health_ = w; }
    [[nodiscard]] std::uint64_t builds() const noexcept { return builds_.load(); }
    [[nodiscard]] std::uint64_t build_failures() const noexcept { return failures_.load(); }

    [[nodiscard]] std::uint64_t verdicts_written() const noexcept { return verdicts_written_.load(); }
    [[nodiscard]] std::uint64_t verdicts_failed() const noexcept { return verdicts_failed_.load(); }

private:
    void run();
    void drain_verdicts(std::uint64_t now_ms);
    bool build_once();  // true if it published something new
    void reclaim(bool all);
    void publish_health_now();  // builder thread

    cp::shm::config_cursor cursor_;
    unsigned workers_;
    gateway_services& svc_;
    std::atomic<gateway_config*> current_{nullptr};
    std::vector<std::unique_ptr<gateway_config>> live_;  // builder thread only
    std::uint64_t built_gen_ = 0;
    std::uint64_t failed_gen_ = 0;
    std::atomic<bool> quit_{false};
    std::thread thread_;
    struct alignas(64) ack_slot {
        std::atomic<std::uint64_t> v{0};
    };
    std::unique_ptr<ack_slot[]> acked_;
    std::atomic<std::uint64_t> builds_{0};
    // XDP verdicts (builder thread only): the writer, opened on first use, and the deadline of
    // each source already blocked, so a client refused 1000 times costs one bpf update.
    std::unique_ptr<ebpf::verdict_writer> verdict_writer_;
    std::uint64_t verdict_retry_ms_ = 0;
    std::unordered_map<std::uint32_t, std::uint64_t> blocked_until_;
    std::atomic<std::uint64_t> verdicts_written_{0};
    std::atomic<std::uint64_t> verdicts_failed_{0};
    std::atomic<std::uint64_t> failures_{0};
    cp::shm::endpoint_table_writer health_;  // builder thread only, once started
};

}  // namespace sluice::dp::proxy
