// Rate limiter: token math from case tables, shadow mode, state across config generations, the
// keyed table's eviction and overflow, header formatting, and lcore-style concurrency with an
// injected clock. Single-threaded except the `concurrent` tests, which also run under TSan.
#include "filters/ratelimit/ratelimit.hh"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace sluice::dp::filters {
namespace {

constexpr std::uint64_t ms = 1'000'000;
constexpr std::uint64_t sec = 1'000'000'000;

limit_def route_limit(std::uint64_t identity, std::uint64_t rate_milli, std::uint64_t burst,
                      rl_mode mode = rl_mode::enforce) {
    return {identity, rate_milli, burst, static_cast<std::uint8_t>(rl_key::route),
            static_cast<std::uint8_t>(mode)};
}

// One step of a scripted run: at `at_ns` (relative to the start), `n` requests arrive; how many
// are allowed, and what the last one reports.
struct step {
    std::uint64_t at_ns;
    int n;
    int want_allowed;
    std::uint64_t want_remaining;    // of the last request
    std::uint32_t want_retry_after;  // of the last request (0 when it was allowed)
};
struct script {
    const char* name;
    std::uint64_t rate_milli;
    std::uint64_t burst;
    std::uint64_t start_ns;  // where the injected clock starts: any value works
    std::vector<step> steps;
};

const std::vector<script>& scripts() {
    static const std::vector<script> s = {
        {"10_per_s_burst_5",
         10'000,
         5,
         5 * sec,
         {{0, 5, 5, 0, 0},           // the full burst at once
          {0, 1, 0, 0, 1},           // then denied: next token in 100 ms -> 1 s
          {100 * ms, 2, 1, 0, 1},    // one token back after 100 ms
          {2 * sec, 10, 5, 0, 1}}},  // idle 1.9 s refills to the burst, not beyond
        {"remaining_counts_down",
         10'000,
         5,
         0,
         {{0, 1, 1, 4, 0}, {0, 1, 1, 3, 0}, {0, 3, 3, 0, 0}}},
        {"half_per_s",
         500,
         1,
         123 * sec,
         {{0, 1, 1, 0, 0},
          {0, 1, 0, 0, 2},  // 0.5/s: the next token is 2 s away
          {1 * sec, 1, 0, 0, 1},
          {2 * sec, 3, 1, 0, 2}}},
        {"one_per_1000_s",
         1,
         2,
         7 * sec,
         {{0, 3, 2, 0, 1000}, {999 * sec, 1, 0, 0, 1}, {1000 * sec, 1, 1, 0, 0}}},
        {"clock_wraps_tick_range",
         1'000'000,
         10,
         (1ULL << 56) - 5 * ms,
         {{0, 10, 10, 0, 0}, {10 * ms, 20, 10, 0, 1}}},  // 1000/s: 10 tokens per 10 ms
        {"high_rate",
         1'000'000'000'000ULL,
         1000,
         1 * sec,  // 10^9/s
         {{0, 1000, 1000, 0, 0}, {0, 1, 0, 0, 1}, {1000, 1001, 1000, 0, 1}}},
    };
    return s;
}

TEST(ratelimit, token_math_follows_scripts) {
    for (const script& sc : scripts()) {
        SCOPED_TRACE(sc.name);
        limiter_registry reg;
        limiter* l = reg.acquire(route_limit(1, sc.rate_milli, sc.burst));
        ASSERT_NE(l, nullptr);
        for (std::size_t i = 0; i < sc.steps.size(); ++i) {
            const step& st = sc.steps[i];
            SCOPED_TRACE(i);
            int allowed = 0;
            decision last;
            for (int k = 0; k < st.n; ++k) {
                last = check(*l, 0, sc.start_ns + st.at_ns);
                allowed += last.allowed ? 1 : 0;
                EXPECT_FALSE(last.shadow_denied);
            }
            EXPECT_EQ(allowed, st.want_allowed);
            EXPECT_EQ(last.remaining, st.want_remaining);
            EXPECT_EQ(last.retry_after_s, st.want_retry_after);
            EXPECT_EQ(last.limit, sc.burst);
        }
    }
}

TEST(ratelimit, shadow_mode_never_denies_but_reports) {
    limiter_registry reg;
    limiter* l = reg.acquire(route_limit(1, 10'000, 3, rl_mode::shadow));
    int reported = 0;
    for (int i = 0; i < 10; ++i) {
        decision d = check(*l, 0, sec);
        EXPECT_TRUE(d.allowed);
        reported += d.shadow_denied ? 1 : 0;
    }
    EXPECT_EQ(reported, 7);
    // Shadow denials take no token: 100 ms later exactly one more conforms.
    EXPECT_FALSE(check(*l, 0, sec + 100 * ms).shadow_denied);
    EXPECT_TRUE(check(*l, 0, sec + 100 * ms).shadow_denied);
}

// Delay mode (check_delay): at 10/s burst 2 with max_delay 250 ms, requests over the burst
// take future tokens 100 ms apart until the next one would be more than 250 ms away.
struct delay_case {
    std::uint64_t at_ns;  // relative to the start
    bool allowed;
    std::uint64_t delay_ns;  // 0: at once
};

TEST(ratelimit, delay_mode_queues_up_to_max_delay_in_arrival_order) {
    const std::uint64_t t0 = 42 * sec;
    const delay_case cases[] = {
        {0, true, 0},               // burst
        {0, true, 0},               // burst
        {0, true, 100 * ms},        // token 3 is due at +100 ms
        {0, true, 200 * ms},        // token 4 at +200 ms
        {0, false, 0},              // token 5 at +300 ms: past max_delay, denied (429)
        {50 * ms, true, 250 * ms},  // 50 ms later token 5 is 250 ms away: within max_delay
        {50 * ms, false, 0},
        {1 * sec, true, 0},  // idle: the queue drained, the bucket refilled
    };
    limiter_registry reg;
    limiter* l = reg.acquire(route_limit(1, 10'000, 2));
    ASSERT_NE(l, nullptr);
    for (std::size_t i = 0; i < std::size(cases); ++i) {
        SCOPED_TRACE(i);
        const decision d = check_delay(*l, 0, t0 + cases[i].at_ns, 250 * ms);
        EXPECT_EQ(d.allowed, cases[i].allowed);
        // The emission interval is rounded to 1/256 ns: allow one nanosecond either way.
        EXPECT_NEAR(static_cast<double>(d.delay_ns), static_cast<double>(cases[i].delay_ns), 1.0);
        if (!d.allowed) {
            EXPECT_GE(d.retry_after_s, 1u);
        }
    }
}

TEST(ratelimit, delay_mode_zero_is_check_and_shadow_never_delays) {
    limiter_registry reg;
    limiter* a = reg.acquire(route_limit(1, 10'000, 1));
    limiter* b = reg.acquire(route_limit(2, 10'000, 1));
    for (int i = 0; i < 5; ++i) {
        const decision x = check(*a, 0, sec + i * ms);
        const decision y = check_delay(*b, 0, sec + i * ms, 0);
        EXPECT_EQ(x.allowed, y.allowed);
        EXPECT_EQ(x.retry_after_s, y.retry_after_s);
        EXPECT_EQ(y.delay_ns, 0u);
    }
    limiter* sh = reg.acquire(route_limit(3, 10'000, 1, rl_mode::shadow));
    EXPECT_EQ(check_delay(*sh, 0, sec, sec).delay_ns, 0u);
    const decision d = check_delay(*sh, 0, sec, sec);
    EXPECT_TRUE(d.allowed && d.shadow_denied);
    EXPECT_EQ(d.delay_ns, 0u);
}

TEST(ratelimit, same_identity_keeps_state_across_generations) {
    limiter_registry reg;
    limiter* gen1 = reg.acquire(route_limit(42, 10'000, 2));
    EXPECT_TRUE(check(*gen1, 0, sec).allowed);
    EXPECT_TRUE(check(*gen1, 0, sec).allowed);
    limiter* gen2 = reg.acquire(route_limit(42, 10'000, 2));  // the next snapshot
    EXPECT_EQ(gen1, gen2);
    reg.release(gen1);  // the old generation is reclaimed
    EXPECT_EQ(reg.live(), 1U);
    EXPECT_FALSE(check(*gen2, 0, sec).allowed);  // the bucket is still empty
    reg.release(gen2);
    EXPECT_EQ(reg.live(), 0U);
}

TEST(ratelimit, changed_identity_starts_fresh) {
    limiter_registry reg;
    limiter* gen1 = reg.acquire(route_limit(42, 10'000, 2));
    (void)check(*gen1, 0, sec);
    (void)check(*gen1, 0, sec);
    EXPECT_FALSE(check(*gen1, 0, sec).allowed);
    limiter* gen2 = reg.acquire(route_limit(43, 20'000, 2));  // rate changed: new identity
    EXPECT_NE(gen1, gen2);
    reg.release(gen1);
    EXPECT_TRUE(check(*gen2, 0, sec).allowed);
    EXPECT_EQ(reg.live(), 1U);
    reg.release(gen2);
}

TEST(ratelimit, registry_refuses_invalid_and_excess_limits) {
    limiter_registry reg(2, 64);
    EXPECT_EQ(reg.acquire(route_limit(1, 0, 1)), nullptr);
    EXPECT_EQ(reg.acquire(route_limit(1, 1000, 0)), nullptr);
    limiter* a = reg.acquire(route_limit(1, 1000, 1));
    limiter* b = reg.acquire(route_limit(2, 1000, 1));
    EXPECT_NE(a, nullptr);
    EXPECT_NE(b, nullptr);
    EXPECT_EQ(reg.acquire(route_limit(3, 1000, 1)), nullptr);
    EXPECT_EQ(reg.acquire(route_limit(1, 1000, 1)), a);  // existing identity: still fine
    reg.release(a);
    reg.release(a);
    EXPECT_NE(reg.acquire(route_limit(3, 1000, 1)), nullptr);
}

limit_def keyed(std::uint64_t identity, std::uint64_t rate_milli, std::uint64_t burst) {
    return {identity, rate_milli, burst, static_cast<std::uint8_t>(rl_key::client_ip),
            static_cast<std::uint8_t>(rl_mode::enforce)};
}

TEST(ratelimit, keys_have_their_own_buckets) {
    limiter_registry reg(4, 1024);
    limiter* l = reg.acquire(keyed(1, 1000, 2));
    const std::uint64_t a = key_hash_ipv4(0x0a000001), b = key_hash_ipv4(0x0a000002);
    EXPECT_NE(a, b);
    EXPECT_TRUE(check(*l, a, sec).allowed);
    EXPECT_TRUE(check(*l, a, sec).allowed);
    EXPECT_FALSE(check(*l, a, sec).allowed);
    EXPECT_TRUE(check(*l, b, sec).allowed);
    EXPECT_EQ(key_hash_bytes("tenant-a"), key_hash_bytes("tenant-a"));
    EXPECT_NE(key_hash_bytes("tenant-a"), key_hash_bytes("tenant-b"));
    EXPECT_EQ(l->stats().keys_in_use, 2U);
    EXPECT_EQ(l->stats().overflowed, 0U);
}

TEST(ratelimit, full_table_evicts_idle_keys_then_overflows) {
    limiter_registry reg(4, 64);  // 64 slots
    limiter* l = reg.acquire(keyed(1, 1000, 2));
    // 200 distinct keys each take a token at t = 1 s: their buckets are not full, so once a
    // probe window is occupied newcomers share the overflow bucket.
    int overflow_allowed = 0;
    for (std::uint32_t ip = 1; ip <= 200; ++ip) {
        decision d = check(*l, key_hash_ipv4(ip), sec);
        overflow_allowed += d.allowed ? 1 : 0;
    }
    // Every key either claimed a slot or was answered by the overflow bucket (burst 2).
    limiter_stats s = l->stats();
    EXPECT_EQ(s.keys_in_use + s.overflowed, 200U);
    EXPECT_GE(s.keys_in_use, 48U);
    EXPECT_LE(s.keys_in_use, 64U);
    EXPECT_EQ(static_cast<std::uint64_t>(overflow_allowed), s.keys_in_use + 2);
    // 10 s later every bucket is full again (idle): a new key takes over a slot (or claims one
    // that is still empty), and does not overflow.
    (void)check(*l, key_hash_ipv4(100'000), 11 * sec);
    limiter_stats after = l->stats();
    EXPECT_EQ(after.evicted + after.keys_in_use - s.keys_in_use, 1U);
    EXPECT_EQ(after.overflowed, s.overflowed);
}

TEST(ratelimit, table_seed_moves_keys_but_not_their_limits) {
    for (std::uint64_t seed : {0ULL, 0x5eed5eed5eedULL}) {
        SCOPED_TRACE(seed);
        limiter_registry reg(4, 64, seed);
        limiter* l = reg.acquire(keyed(1, 1000, 1));
        for (std::uint32_t ip = 1; ip <= 32; ++ip) {
            EXPECT_TRUE(check(*l, key_hash_ipv4(ip), sec).allowed);
        }
        EXPECT_FALSE(check(*l, key_hash_ipv4(1), sec).allowed);
        EXPECT_EQ(l->stats().keys_in_use, 32U);  // half the table: every key finds a slot
        EXPECT_EQ(l->stats().overflowed, 0U);
    }
}

TEST(ratelimit, headers_are_formatted_without_allocation) {
    decision allowed{true, false, 100, 42, 0, 7};
    char buf[max_header_bytes];
    std::size_t n = format_headers(allowed, buf);
    EXPECT_EQ(std::string(buf, n),
              "X-RateLimit-Limit: 100\r\nX-RateLimit-Remaining: 42\r\nX-RateLimit-Reset: 7\r\n");
    decision denied{false, false, 5, 0, 3, 9};
    n = format_headers(denied, buf);
    EXPECT_EQ(std::string(buf, n),
              "X-RateLimit-Limit: 5\r\nX-RateLimit-Remaining: 0\r\nX-RateLimit-Reset: 9\r\n"
              "Retry-After: 3\r\n");
    char small[20];
    EXPECT_EQ(format_headers(denied, small), 0U);
    decision widest{false, false, UINT64_MAX, UINT64_MAX, UINT32_MAX, UINT32_MAX};
    EXPECT_GT(format_headers(widest, buf), 0U);
}

// Workers share one clock, as lcores share the TSC; each request takes the next clock value, so
// requests reach the bucket slightly out of time order, as they do across lcores.
struct hammer_result {
    std::uint64_t admitted;
    std::uint64_t offered;
};
// With `keys` > 1 every thread cycles through the keys, so each key is hit from every thread.
hammer_result hammer(limiter& l, int threads, std::uint64_t window_ns, std::uint64_t step_ns,
                     std::uint32_t keys) {
    const std::uint64_t start = 1'000 * sec;
    std::atomic<std::uint64_t> clock{start};
    std::atomic<std::uint64_t> admitted{0}, offered{0};
    std::atomic<int> ready{0};
    std::vector<std::thread> ts;
    for (int i = 0; i < threads; ++i) {
        ts.emplace_back([&, i] {
            std::uint64_t mine = 0, tried = 0;
            ready.fetch_add(1);
            while (ready.load() < threads) {
            }
            for (;;) {
                const std::uint64_t key = key_hash_ipv4(1 + (tried + i) % keys);
                std::uint64_t now = clock.fetch_add(step_ns, std::memory_order_relaxed);
                if (now >= start + window_ns) {
                    break;
                }
                ++tried;
                mine += check(l, key, now).allowed ? 1 : 0;
            }
            admitted += mine;
            offered += tried;
        });
    }
    for (auto& t : ts) {
        t.join();
    }
    return {admitted.load(), offered.load()};
}

TEST(ratelimit_concurrent, shared_bucket_admits_burst_plus_rate_within_one_percent) {
    for (int threads : {2, 4}) {
        SCOPED_TRACE(threads);
        limiter_registry reg;
        // 1000/s, burst 100, 10 s simulated: 10 000 tokens accrue; offered load is 50x that.
        limiter* l = reg.acquire(route_limit(1, 1'000'000, 100));
        hammer_result r = hammer(*l, threads, 10 * sec, 20'000, 1);
        const double accrued = 1000.0 * 10;
        EXPECT_GT(r.offered, 400'000U);
        EXPECT_LE(static_cast<double>(r.admitted), 100 + accrued * 1.01);
        EXPECT_GE(static_cast<double>(r.admitted), accrued * 0.99);
    }
}

TEST(ratelimit_concurrent, keyed_buckets_hold_per_key_under_contention) {
    limiter_registry reg(4, 1024);
    // Four keys hit from every thread, then one key: per key 100/s, burst 10, 10 s.
    limiter* l = reg.acquire(keyed(1, 100'000, 10));
    hammer_result r = hammer(*l, 4, 10 * sec, 50'000, 4);
    const double accrued = 100.0 * 10 * 4;
    EXPECT_LE(static_cast<double>(r.admitted), 4 * 10 + accrued * 1.01);
    EXPECT_GE(static_cast<double>(r.admitted), accrued * 0.99);
    limiter* same = reg.acquire(keyed(2, 100'000, 10));
    r = hammer(*same, 4, 10 * sec, 50'000, 1);
    EXPECT_LE(static_cast<double>(r.admitted), 10 + 1000 * 1.01);
    EXPECT_GE(static_cast<double>(r.admitted), 1000 * 0.99);
}

}  // namespace
}  // namespace sluice::dp::filters
