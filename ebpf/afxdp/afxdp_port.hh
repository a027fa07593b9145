// The host side of a dataplane port on net_af_xdp with the Sluice XDP program (`dev=afxdp:`):
// what must happen before DPDK's af_xdp PMD loads the program (bpffs, a stale program left by a
// crashed dataplane), after it did (the service map, which mode the kernel chose), and after
// the port closed (the program must be gone). The PMD loads ebpf/xdp's object itself
// (xdp_prog=) with libbpf's default pin root, /sys/fs/bpf; this code reaches the same maps
// through their pins there.
//
// Threads: setup and shutdown path on the main lcore only. Nothing here runs per packet.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "result.hh"
#include "xdp_maps.hh"

namespace sluice::ebpf::afxdp {

// Where the PMD pins (libbpf's default pin root).
inline constexpr const char* pmd_pin_root = "/sys/fs/bpf";

// Makes sure bpffs is mounted at /sys/fs/bpf in this process's mount namespace. Inside
// `ip netns exec` /sys is a fresh sysfs without it; then a new bpffs instance is mounted there,
// private to this mount namespace (pins die with it; reach them with `nsenter -t PID -m`).
// `note` says which case applied.
[[nodiscard]] status ensure_bpffs(std::string& note);

// Before the PMD attaches (it uses XDP_FLAGS_UPDATE_IF_NOEXIST, so the interface must be free):
// detaches a stale `sluice_xdp` left by a crashed dataplane, refuses a foreign program (naming
// it), does nothing on a free interface. `note` says what was found.
[[nodiscard]] status clear_stale_program(const std::string& iface, std::string& note);

// After the PMD loaded the program: adds {addr, port, proto} for each service through the
// pinned maps (addr in network byte order). Returns the services it added, for remove_services.
[[nodiscard]] result<std::vector<service>> install_services(
    std::uint32_t addr_be, const std::vector<std::pair<std::uint16_t, l4_proto>>& ports,
    std::uint32_t service_id);
// Removes what install_services added; stops at nothing, returns the first failure.
status remove_services(const std::vector<service>& added);

// After install_services: steers TCP to any service address with a destination port in
// [min, max] to the dataplane, i.e. the answers to its own outgoing connections (the caller
// passes its TCP stack's ephemeral range). Left set when a port closes: the maps are shared
// by every afxdp: port of the host, and without service addresses it matches nothing.
[[nodiscard]] status steer_return_ports(std::uint16_t min, std::uint16_t max);

// AF_XDP sockets of this process: fd -> zero-copy, read with getsockopt(XDP_OPTIONS) over
// /proc/self/fd. Sockets in `skip` (those of ports opened before) are left out, so calling this
// right after a port started yields that port's sockets.
struct xsk_info {
    int fd = -1;
    bool zerocopy = false;
};
[[nodiscard]] std::vector<xsk_info> list_xsks(const std::set<int>& skip);

// One log line about the port's XDP: attach mode (native/skb, from the kernel) and per-socket
// zero-copy or copy, with the reason the kernel would have had.
[[nodiscard]] std::string describe_mode(const std::string& iface,
                                        const std::vector<xsk_info>& xsks);

// After the port closed: the PMD should have detached the program. Returns ok with `note`
// saying so, or detaches a leftover `sluice_xdp` itself and says that it had to.
[[nodiscard]] status verify_detached(const std::string& iface, std::string& note);

}  // namespace sluice::ebpf::afxdp
