// Per-request cost of the trace and auth filters' building blocks: traceparent parse,
// propagate + format, tracestate check, UUID v4; auth check() for api_key (Arg = number of
// configured keys, all compared) and hmac (Arg = path length). Not run in CI.
#include <benchmark/benchmark.h>

#include <string>

#include "../../tests/filters/trace/traceparent_cases.hh"
#include "filters/auth/auth.hh"
#include "filters/trace/trace_context.hh"

namespace {

namespace f = sluice::dp::filters;

void bm_traceparent_parse(benchmark::State& state) {
    const std::string v = sluice::test::trace::spec_example;
    f::traceparent tp;
    for (auto _ : state) {
        benchmark::DoNotOptimize(f::parse_traceparent(v, tp));
        benchmark::DoNotOptimize(tp);
    }
}
BENCHMARK(bm_traceparent_parse);

void bm_traceparent_propagate_and_format(benchmark::State& state) {
    const std::string v = sluice::test::trace::spec_example;
    f::fast_rng rng(1);
    f::traceparent tp;
    char buf[f::traceparent_len];
    for (auto _ : state) {
        benchmark::DoNotOptimize(f::propagate(v, rng, tp));
        f::format_traceparent(tp, buf);
        benchmark::DoNotOptimize(buf);
    }
}
BENCHMARK(bm_traceparent_propagate_and_format);

void bm_traceparent_new_trace(benchmark::State& state) {
    f::fast_rng rng(1);
    f::traceparent tp;
    char buf[f::traceparent_len];
    for (auto _ : state) {
        benchmark::DoNotOptimize(f::propagate({}, rng, tp, 1));
        f::format_traceparent(tp, buf);
        benchmark::DoNotOptimize(buf);
    }
}
BENCHMARK(bm_traceparent_new_trace);

void bm_tracestate(benchmark::State& state) {
    const std::string v = "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE,tenant@vendor=abc123";
    for (auto _ : state) {
        benchmark::DoNotOptimize(f::tracestate_to_forward(v));
    }
}
BENCHMARK(bm_tracestate);

void bm_uuid_v4(benchmark::State& state) {
    f::fast_rng rng(1);
    char u[f::uuid_len];
    for (auto _ : state) {
        f::format_uuid_v4(rng, u);
        benchmark::DoNotOptimize(u);
    }
}
BENCHMARK(bm_uuid_v4);

struct one_header {
    std::string_view name;
    std::string_view value;
    std::string_view name2;
    std::string_view value2;
    static std::string_view lookup(const void* ctx, std::string_view n) noexcept {
        const auto* h = static_cast<const one_header*>(ctx);
        return n == h->name ? h->value : n == h->name2 ? h->value2 : std::string_view();
    }
};

void bm_auth_api_key(benchmark::State& state) {
    f::auth_settings s;
    for (int i = 0; i < state.range(0); ++i) {
        s.keys += (i ? "," : "") + std::string("key-number-") + std::to_string(i) + "-0123456789";
    }
    auto p = f::auth_policy::build(s);
    const std::string key = "key-number-0-0123456789";
    const one_header h{"x-api-key", key, {}, {}};
    const f::auth_request req{"GET", "/v1/items", &one_header::lookup, &h};
    f::auth_counters c;
    for (auto _ : state) {
        benchmark::DoNotOptimize(f::check(*p, req, 0, c));
    }
    if (c.ok != static_cast<std::uint64_t>(state.iterations())) {
        state.SkipWithError("key not accepted");
    }
}
BENCHMARK(bm_auth_api_key)->Arg(1)->Arg(8)->Arg(64);

void bm_auth_hmac(benchmark::State& state) {
    f::auth_settings s;
    s.mode = f::auth_mode::hmac;
    s.secret = "a-32-byte-secret-for-the-bench!!";
    auto p = f::auth_policy::build(s);
    const std::string path = "/" + std::string(static_cast<std::size_t>(state.range(0)) - 1, 'p');
    const std::string ts = "1700000000";
    f::hmac_sha256 client(s.secret);
    f::sha256_digest d;
    const std::string_view msg[] = {"GET", "\n", path, "\n", ts};
    client.mac(msg, d);
    std::string sig;
    for (auto b : d) {
        sig += "0123456789abcdef"[b >> 4];
        sig += "0123456789abcdef"[b & 15];
    }
    const one_header h{"x-signature", sig, "x-timestamp", ts};
    const f::auth_request req{"GET", path, &one_header::lookup, &h};
    f::auth_counters c;
    for (auto _ : state) {
        benchmark::DoNotOptimize(f::check(*p, req, 1'700'000'000, c));
    }
    if (c.ok != static_cast<std::uint64_t>(state.iterations())) {
        state.SkipWithError("signature not accepted");
    }
}
BENCHMARK(bm_auth_hmac)->Arg(16)->Arg(256)->Arg(2048);

}  // namespace

BENCHMARK_MAIN();
