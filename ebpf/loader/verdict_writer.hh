// The gateway's way to push an L7 verdict ("this client is rate-limited / blocked for N ms")
// down to the Sluice XDP program, which then drops the client's service traffic before it
// costs an skb or an AF_XDP descriptor (docs/xdp.md, "Gateway verdicts"). It writes
// sl_gw_verdict: key = source address (IPv4-mapped), value = {CLOCK_MONOTONIC deadline,
// reason}; the program compares the deadline with bpf_ktime_get_ns() and deletes an expired
// entry on the next packet, so nobody has to sweep the map. The map is an LRU hash: under
// pressure the least recently used verdicts are evicted, never the insert refused.
//
// Threads: block()/unblock() are bpf(2) syscalls (one to three each). They must NOT run on a
// polling worker lcore: a syscall there stalls every connection of that lcore for
// microseconds, more under map contention. The gateway's workers enqueue requests (source,
// TTL, reason) on a ring to one control thread, which owns the verdict_writer and calls it.
// One verdict_writer per thread; block()/unblock() neither allocate nor throw, so the control
// thread needs no error-handling paths of its own beyond the bool.
#pragma once

#include <cstdint>
#include <string>

#include "result.hh"
#include "unique_fd.hh"
#include "xdp_maps.hh"

namespace sluice::ebpf {

class verdict_writer {
public:
    // TTL ceiling, ms: one day. A gateway penalty is seconds to minutes; a longer ban belongs
    // in the operator's block list (sluicectl xdp block add).
    static constexpr std::uint32_t max_ttl_ms = 24u * 3600u * 1000u;

    // Opens sl_gw_verdict and sl_config pinned under pin_root (the dataplane's, /sys/fs/bpf by
    // default; `sluice-xdp --pin-root` and the tests use private ones). Setup path: may
    // allocate. Fails with open_admin_maps()'s message, e.g. "no Sluice XDP program is
    // loaded: ..." when nothing is pinned there.
    static result<verdict_writer> open(const std::string& pin_root = "/sys/fs/bpf");
    // Shares the maps of an xdp_maps (dups its fds; the writer outlives nothing of it).
    static result<verdict_writer> from_maps(const xdp_maps& maps);

    // Drops service traffic from ipv4_be (network byte order, as in the IPv4 header) for
    // ttl_ms from now; replaces an earlier verdict on the same source (its deadline and
    // reason). 0 < ttl_ms <= max_ttl_ms. Returns false, with last_error() = the errno
    // (EINVAL for a bad TTL), if the verdict could not be written.
    bool block(std::uint32_t ipv4_be, std::uint32_t ttl_ms, gateway_reason reason) noexcept;
    // Lifts the verdict on ipv4_be. True also when there was none (expired and removed by
    // the program, or never set): afterwards the source is not blocked either way.
    bool unblock(std::uint32_t ipv4_be) noexcept;

    // errno of the last failed call, 0 if none failed yet.
    [[nodiscard]] int last_error() const noexcept { return last_error_; }

private:
    verdict_writer(unique_fd verdicts, unique_fd config)
        : verdicts_(std::move(verdicts)), config_(std::move(config)) {}

    unique_fd verdicts_;
    unique_fd config_;
    int last_error_ = 0;
};

}  // namespace sluice::ebpf
