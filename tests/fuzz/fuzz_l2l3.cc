// libFuzzer target for the L2/L3 input path: any byte string as a received frame, through a
// fresh per-lcore stack on a real net_ring port. Invariants checked on every input: no crash, no
// sanitizer report, and every mbuf back in the pool once the stack is released.
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "../unit/dpdk_env.hh"
#include "l2l3_seed_mac.hh"

namespace {
sluice::dp::net::iface fuzz_ifc;
std::uint64_t now = 0;
}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    auto& env = sluice::test::dpdk_env::get();
    fuzz_ifc = env.ifc;
    std::memcpy(fuzz_ifc.mac.addr_bytes, sluice::test::fuzz_mac.data(), 6);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto& env = sluice::test::dpdk_env::get();
    if (size > 2000) {
        return 0;
    }
    const unsigned before = env.in_use();
    {
        sluice::dp::net::stack s(env.params());
        if (!s.add_port(&fuzz_ifc, 0).ok()) {
            std::abort();
        }
        // A known neighbour, so echo replies leave; unknown ones get held and resolved.
        env.add_peer(s, now);
        rte_mbuf* m = env.mbuf_of(sluice::test::bytes(data, data + size));
        if (m == nullptr) {
            return 0;
        }
        now += 3 * sluice::test::dpdk_env::hz;
        s.input(env.port, &m, 1, now);
        s.tick(now);
        (void)env.drain(s);
    }
    if (env.in_use() != before) {
        std::fprintf(stderr, "fuzz_l2l3: %u mbufs leaked\n", env.in_use() - before);
        std::abort();
    }
    return 0;
}
