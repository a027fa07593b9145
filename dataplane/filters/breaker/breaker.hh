// Circuit breakers and outlier detection for one upstream cluster (sluice::dp::filters).
//
// Two mechanisms, both shared by every worker lcore through atomics, neither taking a lock:
//  - Concurrency caps (Envoy's circuit breakers): connections, pending requests, requests and
//    retries in flight, counted cluster-wide. A try over the cap fails at once and the caller
//    answers 503; nothing queues here.
//  - Outlier detection per endpoint (passive health, issue 4): closed → open after
//    `consecutive_failures` failures in a row → half-open once the ejection time has passed →
//    closed after `successes_to_close` successful probes; a failed probe re-opens it with a
//    longer ejection. At most `max_ejection_percent` of the cluster is ejected at once, with
//    Envoy's rule that the first ejection is always allowed (see docs/filters.md).
//
// Threading: everything on `cluster_breaker` may be called from any lcore concurrently. Each
// endpoint's state is one 64-bit word (plus its ejection deadline) on its own cache line, and
// calls write it only when something changes: a success in closed state with no failures
// recorded is a plain load. `breaker_registry` runs on the config-builder thread. Time is
// injected (`now_ns`, a monotonic nanosecond clock shared by all lcores).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

namespace sluice::dp::filters {

enum class cb_kind : std::uint8_t { connections, pending_requests, requests, retries };
inline constexpr std::size_t cb_kinds = 4;

enum class od_state : std::uint8_t { closed = 0, open = 1, half_open = 2 };

struct endpoint_addr {
    std::uint32_t ip_be = 0;
    std::uint16_t port = 0;  // host order
    friend bool operator==(const endpoint_addr&, const endpoint_addr&) = default;
};

// One cluster's breaker settings, owned (copied from snap_cluster by the config builder).
// Defaults are the control plane's (ctrlplane/model/config.hh, docs/config.md).
struct breaker_def {
    std::string name;
    std::vector<endpoint_addr> endpoints;       // the order fixes the endpoint index used below
    std::uint32_t max_connections = 1024;       // snap_cluster.cb_max_connections
    std::uint32_t max_pending_requests = 1024;  // snap_cluster.cb_max_pending_requests
    std::uint32_t max_requests = 1024;          // snap_cluster.cb_max_requests
    std::uint32_t max_retries = 3;              // snap_cluster.cb_max_retries
    std::uint32_t consecutive_failures = 5;     // od_consecutive_failures; 0 disables ejection
    std::uint32_t base_ejection_ms = 30'000;    // od_base_ejection_ms
    std::uint32_t max_ejection_ms = 300'000;    // od_max_ejection_ms
    std::uint32_t successes_to_close = 3;       // od_successes_to_close (>= 1)
    std::uint32_t max_ejection_percent = 10;    // od_max_ejection_percent; 0 disables ejection
    std::uint32_t max_probes = 1;               // half-open requests in flight at once (1..63)
};

// Identity under which state survives config changes: the cluster name and its endpoint list
// (addresses and order). Caps and outlier settings may change without losing state.
[[nodiscard]] std::uint64_t breaker_identity(const breaker_def& d) noexcept;

// One endpoint's outlier state, for stats (sluicectl).
struct endpoint_snapshot {
    endpoint_addr addr;
    od_state state = od_state::closed;
    std::uint32_t times_ejected = 0;
    std::uint32_t consecutive_failures = 0;
    std::uint64_t ejected_until_ns = 0;  // meaningful in state open
};

namespace detail {
struct alignas(64) cb_counter {
    std::atomic<std::uint32_t> in_use{0};
    std::atomic<std::uint32_t> cap{0};
    std::atomic<std::uint64_t> overflowed{0};
};
struct alignas(64) od_slot {
    std::atomic<std::uint64_t> word{0};      // state, probes, successes, times ejected, failures
    std::atomic<std::uint64_t> until_ns{0};  // end of the current ejection (state open)
};
}  // namespace detail

class cluster_breaker {
public:
    explicit cluster_breaker(const breaker_def& d);
    cluster_breaker(const cluster_breaker&) = delete;
    cluster_breaker& operator=(const cluster_breaker&) = delete;

    // Concurrency caps. try_acquire: true and one more in flight, or false (over the cap,
    // counted in overflowed()). Every successful try_acquire is paired with one release.
    [[nodiscard]] bool try_acquire(cb_kind k) noexcept;
    void release(cb_kind k) noexcept;
    [[nodiscard]] std::uint32_t in_use(cb_kind k) const noexcept;
    [[nodiscard]] std::uint32_t cap(cb_kind k) const noexcept;
    [[nodiscard]] std::uint64_t overflowed(cb_kind k) const noexcept;

    // Outlier detection; `ep` < endpoint_count(). allow: may a request go to `ep` now? false
    // while ejected, or half-open with max_probes probes already in flight; true in half-open
    // makes this request a probe, whose outcome the caller must report. on_success/on_failure
    // report a finished request (a failure: connect error, reset, timeout or 5xx, as the caller
    // decides). on_failure returns true when this call ejected the endpoint.
    [[nodiscard]] bool allow(std::uint32_t ep, std::uint64_t now_ns) noexcept;
    void on_success(std::uint32_t ep, std::uint64_t now_ns) noexcept;
    bool on_failure(std::uint32_t ep, std::uint64_t now_ns) noexcept;
    [[nodiscard]] od_state state_of(std::uint32_t ep) const noexcept;
    [[nodiscard]] std::uint32_t times_ejected(std::uint32_t ep) const noexcept;
    [[nodiscard]] std::uint32_t ejected_count() const noexcept;  // open or half-open
    [[nodiscard]] std::uint32_t endpoint_count() const noexcept { return n_; }
    // Fills out[i] for the first min(out.size(), endpoint_count()) endpoints; returns how many.
    [[nodiscard]] std::size_t export_states(std::span<endpoint_snapshot> out) const noexcept;

    [[nodiscard]] std::uint64_t identity() const noexcept { return identity_; }

private:
    friend class breaker_registry;
    void apply(const breaker_def& d) noexcept;  // caps and settings; state untouched
    bool reserve_ejection() noexcept;
    [[nodiscard]] std::uint64_t ejection_ns(std::uint32_t times) const noexcept;

    std::uint64_t identity_;
    std::uint32_t n_;
    std::uint32_t refs_ = 0;  // registry's mutex
    std::vector<endpoint_addr> addrs_;
    detail::cb_counter counters_[cb_kinds];
    // Outlier settings: written by apply() on the config thread, read relaxed by workers.
    alignas(64) std::atomic<std::uint32_t> consecutive_failures_{5};
    std::atomic<std::uint32_t> base_ejection_ms_{30'000};
    std::atomic<std::uint32_t> max_ejection_ms_{300'000};
    std::atomic<std::uint32_t> successes_to_close_{3};
    std::atomic<std::uint32_t> max_ejection_percent_{10};
    std::atomic<std::uint32_t> max_probes_{1};
    alignas(64) std::atomic<std::uint32_t> ejected_{0};
    std::unique_ptr<detail::od_slot[]> slots_;
};

// Process-wide owner of cluster breakers, keyed by breaker_identity. acquire/release run on
// the config-builder thread and allocate.
class breaker_registry {
public:
    breaker_registry() = default;
    breaker_registry(const breaker_registry&) = delete;
    breaker_registry& operator=(const breaker_registry&) = delete;

    // The live breaker with the same identity (state kept, settings updated to `d`, reference
    // count + 1), or a fresh one.
    [[nodiscard]] cluster_breaker* acquire(const breaker_def& d);
    // Drops one reference; the last frees it. The caller must have made sure no worker can
    // still reach it (its config generation has been reclaimed).
    void release(cluster_breaker* b);
    [[nodiscard]] std::size_t live() const;

private:
    mutable std::mutex mu_;
    std::map<std::uint64_t, std::unique_ptr<cluster_breaker>> by_identity_;
};

}  // namespace sluice::dp::filters
