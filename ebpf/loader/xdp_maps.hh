// Control of the Sluice XDP program's maps: services, block list, SYN limit, gateway
// verdicts and counters. An xdp_maps either comes from a loaded xdp_program (maps()) or is
// opened from the pins under a bpffs directory (open_pinned), so a control-plane process can
// steer a program that the dataplane or DPDK's af_xdp PMD loaded.
//
// Threads: any thread, never a polling lcore (every call is one or more bpf(2) syscalls and
// may allocate its error message). Concurrent callers are safe per entry, but
// add_service/remove_service keep a per-address reference count (for ARP steering) with a
// read-modify-write, so keep one writer of services at a time (the control plane). The
// gateway's lcores use verdict_writer (verdict_writer.hh) from a control thread instead.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "addr.hh"
#include "result.hh"
#include "sluice_xdp_abi.h"
#include "unique_fd.hh"

namespace sluice::ebpf {

// The exact host set of one partly blocked IPv4 /24 (sl_blk4_hosts): bit h % 64 of word
// h / 64 for host h.
using host_set4 = std::array<std::uint64_t, 4>;
// /24 index (address >> 8, host order) -> its host set, for every /24 that the pre-filter
// marks PART.
using host_sets4 = std::map<std::uint32_t, host_set4>;

// Maps the loader controls, in the order of xdp_maps::map_names() (all but xsks_map).
inline constexpr std::size_t xdp_map_count = 16;

enum class l4_proto : std::uint8_t { tcp = 6, udp = 17 };  // IANA protocol numbers

struct service {
    ip_addr addr;
    std::uint16_t port = 0;  // host byte order
    l4_proto proto = l4_proto::tcp;
    // "tcp 10.0.0.1:80", "udp [2001:db8::1]:53"
    [[nodiscard]] std::string to_string() const;
};

enum class gateway_reason : std::uint32_t {
    rate_limited = SLUICE_GW_RATE_LIMITED,
    blocked = SLUICE_GW_BLOCKED,
};

struct service_entry {
    service svc;
    std::uint32_t service_id = 0;
};

// One sl_gw_verdict entry. expires_ns is CLOCK_MONOTONIC (monotonic_now_ns()).
struct gateway_verdict_entry {
    ip_addr src;
    std::uint64_t expires_ns = 0;
    gateway_reason reason = gateway_reason::blocked;
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
    // libbpf's default root is /sys/fs/bpf). Fails naming the first missing pin, or a map
    // whose key or value size is not this build's ABI (a stale pin of another version,
    // whose lookups would otherwise overrun our buffers). Operators' tools use
    // open_admin_maps() (xdp_admin.hh), which also says *why* the pins are missing.
    static result<xdp_maps> open_pinned(const std::string& pin_root);
    // Takes ownership of one fd per map, in the order of map_names().
    static xdp_maps adopt(std::array<unique_fd, xdp_map_count> fds);
    static const std::array<const char*, xdp_map_count>& map_names();

    // Steers {addr, port, proto} to the XSK. Replacing an existing entry updates its id.
    status add_service(const service& s, std::uint32_t service_id);
    // Fails with a "not found" message if the entry does not exist.
    status remove_service(const service& s);
    [[nodiscard]] result<std::vector<service_entry>> list_services() const;

    // Block-list entries go into the LPM trie, then the pre-filter bitmaps are recomputed
    // from the whole trie (block_prefilter.cc documents the write order and what a racing
    // packet can see: at worst one stale verdict).
    status block(const cidr& c);
    status unblock(const cidr& c);  // fails, saying "is not in the block list", if absent
    // Many entries, one pre-filter rewrite per family at the end (block() recomputes the
    // bitmap each time, a few ms with thousands of entries). Stops at the first failure,
    // after resyncing the bitmaps with what was written.
    status block_all(const std::vector<cidr>& cs);
    status unblock_all(const std::vector<cidr>& cs);
    [[nodiscard]] result<std::vector<cidr>> blocked() const;

    // rate_per_sec = 0 disables; otherwise 1..SLUICE_XDP_SYN_RATE_MAX and
    // burst 1..SLUICE_XDP_SYN_BURST_MAX. Applies to SYNs (without ACK) sent to a service.
    status set_syn_limit(std::uint32_t rate_per_sec, std::uint32_t burst);
    // Steers TCP to a service address with a destination port in [min, max] (host order):
    // the replies to the dataplane's own outgoing connections, whose source ports its TCP
    // stack takes from this range (sluice::dp::net::tcp::ephemeral_port_min/max). min = 0
    // turns it off; otherwise min <= max is required.
    status set_return_ports(std::uint16_t min, std::uint16_t max);
    // sl_config slot 0: SYN limit, ABI version stamp, flags, return port range.
    [[nodiscard]] result<sluice_xdp_config> read_config() const;

    // Drops traffic from src to services until now + ttl (CLOCK_MONOTONIC, which
    // bpf_ktime_get_ns() reads). ttl must be positive.
    status add_gateway_verdict(const ip_addr& src, std::chrono::nanoseconds ttl, gateway_reason r);
    // Same with an absolute CLOCK_MONOTONIC deadline in ns; a past deadline is allowed
    // (the program deletes the entry on the next packet).
    status add_gateway_verdict_until(const ip_addr& src, std::uint64_t expires_ns,
                                     gateway_reason r);
    // Fails if src has no verdict (also when the program already deleted an expired one).
    // Leaves SLUICE_XDP_F_GW_VERDICTS set (see detail::delete_gateway_verdict).
    status remove_gateway_verdict(const ip_addr& src);
    // Every entry, expired ones included (the program deletes those lazily).
    [[nodiscard]] result<std::vector<gateway_verdict_entry>> gateway_verdicts() const;
    // CLOCK_MONOTONIC now, in ns: compare with gateway_verdict_entry::expires_ns.
    static std::uint64_t monotonic_now_ns() noexcept;

    [[nodiscard]] result<xdp_stats> read_stats() const;

    // The raw fds, for verdict_writer::from_maps and tests. Owned by this object.
    [[nodiscard]] int gateway_verdict_fd() const noexcept { return fd(gw_verdict); }
    [[nodiscard]] int config_fd() const noexcept { return fd(config); }
    [[nodiscard]] int stats_fd() const noexcept { return fd(stats); }

    // Recomputes sluice_xdp_config.flags from the maps' contents (block lists and gateway
    // verdicts non-empty), rebuilds the block-list pre-filters from the tries and the
    // service fast tables from sl_services. The
    // mutators keep both current; call this after entries were written by other means
    // (bpftool) or when reusing pins of unknown history. load() calls it.
    status sync_flags();

private:
    enum map_index : std::size_t {
        services, svc_addr4, block_v4, block_v6, syn_bucket, gw_verdict, config, stats,
        svc_fast, svc_ports, svc_fast6, blk4_pf, blk6_pf, blk4_hosts, blk6_exact, blk6_prefixes
    };
    explicit xdp_maps(std::array<unique_fd, xdp_map_count> fds) : fds_(std::move(fds)) {}
    int fd(map_index i) const noexcept { return fds_[i].get(); }
    bool map_empty(map_index i) const;
    // Read-modify-write of sl_config slot 0 (single writer, see the header comment).
    status set_flag(std::uint32_t bit, bool on);
    // The IPv4 fast tables (sl_svc_fast, sl_svc_ports; svc_fast.cc). fast_add/fast_remove
    // follow one service; sync_fast rebuilds both from sl_services and sets or clears
    // SLUICE_XDP_F_SVC_HASH. `last` = no service is left on that address.
    status fast_add(const service& s);
    status fast_remove(const service& s, bool last);
    status sync_fast();
    // Rewrites sl_blk4_pf and sl_blk4_hosts (v6 = false) or sl_blk6_pf, sl_blk6_exact and
    // sl_blk6_pfx from the trie (block_prefilter.cc).
    status sync_prefilter(bool v6);
    // The IPv6 half: sl_blk6_pfx, sl_blk6_exact and the pre-filter words `want_pf`.
    status sync_prefix6(const std::vector<std::uint64_t>& want_pf,
                        const std::vector<cidr>& entries);
    // One trie insert or delete, without the bitmap and flag updates.
    status trie_write(const cidr& c, bool add);
    // The bitmaps of the families in `touched` (bit 0 IPv4, bit 1 IPv6), then their flags.
    status after_trie_writes(unsigned touched);

    std::array<unique_fd, xdp_map_count> fds_;
};

namespace detail {
// The pre-filter words for the entries of one family (the others are ignored): what
// sync_prefilter writes. Exposed for tests.
[[nodiscard]] std::vector<std::uint64_t> prefilter_words(const std::vector<cidr>& entries,
                                                         bool v6);
// The host sets of the IPv4 /24s that prefilter_words marks PART: the union of the hosts of
// every entry longer than /24 inside them. /24s covered by an entry of length <= 24 (FULL)
// are left out.
[[nodiscard]] host_sets4 partial_hosts4(const std::vector<cidr>& entries);

// The exact IPv6 prefixes (sl_blk6_pfx) of a block list: {len, prefix} pairs (len 48 or
// 64, prefix right-aligned, host order), and the sl_blk6_pf buckets that must ask the trie
// because an entry there is not representable (see the ABI header). Entries shorter than
// /24 make `all_trie` true instead of listing 2^24 buckets.
struct prefixes6 {
    std::vector<std::pair<std::uint32_t, std::uint64_t>> listed;  // sorted, unique
    std::vector<std::uint32_t> trie_buckets;                      // sorted, unique
    bool all_trie = false;
};
[[nodiscard]] prefixes6 exact_prefixes6(const std::vector<cidr>& entries);
}  // namespace detail

}  // namespace sluice::ebpf
