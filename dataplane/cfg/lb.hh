// Load balancers: which endpoint of a cluster a request goes to. Definitions (weights, Maglev
// tables) are built per cluster from a snapshot on the config builder thread and are then
// immutable and shared by all workers; the only mutable state (smooth_wrr's current weights) is
// per lcore: each worker constructs its own smooth_wrr. Picks run on worker lcores: no
// allocation, locks, syscalls or exceptions. Every pick skips endpoints the caller marks
// unavailable (health checks failed, outlier-ejected) and returns no_endpoint when none is left.
//
// `healthy` arguments: one flag per endpoint (snapshot order), or an empty span for "all
// healthy". A non-empty span must have exactly as many flags as the cluster has endpoints.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "ctrlplane/model/config.hh"
#include "ctrlplane/model/snapshot_view.hh"
#include "dataplane/core/result.hh"

namespace sluice::dp::cfg {

inline constexpr std::uint32_t no_endpoint = 0xffffffffu;

// xorshift64* (Vigna, "An experimental exploration of Marsaglia's xorshift generators", 2014):
// one per lcore, seeded by the caller, so tests are deterministic.
struct xorshift64s {
    std::uint64_t s;
    explicit constexpr xorshift64s(std::uint64_t seed) noexcept
        : s(seed != 0 ? seed : 0x9e3779b97f4a7c15ULL) {}
    constexpr std::uint64_t next() noexcept {
        s ^= s >> 12;
        s ^= s << 25;
        s ^= s >> 27;
        return s * 0x2545f4914f6cdd1dULL;
    }
    // Uniform in [0, n) for n >= 1 (Lemire's multiply-shift; bias < n / 2^32, negligible here).
    constexpr std::uint32_t below(std::uint32_t n) noexcept {
        return static_cast<std::uint32_t>(((next() >> 32) * n) >> 32);
    }
};

// Smooth weighted round robin (nginx's ngx_http_upstream_get_peer): each pick adds every healthy
// endpoint's weight to its current weight, takes the largest, and subtracts the healthy total
// from it. Over any window of sum(weights) picks each endpoint is chosen weight times, spread out
// rather than in runs. Equal weights give plain round robin. O(endpoints) per pick.
// Per lcore (mutable state); construct from the cluster's weights.
class smooth_wrr {
public:
    smooth_wrr() = default;
    explicit smooth_wrr(std::span<const std::uint32_t> weights);

    [[nodiscard]] std::uint32_t pick(std::span<const bool> healthy = {}) noexcept;
    [[nodiscard]] std::size_t size() const noexcept { return weights_.size(); }

private:
    std::vector<std::uint32_t> weights_;
    std::vector<std::int64_t> current_;
};

// Least request by the power of two choices (Mitzenmacher 2001): two distinct healthy endpoints
// drawn uniformly; the one with fewer active requests per unit of weight wins, i.e. the smaller
// (active + 1) / weight, so a weight-3 endpoint is kept at about three times the load of a
// weight-1 one (Envoy's active_request_bias = 1). Ties go to the higher weight, then to the first
// draw. The caller passes its active request counts (per endpoint, same order). Stateless:
// shareable by all lcores; the RNG is the caller's (per lcore).
class least_request {
public:
    least_request() = default;
    explicit least_request(std::span<const std::uint32_t> weights);

    [[nodiscard]] std::uint32_t pick(std::span<const std::uint32_t> active, xorshift64s& rng,
                                     std::span<const bool> healthy = {}) const noexcept;
    [[nodiscard]] std::size_t size() const noexcept { return weights_.size(); }

private:
    std::vector<std::uint32_t> weights_;
};

struct maglev_endpoint {
    std::uint64_t id;  // stable identity (endpoint_id()): drives the endpoint's permutation
    std::uint32_t weight;
};

// Maglev consistent hashing (Eisenbud et al., NSDI 2016, §3.4): a lookup table of a prime size
// M filled by each endpoint's permutation (offset + j·skip mod M). Weights: per round every
// endpoint fills floor(round · weight / max_weight) entries in total so far, so entry counts are
// proportional to weights (an endpoint whose share is below 1/M may get none). Removing one of N
// endpoints moves about 1/N of the keys plus a small extra (the paper's measured disruption).
// Immutable after build: shareable by all lcores. An unhealthy entry falls through to the next
// healthy entry of the table (keys of healthy endpoints do not move).
class maglev_table {
public:
    // 65537: the paper's small table; a prime well above 100 × the endpoints keeps the weight
    // shares within about 1% of their targets.
    static constexpr std::uint32_t default_size = 65537;

    maglev_table() = default;
    // Config builder thread. Fails if table_size is not a prime > endpoints.size(), or if there
    // are no endpoints or a weight is 0.
    [[nodiscard]] static result<maglev_table> build(std::span<const maglev_endpoint> endpoints,
                                                    std::uint32_t table_size = default_size);

    // key_hash: the caller's 64-bit hash of the client IP or the header value.
    [[nodiscard]] std::uint32_t pick(std::uint64_t key_hash,
                                     std::span<const bool> healthy = {}) const noexcept;
    [[nodiscard]] std::span<const std::uint32_t> entries() const noexcept { return table_; }
    [[nodiscard]] std::size_t endpoints() const noexcept { return endpoints_; }

private:
    std::vector<std::uint32_t> table_;
    std::size_t endpoints_ = 0;
};

// Stable identity of an endpoint (address, family and port), for maglev_endpoint::id.
[[nodiscard]] std::uint64_t endpoint_id(const cp::model::snap_endpoint& e) noexcept;

// One cluster's balancer definition, built from a snapshot (config builder thread).
struct cluster_lb {
    cp::model::lb_policy policy = cp::model::lb_policy::round_robin;
    std::vector<std::uint32_t> weights;  // per endpoint, snapshot order
    least_request lr;                    // policy least_request
    maglev_table maglev;                 // policy maglev
    // Per-lcore state for round_robin: each worker calls this once per generation.
    [[nodiscard]] smooth_wrr make_wrr() const { return smooth_wrr(weights); }
};

// All clusters of a snapshot, in snapshot order.
[[nodiscard]] result<std::vector<cluster_lb>> build_cluster_lbs(
    const cp::model::snapshot_view& v, std::uint32_t maglev_size = maglev_table::default_size);

}  // namespace sluice::dp::cfg
