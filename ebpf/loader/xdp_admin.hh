// Operator-facing logic shared by the two tools that inspect and edit a running Sluice XDP
// program through its pinned maps: `sluice-xdp` (ebpf/cli) and `sluicectl xdp`
// (ctrlplane/cli). Both print what these functions return, in their own formats; neither
// touches a map by other means, so the two cannot disagree.
//
// Threads: the tool's one thread. Setup/operator path only (syscalls, allocation).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "result.hh"
#include "xdp_maps.hh"

namespace sluice::ebpf {

// Why the pinned maps could not be opened; the tools map it to their exit codes.
enum class open_failure {
    none,
    not_loaded,  // no bpffs at the pin root, or no pins: no Sluice program has been loaded
    no_access,   // pins exist but this user may not open them (needs root / CAP_BPF)
    other,       // ABI mismatch, partial pins, unexpected errno: the message says which
};

struct admin_maps {
    std::optional<xdp_maps> maps;  // set on success
    open_failure failure = open_failure::none;
    std::string message;           // set on failure: what, where, and what to do
};

// xdp_maps::open_pinned with a diagnosis: "no Sluice XDP program is loaded (no pinned maps
// under /sys/fs/bpf): start the dataplane with an afxdp:/auto: port, or run
// `sluice-xdp attach IFACE`", "... is not a bpffs mount", permission, ABI.
admin_maps open_admin_maps(const std::string& pin_root);

// Enters the network namespace /var/run/netns/NAME (setns; bpffs stays visible, unlike with
// `ip netns exec`, which remounts /sys). Affects the calling thread.
status enter_netns(const std::string& name);

// An interface in the current network namespace running a Sluice XDP program.
struct attached_program {
    std::string ifname;
    int ifindex = 0;
    std::uint32_t prog_id = 0;
    bool native = false;          // false: generic (skb) XDP
    bool uses_these_maps = false;  // the program's maps are the ones pinned at the pin root
};

// Every interface of the current network namespace whose XDP program is Sluice's
// (SLUICE_XDP_PROG_NAME). `maps` (may be null) is used to tell whether each program uses
// those pins. Foreign programs are not listed.
result<std::vector<attached_program>> find_attached(const xdp_maps* maps);

// What `status` shows.
struct xdp_overview {
    std::vector<attached_program> attached;
    sluice_xdp_config config{};
    std::vector<service_entry> services;
    std::vector<cidr> blocks;
    std::size_t gateway_verdicts_live = 0;
};
result<xdp_overview> read_overview(const xdp_maps& maps);

// A gateway verdict as the tools show it: only live ones, remaining time in ms.
struct live_verdict {
    ip_addr src;
    gateway_reason reason = gateway_reason::blocked;
    std::uint64_t remaining_ms = 0;
};
result<std::vector<live_verdict>> live_gateway_verdicts(const xdp_maps& maps);

// "rate_limited" / "blocked" (the spelling in -o json), and the reverse (also accepts
// "rate-limited"); nullopt for anything else.
std::string_view reason_name(gateway_reason r);
std::optional<gateway_reason> parse_reason(std::string_view text);

// Whole-string decimal in [lo, hi], else an error naming `what`, the text and the range:
// "RATE 'ten' must be an integer in 0..100000000".
result<std::uint64_t> parse_uint(std::string_view what, std::string_view text, std::uint64_t lo,
                                 std::uint64_t hi);

}  // namespace sluice::ebpf
