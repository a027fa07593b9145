// Load balancer picks (worker lcores) and Maglev table population (config builder thread).
#include "dataplane/cfg/lb.hh"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "dataplane/cfg/route_index.hh"

namespace sluice::dp::cfg {
namespace {

using detail::fmix64;

inline bool ok(std::span<const bool> healthy, std::uint32_t i) noexcept {
    return healthy.empty() || healthy[i];
}

bool is_prime(std::uint32_t n) {
    if (n < 2) {
        return false;
    }
    for (std::uint64_t d = 2; d * d <= n; ++d) {
        if (n % d == 0) {
            return false;
        }
    }
    return true;
}

// A uniformly drawn healthy endpoint other than `except`, or no_endpoint. A few rejection draws
// cover the usual mostly-healthy cluster in O(1); then one counting pass.
std::uint32_t draw(std::uint32_t n, std::uint32_t except, std::span<const bool> healthy,
                   xorshift64s& rng) noexcept {
    for (int t = 0; t < 8; ++t) {
        std::uint32_t i = rng.below(n);
        if (i != except && ok(healthy, i)) {
            return i;
        }
    }
    std::uint32_t eligible = 0;
    for (std::uint32_t i = 0; i < n; ++i) {
        eligible += (i != except && ok(healthy, i)) ? 1 : 0;
    }
    if (eligible == 0) {
        return no_endpoint;
    }
    std::uint32_t r = rng.below(eligible);
    for (std::uint32_t i = 0; i < n; ++i) {
        if (i != except && ok(healthy, i) && r-- == 0) {
            return i;
        }
    }
    return no_endpoint;  // not reached
}

}  // namespace

smooth_wrr::smooth_wrr(std::span<const std::uint32_t> weights)
    : weights_(weights.begin(), weights.end()), current_(weights.size(), 0) {}

std::uint32_t smooth_wrr::pick(std::span<const bool> healthy) noexcept {
    std::uint32_t best = no_endpoint;
    std::int64_t total = 0;
    for (std::uint32_t i = 0; i < weights_.size(); ++i) {
        if (!ok(healthy, i)) {
            continue;
        }
        current_[i] += weights_[i];
        total += weights_[i];
        if (best == no_endpoint || current_[i] > current_[best]) {
            best = i;
        }
    }
    if (best != no_endpoint) {
        current_[best] -= total;
    }
    return best;
}

least_request::least_request(std::span<const std::uint32_t> weights)
    : weights_(weights.begin(), weights.end()) {}

std::uint32_t least_request::pick(std::span<const std::uint32_t> active, xorshift64s& rng,
                                  std::span<const bool> healthy) const noexcept {
    const auto n = static_cast<std::uint32_t>(weights_.size());
    if (n == 0 || active.size() < n) {
        return no_endpoint;
    }
    std::uint32_t a = draw(n, no_endpoint, healthy, rng);
    if (a == no_endpoint) {
        return no_endpoint;
    }
    std::uint32_t b = draw(n, a, healthy, rng);
    if (b == no_endpoint) {
        return a;
    }
    // a wins when (active[a]+1)/w[a] < (active[b]+1)/w[b]; cross-multiplied, fits in 64 bits.
    std::uint64_t la = (std::uint64_t{active[a]} + 1) * weights_[b];
    std::uint64_t lb = (std::uint64_t{active[b]} + 1) * weights_[a];
    if (la != lb) {
        return la < lb ? a : b;
    }
    return weights_[b] > weights_[a] ? b : a;
}

result<maglev_table> maglev_table::build(std::span<const maglev_endpoint> eps, std::uint32_t m) {
    if (eps.empty()) {
        return error{"maglev: a cluster needs at least one endpoint"};
    }
    if (!is_prime(m) || m <= eps.size()) {
        return error{
            fmt::format("maglev: table size {} must be a prime greater than the {} "
                        "endpoints",
                        m, eps.size())};
    }
    std::uint32_t max_w = 0;
    for (const auto& e : eps) {
        if (e.weight == 0) {
            return error{"maglev: endpoint weight 0"};
        }
        max_w = std::max(max_w, e.weight);
    }
    const std::size_t n = eps.size();
    std::vector<std::uint64_t> offset(n), skip(n), next(n, 0), placed(n, 0);
    for (std::size_t i = 0; i < n; ++i) {
        offset[i] = fmix64(eps[i].id) % m;
        skip[i] = fmix64(eps[i].id ^ 0x5bd1e9955bd1e995ULL) % (m - 1) + 1;
    }
    maglev_table t;
    t.table_.assign(m, no_endpoint);
    t.endpoints_ = n;
    std::uint32_t filled = 0;
    for (std::uint64_t round = 1; filled < m; ++round) {
        for (std::size_t i = 0; i < n && filled < m; ++i) {
            std::uint64_t target = round * eps[i].weight / max_w;
            while (placed[i] < target && filled < m) {
                std::uint64_t c = (offset[i] + next[i] * skip[i]) % m;
                while (t.table_[c] != no_endpoint) {
                    ++next[i];
                    c = (offset[i] + next[i] * skip[i]) % m;
                }
                t.table_[c] = static_cast<std::uint32_t>(i);
                ++next[i];
                ++placed[i];
                ++filled;
            }
        }
    }
    return t;
}

std::uint32_t maglev_table::pick(std::uint64_t key_hash,
                                 std::span<const bool> healthy) const noexcept {
    const auto m = static_cast<std::uint32_t>(table_.size());
    if (m == 0) {
        return no_endpoint;
    }
    // Multiply-shift range reduction: uses the key's high bits, no division.
    auto i = static_cast<std::uint32_t>((static_cast<unsigned __int128>(key_hash) * m) >> 64);
    std::uint32_t e = table_[i];
    if (ok(healthy, e)) {
        return e;
    }
    // Walk on to the next healthy entry. With h of N endpoints healthy that takes about N/h
    // steps; after 64 make sure there is one at all before walking the whole table.
    for (std::uint32_t step = 1; step < m; ++step) {
        if (step == 64) {
            bool any = false;
            for (std::size_t k = 0; k < endpoints_ && !any; ++k) {
                any = healthy[k];
            }
            if (!any) {
                return no_endpoint;
            }
        }
        if (++i == m) {
            i = 0;
        }
        if (healthy[table_[i]]) {
            return table_[i];
        }
    }
    return no_endpoint;
}

std::uint64_t endpoint_id(const cp::model::snap_endpoint& e) noexcept {
    std::uint64_t a, b;
    std::memcpy(&a, e.addr.bytes, 8);
    std::memcpy(&b, e.addr.bytes + 8, 8);
    return fmix64(fmix64(a ^ (std::uint64_t{e.addr.family} << 56)) ^ b ^
                  (std::uint64_t{e.port} << 16));
}

result<std::vector<cluster_lb>> build_cluster_lbs(const cp::model::snapshot_view& v,
                                                  std::uint32_t maglev_size) {
    std::vector<cluster_lb> out;
    out.reserve(v.clusters().size());
    for (const auto& c : v.clusters()) {
        cluster_lb lb;
        if (c.lb > static_cast<std::uint8_t>(cp::model::lb_policy::maglev)) {
            return error{fmt::format("cluster '{}': unknown lb policy {}", v.str(c.name), c.lb)};
        }
        lb.policy = static_cast<cp::model::lb_policy>(c.lb);
        std::vector<maglev_endpoint> mep;
        for (const auto& e : v.endpoints(c)) {
            lb.weights.push_back(e.weight);
            mep.push_back(maglev_endpoint{endpoint_id(e), e.weight});
        }
        if (lb.policy == cp::model::lb_policy::least_request) {
            lb.lr = least_request(lb.weights);
        } else if (lb.policy == cp::model::lb_policy::maglev) {
            auto t = maglev_table::build(mep, maglev_size);
            if (!t) {
                return error{fmt::format("cluster '{}': {}", v.str(c.name), t.message())};
            }
            lb.maglev = std::move(t.value());
        }
        out.push_back(std::move(lb));
    }
    return out;
}

}  // namespace sluice::dp::cfg
