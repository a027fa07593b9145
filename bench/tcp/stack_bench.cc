// Stack-to-stack benchmark (issue 3): a client TCP stack on lcore 0 and a server TCP stack on
// lcore 1, each a net::stack + tcp::tcp_stack on its own port, the two ports joined back to back
// by a pair of rte_rings (rte_eth_from_rings, one process, EAL --no-huge --no-pci). Two
// patterns: keep-alive 64 B request/response over N connections, and short connections
// (connect, 64 B request, 64 B response, close). Each lcore runs the worker loop's shape
// (RX burst, stack input, timers every ms, TX flush) and counts busy cycles like
// core::worker (an iteration that received something is busy). Then the same patterns over
// the kernel's loopback (stack_bench_kernel.cc) on the same two lcores, and the ratios.
//
// Run: build/bench/tcp/tcp_stack_bench [--seconds S] [--conns N] [--only sluice|kernel]
// docs/performance.md ("Stack to stack and kernel baseline") records the figures.
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "../../dataplane/core/port.hh"
#include "../../dataplane/net/stack.hh"
#include "../../dataplane/net/tcp/tcp_stack.hh"
#include "stack_bench.hh"

namespace sluice::bench {
namespace {

namespace net = dp::net;
namespace tcp = dp::net::tcp;

// 10.77.0.1 (client) and 10.77.0.2 (server) on a /24: on-link, no gateway.
constexpr std::uint32_t client_ip = 0x0a4d0001, server_ip = 0x0a4d0002;
// 200 us: a full 32-packet burst costs well under 50 us on this stack (measured here); an
// iteration that took longer lost the CPU to another task. Set in main() from the TSC rate.
std::uint64_t preempted_cycles = 0;

struct port_end {
    std::uint16_t id = 0;
    net::iface ifc;
};

struct env {
    rte_mempool* pool = nullptr;
    port_end client, server;
};

// Pending request/response bytes per connection live in c.user (a counter, not a pointer).
std::uintptr_t pending(const tcp::connection& c) { return reinterpret_cast<std::uintptr_t>(c.user); }
void set_pending(tcp::connection& c, std::uintptr_t n) { c.user = reinterpret_cast<void*>(n); }

struct server_app final : tcp::tcp_handler {
    tcp::tcp_stack* t = nullptr;
    std::uint64_t failures = 0;
    char resp[msg_bytes];
    server_app() { std::memset(resp, 'r', sizeof(resp)); }
    void on_established(tcp::connection& c) override { set_pending(c, 0); }
    void on_data(tcp::connection& c, const tcp::rx_view& v) override {
        std::uintptr_t n = pending(c) + v.len;
        rte_pktmbuf_free(v.m);
        for (; n >= msg_bytes; n -= msg_bytes) {
            (void)t->send(c, resp, msg_bytes);
        }
        set_pending(c, n);
    }
    void on_peer_shutdown(tcp::connection& c) override { t->close(c); }
    void on_closed(tcp::connection&, tcp::close_reason why) override {
        failures += why != tcp::close_reason::normal ? 1 : 0;
    }
};

struct client_app final : tcp::tcp_handler {
    tcp::tcp_stack* t = nullptr;
    std::uint16_t port = 0;
    const run_options* o = nullptr;
    std::uint32_t open = 0;  // connections we own (connecting or established)
    std::uint32_t next_dport = 0;
    std::uint64_t transactions = 0;
    std::uint64_t failures = 0;
    bool opening = true;
    char req[msg_bytes];
    client_app() { std::memset(req, 'q', sizeof(req)); }

    // Opens connections up to the target; on the client lcore, between bursts.
    void refill() {
        while (opening && open < o->conns) {
            const std::uint16_t dport =
                static_cast<std::uint16_t>(o->server_port + next_dport++ % o->server_ports);
            if (t->connect(port, rte_cpu_to_be_32(server_ip), dport, this, nullptr, 3000) ==
                nullptr) {
                break;  // out of TCBs or ports for now (TIME-WAIT); retried next iteration
            }
            ++open;
        }
    }
    void on_established(tcp::connection& c) override {
        set_pending(c, 0);
        (void)t->send(c, req, msg_bytes);
    }
    void on_data(tcp::connection& c, const tcp::rx_view& v) override {
        std::uintptr_t n = pending(c) + v.len;
        rte_pktmbuf_free(v.m);
        if (n < msg_bytes) {
            set_pending(c, n);
            return;
        }
        ++transactions;
        set_pending(c, n - msg_bytes);
        if (o->pat == pattern::short_conn) {
            t->close(c);  // FIN; the TCB lives on in TIME-WAIT without further events
            --open;
        } else {
            (void)t->send(c, req, msg_bytes);
        }
    }
    void on_closed(tcp::connection&, tcp::close_reason why) override {
        failures += why != tcp::close_reason::normal ? 1 : 0;
        --open;
    }
};

// One lcore's stacks for one pattern.
struct node {
    std::unique_ptr<net::stack> ip;
    std::unique_ptr<tcp::tcp_stack> tcp;
    std::uint16_t port = 0;
    std::uint64_t next_tick = 0;
    std::uint64_t busy = 0;
    std::uint64_t stolen = 0;  // iterations too long to be ours (see account())

    // Busy accounting like core::worker, except that an iteration longer than
    // `preempted_cycles` is counted as stolen, not busy: on a shared 2-vCPU machine the
    // scheduler takes the core away for milliseconds, and that time is not the stack's.
    void account(bool was_busy, std::uint64_t dt) {
        if (dt > preempted_cycles) {
            stolen += dt;
        } else if (was_busy) {
            busy += dt;
        }
    }

    bool make(env& e, port_end& pe, unsigned lcore, const port_end& peer) {
        net::stack_params sp;
        sp.tsc_hz = rte_get_tsc_hz();
        sp.pool = e.pool;
        sp.socket_id = SOCKET_ID_ANY;
        sp.arp.entries = 16;
        sp.arp.pending_max = 4;
        sp.arp.timeout = 300 * sp.tsc_hz;
        sp.arp.retry = sp.tsc_hz;
        sp.arp.max_retries = 3;
        ip = std::make_unique<net::stack>(sp);
        if (!ip->add_port(&pe.ifc, 0)) {
            return false;
        }
        ip->apply_neighbor(pe.id, peer.ifc.addr, peer.ifc.mac, rte_rdtsc());
        tcp::tcp_params tp;
        tp.tsc_hz = sp.tsc_hz;
        tp.pool = e.pool;
        tp.socket_id = SOCKET_ID_ANY;
        tp.lcore = lcore;
        // Short connections leave the client's side in TIME-WAIT; 1 s (Linux's tcp_tw_reuse
        // lets a loopback client reuse a TIME-WAIT port after 1 s too) over 16 listening ports
        // gives 16 * 16384 tuples a second.
        tp.time_wait_ms = 1000;
        // TIME-WAIT holds a TCB for 1 s: a table of 2^17 capped a run at exactly 131,072
        // connections a second. 2^19 leaves the cap at the ports (16 * 16384 a second).
        tp.max_connections = 1U << 19;
        tp.ooo_queues = 64;
        tcp = std::make_unique<tcp::tcp_stack>(*ip, tp);
        if (!tcp->ok()) {
            return false;
        }
        ip->attach_tcp(tcp.get());
        tcp->tick(rte_rdtsc());  // start the TCP clock: connect timeouts count from now
        port = pe.id;
        return true;
    }
    // One worker-loop iteration; returns whether it received anything.
    bool poll(std::uint64_t now) {
        rte_mbuf* pkts[net::burst_size];
        const std::uint16_t n = rte_eth_rx_burst(port, 0, pkts, net::burst_size);
        if (n != 0) {
            ip->input(port, pkts, n, now);
        }
        if (now >= next_tick) {
            ip->tick(now);
            tcp->tick(now);
            next_tick = now + rte_get_tsc_hz() / 1000;
        }
        ip->flush();
        return n != 0;
    }
    void teardown() {
        tcp->release();
        ip->release();
        ip->attach_tcp(nullptr);
        tcp.reset();
        ip.reset();
    }
};

struct server_ctx {
    env* e;
    shared_run* sh;
    const run_options* o;
    std::uint64_t failures = 0;
};

int server_main(void* arg) {
    auto* ctx = static_cast<server_ctx*>(arg);
    node n;
    if (!n.make(*ctx->e, ctx->e->server, rte_lcore_id(), ctx->e->client)) {
        std::fprintf(stderr, "stack_bench: server stack setup failed\n");
        ctx->sh->ready.store(true);
        return -1;
    }
    server_app app;
    app.t = n.tcp.get();
    for (std::uint16_t i = 0; i < ctx->o->server_ports; ++i) {
        if (!n.tcp->listen(static_cast<std::uint16_t>(ctx->o->server_port + i), 4096, &app)) {
            std::fprintf(stderr, "stack_bench: listen failed\n");
        }
    }
    ctx->sh->ready.store(true);
    std::uint64_t t0 = rte_rdtsc();
    while (!ctx->sh->stop.load(std::memory_order_relaxed)) {
        const bool busy = n.poll(t0);
        const std::uint64_t t1 = rte_rdtsc();
        n.account(busy, t1 - t0);
        ctx->sh->server_cycles.store(n.busy, std::memory_order_relaxed);
        ctx->sh->server_stolen.store(n.stolen, std::memory_order_relaxed);
        t0 = t1;
    }
    ctx->failures = app.failures;
    n.teardown();
    return 0;
}

void drain(std::uint16_t port) {
    rte_mbuf* pkts[net::burst_size];
    std::uint16_t k = 0;
    while ((k = rte_eth_rx_burst(port, 0, pkts, net::burst_size)) != 0) {
        rte_pktmbuf_free_bulk(pkts, k);
    }
}

bool run_sluice(env& e, const run_options& o, run_result& out) {
    shared_run sh;
    server_ctx sctx{&e, &sh, &o};
    if (rte_eal_remote_launch(server_main, &sctx, 1) != 0) {
        return false;
    }
    while (!sh.ready.load()) {
    }
    node n;
    if (!n.make(e, e.client, rte_lcore_id(), e.server)) {
        sh.stop.store(true);
        rte_eal_wait_lcore(1);
        return false;
    }
    client_app app;
    app.t = n.tcp.get();
    app.port = e.client.id;
    app.o = &o;
    const std::uint64_t hz = rte_get_tsc_hz();
    const std::uint64_t start = rte_rdtsc();
    const std::uint64_t window_start = start + static_cast<std::uint64_t>(o.warmup_s * hz);
    const std::uint64_t window_end = window_start + static_cast<std::uint64_t>(o.seconds * hz);
    bool in_window = false;
    std::uint64_t c0 = 0, s0 = 0, x0 = 0, f0 = 0, st0 = 0;
    std::uint64_t t0 = rte_rdtsc();
    for (;;) {
        app.refill();
        const bool busy = n.poll(t0);
        const std::uint64_t t1 = rte_rdtsc();
        n.account(busy, t1 - t0);
        t0 = t1;
        if (!in_window && t0 >= window_start) {
            in_window = true;
            c0 = n.busy;
            s0 = sh.server_cycles.load(std::memory_order_relaxed);
            x0 = app.transactions;
            f0 = app.failures;
            st0 = n.stolen + sh.server_stolen.load(std::memory_order_relaxed);
        } else if (in_window && t0 >= window_end) {
            out.stolen_cycles = n.stolen + sh.server_stolen.load(std::memory_order_relaxed) - st0;
            out.client_cycles = n.busy - c0;
            out.server_cycles = sh.server_cycles.load(std::memory_order_relaxed) - s0;
            out.transactions = app.transactions - x0;
            out.failures = app.failures - f0;
            out.seconds = double(t0 - window_start) / double(hz);
            break;
        }
    }
    app.opening = false;
    sh.stop.store(true);
    rte_eal_wait_lcore(1);
    out.failures += sctx.failures;  // the server's, over the whole run
    n.teardown();
    drain(e.client.id);
    drain(e.server.id);
    return true;
}

bool open_port(env& e, port_end& pe, const char* name, rte_ring* rx, rte_ring* tx,
               std::uint32_t addr) {
    const int id = rte_eth_from_rings(name, &rx, 1, &tx, 1, SOCKET_ID_ANY);
    if (id < 0) {
        std::fprintf(stderr, "stack_bench: rte_eth_from_rings(%s): %s\n", name,
                     rte_strerror(rte_errno));
        return false;
    }
    pe.id = static_cast<std::uint16_t>(id);
    dp::core::port_config pc;
    pc.dev = std::to_string(id);
    pc.where = name;
    pc.addr = rte_cpu_to_be_32(addr);
    pc.netmask = rte_cpu_to_be_32(0xffffff00U);
    auto info = dp::core::port_open(pc, pe.id, {e.pool}, 64, pe.ifc);
    if (!info) {
        std::fprintf(stderr, "stack_bench: %s\n", info.message().c_str());
        return false;
    }
    return true;
}

const char* name_of(pattern p) { return p == pattern::keep_alive ? "keep-alive" : "short"; }

void print(const char* who, pattern p, const run_options& o, const run_result& r,
           std::uint64_t hz) {
    std::printf("%-7s %-10s conns=%-4u tps=%9.0f  cycles/txn=%7.0f (client %6.0f, server %6.0f)"
                "  tps/core=%8.0f  stolen=%4.1f%%  failures=%lu\n",
                who, name_of(p), o.conns, r.tps(), r.cycles_per_txn(),
                r.transactions ? double(r.client_cycles) / r.transactions : 0.0,
                r.transactions ? double(r.server_cycles) / r.transactions : 0.0,
                r.tps_per_core(hz), 100.0 * double(r.stolen_cycles) / (2.0 * r.seconds * hz),
                static_cast<unsigned long>(r.failures));
    std::fflush(stdout);
}

double median(std::vector<double> v) {
    if (v.empty()) {
        return 0;
    }
    std::sort(v.begin(), v.end());
    const std::size_t m = v.size() / 2;
    return v.size() % 2 != 0 ? v[m] : (v[m - 1] + v[m]) / 2;
}

struct series {
    std::vector<double> tps, cycles, per_core;
    void add(const run_result& r, std::uint64_t hz) {
        tps.push_back(r.tps());
        cycles.push_back(r.cycles_per_txn());
        per_core.push_back(r.tps_per_core(hz));
    }
};

}  // namespace
}  // namespace sluice::bench

int main(int argc, char** argv) {
    using namespace sluice::bench;
    run_options base;
    std::string_view only;
    unsigned repeat = 3;
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        const char* v = i + 1 < argc ? argv[i + 1] : nullptr;
        if (a == "--seconds" && v != nullptr) {
            base.seconds = std::atof(v);
        } else if (a == "--warmup" && v != nullptr) {
            base.warmup_s = std::atof(v);
        } else if (a == "--conns" && v != nullptr) {
            base.conns = static_cast<std::uint32_t>(std::atoi(v));
        } else if (a == "--repeat" && v != nullptr) {
            repeat = static_cast<unsigned>(std::max(1, std::atoi(v)));
        } else if (a == "--only" && v != nullptr) {
            only = v;
        } else {
            std::fprintf(stderr,
                         "usage: %s [--seconds S] [--warmup S] [--conns N] "
                         "[--repeat R] [--only sluice|kernel]\n",
                         argv[0]);
            return a == "--help" ? 0 : 2;
        }
        ++i;
    }
    const char* eal[] = {"stack_bench", "-l", "0,1", "--no-huge", "--no-pci", "--no-shconf",
                         "-m", "1024", "--log-level=lib.eal:error", "--log-level=pmd.*:error",
                         "--no-telemetry"};
    if (rte_eal_init(sizeof(eal) / sizeof(eal[0]), const_cast<char**>(eal)) < 0) {
        std::fprintf(stderr, "stack_bench: EAL init failed: %s\n", rte_strerror(rte_errno));
        return 1;
    }
    if (rte_lcore_count() < 2) {
        std::fprintf(stderr, "stack_bench: needs lcores 0 and 1\n");
        return 1;
    }
    const std::uint64_t hz = rte_get_tsc_hz();
    preempted_cycles = hz / 5000;
    env e;
    e.pool = rte_pktmbuf_pool_create("bench_pool", 32767, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                     SOCKET_ID_ANY);
    rte_ring* c2s = rte_ring_create("c2s", 4096, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
    rte_ring* s2c = rte_ring_create("s2c", 4096, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
    if (e.pool == nullptr || c2s == nullptr || s2c == nullptr ||
        !open_port(e, e.client, "bench_client", s2c, c2s, client_ip) ||
        !open_port(e, e.server, "bench_server", c2s, s2c, server_ip)) {
        std::fprintf(stderr, "stack_bench: setup failed\n");
        return 1;
    }
    std::printf("stack_bench: TSC %.3f GHz, lcores 0 (client) and 1 (server), %u B messages, "
                "%.1f s windows after %.1f s warm-up\n",
                double(hz) / 1e9, msg_bytes, base.seconds, base.warmup_s);
    int rc = 0;
    series sl[2], kr[2];
    for (int p = 0; p < 2; ++p) {
        run_options o = base;
        o.pat = p == 0 ? pattern::keep_alive : pattern::short_conn;
        // Sluice and kernel runs alternate, so that a change in the machine's load hits both.
        for (unsigned r = 0; r < repeat; ++r) {
            run_result x;
            if (only != "kernel") {
                if (!run_sluice(e, o, x)) {
                    std::fprintf(stderr, "stack_bench: sluice %s run failed\n", name_of(o.pat));
                    return 1;
                }
                print("sluice", o.pat, o, x, hz);
                sl[p].add(x, hz);
            }
            if (only != "sluice") {
                const char* why = "";
                run_result k;
                if (!run_kernel(o, k, why)) {
                    std::fprintf(stderr, "stack_bench: kernel %s run failed: %s\n",
                                 name_of(o.pat), why);
                    return 1;
                }
                print("kernel", o.pat, o, k, hz);
                kr[p].add(k, hz);
            }
        }
    }
    std::printf("median of %u runs:\n", repeat);
    for (int p = 0; p < 2; ++p) {
        const auto pat = p == 0 ? pattern::keep_alive : pattern::short_conn;
        const double s_tps = median(sl[p].tps), k_tps = median(kr[p].tps);
        const double s_pc = median(sl[p].per_core), k_pc = median(kr[p].per_core);
        const double s_cy = median(sl[p].cycles), k_cy = median(kr[p].cycles);
        std::printf("%-10s sluice tps=%9.0f cycles/txn=%7.0f tps/core=%8.0f | kernel tps=%9.0f "
                    "cycles/txn=%7.0f tps/core=%8.0f",
                    name_of(pat), s_tps, s_cy, s_pc, k_tps, k_cy, k_pc);
        if (k_tps > 0 && k_pc > 0 && s_tps > 0) {
            std::printf(" | ratio tps %.2fx, per core %.2fx (target %s)", s_tps / k_tps,
                        s_pc / k_pc, p == 0 ? ">= 8x" : ">= 10x");
        }
        std::printf("\n");
    }
    rte_eal_cleanup();
    return rc;
}
