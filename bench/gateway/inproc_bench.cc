// In-process proxy throughput per lcore (issue 6). The real gateway (proxy::gateway with its
// config_hub, fed a snapshot through the control plane's own shared-memory writer, exactly what
// sluice-ctrlplane publishes) runs on a core::worker on lcore 1, polled by worker::poll_once
// like the dataplane's lcore loop. Lcore 0 runs one Sluice net::stack + tcp::tcp_stack that is
// both the HTTP/1.1 keep-alive GET load generator (N connections, one request in flight each)
// and the backend (a fixed 200 response). The two ports are joined back to back by a pair of
// rte_rings (rte_eth_from_rings), so no kernel and no NIC is in the path: what the gateway
// lcore spends is the stack's and the proxy's own cost.
//
// Busy cycles are counted per iteration like core::worker, except that an iteration longer than
// 200 us counts as stolen (the shared 2-vCPU machine preempts us; see bench/tcp/stack_bench.cc).
//
// Run: build/bench/gateway/gateway_inproc_bench [--seconds S] [--conns N] [--repeat R]
// Diagnostics: INPROC_EVENTS=1 prints both stacks' event counters at the end; INPROC_DIAG=1
// also measures the gateway thread's CPU time inside its longest iteration (a window without
// responses prints that iteration's length and the first connections' TCBs on both sides).
// docs/performance.md ("In-process proxy") records the figures.
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <stdlib.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "../../ctrlplane/model/encode.hh"
#include "../../ctrlplane/model/loader.hh"
#include "../../ctrlplane/shm/config_writer.hh"
#include "../../dataplane/core/port.hh"
#include "../../dataplane/core/shm_link.hh"
#include "../../dataplane/core/worker.hh"
#include "../../dataplane/proxy/config_hub.hh"
#include "../../dataplane/proxy/gateway.hh"
#include "../../dataplane/proxy/services.hh"
#include "inproc_load.hh"

namespace sluice::bench {
namespace {

namespace core = dp::core;
namespace net = dp::net;
namespace proxy = dp::proxy;

// 10.78.0.1: the load generator and backend (lcore 0); 10.78.0.2: the gateway (lcore 1).
constexpr std::uint32_t load_ip = 0x0a4e0001, gw_ip = 0x0a4e0002;
constexpr std::uint16_t gw_port = 8080, be_port = 9001;

// The same gateway config as bench/gateway/nginx_side_by_side.py (one listener, one cluster,
// one route), with the backend at the load lcore's address.
const char* const config_yaml = R"(
listeners:
  - { name: web, address: 0.0.0.0, port: 8080, protocol: http }
clusters:
  - name: be
    endpoints: [ { address: 10.78.0.1, port: 9001 } ]
    pool: { max_idle_per_endpoint: 64 }
routes:
  - name: all
    match: { listener: web }
    action: { cluster: be }
)";

struct port_end {
    std::uint16_t id = 0;
    net::iface ifc;
};

bool open_port(rte_mempool* pool, port_end& pe, const char* name, rte_ring* rx, rte_ring* tx,
               std::uint32_t addr) {
    const int id = rte_eth_from_rings(name, &rx, 1, &tx, 1, SOCKET_ID_ANY);
    if (id < 0) {
        std::fprintf(stderr, "inproc_bench: rte_eth_from_rings(%s): %s\n", name,
                     rte_strerror(rte_errno));
        return false;
    }
    pe.id = static_cast<std::uint16_t>(id);
    core::port_config pc;
    pc.dev = std::to_string(id);
    pc.where = name;
    pc.addr = rte_cpu_to_be_32(addr);
    pc.netmask = rte_cpu_to_be_32(0xffffff00U);
    auto info = core::port_open(pc, pe.id, {pool}, 64, pe.ifc);
    if (!info) {
        std::fprintf(stderr, "inproc_bench: %s\n", info.message().c_str());
        return false;
    }
    return true;
}

std::uint64_t preempted_cycles = 0;  // 200 us at the TSC rate, set in main()

struct gw_ctx {
    core::worker* w = nullptr;
    std::atomic<bool> stop{false};
    std::atomic<bool> ready{false};  // the first poll adopted the config: the listener is open
    std::atomic<std::uint64_t> busy{0}, stolen{0}, rx{0};
    std::atomic<std::uint64_t> longest{0};  // the longest iteration (cycles): stall diagnostics
    std::atomic<std::uint64_t> longest_cpu_ns{0};  // thread CPU time in it (INPROC_DIAG only)
    bool diag = false;
};

int gateway_lcore(void* arg) {
    auto* g = static_cast<gw_ctx*>(arg);
    g->w->start();
    std::uint64_t busy = 0, stolen = 0, rx = 0;
    std::uint64_t t0 = rte_rdtsc();
    auto cpu_ns = [] {
        timespec ts{};
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
        return std::uint64_t(ts.tv_sec) * 1'000'000'000ULL + std::uint64_t(ts.tv_nsec);
    };
    std::uint64_t c0 = g->diag ? cpu_ns() : 0;
    while (!g->stop.load(std::memory_order_relaxed)) {
        const std::uint32_t n = g->w->poll_once(t0);
        const std::uint64_t t1 = rte_rdtsc();
        const std::uint64_t c1 = g->diag ? cpu_ns() : 0;
        if (t1 - t0 > preempted_cycles) {
            stolen += t1 - t0;
            if (t1 - t0 > g->longest.load(std::memory_order_relaxed)) {
                g->longest.store(t1 - t0, std::memory_order_relaxed);
                g->longest_cpu_ns.store(c1 - c0, std::memory_order_relaxed);
            }
        } else if (n != 0) {
            busy += t1 - t0;
        }
        rx += n;
        g->busy.store(busy, std::memory_order_relaxed);
        g->stolen.store(stolen, std::memory_order_relaxed);
        g->rx.store(rx, std::memory_order_relaxed);
        g->ready.store(true, std::memory_order_release);
        t0 = t1;
        c0 = c1;
    }
    return 0;
}

void dump(const char* who, const net::tcp::connection* c) {
    if (c == nullptr) {
        std::printf("    %s: none\n", who);
        return;
    }
    std::printf("    %s: state %d snd_una %u snd_nxt %u snd_max %u snd_wnd %u queued %u | rcv_nxt %u "
                "rcv_wnd %u rcv_adv %u | ts_ok %d ts_recent %u retries %u dupacks %u "
                "unacked_segs %u ooo %p\n",
                who, static_cast<int>(c->state), c->snd_una, c->snd_nxt, c->snd_max, c->snd_wnd,
                c->snd_queued, c->rcv_nxt, c->rcv_wnd, c->rcv_adv, c->ts_ok, c->ts_recent,
                c->retries, c->dupacks, c->unacked_segs, static_cast<const void*>(c->ooo));
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const std::size_t m = v.size() / 2;
    return v.empty() ? 0 : v.size() % 2 != 0 ? v[m] : (v[m - 1] + v[m]) / 2;
}

}  // namespace
}  // namespace sluice::bench

int main(int argc, char** argv) {
    using namespace sluice::bench;
    load_options lo;
    unsigned repeat = 3;
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        const char* v = i + 1 < argc ? argv[i + 1] : nullptr;
        if (a == "--seconds" && v != nullptr) {
            lo.seconds = std::atof(v);
        } else if (a == "--warmup" && v != nullptr) {
            lo.warmup_s = std::atof(v);
        } else if (a == "--conns" && v != nullptr) {
            lo.conns = static_cast<std::uint32_t>(std::atoi(v));
        } else if (a == "--repeat" && v != nullptr) {
            repeat = static_cast<unsigned>(std::max(1, std::atoi(v)));
        } else {
            std::fprintf(stderr, "usage: %s [--seconds S] [--warmup S] [--conns N] [--repeat R]\n",
                         argv[0]);
            return a == "--help" ? 0 : 2;
        }
        ++i;
    }
    const char* eal[] = {"inproc_bench", "-l", "0,1", "--no-huge", "--no-pci", "--no-shconf",
                         "-m", "1024", "--log-level=lib.eal:error", "--log-level=pmd.*:error",
                         "--no-telemetry"};
    if (rte_eal_init(sizeof(eal) / sizeof(eal[0]), const_cast<char**>(eal)) < 0 ||
        rte_lcore_count() < 2) {
        std::fprintf(stderr, "inproc_bench: EAL init failed or fewer than 2 lcores: %s\n",
                     rte_strerror(rte_errno));
        return 1;
    }
    const std::uint64_t hz = rte_get_tsc_hz();
    preempted_cycles = hz / 5000;
    rte_mempool* pool = rte_pktmbuf_pool_create("bench_pool", 32767, 256, 0,
                                                RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    rte_ring* l2g = rte_ring_create("l2g", 4096, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
    rte_ring* g2l = rte_ring_create("g2l", 4096, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
    port_end load_pe, gw_pe;
    if (pool == nullptr || l2g == nullptr || g2l == nullptr ||
        !open_port(pool, load_pe, "bench_load", g2l, l2g, load_ip) ||
        !open_port(pool, gw_pe, "bench_gw", l2g, g2l, gw_ip)) {
        return 1;
    }

    // The control plane's side: load, validate and encode the YAML, publish it in a private
    // shared-memory instance (what sluice-ctrlplane does), removed again at exit.
    char tmpl[] = "/dev/shm/sluice-inproc-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) {
        std::perror("inproc_bench: mkdtemp");
        return 1;
    }
    const std::string shm_dir = tmpl;
    const std::string instance = "inproc" + std::to_string(getpid());
    struct cleanup_dir {
        std::string d;
        ~cleanup_dir() { std::filesystem::remove_all(d); }
    } cleanup{shm_dir};
    auto loaded = sluice::cp::model::load_config(config_yaml, "inproc.yaml");
    if (!loaded.ok()) {
        std::fprintf(stderr, "inproc_bench: config: %s\n", loaded.errors.front().message.c_str());
        return 1;
    }
    auto bytes = sluice::cp::model::encode(*loaded.cfg);
    sluice::cp::shm::segment_options so;
    so.instance = instance;
    so.dir = shm_dir;
    auto writer = sluice::cp::shm::config_writer::open(so);
    if (!bytes || !writer) {
        std::fprintf(stderr, "inproc_bench: encode or shm writer failed\n");
        return 1;
    }
    const auto now_ns = static_cast<std::uint64_t>(
        std::chrono::steady_clock::now().time_since_epoch().count());
    if (auto g = writer->publish(*bytes, now_ns); !g) {
        std::fprintf(stderr, "inproc_bench: publish: %s\n", g.message().c_str());
        return 1;
    }

    // The dataplane's side on lcore 1: what dataplane::setup() and start_gateway() build.
    net::stack_params sp;
    sp.tsc_hz = hz;
    sp.pool = pool;
    sp.socket_id = SOCKET_ID_ANY;
    sp.arp.entries = 64;
    sp.arp.pending_max = 4;
    sp.arp.timeout = 300 * hz;
    sp.arp.retry = hz;
    sp.arp.max_retries = 3;
    core::worker w(1, 0, sp);
    if (!w.add_port(&gw_pe.ifc, 0) || !w.tcp().ok()) {
        return 1;
    }
    w.stack().apply_neighbor(gw_pe.id, load_pe.ifc.addr, load_pe.ifc.mac, rte_rdtsc());
    auto link = core::shm_link::attach(instance, shm_dir);
    if (!link) {
        std::fprintf(stderr, "inproc_bench: shm_link: %s\n", link.message().c_str());
        return 1;
    }
    auto slot = (*link)->register_worker(1);
    if (!slot) {
        return 1;
    }
    w.link_shm(*slot);
    proxy::gateway_services svc;
    svc.worker_ports.push_back({{gw_pe.id, gw_pe.ifc.addr, gw_pe.ifc.netmask, 0}});
    svc.verdicts = rte_ring_create_elem("sl_gw_verdicts", sizeof(proxy::gateway_services::verdict_req),
                                        4096, SOCKET_ID_ANY, RING_F_SC_DEQ);
    proxy::config_hub hub((*link)->config(), 1, svc);
    proxy::gateway_params gp;
    gp.max_sessions = gp.max_upstreams = gp.max_requests = 2048;  // dataplane.cc: half the TCBs
    hub.start();
    if (hub.current() == nullptr) {
        std::fprintf(stderr, "inproc_bench: the gateway config did not build\n");
        return 1;
    }
    proxy::gateway gw(w.tcp(), pool, hub, 0, w.shm(), gp, svc);
    w.attach_gateway(&gw);
    gw_ctx g;
    g.w = &w;
    g.diag = std::getenv("INPROC_DIAG") != nullptr;
    if (rte_eal_remote_launch(gateway_lcore, &g, 1) != 0) {
        return 1;
    }

    while (!g.ready.load(std::memory_order_acquire)) {
    }
    load_node load;
    if (!load.make(pool, load_pe.id, &load_pe.ifc, gw_pe.ifc.addr, gw_pe.ifc.mac, be_port)) {
        return 1;
    }
    std::printf("inproc_bench: TSC %.3f GHz; gateway on lcore 1, load + backend on lcore 0, "
                "%u keep-alive connections, %.1f s windows after %.1f s warm-up\n",
                double(hz) / 1e9, lo.conns, lo.seconds, lo.warmup_s);
    std::vector<double> rps, cyc;
    int rc = 0;
    bool stalled = false;
    for (unsigned r = 0; r < repeat; ++r) {
        load_window win;
        std::uint64_t b0 = 0, s0 = 0;
        const bool ok = load.run(lo, gw_port, rte_cpu_to_be_32(gw_ip), win, [&](bool end) {
            if (!end) {
                b0 = g.busy.load();
                s0 = g.stolen.load();
            } else {
                win.gw_busy = g.busy.load() - b0;
                win.gw_stolen = g.stolen.load() - s0;
            }
        });
        const double req_s = win.responses / win.seconds;
        const double per_req = win.responses ? double(win.gw_busy) / double(win.responses) : 0;
        std::printf("run %u: %.0f proxied requests/s, gateway lcore %.0f busy cycles/request "
                    "(%.1f%% of its window busy, %.1f%% stolen), load lcore %.0f cycles/request, "
                    "errors %lu\n",
                    r + 1, req_s, per_req, 100.0 * double(win.gw_busy) / (win.seconds * hz),
                    100.0 * double(win.gw_stolen) / (win.seconds * hz),
                    win.responses ? double(win.load_busy) / double(win.responses) : 0.0,
                    static_cast<unsigned long>(win.errors));
        std::fflush(stdout);
        if (!ok || win.responses == 0 || win.errors != 0) {
            rc = 1;
        }
        stalled = stalled || win.responses == 0;
        rps.push_back(req_s);
        cyc.push_back(per_req);
    }
    std::printf("median of %u runs: %.0f proxied keep-alive requests/s; %.0f gateway-lcore busy "
                "cycles per request (target <= 3000); %.0f requests/s per fully busy proxy lcore\n",
                repeat, median(rps), median(cyc), median(cyc) > 0 ? double(hz) / median(cyc) : 0);
    g.stop.store(true);
    rte_eal_wait_lcore(1);
    if (stalled) {
        // A window without a single response: show the first client connections on both sides.
        std::printf("stalled; the gateway lcore's longest iteration took %.1f ms (thread CPU "
                    "time in it: %.1f ms, measured with INPROC_DIAG=1); first client "
                    "connections (load side, then the gateway's peer):\n",
                    double(g.longest.load()) * 1e3 / double(hz), g.longest_cpu_ns.load() / 1e6);
        for (std::uint32_t i = 0; i < std::min<std::uint32_t>(lo.conns, 4); ++i) {
            const auto* c = load.client_conn(i);
            dump("load client", c);
            std::printf("    load client buffered response bytes %u\n", load.client_buffered(i));
            if (c != nullptr) {
                net::tcp::flow_key k{};
                k.family = 4;
                k.local_addr[0] = gw_pe.ifc.addr;
                k.remote_addr[0] = load_pe.ifc.addr;
                k.local_port = rte_cpu_to_be_16(gw_port);
                k.remote_port = c->key.local_port;
                dump("gateway side", w.tcp().lookup(k));
            }
        }
    }
    {
        rte_eth_stats es{};
        rte_eth_stats_get(gw_pe.id, &es);
        const auto& qs = w.stack().stats(gw_pe.id);
        std::printf("gateway port over the whole run: %lu responses, %lu frames in, %lu out; %lu "
                    "TCP connections accepted, %lu opened upstream, %lu drops\n",
                    static_cast<unsigned long>(load.total_responses()),
                    static_cast<unsigned long>(es.ipackets), static_cast<unsigned long>(es.opackets),
                    static_cast<unsigned long>(qs.counted(net::event::tcp_passive_open)),
                    static_cast<unsigned long>(qs.counted(net::event::tcp_active_open)),
                    [&] {
                        unsigned long d = 0;
                        for (const auto& c : qs.drops) {
                            d += c.read();
                        }
                        return d;
                    }());
        std::printf("  mbufs in use %u of %u; gateway TCP connections %u; longest gateway "
                    "iteration %.1f ms\n",
                    rte_mempool_in_use_count(pool), pool->size, w.tcp().active_connections(),
                    double(g.longest.load()) * 1e3 / double(hz));
        for (std::size_t i = 0; i < net::drop_reason_count; ++i) {
            for (const auto* side : {&qs, &load.stats()}) {
                if (side->drops[i].read() != 0) {
                    std::printf("  %s drop %s: %lu\n", side == &qs ? "gateway" : "load",
                                std::string(net::to_string(static_cast<net::drop_reason>(i))).c_str(),
                                static_cast<unsigned long>(side->drops[i].read()));
                }
            }
        }
        if (std::getenv("INPROC_EVENTS") != nullptr) {
            for (std::size_t i = 0; i < net::event_count; ++i) {
                std::printf("  event %s: gateway %lu load %lu\n",
                            std::string(net::to_string(static_cast<net::event>(i))).c_str(),
                            static_cast<unsigned long>(qs.events[i].read()),
                            static_cast<unsigned long>(load.stats().events[i].read()));
            }
        }
    }
    load.teardown();
    gw.release();
    hub.stop();
    (*link)->deregister_all();
    w.stack().release();
    return rc;
}
