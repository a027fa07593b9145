// Rate limiting for the gateway (sluice::dp::filters): lock-free GCRA buckets shared by every
// worker lcore, a fixed-size concurrent table for keyed limits, and a registry that carries
// bucket state across config generations.
//
// Threading: `check()` runs on any worker lcore, concurrently, without locks, allocation or
// syscalls: each decision is one CAS loop on one 64-bit word (the bucket's theoretical arrival
// time). `limiter_registry::acquire/release` run on the config-builder thread only (they take a
// mutex and allocate). Time is injected (`now_ns`, any monotonic nanosecond clock that every
// lcore shares, e.g. TSC converted to ns), so tests drive the clock by hand.
//
// Algorithm: GCRA (ITU-T I.371 "virtual scheduling"), which is a token bucket of `burst`
// tokens refilled at `rate` expressed as one timestamp instead of (tokens, last refill). Times
// are kept in 1/256 ns ticks modulo 2^64 and compared by signed difference, so the emission
// interval's rounding error is below 0.4 % even at 10^9 tokens/s, and the clock may start
// anywhere. docs/filters.md gives the error bound.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string_view>

namespace sluice::dp::filters {

// Values of limit_def::key and limit_def::mode: the control plane's model::limit_key and
// model::limit_mode (ctrlplane/model/config.hh), copied from snap_rate_limit.
enum class rl_key : std::uint8_t { route = 0, client_ip = 1, header = 2 };
enum class rl_mode : std::uint8_t { enforce = 0, shadow = 1 };

// One limit as the snapshot gives it (snap_rate_limit), owned: no pointers into the snapshot.
struct limit_def {
    std::uint64_t identity = 0;    // model::rate_limit_identity: equal iff the limit is unchanged
    std::uint64_t rate_milli = 0;  // tokens per 1000 s, > 0
    std::uint64_t burst = 1;       // bucket size in tokens, >= 1
    std::uint8_t key = 0;          // rl_key
    std::uint8_t mode = 0;         // rl_mode
};

// The answer for one request. In shadow mode `allowed` is always true and `shadow_denied` says
// what enforce mode would have answered (the request then takes no token).
struct decision {
    bool allowed = true;
    bool shadow_denied = false;
    std::uint64_t limit = 0;          // the bucket size (burst)
    std::uint64_t remaining = 0;      // whole tokens left after this request
    std::uint32_t retry_after_s = 0;  // when denied: seconds until one token is back (>= 1)
    std::uint32_t reset_s = 0;        // seconds until the bucket is full again
    std::uint64_t delay_ns = 0;       // check_delay: allowed, but only after this long
};

// Counters a limiter keeps for stats (relaxed reads; exact once traffic stops).
struct limiter_stats {
    std::uint64_t keys_in_use = 0;  // keyed limits: occupied table slots
    std::uint64_t overflowed = 0;   // keyed limits: checks answered by the overflow bucket
    std::uint64_t evicted = 0;      // keyed limits: idle keys replaced by new ones
};

namespace detail {
// One bucket: the theoretical arrival time (TAT) of the next conforming request, in ticks.
// 0 means "never used" (a full bucket).
struct alignas(16) rl_slot {
    std::atomic<std::uint64_t> key{0};  // keyed tables: key hash (0 = empty); unused otherwise
    std::atomic<std::uint64_t> tat{0};
};
}  // namespace detail

// One limit's state: a single bucket (key = route) or a table of per-key buckets. Created and
// destroyed by limiter_registry only.
class limiter {
public:
    // `table_seed` scrambles which slots a key may use (see limiter_registry).
    limiter(const limit_def& d, std::uint32_t slots, std::uint64_t table_seed = 0);
    limiter(const limiter&) = delete;
    limiter& operator=(const limiter&) = delete;

    [[nodiscard]] const limit_def& def() const noexcept { return def_; }
    [[nodiscard]] limiter_stats stats() const noexcept;

private:
    friend decision check_delay(limiter& l, std::uint64_t key_hash, std::uint64_t now_ns,
                                std::uint64_t max_delay_ns) noexcept;
    friend class limiter_registry;
    detail::rl_slot* find_slot(std::uint64_t key, std::uint64_t now_ticks) noexcept;

    limit_def def_;
    std::uint64_t interval_ticks_;   // emission interval T: ticks per token
    std::uint64_t tolerance_ticks_;  // (burst - 1) × T: how far TAT may run ahead of now
    std::uint64_t seed_ = 0;
    std::uint32_t mask_ = 0;                    // slots - 1 (keyed), 0 for a single bucket
    std::uint32_t refs_ = 0;                    // config generations holding it (registry's mutex)
    std::unique_ptr<detail::rl_slot[]> table_;  // keyed limits only
    alignas(64) detail::rl_slot single_;        // route limits, and the keyed overflow bucket
    alignas(64) std::atomic<std::uint64_t> overflowed_{0};
    std::atomic<std::uint64_t> evicted_{0};
    std::atomic<std::uint64_t> keys_in_use_{0};
};

// Decides one request against limit `l` at `now_ns`. `key_hash` is key_hash_ipv4/key_hash_bytes
// for keyed limits and is ignored for route limits. Any worker lcore, concurrently; lock-free.
[[nodiscard]] decision check(limiter& l, std::uint64_t key_hash, std::uint64_t now_ns) noexcept;

// Delay mode (the rate_limit filter's `max_delay`; nginx limit_req without `nodelay`): a request
// over the limit whose token comes due within `max_delay_ns` takes that future token now and
// gets allowed = true with delay_ns > 0, the time until the token is due; the caller holds the
// request that long. Each reservation advances the bucket by one emission interval, so queued
// requests are released in arrival order at the limit's rate, and the queue is bounded: at most
// max_delay × rate requests wait per bucket. Beyond that, the answer is check()'s denial. Shadow
// limits never delay. check(l, k, t) == check_delay(l, k, t, 0). Lock-free, any worker.
[[nodiscard]] decision check_delay(limiter& l, std::uint64_t key_hash, std::uint64_t now_ns,
                                   std::uint64_t max_delay_ns) noexcept;

// Key hashes for keyed limits (stable within a process; never 0).
[[nodiscard]] std::uint64_t key_hash_ipv4(std::uint32_t ip_be) noexcept;
[[nodiscard]] std::uint64_t key_hash_bytes(std::string_view value) noexcept;

// Process-wide owner of limiter state, keyed by limit identity. Created at start, lives for the
// process. acquire/release run on the config-builder thread (a mutex guards the map anyway).
class limiter_registry {
public:
    // `slots_per_limit` is rounded up to a power of two (>= 64); keyed limits get that many.
    // `table_seed` (from the process's random source at start; 0 in tests) decides which table
    // slots each key hash may occupy, so clients cannot aim many keys at one probe window.
    explicit limiter_registry(std::uint32_t max_limits = 256, std::uint32_t slots_per_limit = 65536,
                              std::uint64_t table_seed = 0);
    ~limiter_registry();
    limiter_registry(const limiter_registry&) = delete;
    limiter_registry& operator=(const limiter_registry&) = delete;

    // Returns the limiter for `d`, the live one with the same identity (state kept, reference
    // count + 1) or a fresh one. nullptr if `max_limits` limiters are live or `d` is invalid
    // (rate_milli == 0 or burst == 0). Allocates.
    [[nodiscard]] limiter* acquire(const limit_def& d);
    // Drops one reference; the last one frees the limiter. The caller must have made sure no
    // worker can still reach it (the generation that referenced it has been reclaimed).
    void release(limiter* l);
    [[nodiscard]] std::size_t live() const;

private:
    std::uint32_t max_limits_;
    std::uint32_t slots_;
    std::uint64_t table_seed_;
    mutable std::mutex mu_;
    std::map<std::uint64_t, std::unique_ptr<limiter>> by_identity_;
};

// Writes the rate-limit response headers for `d` into `out`: X-RateLimit-Limit,
// X-RateLimit-Remaining, X-RateLimit-Reset, and Retry-After (RFC 9110 §10.2.3, delay-seconds)
// when the request was denied. Each line ends in CRLF. Returns the bytes written, or 0 if `out`
// is too small (nothing useful written). 160 bytes always suffice. No allocation.
[[nodiscard]] std::size_t format_headers(const decision& d, std::span<char> out) noexcept;
inline constexpr std::size_t max_header_bytes = 160;

}  // namespace sluice::dp::filters
