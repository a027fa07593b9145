// Dataplane lifecycle on the main lcore; see dataplane.hh.
#include "dataplane.hh"

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>

#include "../apps/tcp_apps.hh"
#include "../proxy/binary/crc32.hh"
#include "log.hh"
#include "shm_link.hh"

namespace sluice::dp::core {

namespace {

// Per-lcore mempool cache; DPDK's maximum is 512, l3fwd uses 256.
constexpr unsigned pool_cache = 256;
// DPDK 22.11's af_xdp PMD uses the RX mempool as the UMEM and keeps its fill ring stocked from it:
// XSK_RING_PROD__DEFAULT_NUM_DESCS (2048) fill entries plus one, and up to 2048 more in the RX
// ring. It does not hand them back on close; they go with the pool. So each AF_XDP queue gets a
// pool of its own, sized for fill + RX + TX rings, and the shutdown check allows for what the
// PMD keeps.
constexpr unsigned xsk_ring_descs = 2048;
constexpr unsigned umem_pool_size = 4 * xsk_ring_descs - 1;
constexpr unsigned umem_pmd_held_max = 2 * xsk_ring_descs + 1;

bool uses_umem(std::uint16_t port_id) { return port_driver(port_id) == "net_af_xdp"; }

// Per worker, for TCP queues (create_pools): 8192 mbufs of ~2.3 KB is ~19 MB, enough for 22
// connections stalled at a full 256 KiB send queue and 256 KiB held receive window each (362
// mbufs at MTU 1500), or for any number of connections that keep a fraction of that.
constexpr std::uint64_t tcp_mbufs_per_worker_cap = 8192;

std::uint16_t max_mtu_of(const dp_config& cfg) {
    std::uint16_t mtu = 1500;
    for (const auto& pc : cfg.ports) {
        mtu = std::max(mtu, pc.mtu);
    }
    return mtu;
}

int launch_worker(void* arg) {
    auto* p = static_cast<std::pair<worker*, const std::atomic<bool>*>*>(arg);
    p->first->run(*p->second);
    return 0;
}

}  // namespace

dataplane::~dataplane() {
    if (!ports_.empty() || !pools_.empty()) {
        (void)shutdown();
    }
}

status dataplane::create_pools(const std::vector<unsigned>& worker_lcores,
                               const std::vector<std::uint16_t>& port_ids,
                               const std::vector<std::vector<unsigned>>& serving) {
    // What must fit at once: every RX and TX ring full, every worker's cache and TX buffers,
    // and packets held for ARP, plus slack for replies in flight.
    std::map<int, std::uint64_t> need;
    std::uint16_t max_mtu = 0;
    for (std::size_t i = 0; i < port_ids.size(); ++i) {
        const int s = std::max(rte_eth_dev_socket_id(port_ids[i]), 0);
        const auto& pc = cfg_.ports[i];
        max_mtu = std::max(max_mtu, pc.mtu);
        if (uses_umem(port_ids[i])) {
            continue;  // RX comes from per-queue UMEM pools; TX replies reuse those mbufs
        }
        need[s] += serving[i].size() * (pc.rxd + pc.txd + net::tx_queue_capacity +
                                        std::uint64_t{cfg_.arp_pending} * 64);
    }
    // TCP send queues and received data held for paused applications (docs/tcp.md, "Mempool
    // sizing"): every connection at its limits would be max_connections * (snd_buffer +
    // rcv_buffer) of segments, far more than memory allows at 4096 connections; the pool gets
    // that demand capped per worker. Backpressure (pause_recv) keeps each connection within
    // its two buffers, so the cap is what many simultaneously stalled connections share.
    const std::uint64_t tcp_mbufs = std::min<std::uint64_t>(
        net::tcp::tcp_stack::mbuf_demand(net::tcp::tcp_params{}, max_mtu_of(cfg_)),
        tcp_mbufs_per_worker_cap);
    for (unsigned lcore : worker_lcores) {
        need[static_cast<int>(rte_lcore_to_socket_id(lcore))] +=
            pool_cache + net::burst_size + tcp_mbufs;
    }
    // Room for the frame (MTU + Ethernet header + one VLAN tag + CRC) after the headroom.
    const std::uint32_t frame = std::uint32_t{max_mtu} + RTE_ETHER_HDR_LEN + 4 + RTE_ETHER_CRC_LEN;
    data_room_ = static_cast<std::uint16_t>(
        std::max<std::uint32_t>(RTE_MBUF_DEFAULT_BUF_SIZE, frame + RTE_PKTMBUF_HEADROOM));
    const std::uint16_t data_room = data_room_;
    for (auto [socket, n] : need) {
        n += 1024;  // slack
        std::uint64_t count = cfg_.mbufs != 0 ? cfg_.mbufs : n;
        if (cfg_.mbufs != 0 && cfg_.mbufs < n) {
            log::warn("--mbufs {} is below the {} that socket {} needs for full rings; RX may "
                      "run dry under load (rx_nombuf)",
                      cfg_.mbufs, n, socket);
        }
        // A power of two minus one is the mempool's optimal size (rte_mempool.h).
        std::uint64_t p2 = 1;
        while (p2 - 1 < count) {
            p2 <<= 1;
        }
        count = p2 - 1;
        const std::string name = "sluice_mbuf_s" + std::to_string(socket);
        rte_mempool* mp = rte_pktmbuf_pool_create(name.c_str(), static_cast<unsigned>(count),
                                                  pool_cache, 0, data_room, socket);
        if (mp == nullptr) {
            return error{"mempool " + name + " (" + std::to_string(count) + " mbufs of " +
                         std::to_string(data_room) + " B on socket " + std::to_string(socket) +
                         "): " + rte_strerror(rte_errno) +
                         " (reserve more hugepages: scripts/setup, SLUICE_HUGEPAGES)"};
        }
        if (pools_.size() <= static_cast<std::size_t>(socket)) {
            pools_.resize(static_cast<std::size_t>(socket) + 1, nullptr);
        }
        pools_[static_cast<std::size_t>(socket)] = mp;
        log::info("mempool {}: {} mbufs of {} B, cache {} per lcore", name, count, data_room,
                  pool_cache);
    }
    return ok_status();
}

status dataplane::setup() {
    std::vector<unsigned> worker_lcores;
    unsigned l = 0;
    RTE_LCORE_FOREACH_WORKER(l) { worker_lcores.push_back(l); }
    if (worker_lcores.empty()) {
        main_is_worker_ = true;
        worker_lcores.push_back(rte_get_main_lcore());
        log::info("one lcore only: the main lcore {} polls and does housekeeping",
                  rte_get_main_lcore());
    }

    // Resolve ports and who serves them before touching any device.
    std::vector<std::uint16_t> port_ids;
    std::vector<std::vector<unsigned>> serving;
    std::set<std::uint16_t> seen;
    const std::string xdp_prog = cfg_.xdp_prog.empty() ? default_xdp_prog() : cfg_.xdp_prog;
    created_.resize(cfg_.ports.size());
    for (std::size_t pi = 0; pi < cfg_.ports.size(); ++pi) {
        auto& pc = cfg_.ports[pi];
        std::vector<unsigned> lc = pc.lcores.empty() ? worker_lcores : pc.lcores;
        if (pc.kind != port_kind::dpdk) {
            // One queue pair per serving worker, created before the lookup below finds it.
            auto dev = port_create_device(pc, static_cast<std::uint16_t>(lc.size()), xdp_prog);
            if (!dev) {
                return error{dev.message()};
            }
            created_[pi] = std::move(dev).value();
        }
        auto id = port_lookup(pc.dev);
        if (!id) {
            return error{pc.where + ": " + id.message()};
        }
        if (!seen.insert(*id).second) {
            return error{pc.where + ": port " + pc.dev + " is configured twice"};
        }
        if (*id >= net::max_ports) {
            return error{pc.where + ": port id " + std::to_string(*id) + " is above " +
                         std::to_string(net::max_ports - 1)};
        }
        for (unsigned x : lc) {
            if (std::find(worker_lcores.begin(), worker_lcores.end(), x) == worker_lcores.end()) {
                std::string list;
                for (unsigned w : worker_lcores) {
                    if (!list.empty()) {
                        list += ',';
                    }
                    list += std::to_string(w);
                }
                return error{pc.where + ": lcore " + std::to_string(x) +
                             " is not a worker lcore (workers from EAL -l: " + list + ")"};
            }
        }
        port_ids.push_back(*id);
        serving.push_back(std::move(lc));
    }

    if (auto s = create_pools(worker_lcores, port_ids, serving); !s) {
        return s;
    }
    auto pool_for = [&](int socket) {
        if (socket >= 0 && static_cast<std::size_t>(socket) < pools_.size() &&
            pools_[static_cast<std::size_t>(socket)] != nullptr) {
            return pools_[static_cast<std::size_t>(socket)];
        }
        for (auto* p : pools_) {
            if (p != nullptr) {
                return p;  // a port on another socket: cross-socket, but working
            }
        }
        return static_cast<rte_mempool*>(nullptr);
    };

    const std::uint64_t hz = rte_get_tsc_hz();
    for (unsigned i = 0; i < worker_lcores.size(); ++i) {
        net::stack_params sp;
        sp.tsc_hz = hz;
        sp.arp.entries = cfg_.arp_entries;
        sp.arp.pending_max = static_cast<std::uint8_t>(cfg_.arp_pending);
        sp.arp.timeout = hz * cfg_.arp_timeout_s;
        sp.arp.retry = hz * cfg_.arp_retry_ms / 1000;
        sp.arp.max_retries = static_cast<std::uint8_t>(cfg_.arp_retries);
        sp.socket_id = static_cast<int>(rte_lcore_to_socket_id(worker_lcores[i]));
        sp.pool = pool_for(sp.socket_id);
        workers_.push_back(std::make_unique<worker>(worker_lcores[i], i, sp, cfg_.tcp_max_connections));
    }
    for (std::size_t i = 0; i < port_ids.size(); ++i) {
        auto ifc = std::make_unique<net::iface>();
        const int socket = std::max(rte_eth_dev_socket_id(port_ids[i]), 0);
        std::vector<rte_mempool*> rx_pools(serving[i].size(), pool_for(socket));
        if (uses_umem(port_ids[i])) {
            for (std::size_t q = 0; q < rx_pools.size(); ++q) {
                const std::string name =
                    "sluice_umem_p" + std::to_string(port_ids[i]) + "_q" + std::to_string(q);
                rx_pools[q] = rte_pktmbuf_pool_create(name.c_str(), umem_pool_size, pool_cache, 0,
                                                      data_room_, socket);
                if (rx_pools[q] == nullptr) {
                    return error{cfg_.ports[i].where + ": UMEM pool " + name + ": " +
                                 rte_strerror(rte_errno)};
                }
                umem_pools_.push_back(rx_pools[q]);
            }
        }
        auto info = port_open(cfg_.ports[i], port_ids[i], rx_pools, cfg_.ttl, *ifc);
        if (!info) {
            if (created_[i] && created_[i]->xdp) {
                // The PMD loads and attaches the XDP program while setting up RX queue 0.
                return error{info.message() + " (the af_xdp PMD's lines above say why; if the "
                                              "kernel refused the XDP program, e.g. an MTU "
                                              "above one page, dev=auto: picks af_packet, since "
                                              "the 22.11 PMD cannot ask for skb mode)"};
            }
            return error{info.message()};
        }
        ports_.push_back(*info);
        if (created_[i]) {
            if (auto s = port_device_started(cfg_.ports[i], *created_[i], xsk_fds_); !s) {
                return s;
            }
        }
        for (std::uint16_t q = 0; q < serving[i].size(); ++q) {
            for (auto& w : workers_) {
                if (w->lcore() == serving[i][q]) {
                    if (auto s = w->add_port(ifc.get(), q); !s) {
                        return s;
                    }
                    if (q == 0) {
                        w->announce_on(port_ids[i]);
                    }
                }
            }
        }
        ifaces_.push_back(std::move(ifc));
    }
    std::vector<worker*> peers;
    for (auto& w : workers_) {
        peers.push_back(w.get());
    }
    for (auto& w : workers_) {
        // The stack allocates ARP requests from its socket's pool.
        if (auto s = w->create_ring(static_cast<int>(rte_lcore_to_socket_id(w->lcore()))); !s) {
            return s;
        }
        w->set_peers(peers);
    }
    if (!cfg_.instance.empty()) {
        auto link = shm_link::attach(cfg_.instance, cfg_.shm_dir);
        if (!link) {
            return error{link.message()};
        }
        shm_ = std::move(link).value();
        for (auto& w : workers_) {
            auto slot = shm_->register_worker(w->lcore());
            if (!slot) {
                return error{"control-plane stats segment: " + slot.message()};
            }
            w->link_shm(slot.value());
        }
        log::info("control plane: attached instance {} ({}), {} worker slot(s) registered",
                  cfg_.instance, cfg_.shm_dir, workers_.size());
    }
    if (auto s = start_apps(); !s) {
        return s;
    }
    return start_gateway();
}

status dataplane::start_gateway() {
    if (shm_ == nullptr || !cfg_.gateway) {
        return ok_status();
    }
    const auto crc = proxy::binary::crc_init();  // rte_net_crc's SIMD choice, after EAL init
    log::info("gateway: binary-protocol CRC-32 via rte_net_crc ({})",
              crc == proxy::binary::crc_impl::avx512 ? "avx512"
              : crc == proxy::binary::crc_impl::sse42 ? "sse4.2" : "scalar");
    gw_services_ = std::make_unique<proxy::gateway_services>();
    for (auto& w : workers_) {
        auto& ps = gw_services_->worker_ports.emplace_back();
        for (const auto& b : w->bindings()) {
            for (const auto& ifc : ifaces_) {
                if (ifc->port_id == b.port) {
                    ps.push_back({ifc->port_id, ifc->addr, ifc->netmask, ifc->gateway});
                }
            }
        }
    }
    if (!cfg_.access_log.empty()) {
        auto log = filters::access_log::open(cfg_.access_log, 8192, SOCKET_ID_ANY);
        if (!log) {
            return error{"--access-log " + cfg_.access_log + ": " + log.message()};
        }
        gw_services_->access_log = std::move(log).value();
    }
    // Verdicts for XDP from the workers' filters to the builder thread (services.hh).
    gw_services_->verdicts = rte_ring_create_elem(
        "sl_gw_verdicts", sizeof(proxy::gateway_services::verdict_req), 4096, SOCKET_ID_ANY,
        RING_F_SC_DEQ);
    if (gw_services_->verdicts == nullptr) {
        return error{std::string("gateway: verdict ring: ") + rte_strerror(rte_errno)};
    }
    gw_hub_ = std::make_unique<proxy::config_hub>(shm_->config(),
                                                  static_cast<unsigned>(workers_.size()),
                                                  *gw_services_);
    gw_hub_->publish_health(shm_->endpoint_table());  // sluicectl cluster health
    proxy::gateway_params gp;
    // Half the TCP table for clients, half for upstream connections.
    const std::uint32_t tcbs = cfg_.tcp_max_connections;
    gp.max_sessions = tcbs / 2;
    gp.max_upstreams = tcbs / 2;
    gp.max_requests = tcbs / 2;
    for (std::size_t i = 0; i < workers_.size(); ++i) {
        auto& w = workers_[i];
        gateways_.push_back(std::make_unique<proxy::gateway>(
            w->tcp(), w->stack().pool(), *gw_hub_, static_cast<unsigned>(i),
            w->shm(), gp, *gw_services_));
        w->attach_gateway(gateways_.back().get());
    }
    gw_hub_->start();
    log::info("gateway: on {} worker(s); config builder started (generation {})",
              workers_.size(), gw_hub_->current() != nullptr ? gw_hub_->current()->generation : 0);
    return ok_status();
}

status dataplane::start_apps() {
    for (auto& w : workers_) {
        if (!w->tcp().ok()) {
            return error{"worker " + std::to_string(w->lcore()) + ": TCP connection table: " +
                         rte_strerror(rte_errno)};
        }
        for (const auto& text : cfg_.apps) {
            auto spec = apps::parse_tcp_app(text);
            if (!spec) {
                return error{spec.message()};
            }
            spec->backlog = cfg_.app_backlog;
            auto h = apps::start_tcp_app(*spec, w->tcp());
            if (!h) {
                return error{h.message()};
            }
            if (spec->kind == apps::tcp_app_kind::client && !w->bindings().empty()) {
                // Connects from the worker's first port, on its own lcore once it runs.
                w->on_start(
                    [](void* ctx, worker& wk) {
                        apps::start_client(*static_cast<net::tcp::tcp_handler*>(ctx),
                                           wk.bindings().front().port);
                    },
                    h->get());
            }
            apps_.push_back(std::move(h).value());
        }
    }
    for (const auto& text : cfg_.apps) {
        log::info("TCP app {} on every worker", text);
    }
    return ok_status();
}

void dataplane::run(const std::atomic<bool>& quit, std::atomic<bool>& dump_requested) {
    started_tsc_ = rte_rdtsc();
    const std::uint64_t hz = rte_get_tsc_hz();
    std::uint64_t next_periodic = started_tsc_ + hz * cfg_.stats_interval_s;
    struct hk_state {
        dataplane* self;
        const std::atomic<bool>* quit;
        std::atomic<bool>* dump;
        std::uint64_t* next_periodic;
        std::uint64_t hz;
    } hk{this, &quit, &dump_requested, &next_periodic, hz};
    auto housekeeping = [](void* ctx) {
        auto* h = static_cast<hk_state*>(ctx);
        if (h->quit->load()) {
            h->self->stop_workers_.store(true);
        }
        bool periodic = false;
        if (h->self->cfg_.stats_interval_s != 0 && rte_rdtsc() >= *h->next_periodic) {
            periodic = true;
            *h->next_periodic = rte_rdtsc() + h->hz * h->self->cfg_.stats_interval_s;
        }
        if (h->dump->exchange(false) || periodic) {
            h->self->dump_stats();
        }
    };

    std::vector<std::pair<worker*, const std::atomic<bool>*>> args;
    args.reserve(workers_.size());
    if (!main_is_worker_) {
        for (auto& w : workers_) {
            args.emplace_back(w.get(), &stop_workers_);
            if (int rc = rte_eal_remote_launch(launch_worker, &args.back(), w->lcore()); rc != 0) {
                log::error("lcore {}: launch failed: {}", w->lcore(), rte_strerror(-rc));
                stop_workers_ = true;
                rte_eal_mp_wait_lcore();
                return;
            }
        }
        launched_ = true;
    }
    std::printf("sluice-dataplane: ready ports=%zu workers=%zu\n", ports_.size(), workers_.size());
    std::fflush(stdout);
    if (main_is_worker_) {
        workers_.front()->run(stop_workers_, housekeeping, &hk);
        return;
    }
    while (!quit.load()) {
        housekeeping(&hk);
        rte_delay_us_sleep(20000);  // the main lcore only keeps house; 20 ms is plenty
    }
}

std::uint64_t dataplane::shutdown() {
    stop_workers_.store(true);
    if (launched_) {
        rte_eal_mp_wait_lcore();
        launched_ = false;
    }
    if (gw_hub_ != nullptr) {
        gw_hub_->stop();
    }
    if (shm_ != nullptr) {
        shm_->deregister_all();  // the control plane stops waiting for these lcores at once
    }
    std::uint64_t leaked = 0;
    if (!ports_.empty()) {
        dump_stats();  // final figures, while the ports can still report theirs
    }
    for (auto& g : gateways_) {
        g->release();  // mbufs the gateway holds (receive queues), before the pools are checked
    }
    for (auto& w : workers_) {
        w->stack().release();
    }
    for (std::size_t i = 0; i < ports_.size(); ++i) {
        auto& dev = created_[i];  // ports_ follows cfg_.ports, so index i matches
        if (dev) {
            port_device_before_close(*dev);
        }
        port_close(ports_[i].port_id);
        if (dev) {
            port_device_after_close(*dev);
        }
    }
    ports_.clear();
    created_.clear();
    for (auto*& mp : pools_) {
        if (mp == nullptr) {
            continue;
        }
        const unsigned avail = rte_mempool_avail_count(mp);
        const unsigned size = mp->size;
        if (avail != size) {
            log::error("mbuf leak: mempool {}: {} of {} mbufs not returned", mp->name,
                       size - avail, size);
            leaked += size - avail;
        } else {
            log::info("mempool {}: all {} mbufs returned", mp->name, size);
        }
        rte_mempool_free(mp);
        mp = nullptr;
    }
    pools_.clear();
    for (auto* mp : umem_pools_) {
        const unsigned held = mp->size - rte_mempool_avail_count(mp);
        if (held > umem_pmd_held_max) {
            log::error("mbuf leak: mempool {}: {} mbufs not returned, more than the {} the "
                       "af_xdp PMD keeps in its rings",
                       mp->name, held, umem_pmd_held_max);
            leaked += held - umem_pmd_held_max;
        } else {
            log::info("mempool {}: all mbufs returned but the {} the af_xdp PMD keeps in its "
                      "fill and RX rings (freed with the pool)",
                      mp->name, held);
        }
        rte_mempool_free(mp);
    }
    umem_pools_.clear();
    workers_.clear();
    gateways_.clear();
    gw_hub_.reset();  // frees compiled configs (filters release limiters and breakers)
    if (gw_services_ != nullptr) {
        rte_ring_free(gw_services_->verdicts);
    }
    gw_services_.reset();
    ifaces_.clear();
    return leaked;
}

}  // namespace sluice::dp::core
