// The whole HTTP filter chain per request (issue 6): one parsed GET through the real chain
// runner (dataplane/proxy/filter_chain.hh) with the built-in filters compiled from a real
// config by the real config_hub: request start (pooled request, views), on_request_headers of
// every filter, on_response_headers, on_complete. Arg = how many built-ins are on, added in
// this order: trace, auth (HMAC-SHA256 signature check), rate_limit (admits everything),
// headers (one set each way), breaker, accesslog (a record into the log's ring; the writer
// thread formats it off the measured thread). Arg 0 is the bare runner. Not in CI.
// Run: build/bench/filters/chain_bench (docs/performance.md records results).
#include <benchmark/benchmark.h>
#include <openssl/hmac.h>

#include <array>
#include <cstdint>
#include <string>

#include "../../tests/filters/chain_harness.hh"

namespace {

using namespace sluice;

constexpr std::string_view secret = "bench-secret";

constexpr std::array<std::string_view, 6> filter_lines = {
    "{ name: trace }",
    "{ name: auth, settings: { mode: hmac, secret: bench-secret, max_skew: 1h } }",
    "{ name: rate_limit, settings: { limit: wide } }",
    "{ name: headers, settings: { request_set: \"x-gw: sluice\", response_set: \"x-by: s\" } }",
    "{ name: breaker }",
    "{ name: accesslog }",
};

std::string config_yaml() {
    std::string y =
        "listeners:\n  - { name: web, address: 0.0.0.0, port: 8080 }\n"
        "clusters:\n  - name: c\n    endpoints: [ { address: 198.18.1.1, port: 9001 } ]\n"
        "rate_limits:\n  - { name: wide, rate: 1000000000, burst: 1000000, key: client_ip }\n"
        "routes:\n";
    for (std::size_t n = 0; n <= filter_lines.size(); ++n) {
        y += "  - name: r" + std::to_string(n) + "\n    match: { path: { prefix: /r" +
             std::to_string(n) + " } }\n    action:\n      cluster: c\n      filters: [";
        for (std::size_t i = 0; i < n; ++i) {
            y += std::string(i == 0 ? " " : ", ") + std::string(filter_lines[i]);
        }
        y += " ]\n";
    }
    return y;
}

std::string hex_hmac(std::string_view msg) {
    unsigned char mac[32];
    unsigned len = 0;
    HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
         reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), mac, &len);
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (unsigned i = 0; i < len; ++i) {
        out += digits[mac[i] >> 4];
        out += digits[mac[i] & 15];
    }
    return out;
}

test::chain_harness& harness() {
    static test::chain_harness h(config_yaml(), "/dev/null");
    return h;
}

void bm_filter_chain(benchmark::State& state) {
    auto& h = harness();
    const auto n = static_cast<std::size_t>(state.range(0));
    // Built with append: gcc 12's -Wrestrict misfires on "literal" + std::string&&.
    std::string route("r");
    route += std::to_string(n);
    std::string path("/");
    path += route;
    path += "/items?id=42";
    const std::string ts = std::to_string(h.unix_now_s());
    std::string raw("GET ");
    raw += path;
    raw += " HTTP/1.1\r\nHost: api.example.com\r\nUser-Agent: bench\r\nAccept: */*\r\n";
    raw += "traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\n";
    raw += "x-timestamp: " + ts + "\r\nx-signature: ";
    raw += hex_hmac("GET\n" + path + "\n" + ts);
    raw += "\r\n\r\n";
    h.parse(raw);
    std::uint64_t proceeded = 0;
    for (auto _ : state) {
        dp::proxy::request& r = h.start(route);
        const auto st = dp::proxy::run_request_chain(r);
        proceeded += st == dp::proxy::chain_status::proceed;
        r.status_ = 200;
        dp::proxy::run_response_chain(r);
        dp::proxy::run_complete_chain(r);
        benchmark::DoNotOptimize(r.n_resp_);
        h.finish();
    }
    if (proceeded != static_cast<std::uint64_t>(state.iterations())) {
        state.SkipWithError("a filter refused the request (auth clock? rate limit?)");
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(bm_filter_chain)->DenseRange(0, 6);

}  // namespace

BENCHMARK_MAIN();
