// Per-segment cost of the TCP connection core on an established connection, through the whole
// receive path (net::stack input -> IPv4 -> TCP checks -> delivery to the application ->
// delayed ACK every second segment), on the dpdk_env net_ring port with an injected clock.
// Arg: payload bytes per segment. Building the mbufs and draining the ACKs are excluded.
#include <benchmark/benchmark.h>
#include <rte_tcp.h>

#include <cstring>

#include "../../dataplane/net/tcp/tcp_stack.hh"
#include "../../tests/packet/l2l3_cases.hh"
#include "../../tests/unit/dpdk_env.hh"

namespace sluice::test {
namespace {

namespace tcp = dp::net::tcp;

struct sink final : tcp::tcp_handler {
    tcp::connection* conn = nullptr;
    void on_established(tcp::connection& c) override { conn = &c; }
    void on_data(tcp::connection&, const tcp::rx_view& v) override { rte_pktmbuf_free(v.m); }
    void on_closed(tcp::connection&, tcp::close_reason) override { conn = nullptr; }
};

// A peer->us TCP frame with a valid checksum.
bytes frame(std::uint8_t flags, std::uint32_t seq, std::uint32_t ack, std::size_t len,
            const mac& us) {
    bytes t(20 + len);
    put16(t, 0, 40000);
    put16(t, 2, 80);
    put32(t, 4, seq);
    put32(t, 8, ack);
    t[12] = 5 << 4;
    t[13] = flags;
    put16(t, 14, 65535);
    bytes ph(12 + t.size());
    put32(ph, 0, peer_ip);
    put32(ph, 4, our_ip);
    ph[9] = 6;
    put16(ph, 10, static_cast<std::uint16_t>(t.size()));
    std::memcpy(ph.data() + 12, t.data(), t.size());
    put16(t, 16, inet_checksum(ph, 0, ph.size()));
    bytes f(34 + t.size());
    std::memcpy(f.data(), us.data(), 6);
    std::memcpy(f.data() + 6, peer_mac.data(), 6);
    put16(f, 12, 0x0800);
    f[14] = 0x45;
    put16(f, 16, static_cast<std::uint16_t>(20 + t.size()));
    put16(f, 20, 0x4000);
    f[22] = 64;
    f[23] = 6;
    put32(f, 26, peer_ip);
    put32(f, 30, our_ip);
    put16(f, 24, inet_checksum(f, 14, 20));
    std::memcpy(f.data() + 34, t.data(), t.size());
    return f;
}

void bm_in_order_data(benchmark::State& state) {
    auto& env = dpdk_env::get();
    const auto len = static_cast<std::size_t>(state.range(0));
    auto ip = env.make_stack();
    rte_ether_addr pm;
    std::memcpy(pm.addr_bytes, peer_mac.data(), 6);
    ip->apply_neighbor(env.port, rte_cpu_to_be_32(peer_ip), pm, 0);
    tcp::tcp_params p;
    p.tsc_hz = dpdk_env::hz;
    p.pool = env.pool;
    p.max_connections = 16;
    p.ooo_queues = 2;
    tcp::tcp_stack t(*ip, p);
    ip->attach_tcp(&t);
    sink app;
    (void)t.listen(80, 4, &app);
    std::uint64_t now = dpdk_env::hz;
    auto inject = [&](const bytes& f) {
        rte_mbuf* m = env.mbuf_of(f);
        ip->input(env.port, &m, 1, now);
    };
    inject(frame(RTE_TCP_SYN_FLAG, 1000, 0, 0, env.our_mac));
    const auto out = env.drain(*ip);
    const std::uint32_t iss = get32(out.at(0), 34 + 4);
    inject(frame(RTE_TCP_ACK_FLAG, 1001, iss + 1, 0, env.our_mac));
    std::uint32_t seq = 1001;
    constexpr int batch = 32;
    rte_mbuf* pkts[batch];
    for (auto _ : state) {
        state.PauseTiming();
        for (int i = 0; i < batch; ++i) {
            pkts[i] = env.mbuf_of(frame(RTE_TCP_ACK_FLAG, seq, iss + 1, len, env.our_mac));
            seq += static_cast<std::uint32_t>(len);
        }
        state.ResumeTiming();
        ip->input(env.port, pkts, batch, now);
        state.PauseTiming();
        (void)env.drain(*ip);
        now += 1000;  // 1 us per batch
        state.ResumeTiming();
    }
    state.SetItemsProcessed(state.iterations() * batch);
    t.release();
    ip->attach_tcp(nullptr);
}
BENCHMARK(bm_in_order_data)->Arg(64)->Arg(1460);

}  // namespace
}  // namespace sluice::test

BENCHMARK_MAIN();
