// Map operations of the XDP loader; see xdp_maps.hh. Any thread; each call is a few
// bpf(2) syscalls, never on a packet path.
#include "xdp_maps.hh"

#include "map_ops.hh"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include <cerrno>
#include <cstring>
#include <ctime>

namespace sluice::ebpf {
namespace {

sluice_xdp_service_key make_key(const service& s) {
    sluice_xdp_service_key k{};  // zeroes pad: the hash compares every key byte
    std::memcpy(k.addr.bytes, s.addr.bytes.data(), 16);
    k.port = htons(s.port);
    k.proto = static_cast<std::uint8_t>(s.proto);
    return k;
}

sluice_xdp_addr make_addr(const ip_addr& a) {
    sluice_xdp_addr k{};
    std::memcpy(k.bytes, a.bytes.data(), 16);
    return k;
}

std::string describe(const service& s) { return s.to_string(); }

}  // namespace

std::string service::to_string() const {
    const service& s = *this;
    std::string out = s.proto == l4_proto::tcp ? "tcp " : "udp ";
    if (s.addr.is_v4) {
        out += s.addr.to_string();
    } else {
        out += '[';
        out += s.addr.to_string();
        out += ']';
    }
    out += ':';
    out += std::to_string(s.port);
    return out;
}

namespace {

ip_addr from_key(const std::uint8_t (&b)[16]) {
    ip_addr a;
    std::memcpy(a.bytes.data(), b, 16);
    static constexpr std::uint8_t mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    a.is_v4 = std::memcmp(b, mapped_prefix, 12) == 0;
    return a;
}

// Key and value sizes of each map, in map_index order (ebpf/xdp/maps.h); for PERCPU_ARRAY
// the kernel reports the per-CPU value size.
struct map_shape {
    std::uint32_t key;
    std::uint32_t value;
};
constexpr std::array<map_shape, xdp_map_count> expected_shapes = {{
    {sizeof(sluice_xdp_service_key), sizeof(sluice_xdp_service_value)},
    {4, 4},
    {sizeof(sluice_xdp_lpm_v4), 4},
    {sizeof(sluice_xdp_lpm_v6), 4},
    {sizeof(sluice_xdp_addr), sizeof(sluice_xdp_syn_bucket)},
    {sizeof(sluice_xdp_addr), sizeof(sluice_xdp_gw_verdict)},
    {4, sizeof(sluice_xdp_config)},
    {4, sizeof(sluice_xdp_stats)},
    {4, sizeof(sluice_xdp_svc_fast)},
    {4, sizeof(sluice_xdp_port_slots)},
    {4, sizeof(sluice_xdp_svc_fast6)},
    {4, 8},
    {4, 8},
    {4, sizeof(sluice_xdp_hosts4_bucket)},
    {4, 8},
    {4, sizeof(sluice_xdp_prefix6_bucket)},
}};

std::uint32_t v4_key(const ip_addr& a) {
    std::uint32_t k = 0;
    std::memcpy(&k, &a.bytes[12], 4);
    return k;
}

}  // namespace

const std::array<const char*, xdp_map_count>& xdp_maps::map_names() {
    // Order matches map_index. Names as in ebpf/xdp/maps.h.
    static const std::array<const char*, xdp_map_count> names = {
        "sl_services",   "sl_svc_addr4",  "sl_block_v4", "sl_block_v6",
        "sl_syn_bucket", "sl_gw_verdict", "sl_config",   "sl_stats",
        "sl_svc_fast",   "sl_svc_ports",  "sl_svc_fast6", "sl_blk4_pf",  "sl_blk6_pf",
        "sl_blk4_hosts", "sl_blk6_exact", "sl_blk6_pfx",
    };
    return names;
}

xdp_maps xdp_maps::adopt(std::array<unique_fd, xdp_map_count> fds) { return xdp_maps(std::move(fds)); }

result<xdp_maps> xdp_maps::open_pinned(const std::string& pin_root) {
    std::array<unique_fd, xdp_map_count> fds;
    for (std::size_t i = 0; i < fds.size(); ++i) {
        const std::string path = pin_root + "/" + map_names()[i];
        const int fd = bpf_obj_get(path.c_str());
        if (fd < 0) {
            return error{errno_message("open pinned map " + path +
                                           " (is the Sluice XDP program loaded with this pin root?)",
                                       errno)};
        }
        fds[i].reset(fd);
        bpf_map_info info{};
        std::uint32_t len = sizeof(info);
        if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0) {
            return error{errno_message("inspect pinned map " + path, errno)};
        }
        if (info.key_size != expected_shapes[i].key ||
            info.value_size != expected_shapes[i].value) {
            return error{"pinned map " + path + " has key/value size " +
                         std::to_string(info.key_size) + "/" + std::to_string(info.value_size) +
                         ", this build expects " + std::to_string(expected_shapes[i].key) + "/" +
                         std::to_string(expected_shapes[i].value) + " (ABI version " +
                         std::to_string(SLUICE_XDP_ABI_VERSION) +
                         "): a stale pin of another Sluice version; remove it with "
                         "`sluice-xdp unpin` once no program uses it"};
        }
    }
    return xdp_maps(std::move(fds));
}

std::string_view xdp_stats::name(sluice_xdp_counter c) {
    switch (c) {
        case SLUICE_CNT_PASS: return "pass";
        case SLUICE_CNT_REDIRECT: return "redirect";
        case SLUICE_CNT_DROP_BLOCKLIST: return "drop_blocklist";
        case SLUICE_CNT_DROP_SYN_LIMIT: return "drop_syn_limit";
        case SLUICE_CNT_DROP_GATEWAY_VERDICT: return "drop_gateway_verdict";
        case SLUICE_CNT_DROP_MALFORMED: return "drop_malformed";
        case SLUICE_CNT_PASS_TRUNCATED: return "pass_truncated";
        case SLUICE_CNT_PASS_FRAGMENT: return "pass_fragment";
        case SLUICE_CNT_PASS_NO_XSK: return "pass_no_xsk";
        case SLUICE_CNT_PASS_NOT_SERVICE: return "pass_not_service";
        case SLUICE_CNT_PASS_OTHER_L3: return "pass_other_l3";
        case SLUICE_CNT_PASS_OTHER_L4: return "pass_other_l4";
        case SLUICE_CNT_STEER_SERVICE: return "steer_service";
        case SLUICE_CNT_STEER_ARP: return "steer_arp";
        case SLUICE_CNT_GATEWAY_EXPIRED: return "gateway_expired";
        case SLUICE_CNT_STEER_RETURN: return "steer_return";
        case SLUICE_CNT_MAX: break;
    }
    return "unknown";
}

status xdp_maps::add_service(const service& s, std::uint32_t service_id) {
    if (s.port == 0) {
        return error{"service " + describe(s) + ": port 0 cannot receive traffic"};
    }
    const auto key = make_key(s);
    const sluice_xdp_service_value val{service_id, 0};
    if (bpf_map_update_elem(fd(services), &key, &val, BPF_NOEXIST) != 0) {
        if (errno != EEXIST) {
            return error{errno_message("add service " + describe(s) + " to sl_services", errno)};
        }
        // Already present: update the id, the address reference count stays as it is.
        if (bpf_map_update_elem(fd(services), &key, &val, BPF_EXIST) != 0) {
            return error{errno_message("update service " + describe(s), errno)};
        }
        // fast_add is idempotent; it repairs tables that miss an entry sl_services has
        // (pins reused by a PMD-loaded program that never runs sync_flags()).
        return fast_add(s);
    }
    if (s.addr.is_v4) {
        const std::uint32_t a = v4_key(s.addr);
        std::uint32_t refs = 0;
        bpf_map_lookup_elem(fd(svc_addr4), &a, &refs);  // absent: stays 0
        ++refs;
        if (bpf_map_update_elem(fd(svc_addr4), &a, &refs, BPF_ANY) != 0) {
            const int err = errno;
            bpf_map_delete_elem(fd(services), &key);  // keep the two maps consistent
            return error{errno_message("add service address " + s.addr.to_string() +
                                           " to sl_svc_addr4 (service not added)",
                                       err)};
        }
    }
    return fast_add(s);
}

status xdp_maps::remove_service(const service& s) {
    const auto key = make_key(s);
    if (bpf_map_delete_elem(fd(services), &key) != 0) {
        return error{errno_message("remove service " + describe(s), errno)};
    }
    if (s.addr.is_v4) {
        const std::uint32_t a = v4_key(s.addr);
        std::uint32_t refs = 0;
        if (bpf_map_lookup_elem(fd(svc_addr4), &a, &refs) == 0) {
            // Fast tables first: the port bit goes before the address slot is freed.
            if (auto st = fast_remove(s, refs <= 1); !st) {
                return st;
            }
            const int rc = refs <= 1 ? bpf_map_delete_elem(fd(svc_addr4), &a)
                                     : (--refs, bpf_map_update_elem(fd(svc_addr4), &a, &refs,
                                                                    BPF_EXIST));
            if (rc != 0) {
                return error{errno_message("service " + describe(s) +
                                               " removed, but its sl_svc_addr4 entry was not",
                                           errno)};
            }
        }
        return {};
    }
    // IPv6 keeps no per-address count: the slot is freed when no service on it remains.
    auto left = list_services();
    if (!left) {
        return error{"service " + describe(s) + " removed; " + left.message()};
    }
    bool last = true;
    for (const auto& e : left.value()) {
        last = last && !(e.svc.addr == s.addr);
    }
    return fast_remove(s, last);
}

result<std::vector<service_entry>> xdp_maps::list_services() const {
    std::vector<service_entry> out;
    sluice_xdp_service_key k{};
    sluice_xdp_service_key next{};
    for (int i = 0; i < SLUICE_XDP_MAX_SERVICES &&
                    bpf_map_get_next_key(fd(services), i == 0 ? nullptr : &k, &next) == 0;
         ++i) {
        k = next;
        sluice_xdp_service_value v{};
        if (bpf_map_lookup_elem(fd(services), &next, &v) != 0) {
            continue;  // removed between the two calls
        }
        service_entry e;
        e.svc.addr = from_key(next.addr.bytes);
        e.svc.port = ntohs(next.port);
        e.svc.proto = static_cast<l4_proto>(next.proto);
        e.service_id = v.service_id;
        out.push_back(e);
    }
    return out;
}

result<sluice_xdp_config> xdp_maps::read_config() const {
    const std::uint32_t zero = 0;
    sluice_xdp_config cfg{};
    if (bpf_map_lookup_elem(fd(config), &zero, &cfg) != 0) {
        return error{errno_message("read sl_config", errno)};
    }
    return cfg;
}

status xdp_maps::trie_write(const cidr& c, bool add) {
    const std::uint32_t one = 1;
    int rc = 0;
    if (c.addr.is_v4) {
        sluice_xdp_lpm_v4 k{c.len, {}};
        std::memcpy(k.addr, &c.addr.bytes[12], 4);
        rc = add ? bpf_map_update_elem(fd(block_v4), &k, &one, BPF_ANY)
                 : bpf_map_delete_elem(fd(block_v4), &k);
    } else {
        sluice_xdp_lpm_v6 k{c.len, {}};
        std::memcpy(k.addr, c.addr.bytes.data(), 16);
        rc = add ? bpf_map_update_elem(fd(block_v6), &k, &one, BPF_ANY)
                 : bpf_map_delete_elem(fd(block_v6), &k);
    }
    if (rc == 0) {
        return {};
    }
    if (!add && errno == ENOENT) {
        return error{c.to_string() + " is not in the block list (removal needs the exact "
                                     "prefix that was added)"};
    }
    return error{errno_message((add ? "block " : "unblock ") + c.to_string(), errno)};
}

status xdp_maps::after_trie_writes(unsigned touched) {
    for (const bool v6 : {false, true}) {
        if ((touched & (v6 ? 2u : 1u)) == 0) {
            continue;
        }
        // The trie is written, then the bitmap, then the flag (on after both, off when the
        // trie emptied): block_prefilter.cc has what a racing packet can see.
        if (auto st = sync_prefilter(v6); !st) {
            return st;
        }
        const std::uint32_t bit = v6 ? SLUICE_XDP_F_BLOCK_V6 : SLUICE_XDP_F_BLOCK_V4;
        if (auto st = set_flag(bit, !map_empty(v6 ? block_v6 : block_v4)); !st) {
            return st;
        }
    }
    return {};
}

status xdp_maps::block(const cidr& c) { return block_all({c}); }

status xdp_maps::unblock(const cidr& c) { return unblock_all({c}); }

status xdp_maps::block_all(const std::vector<cidr>& cs) {
    unsigned touched = 0;
    for (const cidr& c : cs) {
        if (auto st = trie_write(c, true); !st) {
            (void)after_trie_writes(touched);
            return st;
        }
        touched |= c.addr.is_v4 ? 1u : 2u;
    }
    return after_trie_writes(touched);
}

status xdp_maps::unblock_all(const std::vector<cidr>& cs) {
    unsigned touched = 0;
    for (const cidr& c : cs) {
        if (auto st = trie_write(c, false); !st) {
            (void)after_trie_writes(touched);
            return st;
        }
        touched |= c.addr.is_v4 ? 1u : 2u;
    }
    return after_trie_writes(touched);
}

result<std::vector<cidr>> xdp_maps::blocked() const {
    std::vector<cidr> out;
    sluice_xdp_lpm_v4 k4{};
    sluice_xdp_lpm_v4 next4{};
    // Bounded by the map size, in case entries churn while we walk.
    for (int i = 0; i < SLUICE_XDP_MAX_BLOCKS &&
                    bpf_map_get_next_key(fd(block_v4), i == 0 ? nullptr : &k4, &next4) == 0;
         ++i) {
        std::array<std::uint8_t, 4> b{};
        std::memcpy(b.data(), next4.addr, 4);
        out.push_back(cidr{ip_addr::from_v4(b), static_cast<std::uint8_t>(next4.prefixlen)});
        k4 = next4;
    }
    sluice_xdp_lpm_v6 k6{};
    sluice_xdp_lpm_v6 next6{};
    for (int i = 0; i < SLUICE_XDP_MAX_BLOCKS &&
                    bpf_map_get_next_key(fd(block_v6), i == 0 ? nullptr : &k6, &next6) == 0;
         ++i) {
        cidr c;
        std::memcpy(c.addr.bytes.data(), next6.addr, 16);
        c.len = static_cast<std::uint8_t>(next6.prefixlen);
        out.push_back(c);
        k6 = next6;
    }
    return out;
}

status xdp_maps::set_syn_limit(std::uint32_t rate_per_sec, std::uint32_t burst) {
    if (rate_per_sec != 0 &&
        (rate_per_sec > SLUICE_XDP_SYN_RATE_MAX || burst == 0 || burst > SLUICE_XDP_SYN_BURST_MAX)) {
        return error{"SYN limit rate=" + std::to_string(rate_per_sec) +
                     " burst=" + std::to_string(burst) + ": rate must be 0 (off) or 1.." +
                     std::to_string(SLUICE_XDP_SYN_RATE_MAX) + " and burst 1.." +
                     std::to_string(SLUICE_XDP_SYN_BURST_MAX) + "; limit unchanged"};
    }
    const std::uint32_t zero = 0;
    sluice_xdp_config cfg{};
    if (bpf_map_lookup_elem(fd(config), &zero, &cfg) != 0) {
        return error{errno_message("read sl_config", errno)};
    }
    cfg.syn_rate = rate_per_sec;
    cfg.syn_burst = rate_per_sec != 0 ? burst : 0;
    cfg.abi_version = SLUICE_XDP_ABI_VERSION;
    if (bpf_map_update_elem(fd(config), &zero, &cfg, BPF_ANY) != 0) {
        return error{errno_message("write sl_config", errno)};
    }
    return {};
}

status xdp_maps::set_return_ports(std::uint16_t min, std::uint16_t max) {
    if (min != 0 && min > max) {
        return error{"return port range " + std::to_string(min) + "-" + std::to_string(max) +
                     ": the first port must not exceed the last; range unchanged"};
    }
    const std::uint32_t zero = 0;
    sluice_xdp_config cfg{};
    if (bpf_map_lookup_elem(fd(config), &zero, &cfg) != 0) {
        return error{errno_message("read sl_config", errno)};
    }
    cfg.return_port_min = min;
    cfg.return_port_max = min != 0 ? max : 0;
    cfg.abi_version = SLUICE_XDP_ABI_VERSION;
    if (bpf_map_update_elem(fd(config), &zero, &cfg, BPF_ANY) != 0) {
        return error{errno_message("write sl_config", errno)};
    }
    return {};
}

bool xdp_maps::map_empty(map_index i) const {
    // Key buffer large enough for any of our keys (largest: service key, 20 bytes).
    std::array<std::uint8_t, 32> next{};
    return bpf_map_get_next_key(fd(i), nullptr, next.data()) != 0;
}

status xdp_maps::set_flag(std::uint32_t bit, bool on) {
    if (const int err = detail::set_config_flag(fd(config), bit, on); err != 0) {
        return error{errno_message("update sl_config flags", err)};
    }
    return {};
}

status xdp_maps::sync_flags() {
    // Bitmaps before flags: a flag turned on finds its bitmap complete.
    for (const bool v6 : {false, true}) {
        if (auto st = sync_prefilter(v6); !st) {
            return st;
        }
    }
    const std::pair<map_index, std::uint32_t> pairs[] = {
        {block_v4, SLUICE_XDP_F_BLOCK_V4},
        {block_v6, SLUICE_XDP_F_BLOCK_V6},
        {gw_verdict, SLUICE_XDP_F_GW_VERDICTS},
    };
    for (const auto& [m, bit] : pairs) {
        if (auto st = set_flag(bit, !map_empty(m)); !st) {
            return st;
        }
    }
    return sync_fast();
}

std::uint64_t xdp_maps::monotonic_now_ns() noexcept { return detail::monotonic_ns(); }

status xdp_maps::add_gateway_verdict(const ip_addr& src, std::chrono::nanoseconds ttl,
                                     gateway_reason r) {
    if (ttl.count() <= 0) {
        return error{"gateway verdict for " + src.to_string() + ": TTL must be positive"};
    }
    return add_gateway_verdict_until(
        src, detail::monotonic_ns() + static_cast<std::uint64_t>(ttl.count()), r);
}

status xdp_maps::add_gateway_verdict_until(const ip_addr& src, std::uint64_t expires_ns,
                                           gateway_reason r) {
    if (const int err = detail::put_gateway_verdict(fd(gw_verdict), fd(config), make_addr(src),
                                                    expires_ns, static_cast<std::uint32_t>(r));
        err != 0) {
        return error{errno_message("gateway verdict for " + src.to_string(), err)};
    }
    return {};
}

status xdp_maps::remove_gateway_verdict(const ip_addr& src) {
    const int err = detail::delete_gateway_verdict(fd(gw_verdict), make_addr(src));
    if (err == ENOENT) {
        return error{src.to_string() + " has no gateway verdict (none was set, or it expired "
                                       "and the program removed it)"};
    }
    if (err != 0) {
        return error{errno_message("remove gateway verdict for " + src.to_string(), err)};
    }
    return {};
}

result<std::vector<gateway_verdict_entry>> xdp_maps::gateway_verdicts() const {
    std::vector<gateway_verdict_entry> out;
    sluice_xdp_addr k{};
    sluice_xdp_addr next{};
    // Bounded by the map size: the program deletes (and the LRU evicts) while we walk.
    for (int i = 0; i < SLUICE_XDP_MAX_GW_VERDICTS &&
                    bpf_map_get_next_key(fd(gw_verdict), i == 0 ? nullptr : &k, &next) == 0;
         ++i) {
        k = next;
        sluice_xdp_gw_verdict v{};
        if (bpf_map_lookup_elem(fd(gw_verdict), &next, &v) != 0) {
            continue;  // deleted between the two calls
        }
        out.push_back({from_key(next.bytes), v.expires_ns, static_cast<gateway_reason>(v.reason)});
    }
    return out;
}

result<xdp_stats> xdp_maps::read_stats() const {
    const int ncpu = libbpf_num_possible_cpus();
    if (ncpu <= 0) {
        return error{errno_message("count possible CPUs", ncpu)};
    }
    // One value per possible CPU (per-CPU values are 8-byte aligned; ours is 8 * N bytes).
    std::vector<sluice_xdp_stats> per_cpu(static_cast<std::size_t>(ncpu));
    const std::uint32_t zero = 0;
    if (bpf_map_lookup_elem(fd(stats), &zero, per_cpu.data()) != 0) {
        return error{errno_message("read sl_stats", errno)};
    }
    xdp_stats s;
    for (const auto& cpu : per_cpu) {
        for (std::uint32_t i = 0; i < SLUICE_CNT_MAX; ++i) {
            s.counters[i] += cpu.counters[i];
        }
    }
    return s;
}

}  // namespace sluice::ebpf
