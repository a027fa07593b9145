// Concurrency caps and the per-endpoint outlier state machine (see breaker.hh for threading).
//
// Each endpoint's state is one 64-bit word changed by CAS, so a transition and the counters it
// resets move together. The ejection deadline lives in a second word; it is read only in state
// open and written only by the lcore about to CAS the word into open (from closed or
// half-open), before that CAS, so the CAS's release publishes it. Two lcores racing to eject
// both write nearly the same deadline; one CAS wins.
#include "filters/breaker/breaker.hh"

#include <algorithm>

namespace sluice::dp::filters {

namespace {

// Word layout: state 2 bits | probes in flight 6 | half-open successes 12 | times ejected 12 |
// consecutive failures 32. Saturating fields stop at their maximum.
constexpr std::uint64_t probes_max = 63, succ_max = 4095, times_max = 4095;
constexpr std::uint64_t fails_max = 0xffffffffULL;

struct od_word {
    od_state state;
    std::uint32_t probes, successes, times, fails;

    static od_word of(std::uint64_t w) noexcept {
        return {static_cast<od_state>(w & 3), static_cast<std::uint32_t>((w >> 2) & probes_max),
                static_cast<std::uint32_t>((w >> 8) & succ_max),
                static_cast<std::uint32_t>((w >> 20) & times_max),
                static_cast<std::uint32_t>(w >> 32)};
    }
    [[nodiscard]] std::uint64_t pack() const noexcept {
        return static_cast<std::uint64_t>(state) | (std::uint64_t{probes} << 2) |
               (std::uint64_t{successes} << 8) | (std::uint64_t{times} << 20) |
               (std::uint64_t{fails} << 32);
    }
};

constexpr std::uint64_t fnv(std::uint64_t h, std::uint64_t v, int bytes) noexcept {
    for (int i = 0; i < bytes; ++i) {
        h = (h ^ ((v >> (8 * i)) & 0xff)) * 0x100000001b3ULL;
    }
    return h;
}

}  // namespace

std::uint64_t breaker_identity(const breaker_def& d) noexcept {
    std::uint64_t h = 0xcbf29ce484222325ULL;
    for (unsigned char c : d.name) {
        h = fnv(h, c, 1);
    }
    h = fnv(h, d.name.size(), 8);
    for (const endpoint_addr& e : d.endpoints) {
        h = fnv(h, e.ip_be, 4);
        h = fnv(h, e.port, 2);
    }
    return fnv(h, d.endpoints.size(), 8);
}

cluster_breaker::cluster_breaker(const breaker_def& d)
    : identity_(breaker_identity(d)),
      n_(static_cast<std::uint32_t>(d.endpoints.size())),
      addrs_(d.endpoints),
      slots_(std::make_unique<detail::od_slot[]>(d.endpoints.size())) {
    apply(d);
}

void cluster_breaker::apply(const breaker_def& d) noexcept {
    const std::uint32_t caps[cb_kinds] = {d.max_connections, d.max_pending_requests, d.max_requests,
                                          d.max_retries};
    for (std::size_t k = 0; k < cb_kinds; ++k) {
        counters_[k].cap.store(caps[k], std::memory_order_relaxed);
    }
    consecutive_failures_.store(d.consecutive_failures, std::memory_order_relaxed);
    base_ejection_ms_.store(d.base_ejection_ms, std::memory_order_relaxed);
    max_ejection_ms_.store(std::max(d.max_ejection_ms, d.base_ejection_ms),
                           std::memory_order_relaxed);
    successes_to_close_.store(std::max<std::uint32_t>(1, d.successes_to_close),
                              std::memory_order_relaxed);
    max_ejection_percent_.store(std::min<std::uint32_t>(100, d.max_ejection_percent),
                                std::memory_order_relaxed);
    max_probes_.store(std::clamp<std::uint32_t>(d.max_probes, 1, probes_max),
                      std::memory_order_relaxed);
}

bool cluster_breaker::try_acquire(cb_kind k) noexcept {
    detail::cb_counter& c = counters_[static_cast<std::size_t>(k)];
    const std::uint32_t cap = c.cap.load(std::memory_order_relaxed);
    std::uint32_t cur = c.in_use.load(std::memory_order_relaxed);
    // CAS rather than fetch_add-then-undo: a doomed try never makes another lcore's try fail.
    do {
        if (cur >= cap) {
            c.overflowed.fetch_add(1, std::memory_order_relaxed);
            return false;
        }
    } while (!c.in_use.compare_exchange_weak(cur, cur + 1, std::memory_order_relaxed));
    return true;
}

void cluster_breaker::release(cb_kind k) noexcept {
    counters_[static_cast<std::size_t>(k)].in_use.fetch_sub(1, std::memory_order_relaxed);
}

std::uint32_t cluster_breaker::in_use(cb_kind k) const noexcept {
    return counters_[static_cast<std::size_t>(k)].in_use.load(std::memory_order_relaxed);
}
std::uint32_t cluster_breaker::cap(cb_kind k) const noexcept {
    return counters_[static_cast<std::size_t>(k)].cap.load(std::memory_order_relaxed);
}
std::uint64_t cluster_breaker::overflowed(cb_kind k) const noexcept {
    return counters_[static_cast<std::size_t>(k)].overflowed.load(std::memory_order_relaxed);
}

// Envoy's rule (arch overview, "Ejection algorithm"): eject if no host is ejected, else only
// while the ejected share is below max_ejection_percent. Checked before this ejection, so a
// 10 % limit on a 3-endpoint cluster still ejects one, and a 0 % limit ejects none.
bool cluster_breaker::reserve_ejection() noexcept {
    const std::uint64_t pct = max_ejection_percent_.load(std::memory_order_relaxed);
    std::uint32_t cur = ejected_.load(std::memory_order_relaxed);
    do {
        if (pct == 0 || std::uint64_t{cur} * 100 >= pct * n_) {
            return false;
        }
    } while (!ejected_.compare_exchange_weak(cur, cur + 1, std::memory_order_relaxed));
    return true;
}

std::uint64_t cluster_breaker::ejection_ns(std::uint32_t times) const noexcept {
    // Envoy: base_ejection_time × times ejected, capped at max_ejection_time.
    const std::uint64_t base = base_ejection_ms_.load(std::memory_order_relaxed);
    const std::uint64_t cap = max_ejection_ms_.load(std::memory_order_relaxed);
    return std::min(base * times, cap) * 1'000'000ULL;
}

bool cluster_breaker::allow(std::uint32_t ep, std::uint64_t now_ns) noexcept {
    detail::od_slot& s = slots_[ep];
    std::uint64_t w = s.word.load(std::memory_order_acquire);
    for (;;) {
        od_word o = od_word::of(w);
        if (o.state == od_state::closed) {
            return true;
        }
        if (o.state == od_state::open) {
            const std::uint64_t until = s.until_ns.load(std::memory_order_relaxed);
            if (static_cast<std::int64_t>(now_ns - until) < 0) {
                return false;
            }
            // Ejection over: this request becomes the first probe of half-open.
            o = {od_state::half_open, 1, 0, o.times, 0};
        } else {
            if (o.probes >= max_probes_.load(std::memory_order_relaxed)) {
                return false;
            }
            ++o.probes;
        }
        if (s.word.compare_exchange_weak(w, o.pack(), std::memory_order_acq_rel)) {
            return true;
        }
    }
}

void cluster_breaker::on_success(std::uint32_t ep, std::uint64_t /*now_ns*/) noexcept {
    detail::od_slot& s = slots_[ep];
    std::uint64_t w = s.word.load(std::memory_order_acquire);
    for (;;) {
        od_word o = od_word::of(w);
        bool closes = false;
        if (o.state == od_state::closed) {
            if (o.fails == 0) {
                return;  // the common case writes nothing: no line bouncing between lcores
            }
            o.fails = 0;
        } else if (o.state == od_state::open) {
            return;  // a request sent before the ejection finished late: ignored
        } else {
            o.probes = o.probes > 0 ? o.probes - 1 : 0;
            o.successes = std::min<std::uint32_t>(o.successes + 1, succ_max);
            if (o.successes >= successes_to_close_.load(std::memory_order_relaxed)) {
                o = {od_state::closed, 0, 0, o.times, 0};
                closes = true;
            }
        }
        if (s.word.compare_exchange_weak(w, o.pack(), std::memory_order_acq_rel)) {
            if (closes) {
                ejected_.fetch_sub(1, std::memory_order_relaxed);
            }
            return;
        }
    }
}

bool cluster_breaker::on_failure(std::uint32_t ep, std::uint64_t now_ns) noexcept {
    detail::od_slot& s = slots_[ep];
    const std::uint32_t threshold = consecutive_failures_.load(std::memory_order_relaxed);
    std::uint64_t w = s.word.load(std::memory_order_acquire);
    for (;;) {
        od_word o = od_word::of(w);
        bool reserved = false;
        if (o.state == od_state::open) {
            return false;  // already ejected
        }
        if (o.state == od_state::closed) {
            o.fails =
                static_cast<std::uint32_t>(std::min<std::uint64_t>(o.fails + 1ULL, fails_max));
            if (threshold == 0 || o.fails < threshold || !(reserved = reserve_ejection())) {
                // Below the threshold, or the cluster is at its ejection limit: keep counting,
                // so the endpoint is ejected on a later failure once there is room.
                if (s.word.compare_exchange_weak(w, o.pack(), std::memory_order_acq_rel)) {
                    return false;
                }
                continue;
            }
        }
        // closed at the threshold (ejection reserved), or a failed probe in half-open (still
        // counted in ejected_): open, with a longer ejection.
        const std::uint32_t times =
            static_cast<std::uint32_t>(std::min<std::uint64_t>(o.times + 1ULL, times_max));
        s.until_ns.store(now_ns + ejection_ns(times), std::memory_order_relaxed);
        const od_word opened{od_state::open, 0, 0, times, 0};
        if (s.word.compare_exchange_weak(w, opened.pack(), std::memory_order_acq_rel)) {
            return true;
        }
        if (reserved) {
            ejected_.fetch_sub(1, std::memory_order_relaxed);
        }
    }
}

od_state cluster_breaker::state_of(std::uint32_t ep) const noexcept {
    return od_word::of(slots_[ep].word.load(std::memory_order_acquire)).state;
}

std::uint32_t cluster_breaker::times_ejected(std::uint32_t ep) const noexcept {
    return od_word::of(slots_[ep].word.load(std::memory_order_acquire)).times;
}

std::uint32_t cluster_breaker::ejected_count() const noexcept {
    return ejected_.load(std::memory_order_relaxed);
}

std::size_t cluster_breaker::export_states(std::span<endpoint_snapshot> out) const noexcept {
    const std::size_t n = std::min<std::size_t>(out.size(), n_);
    for (std::size_t i = 0; i < n; ++i) {
        const od_word o = od_word::of(slots_[i].word.load(std::memory_order_acquire));
        out[i] = {
            addrs_[i], o.state, o.times, o.fails,
            o.state == od_state::open ? slots_[i].until_ns.load(std::memory_order_relaxed) : 0};
    }
    return n;
}

cluster_breaker* breaker_registry::acquire(const breaker_def& d) {
    const std::uint64_t id = breaker_identity(d);
    std::lock_guard lock(mu_);
    if (auto it = by_identity_.find(id); it != by_identity_.end()) {
        it->second->apply(d);
        ++it->second->refs_;
        return it->second.get();
    }
    auto b = std::make_unique<cluster_breaker>(d);
    b->refs_ = 1;
    cluster_breaker* raw = b.get();
    by_identity_.emplace(id, std::move(b));
    return raw;
}

void breaker_registry::release(cluster_breaker* b) {
    if (b == nullptr) {
        return;
    }
    std::lock_guard lock(mu_);
    auto it = by_identity_.find(b->identity_);
    if (it == by_identity_.end() || it->second.get() != b) {
        return;
    }
    if (--b->refs_ == 0) {
        by_identity_.erase(it);
    }
}

std::size_t breaker_registry::live() const {
    std::lock_guard lock(mu_);
    return by_identity_.size();
}

}  // namespace sluice::dp::filters
