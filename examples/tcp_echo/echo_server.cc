// tcp_echo: a standalone TCP echo server on Sluice's stack, the smallest complete program using
// the public API (docs/tcp.md, "Application API"). One DPDK port, one queue, one lcore: the
// main lcore polls RX, runs the L2/L3 stack and TCP, and flushes TX, run to completion.
//
//   sudo ./build/examples/tcp_echo/tcp_echo --no-pci --vdev=net_af_packet0,iface=veth1 --
//        10.0.0.2/24 7                                  (one command line)
//   (from the veth's peer)  echo hello | nc 10.0.0.2 7
//
// EAL arguments come before "--"; after it: our address/prefix and the TCP port. Ctrl-C
// stops it; every mbuf is returned before exit.
#include <arpa/inet.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "echo_handler.hh"
#include "net/stack.hh"
#include "net/tcp/tcp_stack.hh"

namespace {

volatile std::sig_atomic_t quit = 0;

// Sizes for a demo: one port, a few hundred connections.
constexpr std::uint16_t ring_size = 1024;
constexpr unsigned pool_mbufs = 8191;  // 2^n - 1 (rte_mempool.h); docs/tcp.md "Mempool sizing"

bool parse_addr(const char* s, rte_be32_t& addr, rte_be32_t& mask) {
    std::string a(s);
    unsigned prefix = 24;
    if (const auto slash = a.find('/'); slash != std::string::npos) {
        prefix = static_cast<unsigned>(std::atoi(a.c_str() + slash + 1));
        a.resize(slash);
    }
    in_addr ia{};
    if (inet_pton(AF_INET, a.c_str(), &ia) != 1 || prefix == 0 || prefix > 32) {
        return false;
    }
    addr = ia.s_addr;
    mask = rte_cpu_to_be_32(prefix == 32 ? 0xffffffffU : ~(0xffffffffU >> prefix));
    return true;
}

int setup_port(std::uint16_t port, rte_mempool* pool) {
    rte_eth_conf conf{};
    if (rte_eth_dev_configure(port, 1, 1, &conf) != 0 ||
        rte_eth_rx_queue_setup(port, 0, ring_size, rte_eth_dev_socket_id(port), nullptr, pool) !=
            0 ||
        rte_eth_tx_queue_setup(port, 0, ring_size, rte_eth_dev_socket_id(port), nullptr) != 0) {
        return -1;
    }
    return rte_eth_dev_start(port);
}

}  // namespace

int main(int argc, char** argv) {
    namespace net = sluice::dp::net;
    const int eal = rte_eal_init(argc, argv);
    if (eal < 0) {
        std::fprintf(stderr, "tcp_echo: EAL init failed\n");
        return 2;
    }
    argc -= eal;
    argv += eal;
    rte_be32_t addr = 0, mask = 0;
    if (argc != 3 || !parse_addr(argv[1], addr, mask) || std::atoi(argv[2]) <= 0 ||
        rte_eth_dev_count_avail() == 0) {
        std::fprintf(stderr, "usage: tcp_echo <EAL args> -- A.B.C.D/PREFIX PORT (needs a port)\n");
        return 2;
    }
    const auto tcp_port = static_cast<std::uint16_t>(std::atoi(argv[2]));
    std::signal(SIGINT, [](int) { quit = 1; });
    std::signal(SIGTERM, [](int) { quit = 1; });

    // Every pool is sized at start: the stack never allocates memory per packet.
    rte_mempool* pool = rte_pktmbuf_pool_create("echo_pool", pool_mbufs, 256, 0,
                                                RTE_MBUF_DEFAULT_BUF_SIZE, rte_socket_id());
    const std::uint16_t port = 0;
    if (pool == nullptr || setup_port(port, pool) != 0) {
        std::fprintf(stderr, "tcp_echo: mempool or port setup failed\n");
        return 1;
    }
    net::iface ifc;
    ifc.port_id = port;
    rte_eth_macaddr_get(port, &ifc.mac);
    ifc.addr = addr;
    ifc.netmask = mask;

    // The L2/L3 stack (Ethernet, ARP, IPv4, ICMP) and TCP on top of it, both for this lcore.
    net::stack_params sp;
    sp.tsc_hz = rte_get_tsc_hz();
    sp.pool = pool;
    sp.socket_id = static_cast<int>(rte_socket_id());
    sp.arp.entries = 256;
    sp.arp.pending_max = 16;
    sp.arp.timeout = 300 * sp.tsc_hz;
    sp.arp.retry = sp.tsc_hz;
    sp.arp.max_retries = 3;
    net::stack ip(sp);
    if (!ip.add_port(&ifc, 0)) {
        std::fprintf(stderr, "tcp_echo: add_port failed\n");
        return 1;
    }
    net::tcp::tcp_params tp;
    tp.max_connections = 256;
    tp.tsc_hz = sp.tsc_hz;
    tp.pool = pool;
    tp.lcore = rte_lcore_id();
    net::tcp::tcp_stack tcp(ip, tp);
    if (!tcp.ok()) {
        std::fprintf(stderr, "tcp_echo: TCP stack setup failed\n");
        return 1;
    }
    ip.attach_tcp(&tcp);
    sluice::examples::echo_handler echo(tcp);
    if (!tcp.listen(tcp_port, 128, &echo)) {
        std::fprintf(stderr, "tcp_echo: cannot listen on %u\n", tcp_port);
        return 1;
    }
    ip.send_gratuitous_arp(port);
    std::printf("tcp_echo: listening on port %u\n", tcp_port);

    // The poll loop: bursts in, timers, bursts out. All callbacks run inside input()/tick().
    rte_mbuf* pkts[net::burst_size];
    while (quit == 0) {
        const std::uint64_t now = rte_rdtsc();
        const std::uint16_t n = rte_eth_rx_burst(port, 0, pkts, net::burst_size);
        if (n > 0) {
            ip.input(port, pkts, n, now);
        }
        ip.tick(now);
        tcp.tick(now);
        ip.flush();
    }

    std::printf("tcp_echo: %lu connections, %lu bytes echoed\n",
                static_cast<unsigned long>(echo.accepted()),
                static_cast<unsigned long>(echo.echoed()));
    tcp.release();
    ip.release();
    rte_eth_dev_stop(port);
    rte_eth_dev_close(port);
    const unsigned leaked = rte_mempool_in_use_count(pool);
    rte_mempool_free(pool);
    rte_eal_cleanup();
    return leaked == 0 ? 0 : 3;
}
