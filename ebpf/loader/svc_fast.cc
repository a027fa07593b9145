// The IPv4 service fast tables of the XDP program (sl_svc_fast: up to SLUICE_XDP_FAST_ADDRS
// addresses in slots; sl_svc_ports: per port, a TCP and a UDP bit mask of slots). They let
// the program decide "is this a service?" with inlined ARRAY lookups instead of a hash
// lookup (a helper call, 20-30 ns on this kernel: docs/performance.md). sl_services stays the
// authoritative list; these tables are derived from it and the program uses them only while
// SLUICE_XDP_F_SVC_HASH is clear. Setup path, same thread rules as xdp_maps.
//
// Write order keeps every intermediate state safe for the program reading concurrently:
// an address takes its slot before any port bit names the slot; a port bit is cleared before
// its slot is freed; a slot keeps its index while its address has services. A rebuild runs
// with SLUICE_XDP_F_SVC_HASH set, so the program consults the hash meanwhile.
#include <bpf/bpf.h>
#include <linux/bpf.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "xdp_maps.hh"

namespace sluice::ebpf {
namespace {

constexpr std::uint32_t port_count = 65536;  // sl_svc_ports max_entries: every port

std::uint32_t v4_of(const ip_addr& a) {
    std::uint32_t k = 0;
    std::memcpy(&k, &a.bytes[12], 4);
    return k;
}

int find_slot(const sluice_xdp_svc_fast& f, std::uint32_t a) {
    for (int i = 0; i < SLUICE_XDP_FAST_ADDRS; ++i) {
        if (f.addr4[i] == a) {
            return i;
        }
    }
    return -1;
}

std::uint16_t& mask_of(sluice_xdp_port_slots& p, l4_proto proto) {
    return proto == l4_proto::tcp ? p.tcp : p.udp;
}

}  // namespace

status xdp_maps::fast_add(const service& s) {
    const std::uint32_t a = v4_of(s.addr);
    if (a == 0) {
        // 0.0.0.0 would match the free slots: serve it from the hash.
        return set_flag(SLUICE_XDP_F_SVC_HASH, true);
    }
    const std::uint32_t zero = 0;
    sluice_xdp_svc_fast f{};
    if (bpf_map_lookup_elem(fd(svc_fast), &zero, &f) != 0) {
        return error{errno_message("read sl_svc_fast", errno)};
    }
    int slot = find_slot(f, a);
    if (slot < 0) {
        slot = find_slot(f, 0);
        if (slot < 0) {
            // More addresses than slots: the program switches to sl_services, which already
            // holds this service. sync_fast() (load) switches back when they fit again.
            return set_flag(SLUICE_XDP_F_SVC_HASH, true);
        }
        f.addr4[slot] = a;
        if (bpf_map_update_elem(fd(svc_fast), &zero, &f, BPF_ANY) != 0) {
            return error{errno_message("write sl_svc_fast for " + s.to_string(), errno)};
        }
    }
    const std::uint32_t port = s.port;
    sluice_xdp_port_slots p{};
    if (bpf_map_lookup_elem(fd(svc_ports), &port, &p) != 0) {
        return error{errno_message("read sl_svc_ports[" + std::to_string(port) + "]", errno)};
    }
    mask_of(p, s.proto) |= static_cast<std::uint16_t>(1u << slot);
    if (bpf_map_update_elem(fd(svc_ports), &port, &p, BPF_ANY) != 0) {
        return error{errno_message("write sl_svc_ports for " + s.to_string(), errno)};
    }
    return {};
}

status xdp_maps::fast_remove(const service& s, bool last) {
    const std::uint32_t a = v4_of(s.addr);
    const std::uint32_t zero = 0;
    sluice_xdp_svc_fast f{};
    if (a == 0 || bpf_map_lookup_elem(fd(svc_fast), &zero, &f) != 0) {
        return {};  // 0.0.0.0 never has a slot; an unreadable table is rebuilt by sync_fast
    }
    const int slot = find_slot(f, a);
    if (slot < 0) {
        return {};  // served from the hash (overflow)
    }
    const std::uint32_t port = s.port;
    sluice_xdp_port_slots p{};
    if (bpf_map_lookup_elem(fd(svc_ports), &port, &p) == 0) {
        mask_of(p, s.proto) &= static_cast<std::uint16_t>(~(1u << slot));
        if (bpf_map_update_elem(fd(svc_ports), &port, &p, BPF_ANY) != 0) {
            return error{errno_message("clear sl_svc_ports bit of " + s.to_string(), errno)};
        }
    }
    if (last) {
        f.addr4[slot] = 0;
        if (bpf_map_update_elem(fd(svc_fast), &zero, &f, BPF_ANY) != 0) {
            return error{errno_message("free the sl_svc_fast slot of " + s.addr.to_string(),
                                       errno)};
        }
    }
    return {};
}

status xdp_maps::sync_fast() {
    auto svcs = list_services();
    if (!svcs) {
        return error{svcs.message()};
    }
    const std::uint32_t zero = 0;
    sluice_xdp_svc_fast cur{};
    if (bpf_map_lookup_elem(fd(svc_fast), &zero, &cur) != 0) {
        return error{errno_message("read sl_svc_fast", errno)};
    }
    std::vector<std::uint32_t> addrs;
    bool overflow = false;
    for (const auto& e : svcs.value()) {
        if (!e.svc.addr.is_v4) {
            continue;
        }
        const std::uint32_t a = v4_of(e.svc.addr);
        overflow |= a == 0;
        if (a != 0 && std::find(addrs.begin(), addrs.end(), a) == addrs.end()) {
            addrs.push_back(a);
        }
    }
    // Keep the slots of addresses that still have services; place the others in free ones.
    sluice_xdp_svc_fast want{};
    for (int i = 0; i < SLUICE_XDP_FAST_ADDRS; ++i) {
        if (cur.addr4[i] != 0 &&
            std::find(addrs.begin(), addrs.end(), cur.addr4[i]) != addrs.end()) {
            want.addr4[i] = cur.addr4[i];
        }
    }
    for (const std::uint32_t a : addrs) {
        if (find_slot(want, a) >= 0) {
            continue;
        }
        const int free_slot = find_slot(want, 0);
        if (free_slot < 0) {
            overflow = true;
            break;
        }
        want.addr4[free_slot] = a;
    }
    std::vector<sluice_xdp_port_slots> ports(port_count);
    for (const auto& e : svcs.value()) {
        const int slot = e.svc.addr.is_v4 ? find_slot(want, v4_of(e.svc.addr)) : -1;
        if (slot >= 0 && v4_of(e.svc.addr) != 0) {
            mask_of(ports[e.svc.port], e.svc.proto) |= static_cast<std::uint16_t>(1u << slot);
        }
    }
    // The program reads the hash while the tables are rewritten.
    if (auto st = set_flag(SLUICE_XDP_F_SVC_HASH, true); !st) {
        return st;
    }
    if (bpf_map_update_elem(fd(svc_fast), &zero, &want, BPF_ANY) != 0) {
        return error{errno_message("write sl_svc_fast", errno)};
    }
    std::vector<std::uint32_t> keys(port_count);
    for (std::uint32_t i = 0; i < port_count; ++i) {
        keys[i] = i;
    }
    std::uint32_t count = port_count;
    if (bpf_map_update_batch(fd(svc_ports), keys.data(), ports.data(), &count, nullptr) != 0) {
        // Kernels without batch ops on arrays: one syscall per port (tens of ms, load only).
        for (std::uint32_t i = 0; i < port_count; ++i) {
            if (bpf_map_update_elem(fd(svc_ports), &keys[i], &ports[i], BPF_ANY) != 0) {
                return error{errno_message("write sl_svc_ports", errno)};
            }
        }
    }
    return overflow ? status{} : set_flag(SLUICE_XDP_F_SVC_HASH, false);
}

}  // namespace sluice::ebpf
