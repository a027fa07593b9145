// L2/L3 per-packet cost on one core, by direct mbuf injection into a stack whose port is a
// net_ring loopback. Every benchmark works in bursts of 32 and reports items (packets) per
// second; ns/packet is the reciprocal. `inject_only` measures the harness itself (mbuf alloc,
// frame copy, free) so that its cost can be subtracted from the others.
//
//   ninja -C build bench/net/l2l3_bench && ./build/bench/net/l2l3_bench
#include <benchmark/benchmark.h>

#include <cstring>

#include "../../tests/packet/l2l3_cases.hh"
#include "../../tests/unit/dpdk_env.hh"

namespace {

using sluice::test::bytes;
using sluice::test::dpdk_env;

constexpr std::uint16_t burst = sluice::dp::net::burst_size;

void fill(const dpdk_env& env, const bytes& frame, rte_mbuf** pkts) {
    if (rte_pktmbuf_alloc_bulk(env.pool, pkts, burst) != 0) {
        std::abort();
    }
    for (std::uint16_t i = 0; i < burst; ++i) {
        char* d = rte_pktmbuf_append(pkts[i], static_cast<std::uint16_t>(frame.size()));
        std::memcpy(d, frame.data(), frame.size());
    }
}

void drain_port(const dpdk_env& env, std::uint16_t expect) {
    rte_mbuf* out[burst];
    std::uint16_t got = 0;
    while (got < expect) {
        const std::uint16_t n = rte_eth_rx_burst(env.port, 0, out, burst);
        rte_pktmbuf_free_bulk(out, n);
        got += n;
        if (n == 0) {
            break;
        }
    }
}

// Runs bursts of `frame` through a stack; `replies` per burst are expected back on the ring.
void run(benchmark::State& state, const bytes& frame, std::uint16_t replies) {
    auto& env = dpdk_env::get();
    auto s = env.make_stack();
    env.add_peer(*s, 0);
    rte_mbuf* pkts[burst];
    std::uint64_t now = 0;
    for (auto _ : state) {
        fill(env, frame, pkts);
        s->input(env.port, pkts, burst, ++now);
        s->flush();
        drain_port(env, replies);
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * burst);
}

void inject_only(benchmark::State& state) {
    auto& env = dpdk_env::get();
    const bytes frame = sluice::test::echo_frame(env.our_mac);
    rte_mbuf* pkts[burst];
    for (auto _ : state) {
        fill(env, frame, pkts);
        benchmark::DoNotOptimize(pkts[0]);
        rte_pktmbuf_free_bulk(pkts, burst);
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * burst);
}
BENCHMARK(inject_only);

void arp_reply(benchmark::State& state) {
    using namespace sluice::test;
    const auto& env = dpdk_env::get();
    run(state, eth(broadcast_mac, peer_mac, 0x0806, arp(1, peer_mac, peer_ip, {}, our_ip)), burst);
    (void)env;
}
BENCHMARK(arp_reply);

void icmp_echo(benchmark::State& state) {
    const auto& env = dpdk_env::get();
    run(state, sluice::test::echo_frame(env.our_mac, static_cast<std::size_t>(state.range(0))),
        burst);
}
BENCHMARK(icmp_echo)->Arg(56)->Arg(1472);

// Full Ethernet and IPv4 validation (checksum included), then a counted drop.
void ipv4_validate_and_drop(benchmark::State& state) {
    using namespace sluice::test;
    const auto& env = dpdk_env::get();
    run(state, eth(env.our_mac, peer_mac, 0x0800, ipv4(peer_ip, our_ip, 17, bytes(8, 0))), 0);
}
BENCHMARK(ipv4_validate_and_drop);

void ipv4_bad_checksum_drop(benchmark::State& state) {
    const auto& env = dpdk_env::get();
    bytes f = sluice::test::echo_frame(env.our_mac);
    f[24] ^= 0x01;
    run(state, f, 0);
}
BENCHMARK(ipv4_bad_checksum_drop);

}  // namespace

BENCHMARK_MAIN();
