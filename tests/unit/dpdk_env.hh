// A DPDK environment for unit tests, fuzz targets and benchmarks: EAL without hugepages or PCI,
// one net_ring port in loopback (what is sent on it is received back on it), one mbuf pool, and a
// stack serving that port as 198.18.0.2/24. Created once per process.
#pragma once

#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <memory>
#include <vector>

#include "../../dataplane/net/stack.hh"
#include "../packet/frames.hh"

namespace sluice::test {

struct dpdk_env {
    rte_mempool* pool = nullptr;
    std::uint16_t port = 0;
    dp::net::iface ifc;
    mac our_mac{};
    // Fake TSC rate for the injected clock: 1 GHz, so one cycle is one nanosecond.
    static constexpr std::uint64_t hz = 1'000'000'000;

    // Initialises once; aborts with a message if DPDK cannot start.
    static dpdk_env& get();

    [[nodiscard]] dp::net::stack_params params() const;
    [[nodiscard]] std::unique_ptr<dp::net::stack> make_stack(const dp::net::stack_params& p) const;
    [[nodiscard]] std::unique_ptr<dp::net::stack> make_stack() const { return make_stack(params()); }

    // Makes the test peer (peer_ip, peer_mac) a known neighbour of `s`, so answers leave at once.
    void add_peer(dp::net::stack& s, std::uint64_t now = 0) const;
    // Copies a frame into a fresh mbuf (nullptr if it does not fit).
    [[nodiscard]] rte_mbuf* mbuf_of(const bytes& frame) const;
    // Flushes the stack and returns every frame that came out of the port, freeing the mbufs.
    std::vector<bytes> drain(dp::net::stack& s) const;
    // mbufs currently out of the pool.
    [[nodiscard]] unsigned in_use() const { return rte_mempool_in_use_count(pool); }
};

}  // namespace sluice::test
