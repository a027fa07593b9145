// The XDP packet case table shared by tests/ebpf (correctness) and bench/ebpf (cost per
// verdict), Katran-style: one fixture of map entries, one table of frames with the action
// and counters each must produce. Test-only, any thread.
#pragma once

#include <bpf/bpf.h>

#include <cstdint>
#include <string>
#include <vector>

#include "packet_builder.hh"
#include "result.hh"
#include "sluice_xdp_abi.h"
#include "xdp_maps.hh"

namespace sluice::ebpf::test {

// Fixture addresses: documentation ranges (RFC 5737, RFC 3849).
inline constexpr v4 svc4 = {10, 0, 0, 1};          // services tcp/80, udp/53
inline constexpr v4 other4 = {10, 0, 0, 2};        // not a service address
inline constexpr v4 client4 = {198, 51, 100, 7};
inline constexpr v4 client4_b = {198, 51, 100, 8};
inline constexpr v4 blocked4 = {192, 0, 2, 9};     // inside blocked 192.0.2.0/24
inline constexpr v4 unblocked4 = {192, 0, 3, 1};   // just outside it
// 203.0.113.128/25 is blocked: its /24 is "partly blocked" in the pre-filter, so sources in
// that /24 go through the LPM trie.
inline constexpr v4 blocked4_in_25 = {203, 0, 113, 200};
inline constexpr v4 beside_blocked_25 = {203, 0, 113, 5};
inline constexpr v4 backend4 = {198, 51, 100, 50};  // a backend answering the dataplane
// The fixture's return port range (the dataplane uses its TCP stack's ephemeral range,
// dataplane/net/tcp/ephemeral.hh; any range exercises the program the same way).
inline constexpr std::uint16_t return_min = 49152;
inline constexpr std::uint16_t return_max = 65535;
inline constexpr v6 svc6 = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};  // tcp/443
inline constexpr v6 client6 = {0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7};
// Inside blocked 2001:db8:bad::/48.
inline constexpr v6 blocked6 = {0x20, 0x01, 0x0d, 0xb8, 0x0b, 0xad, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9};

// Writes the services, block list and return port range the table relies on.
status apply_fixture(xdp_maps& maps);

struct xdp_case {
    std::string name;
    bytes frame;
    int action;  // XDP_PASS / XDP_DROP / XDP_REDIRECT as returned by the program
    // Counters that move by exactly one; every other counter must stay put.
    std::vector<sluice_xdp_counter> moved;
};

const std::vector<xdp_case>& xdp_cases();
// The case called name; aborts if absent (a typo in a test or benchmark).
const xdp_case& xdp_case_named(const std::string& name);

struct run_result {
    int action = -1;
    std::uint32_t duration_ns = 0;  // mean per run, as the kernel measured it
};
// BPF_PROG_TEST_RUN of frame, repeat times. rx_queue_index is 0.
result<run_result> test_run(int prog_fd, const bytes& frame, std::uint32_t repeat = 1);

}  // namespace sluice::ebpf::test
