// HTTP/1.1 parser speed (dataplane/proxy/http), on messages from the shared case table
// (tests/proxy/http/http_cases.hh): a typical 5-field GET, a 20-field browser request, a chunked
// POST (head and body), plus the same GET fed in N-byte segments (->Arg sweep) to show the cost
// of resuming across mbuf segments. Reports ns per request (items/s = requests/s).
// Single-threaded. On a shared machine, run with repetitions and read the "min" aggregate (the
// least disturbed repetition):
//   http_parse_bench --benchmark_repetitions=20 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <algorithm>
#include <string>
#include <vector>

#include "http_cases.hh"
#include "proxy/http/body_reader.hh"
#include "proxy/http/request_parser.hh"

namespace {

namespace h = sluice::dp::proxy::http;
namespace t = sluice::test::http;

void parse_head(benchmark::State& state, const std::string& raw) {
    h::request_parser p;
    const auto n = static_cast<std::uint32_t>(raw.size());
    for (auto _ : state) {
        p.reset();
        benchmark::DoNotOptimize(p.feed_head(raw.data(), n));
        benchmark::DoNotOptimize(p.head().header_count);
    }
    if (p.head_state() != h::request_parser::state::done) {
        state.SkipWithError("message did not parse");
    }
    state.SetItemsProcessed(state.iterations());
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(n));
}

void bm_typical_get(benchmark::State& state) { parse_head(state, t::typical_get); }
void bm_browser_get(benchmark::State& state) { parse_head(state, t::browser_get); }

// The whole message: head, then the chunked body through body_reader.
void bm_chunked_post(benchmark::State& state) {
    const std::string& raw = t::chunked_post;
    h::request_parser p;
    h::body_reader b;
    const auto n = static_cast<std::uint32_t>(raw.size());
    std::uint64_t payload = 0;
    for (auto _ : state) {
        p.reset();
        std::uint32_t at = p.feed_head(raw.data(), n);
        b.start(p.head().body, p.head().content_length);
        while (at < n) {
            const auto s = b.feed(raw.data() + at, n - at);
            payload += s.payload_len;
            at += s.consumed;
            if (s.done || s.err != h::error::none) {
                break;
            }
        }
        benchmark::DoNotOptimize(payload);
    }
    if (!b.done()) {
        state.SkipWithError("message did not parse");
    }
    state.SetItemsProcessed(state.iterations());
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(n));
}

// The typical GET split into segments of state.range(0) bytes.
void bm_typical_get_segmented(benchmark::State& state) {
    const std::string& raw = t::typical_get;
    const auto seg = static_cast<std::uint32_t>(state.range(0));
    const auto n = static_cast<std::uint32_t>(raw.size());
    h::request_parser p;
    for (auto _ : state) {
        p.reset();
        for (std::uint32_t at = 0; at < n; at += seg) {
            benchmark::DoNotOptimize(p.feed_head(raw.data() + at, std::min(seg, n - at)));
        }
    }
    if (p.head_state() != h::request_parser::state::done) {
        state.SkipWithError("message did not parse");
    }
    state.SetItemsProcessed(state.iterations());
}

// Every case of the table (accepted or refused), whole: the mixed-traffic cost per message.
void bm_case_table(benchmark::State& state) {
    const auto cases = t::request_cases();
    std::vector<const std::string*> small;
    for (const auto& c : cases) {
        if (c.raw.size() < 4096) {
            small.push_back(&c.raw);
        }
    }
    h::request_parser p;
    for (auto _ : state) {
        for (const std::string* r : small) {
            p.reset();
            benchmark::DoNotOptimize(p.feed_head(r->data(), static_cast<std::uint32_t>(r->size())));
        }
    }
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(small.size()));
}

}  // namespace

double min_of(const std::vector<double>& v) { return *std::min_element(v.begin(), v.end()); }

BENCHMARK(bm_typical_get)->ComputeStatistics("min", min_of);
BENCHMARK(bm_browser_get)->ComputeStatistics("min", min_of);
BENCHMARK(bm_chunked_post)->ComputeStatistics("min", min_of);
BENCHMARK(bm_typical_get_segmented)
    ->Arg(1)
    ->Arg(16)
    ->Arg(64)
    ->Arg(1460)
    ->ComputeStatistics("min", min_of);
BENCHMARK(bm_case_table)->ComputeStatistics("min", min_of);

BENCHMARK_MAIN();
