// Per-ACK arithmetic on the sender: an RTT sample into the RFC 6298 estimator plus the
// congestion window update, for NewReno (Arg 0) and CUBIC (Arg 1) in congestion avoidance.
// Not run in CI.
#include <benchmark/benchmark.h>

#include <cstdint>

#include "net/tcp/congestion.hh"
#include "net/tcp/rtt.hh"

namespace {

using namespace sluice::dp::net::tcp;  // NOLINT: benchmark file, not a header

void bm_ack_window_update(benchmark::State& state) {
    const auto algo = state.range(0) == 0 ? cc_algorithm::newreno : cc_algorithm::cubic;
    congestion_control cc(algo, 1448, 0);
    // Get into congestion avoidance at ~700 segments, as after a loss on a fat pipe.
    for (int i = 0; i < 1000; ++i) {
        cc.on_ack(1448, 0, 10'000);
    }
    cc.enter_recovery(cc.cwnd(), 1'000'000, recovery_mode::sack);
    cc.on_ack_in_recovery(1'000'000, 1448, 0);
    rtt_estimator rtt;
    std::uint64_t now = 1'000'000;
    std::uint32_t sample = 10'000;
    for (auto _ : state) {
        now += 20;  // an ACK every 20 us
        sample = 10'000 + static_cast<std::uint32_t>(now & 1023);
        rtt.on_sample(sample);
        cc.on_ack(1448, now, rtt.srtt_us());
        benchmark::DoNotOptimize(cc.cwnd());
        benchmark::DoNotOptimize(rtt.rto_us());
        if (cc.cwnd() > 50'000'000) {
            cc.enter_recovery(cc.cwnd(), static_cast<seq_t>(now), recovery_mode::sack);
            cc.on_ack_in_recovery(static_cast<seq_t>(now), 1448, 0);
        }
    }
    state.SetLabel(algo == cc_algorithm::cubic ? "cubic" : "newreno");
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(bm_ack_window_update)->Arg(0)->Arg(1);

}  // namespace

BENCHMARK_MAIN();
