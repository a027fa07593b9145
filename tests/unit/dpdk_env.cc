// See dpdk_env.hh.
#include "dpdk_env.hh"

#include <rte_eal.h>
#include <rte_errno.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "../../dataplane/core/port.hh"
#include "../packet/l2l3_cases.hh"

namespace sluice::test {

dpdk_env& dpdk_env::get() {
    static dpdk_env* env = [] {
        auto* e = new dpdk_env();
        const char* args[] = {"sluice-test", "--no-huge", "--no-pci", "--no-shconf", "-l", "0",
                              "-m", "512", "--vdev=net_ring0", "--log-level=lib.eal:error",
                              "--no-telemetry"};
        int argc = sizeof(args) / sizeof(args[0]);
        if (rte_eal_init(argc, const_cast<char**>(args)) < 0) {
            std::fprintf(stderr, "dpdk_env: EAL init failed: %s\n", rte_strerror(rte_errno));
            std::abort();
        }
        e->pool = rte_pktmbuf_pool_create("test_pool", 8191, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                          SOCKET_ID_ANY);
        if (e->pool == nullptr) {
            std::fprintf(stderr, "dpdk_env: pool: %s\n", rte_strerror(rte_errno));
            std::abort();
        }
        auto id = dp::core::port_lookup("net_ring0");
        if (!id) {
            std::fprintf(stderr, "dpdk_env: %s\n", id.message().c_str());
            std::abort();
        }
        e->port = *id;
        dp::core::port_config pc;
        pc.dev = "net_ring0";
        pc.where = "test";
        pc.addr = rte_cpu_to_be_32(our_ip);
        pc.netmask = rte_cpu_to_be_32(0xffffff00U);
        pc.gateway = rte_cpu_to_be_32(peer_ip);
        pc.rxd = 1024;
        pc.txd = 1024;
        auto info = dp::core::port_open(pc, e->port, {e->pool}, 64, e->ifc);
        if (!info) {
            std::fprintf(stderr, "dpdk_env: %s\n", info.message().c_str());
            std::abort();
        }
        std::memcpy(e->our_mac.data(), e->ifc.mac.addr_bytes, 6);
        return e;
    }();
    return *env;
}

dp::net::stack_params dpdk_env::params() const {
    dp::net::stack_params p;
    p.tsc_hz = hz;
    p.pool = pool;
    p.socket_id = SOCKET_ID_ANY;
    p.arp.entries = 64;
    p.arp.pending_max = 4;
    p.arp.timeout = 300 * hz;
    p.arp.retry = hz;
    p.arp.max_retries = 3;
    return p;
}

std::unique_ptr<dp::net::stack> dpdk_env::make_stack(const dp::net::stack_params& p) const {
    auto s = std::make_unique<dp::net::stack>(p);
    if (auto st = s->add_port(&ifc, 0); !st) {
        std::fprintf(stderr, "dpdk_env: add_port: %s\n", st.message().c_str());
        std::abort();
    }
    return s;
}

void dpdk_env::add_peer(dp::net::stack& s, std::uint64_t now) const {
    rte_ether_addr pm;
    std::memcpy(pm.addr_bytes, peer_mac.data(), 6);
    s.apply_neighbor(port, rte_cpu_to_be_32(peer_ip), pm, now);
}

rte_mbuf* dpdk_env::mbuf_of(const bytes& frame) const {
    rte_mbuf* m = rte_pktmbuf_alloc(pool);
    if (m == nullptr) {
        return nullptr;
    }
    if (frame.size() > rte_pktmbuf_tailroom(m)) {
        rte_pktmbuf_free(m);
        return nullptr;
    }
    char* d = rte_pktmbuf_append(m, static_cast<std::uint16_t>(frame.size()));
    if (!frame.empty()) {
        std::memcpy(d, frame.data(), frame.size());
    }
    return m;
}

std::vector<bytes> dpdk_env::drain(dp::net::stack& s) const {
    s.flush();
    std::vector<bytes> out;
    rte_mbuf* pkts[32];
    std::uint16_t n = 0;
    while ((n = rte_eth_rx_burst(port, 0, pkts, 32)) != 0) {
        for (std::uint16_t i = 0; i < n; ++i) {
            bytes b(rte_pktmbuf_pkt_len(pkts[i]));
            const void* p = rte_pktmbuf_read(pkts[i], 0, static_cast<std::uint32_t>(b.size()), b.data());
            if (p != b.data() && !b.empty()) {
                std::memcpy(b.data(), p, b.size());
            }
            out.push_back(std::move(b));
            rte_pktmbuf_free(pkts[i]);
        }
    }
    return out;
}

}  // namespace sluice::test
