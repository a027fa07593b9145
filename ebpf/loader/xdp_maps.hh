// Control of the Sluice XDP program's maps: services, block list, SYN limit, gateway
// verdicts and counters. An xdp_maps either comes from a loaded xdp_program (maps()) or is
// opened from the pins under a bpffs directory (open_pinned), so a control-plane process can
// steer a program that the dataplane or DPDK's af_xdp PMD loaded.
//
// Threads: any thread. Calls are single map syscalls; concurrent callers are safe per entry,
// but add_service/remove_service keep a per-address reference count (for ARP steering) with
// a read-modify-write, so keep one writer of services at a time (the control plane).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "addr.hh"
#include "result.hh"
#include "sluice_xdp_abi.h"
#include "unique_fd.hh"

namespace sluice::ebpf {

enum class l4_proto : std::uint8_t { tcp = 6, udp = 17 };  // IANA protocol numbers

struct service {
    ip_addr addr;
    std::uint16_t port = 0;  // host byte order
    l4_proto proto = l4_proto::tcp;
};

enum class gateway_reason : std::uint32_t {
    rate_limited = SLUICE_GW_RATE_LIMITED,
    blocked = SLUICE_GW_BLOCKED,
};

// Per-CPU counters summed over all possible CPUs, indexed by enum sluice_xdp_counter.
struct xdp_stats {
    std::array<std::uint64_t, SLUICE_CNT_MAX> counters{};

    std::uint64_t operator[](sluice_xdp_counter c) const { return counters.at(c); }
    // Stable snake_case name, e.g. "drop_blocklist"; used by sluice-xdp and the tests.
    static std::string_view name(sluice_xdp_counter c);
};

class xdp_maps {
public:
    // Opens the maps pinned by name under pin_root (the object pins with LIBBPF_PIN_BY_NAME;
    // libbpf's default root is /sys/fs/bpf). Fails naming the first missing pin.
    static result<xdp_maps> open_pinned(const std::string& pin_root);
    // Takes ownership of one fd per map, in the order of map_names().
    static xdp_maps adopt(std::array<unique_fd, 8> fds);
    static const std::array<const char*, 8>& map_names();

    // Steers {addr, port, proto} to the XSK. Replacing an existing entry updates its id.
    status add_service(const service& s, std::uint32_t service_id);
    // Fails with a "not found" message if the entry does not exist.
    status remove_service(const service& s);

    status block(const cidr& c);
    status unblock(const cidr& c);  // fails if c is not in the list
    [[nodiscard]] result<std::vector<cidr>> blocked() const;

    // rate_per_sec = 0 disables; otherwise 1..SLUICE_XDP_SYN_RATE_MAX and
    // burst 1..SLUICE_XDP_SYN_BURST_MAX. Applies to SYNs (without ACK) sent to a service.
    status set_syn_limit(std::uint32_t rate_per_sec, std::uint32_t burst);

    // Drops traffic from src to services until now + ttl (CLOCK_MONOTONIC, which
    // bpf_ktime_get_ns() reads). ttl must be positive.
    status add_gateway_verdict(const ip_addr& src, std::chrono::nanoseconds ttl, gateway_reason r);
    // Same with an absolute CLOCK_MONOTONIC deadline in ns; a past deadline is allowed
    // (the program deletes the entry on the next packet).
    status add_gateway_verdict_until(const ip_addr& src, std::uint64_t expires_ns,
                                     gateway_reason r);
    status remove_gateway_verdict(const ip_addr& src);

    [[nodiscard]] result<xdp_stats> read_stats() const;

    // Recomputes sluice_xdp_config.flags from the maps' contents (block lists and gateway
    // verdicts non-empty). The mutators keep the flags current; call this after entries were
    // written by other means (bpftool) or when reusing pins of unknown history.
    status sync_flags();

private:
    enum map_index : std::size_t {
        services, svc_addr4, block_v4, block_v6, syn_bucket, gw_verdict, config, stats
    };
    explicit xdp_maps(std::array<unique_fd, 8> fds) : fds_(std::move(fds)) {}
    int fd(map_index i) const { return fds_[i].get(); }
    bool map_empty(map_index i) const;
    // Read-modify-write of sl_config slot 0 (single writer, see the header comment).
    status set_flag(std::uint32_t bit, bool on);

    std::array<unique_fd, 8> fds_;
};

}  // namespace sluice::ebpf
