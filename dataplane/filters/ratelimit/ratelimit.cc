// GCRA buckets, the keyed table and the registry (see ratelimit.hh for threading).
//
// A bucket is one atomic TAT ("theoretical arrival time") in 1/256 ns ticks. A request at time
// t conforms when max(TAT, t) - t <= (burst - 1) × T, T being the emission interval; it then
// moves TAT to max(TAT, t) + T with one CAS. This is exactly a token bucket of `burst` tokens
// refilled at 1/T (the bucket is full when TAT <= t), but needs no separate refill step, so
// concurrent lcores never disagree about refills: admitted(t0, t1) <= burst + (t1 - t0) / T
// holds for every interleaving, because each admission advances TAT by T and TAT never falls
// behind t - 0 once traffic flows. Denials write nothing, so an overloaded limit costs one
// shared-line read per request.
#include "filters/ratelimit/ratelimit.hh"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cstring>

namespace sluice::dp::filters {

namespace {

// 2^8 ticks per nanosecond: T's rounding error is at most half a tick per token, i.e. below
// 0.2 % for rates up to 10^9 tokens/s (T = 256 ticks), and 2^64 ticks still span 834 days, so
// signed differences are meaningful for any two times less than 417 days apart.
constexpr unsigned tick_shift = 8;
constexpr std::uint64_t ticks_per_s = 1'000'000'000ULL << tick_shift;
// Tolerance cap: keeps (TAT - t) well inside the signed range (2^62 ticks = 208 days).
constexpr std::uint64_t max_tolerance = 1ULL << 62;
// Keyed tables: how many slots a key may probe past its home slot. 16 slots are 4 cache lines;
// beyond that a full table answers from the overflow bucket rather than scan further.
constexpr std::uint32_t probe_window = 16;

constexpr std::uint64_t fmix64(std::uint64_t k) noexcept {  // MurmurHash3's finaliser
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    k *= 0xc4ceb9fe1a85ec53ULL;
    k ^= k >> 33;
    return k;
}

constexpr std::uint32_t ceil_s(std::uint64_t ticks) noexcept {
    std::uint64_t s = (ticks + ticks_per_s - 1) / ticks_per_s;
    return s > UINT32_MAX ? UINT32_MAX : static_cast<std::uint32_t>(s);
}

// True when bucket time `tat` is at or before `t`: the bucket is full (idle).
constexpr bool is_full(std::uint64_t tat, std::uint64_t t) noexcept {
    return tat == 0 || static_cast<std::int64_t>(tat - t) <= 0;
}

}  // namespace

limiter::limiter(const limit_def& d, std::uint32_t slots, std::uint64_t table_seed)
    : def_(d), seed_(table_seed) {
    // T = 10^12 ns per rate_milli tokens, in ticks, rounded to nearest; at least one tick.
    const unsigned __int128 num = static_cast<unsigned __int128>(1'000'000'000'000ULL)
                                  << tick_shift;
    unsigned __int128 t = (num + d.rate_milli / 2) / d.rate_milli;
    interval_ticks_ =
        t == 0 ? 1 : (t > max_tolerance ? max_tolerance : static_cast<std::uint64_t>(t));
    unsigned __int128 tol = static_cast<unsigned __int128>(d.burst - 1) * interval_ticks_;
    tolerance_ticks_ = tol > max_tolerance ? max_tolerance : static_cast<std::uint64_t>(tol);
    if (static_cast<rl_key>(d.key) != rl_key::route && slots > 0) {
        table_ = std::make_unique<detail::rl_slot[]>(slots);
        mask_ = slots - 1;
    }
}

limiter_stats limiter::stats() const noexcept {
    return {keys_in_use_.load(std::memory_order_relaxed),
            overflowed_.load(std::memory_order_relaxed), evicted_.load(std::memory_order_relaxed)};
}

detail::rl_slot* limiter::find_slot(std::uint64_t key, std::uint64_t now_ticks) noexcept {
    const std::uint64_t k = key == 0 ? 1 : key;
    const std::uint32_t home = static_cast<std::uint32_t>(fmix64(k ^ seed_)) & mask_;
    // Slots are claimed in probe order and never emptied (eviction replaces the key in place),
    // so a key is either before the first empty slot of its window or absent.
    for (std::uint32_t i = 0; i < probe_window; ++i) {
        detail::rl_slot& s = table_[(home + i) & mask_];
        std::uint64_t cur = s.key.load(std::memory_order_acquire);
        if (cur == k) {
            return &s;
        }
        if (cur == 0) {
            if (s.key.compare_exchange_strong(cur, k, std::memory_order_acq_rel)) {
                keys_in_use_.fetch_add(1, std::memory_order_relaxed);
                return &s;  // a never-used slot: tat == 0, a full bucket
            }
            if (cur == k) {
                return &s;  // another lcore claimed it for the same key
            }
        }
    }
    // Window full: take over a slot whose bucket is full (its key is idle). Its TAT is <= now,
    // which is also a full bucket for the new key, so only the key word changes.
    for (std::uint32_t i = 0; i < probe_window; ++i) {
        detail::rl_slot& s = table_[(home + i) & mask_];
        if (!is_full(s.tat.load(std::memory_order_relaxed), now_ticks)) {
            continue;
        }
        std::uint64_t cur = s.key.load(std::memory_order_acquire);
        if (s.key.compare_exchange_strong(cur, k, std::memory_order_acq_rel)) {
            evicted_.fetch_add(1, std::memory_order_relaxed);
            return &s;
        }
        if (cur == k) {
            return &s;
        }
    }
    overflowed_.fetch_add(1, std::memory_order_relaxed);
    return nullptr;
}

decision check(limiter& l, std::uint64_t key_hash, std::uint64_t now_ns) noexcept {
    return check_delay(l, key_hash, now_ns, 0);
}

decision check_delay(limiter& l, std::uint64_t key_hash, std::uint64_t now_ns,
                     std::uint64_t max_delay_ns) noexcept {
    const std::uint64_t t = now_ns << tick_shift;  // modulo 2^64: only differences matter
    const bool shadow = static_cast<rl_mode>(l.def_.mode) == rl_mode::shadow;
    // Capped like the tolerance, so base - t stays well inside the signed range.
    const std::uint64_t max_wait =
        shadow ? 0
               : std::min<std::uint64_t>(max_delay_ns, max_tolerance >> tick_shift) << tick_shift;
    detail::rl_slot* s = &l.single_;
    if (l.table_) {
        if (detail::rl_slot* found = l.find_slot(key_hash, t)) {
            s = found;
        }
    }
    const std::uint64_t interval = l.interval_ticks_;
    const std::uint64_t tol = l.tolerance_ticks_;
    decision d;
    d.limit = l.def_.burst;
    std::uint64_t old = s->tat.load(std::memory_order_relaxed);
    for (;;) {
        const std::uint64_t base = is_full(old, t) ? t : old;  // max(TAT, t)
        const std::uint64_t ahead = base - t;
        if (ahead > tol && ahead - tol <= max_wait) {
            // Delay mode: take the token that comes due at TAT - tolerance.
            const std::uint64_t next = base + interval == 0 ? ~0ULL : base + interval;
            if (s->tat.compare_exchange_weak(old, next, std::memory_order_relaxed)) {
                d.allowed = true;
                d.remaining = 0;
                d.delay_ns = ((ahead - tol) + (1ULL << tick_shift) - 1) >> tick_shift;
                d.reset_s = ceil_s(ahead + interval);
                return d;
            }
            continue;
        }
        if (ahead > tol) {
            // Non-conforming: the next token is due when TAT - t falls to the tolerance.
            d.remaining = 0;
            d.retry_after_s = std::max<std::uint32_t>(1, ceil_s(ahead - tol));
            d.reset_s = ceil_s(ahead);
            if (shadow) {
                d.allowed = true;
                d.shadow_denied = true;
            } else {
                d.allowed = false;
            }
            return d;
        }
        std::uint64_t next = base + interval;
        if (next == 0) {
            next = ~0ULL;  // 0 is reserved for "never used"; one tick early costs nothing
        }
        if (s->tat.compare_exchange_weak(old, next, std::memory_order_relaxed)) {
            d.allowed = true;
            d.remaining = (tol - ahead) / interval;
            d.reset_s = ceil_s(ahead + interval);
            return d;
        }
    }
}

std::uint64_t key_hash_ipv4(std::uint32_t ip_be) noexcept {
    std::uint64_t h = fmix64(0x9e3779b97f4a7c15ULL ^ ip_be);
    return h == 0 ? 1 : h;
}

std::uint64_t key_hash_bytes(std::string_view value) noexcept {
    // Eight bytes per multiply, then MurmurHash3's finaliser: header values are short (API keys,
    // tenant ids), and this is on the request path. Not a keyed hash: see the docs on flooding.
    std::uint64_t h = 0x9e3779b97f4a7c15ULL ^ value.size();
    const char* p = value.data();
    std::size_t n = value.size();
    for (; n >= 8; p += 8, n -= 8) {
        std::uint64_t w;
        std::memcpy(&w, p, 8);
        h = std::rotl((h ^ w) * 0xff51afd7ed558ccdULL, 31);
    }
    std::uint64_t tail = 0;
    std::memcpy(&tail, p, n);
    h = fmix64(h ^ tail ^ (std::uint64_t{n} << 56));
    return h == 0 ? 1 : h;
}

limiter_registry::limiter_registry(std::uint32_t max_limits, std::uint32_t slots_per_limit,
                                   std::uint64_t table_seed)
    : max_limits_(max_limits),
      slots_(std::bit_ceil(std::max<std::uint32_t>(slots_per_limit, 64))),
      table_seed_(table_seed) {}

limiter_registry::~limiter_registry() = default;

limiter* limiter_registry::acquire(const limit_def& d) {
    if (d.rate_milli == 0 || d.burst == 0) {
        return nullptr;
    }
    std::lock_guard lock(mu_);
    if (auto it = by_identity_.find(d.identity); it != by_identity_.end()) {
        ++it->second->refs_;
        return it->second.get();
    }
    if (by_identity_.size() >= max_limits_) {
        return nullptr;
    }
    auto l = std::make_unique<limiter>(d, slots_, table_seed_);
    l->refs_ = 1;
    limiter* raw = l.get();
    by_identity_.emplace(d.identity, std::move(l));
    return raw;
}

void limiter_registry::release(limiter* l) {
    if (l == nullptr) {
        return;
    }
    std::lock_guard lock(mu_);
    auto it = by_identity_.find(l->def_.identity);
    if (it == by_identity_.end() || it->second.get() != l) {
        return;
    }
    if (--l->refs_ == 0) {
        by_identity_.erase(it);
    }
}

std::size_t limiter_registry::live() const {
    std::lock_guard lock(mu_);
    return by_identity_.size();
}

namespace {
char* put(char* p, char* end, std::string_view s) noexcept {
    if (p == nullptr || end - p < static_cast<std::ptrdiff_t>(s.size())) {
        return nullptr;
    }
    std::memcpy(p, s.data(), s.size());
    return p + s.size();
}
char* put_num(char* p, char* end, std::uint64_t v) noexcept {
    if (p == nullptr) {
        return nullptr;
    }
    auto [q, ec] = std::to_chars(p, end, v);
    return ec == std::errc{} ? q : nullptr;
}
}  // namespace

std::size_t format_headers(const decision& d, std::span<char> out) noexcept {
    char* p = out.data();
    char* end = p + out.size();
    p = put_num(put(p, end, "X-RateLimit-Limit: "), end, d.limit);
    p = put_num(put(p, end, "\r\nX-RateLimit-Remaining: "), end, d.remaining);
    p = put_num(put(p, end, "\r\nX-RateLimit-Reset: "), end, d.reset_s);
    p = put(p, end, "\r\n");
    if (!d.allowed) {
        p = put(put_num(put(p, end, "Retry-After: "), end, d.retry_after_s), end, "\r\n");
    }
    return p == nullptr ? 0 : static_cast<std::size_t>(p - out.data());
}

}  // namespace sluice::dp::filters
