// The service fast tables of the XDP program: sl_svc_fast (up to SLUICE_XDP_FAST_ADDRS IPv4
// addresses in slots), sl_svc_fast6 (up to SLUICE_XDP_FAST_ADDRS6 IPv6 addresses) and
// sl_svc_ports (per port, TCP and UDP bit masks of slots, one pair per family). They let the
// program decide "is this a service?" with inlined ARRAY lookups instead of a hash lookup (a
// helper call, 20-30 ns on this kernel: docs/performance.md). sl_services stays the
// authoritative list; these tables are derived from it and the program uses a family's tables
// only while its SLUICE_XDP_F_SVC_HASH / SLUICE_XDP_F_SVC6_HASH flag is clear. Setup path,
// same thread rules as xdp_maps.
//
// Write order keeps every intermediate state safe for the program reading concurrently:
// an address takes its slot before any port bit names the slot; a port bit is cleared before
// its slot is freed; a slot keeps its index while its address has services. A rebuild runs
// with both hash flags set, so the program consults the hash meanwhile.
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

// An IPv6 address as the program compares it: two raw u64 words.
struct words6 {
    std::uint64_t w[2] = {0, 0};
    bool operator==(const words6&) const = default;
    [[nodiscard]] bool zero() const { return w[0] == 0 && w[1] == 0; }
};

words6 v6_of(const ip_addr& a) {
    words6 r;
    std::memcpy(r.w, a.bytes.data(), 16);
    return r;
}

int find_slot(const sluice_xdp_svc_fast& f, std::uint32_t a) {
    for (int i = 0; i < SLUICE_XDP_FAST_ADDRS; ++i) {
        if (f.addr4[i] == a) {
            return i;
        }
    }
    return -1;
}

words6 slot6(const sluice_xdp_svc_fast6& f, int i) { return {{f.addr6[i][0], f.addr6[i][1]}}; }

int find_slot6(const sluice_xdp_svc_fast6& f, const words6& a) {
    for (int i = 0; i < SLUICE_XDP_FAST_ADDRS6; ++i) {
        if (slot6(f, i) == a) {
            return i;
        }
    }
    return -1;
}

void set_slot6(sluice_xdp_svc_fast6& f, int i, const words6& a) {
    f.addr6[i][0] = a.w[0];
    f.addr6[i][1] = a.w[1];
}

std::uint16_t& mask_of(sluice_xdp_port_slots& p, const service& s) {
    if (s.addr.is_v4) {
        return s.proto == l4_proto::tcp ? p.tcp : p.udp;
    }
    return s.proto == l4_proto::tcp ? p.tcp6 : p.udp6;
}

}  // namespace

status xdp_maps::fast_add(const service& s) {
    const std::uint32_t hash_flag = s.addr.is_v4 ? SLUICE_XDP_F_SVC_HASH : SLUICE_XDP_F_SVC6_HASH;
    const std::uint32_t zero = 0;
    int slot = -1;
    if (s.addr.is_v4) {
        const std::uint32_t a = v4_of(s.addr);
        if (a == 0) {
            // 0.0.0.0 would match the free slots: serve it from the hash.
            return set_flag(hash_flag, true);
        }
        sluice_xdp_svc_fast f{};
        if (bpf_map_lookup_elem(fd(svc_fast), &zero, &f) != 0) {
            return error{errno_message("read sl_svc_fast", errno)};
        }
        slot = find_slot(f, a);
        if (slot < 0) {
            slot = find_slot(f, 0);
            if (slot < 0) {
                // More addresses than slots: the program switches to sl_services, which
                // already holds this service. sync_fast() (load) switches back when they fit.
                return set_flag(hash_flag, true);
            }
            f.addr4[slot] = a;
            if (bpf_map_update_elem(fd(svc_fast), &zero, &f, BPF_ANY) != 0) {
                return error{errno_message("write sl_svc_fast for " + s.to_string(), errno)};
            }
        }
    } else {
        const words6 a = v6_of(s.addr);
        if (a.zero()) {
            return set_flag(hash_flag, true);  // :: would match the free slots
        }
        sluice_xdp_svc_fast6 f{};
        if (bpf_map_lookup_elem(fd(svc_fast6), &zero, &f) != 0) {
            return error{errno_message("read sl_svc_fast6", errno)};
        }
        slot = find_slot6(f, a);
        if (slot < 0) {
            slot = find_slot6(f, words6{});
            if (slot < 0) {
                return set_flag(hash_flag, true);
            }
            set_slot6(f, slot, a);
            if (bpf_map_update_elem(fd(svc_fast6), &zero, &f, BPF_ANY) != 0) {
                return error{errno_message("write sl_svc_fast6 for " + s.to_string(), errno)};
            }
        }
    }
    const std::uint32_t port = s.port;
    sluice_xdp_port_slots p{};
    if (bpf_map_lookup_elem(fd(svc_ports), &port, &p) != 0) {
        return error{errno_message("read sl_svc_ports[" + std::to_string(port) + "]", errno)};
    }
    mask_of(p, s) |= static_cast<std::uint16_t>(1u << slot);
    if (bpf_map_update_elem(fd(svc_ports), &port, &p, BPF_ANY) != 0) {
        return error{errno_message("write sl_svc_ports for " + s.to_string(), errno)};
    }
    return {};
}

status xdp_maps::fast_remove(const service& s, bool last) {
    const std::uint32_t zero = 0;
    sluice_xdp_svc_fast f{};
    sluice_xdp_svc_fast6 f6{};
    int slot = -1;
    if (s.addr.is_v4) {
        const std::uint32_t a = v4_of(s.addr);
        if (a == 0 || bpf_map_lookup_elem(fd(svc_fast), &zero, &f) != 0) {
            return {};  // 0.0.0.0 never has a slot; an unreadable table is rebuilt by sync_fast
        }
        slot = find_slot(f, a);
    } else {
        const words6 a = v6_of(s.addr);
        if (a.zero() || bpf_map_lookup_elem(fd(svc_fast6), &zero, &f6) != 0) {
            return {};
        }
        slot = find_slot6(f6, a);
    }
    if (slot < 0) {
        return {};  // served from the hash (overflow)
    }
    const std::uint32_t port = s.port;
    sluice_xdp_port_slots p{};
    if (bpf_map_lookup_elem(fd(svc_ports), &port, &p) == 0) {
        mask_of(p, s) &= static_cast<std::uint16_t>(~(1u << slot));
        if (bpf_map_update_elem(fd(svc_ports), &port, &p, BPF_ANY) != 0) {
            return error{errno_message("clear sl_svc_ports bit of " + s.to_string(), errno)};
        }
    }
    if (!last) {
        return {};
    }
    int rc = 0;
    if (s.addr.is_v4) {
        f.addr4[slot] = 0;
        rc = bpf_map_update_elem(fd(svc_fast), &zero, &f, BPF_ANY);
    } else {
        set_slot6(f6, slot, words6{});
        rc = bpf_map_update_elem(fd(svc_fast6), &zero, &f6, BPF_ANY);
    }
    if (rc != 0) {
        return error{errno_message("free the fast-table slot of " + s.addr.to_string(), errno)};
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
    sluice_xdp_svc_fast6 cur6{};
    if (bpf_map_lookup_elem(fd(svc_fast), &zero, &cur) != 0) {
        return error{errno_message("read sl_svc_fast", errno)};
    }
    if (bpf_map_lookup_elem(fd(svc_fast6), &zero, &cur6) != 0) {
        return error{errno_message("read sl_svc_fast6", errno)};
    }
    std::vector<std::uint32_t> addrs;
    std::vector<words6> addrs6;
    bool overflow = false;
    bool overflow6 = false;
    for (const auto& e : svcs.value()) {
        if (e.svc.addr.is_v4) {
            const std::uint32_t a = v4_of(e.svc.addr);
            overflow |= a == 0;
            if (a != 0 && std::find(addrs.begin(), addrs.end(), a) == addrs.end()) {
                addrs.push_back(a);
            }
        } else {
            const words6 a = v6_of(e.svc.addr);
            overflow6 |= a.zero();
            if (!a.zero() && std::find(addrs6.begin(), addrs6.end(), a) == addrs6.end()) {
                addrs6.push_back(a);
            }
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
    sluice_xdp_svc_fast6 want6{};
    for (int i = 0; i < SLUICE_XDP_FAST_ADDRS6; ++i) {
        const words6 a = slot6(cur6, i);
        if (!a.zero() && std::find(addrs6.begin(), addrs6.end(), a) != addrs6.end()) {
            set_slot6(want6, i, a);
        }
    }
    for (const words6& a : addrs6) {
        if (find_slot6(want6, a) >= 0) {
            continue;
        }
        const int free_slot = find_slot6(want6, words6{});
        if (free_slot < 0) {
            overflow6 = true;
            break;
        }
        set_slot6(want6, free_slot, a);
    }
    std::vector<sluice_xdp_port_slots> ports(port_count);
    for (const auto& e : svcs.value()) {
        int slot = -1;
        if (e.svc.addr.is_v4) {
            slot = v4_of(e.svc.addr) != 0 ? find_slot(want, v4_of(e.svc.addr)) : -1;
        } else {
            slot = v6_of(e.svc.addr).zero() ? -1 : find_slot6(want6, v6_of(e.svc.addr));
        }
        if (slot >= 0) {
            mask_of(ports[e.svc.port], e.svc) |= static_cast<std::uint16_t>(1u << slot);
        }
    }
    // The program reads the hash while the tables are rewritten.
    for (const std::uint32_t bit : {SLUICE_XDP_F_SVC_HASH, SLUICE_XDP_F_SVC6_HASH}) {
        if (auto st = set_flag(bit, true); !st) {
            return st;
        }
    }
    if (bpf_map_update_elem(fd(svc_fast), &zero, &want, BPF_ANY) != 0) {
        return error{errno_message("write sl_svc_fast", errno)};
    }
    if (bpf_map_update_elem(fd(svc_fast6), &zero, &want6, BPF_ANY) != 0) {
        return error{errno_message("write sl_svc_fast6", errno)};
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
    if (!overflow) {
        if (auto st = set_flag(SLUICE_XDP_F_SVC_HASH, false); !st) {
            return st;
        }
    }
    return overflow6 ? status{} : set_flag(SLUICE_XDP_F_SVC6_HASH, false);
}

}  // namespace sluice::ebpf
