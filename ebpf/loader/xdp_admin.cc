// Shared operator logic of sluice-xdp and sluicectl xdp; see xdp_admin.hh. The tool's thread.
#include "xdp_admin.hh"

#include <bpf/bpf.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <net/if.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>

#include "xdp_program.hh"

namespace sluice::ebpf {
namespace {

constexpr const char* start_hint =
    "start the dataplane with an afxdp:/auto: port, or run `sluice-xdp attach IFACE`";

// Map ids of program prog_id (bounded: the object has 9 maps).
std::vector<std::uint32_t> map_ids_of(std::uint32_t prog_id) {
    unique_fd fd(bpf_prog_get_fd_by_id(prog_id));
    if (!fd.valid()) {
        return {};
    }
    std::vector<std::uint32_t> ids(16);
    bpf_prog_info info{};
    info.nr_map_ids = static_cast<std::uint32_t>(ids.size());
    info.map_ids = reinterpret_cast<std::uintptr_t>(ids.data());
    std::uint32_t len = sizeof(info);
    if (bpf_obj_get_info_by_fd(fd.get(), &info, &len) != 0) {
        return {};
    }
    ids.resize(std::min<std::size_t>(info.nr_map_ids, ids.size()));
    return ids;
}

std::uint32_t map_id_of(int map_fd) {
    bpf_map_info info{};
    std::uint32_t len = sizeof(info);
    return bpf_obj_get_info_by_fd(map_fd, &info, &len) == 0 ? info.id : 0;
}

}  // namespace

admin_maps open_admin_maps(const std::string& pin_root) {
    admin_maps out;
    struct statfs fs {};
    if (statfs(pin_root.c_str(), &fs) != 0) {
        out.failure = errno == EACCES ? open_failure::no_access : open_failure::not_loaded;
        out.message = errno_message("no Sluice XDP program is loaded: pin root " + pin_root +
                                        " is not there; " + start_hint,
                                    errno);
        return out;
    }
    if (fs.f_type != BPF_FS_MAGIC) {
        out.failure = open_failure::not_loaded;
        out.message = "no Sluice XDP program is loaded: " + pin_root +
                      " is not a bpffs mount, so nothing is pinned there (mount -t bpf bpf "
                      "/sys/fs/bpf; `ip netns exec` remounts /sys and hides bpffs: use the tools' "
                      "--netns NAME instead, or `nsenter -t DATAPLANE_PID -m` to reach a "
                      "dataplane's private bpffs); " + start_hint;
        return out;
    }
    std::vector<std::string> missing;
    for (const char* name : xdp_maps::map_names()) {
        struct stat st {};
        const std::string path = pin_root + "/" + name;
        if (stat(path.c_str(), &st) != 0) {
            if (errno == EACCES) {
                out.failure = open_failure::no_access;
                out.message = errno_message("cannot look at " + path + " (run as root)", errno);
                return out;
            }
            missing.emplace_back(name);
        }
    }
    if (missing.size() == xdp_maps::map_names().size()) {
        out.failure = open_failure::not_loaded;
        out.message = "no Sluice XDP program is loaded (no pinned maps under " + pin_root +
                      "): " + start_hint;
        return out;
    }
    if (!missing.empty()) {
        out.failure = open_failure::other;
        out.message = "pin root " + pin_root + " has some Sluice maps but not " + missing[0] +
                      " (" + std::to_string(missing.size()) +
                      " missing): pins of another Sluice version, or a partial unpin; remove "
                      "them with `sluice-xdp --pin-root " + pin_root +
                      " unpin` and restart the dataplane";
        return out;
    }
    auto m = xdp_maps::open_pinned(pin_root);
    if (!m) {
        const int err = errno;
        out.failure = err == EPERM || err == EACCES ? open_failure::no_access : open_failure::other;
        out.message = out.failure == open_failure::no_access
                          ? m.message() + " (opening BPF pins needs root or CAP_BPF)"
                          : m.message();
        return out;
    }
    out.maps.emplace(std::move(m).value());
    return out;
}

status enter_netns(const std::string& name) {
    const std::string path = "/var/run/netns/" + name;
    unique_fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid() || setns(fd.get(), CLONE_NEWNET) != 0) {
        return error{errno_message("enter network namespace " + path, errno)};
    }
    return {};
}

result<std::vector<attached_program>> find_attached(const xdp_maps* maps) {
    struct if_nameindex* list = if_nameindex();
    if (list == nullptr) {
        return error{errno_message("list network interfaces", errno)};
    }
    const std::uint32_t stats_id = maps != nullptr ? map_id_of(maps->stats_fd()) : 0;
    std::vector<attached_program> out;
    for (const struct if_nameindex* i = list; i->if_index != 0; ++i) {
        const int ifindex = static_cast<int>(i->if_index);
        auto q = xdp_program::query(ifindex);
        if (!q || !q.value() || !q.value()->is_sluice()) {
            continue;  // gone meanwhile, nothing attached, or a foreign program
        }
        attached_program a;
        a.ifname = i->if_name;
        a.ifindex = ifindex;
        a.prog_id = q.value()->id;
        a.native = q.value()->native;
        const auto ids = map_ids_of(a.prog_id);
        a.uses_these_maps =
            stats_id != 0 && std::find(ids.begin(), ids.end(), stats_id) != ids.end();
        out.push_back(std::move(a));
    }
    if_freenameindex(list);
    return out;
}

result<xdp_overview> read_overview(const xdp_maps& maps) {
    xdp_overview o;
    auto att = find_attached(&maps);
    if (!att) {
        return error{att.message()};
    }
    o.attached = std::move(att).value();
    auto cfg = maps.read_config();
    if (!cfg) {
        return error{cfg.message()};
    }
    o.config = cfg.value();
    auto svc = maps.list_services();
    if (!svc) {
        return error{svc.message()};
    }
    o.services = std::move(svc).value();
    auto blocks = maps.blocked();
    if (!blocks) {
        return error{blocks.message()};
    }
    o.blocks = std::move(blocks).value();
    auto live = live_gateway_verdicts(maps);
    if (!live) {
        return error{live.message()};
    }
    o.gateway_verdicts_live = live->size();
    return o;
}

result<std::vector<live_verdict>> live_gateway_verdicts(const xdp_maps& maps) {
    auto all = maps.gateway_verdicts();
    if (!all) {
        return error{all.message()};
    }
    const std::uint64_t now = xdp_maps::monotonic_now_ns();
    std::vector<live_verdict> out;
    for (const auto& e : all.value()) {
        if (e.expires_ns > now) {
            // Rounded up: a verdict with 0.3 ms left still shows as live for 1 ms.
            out.push_back({e.src, e.reason, (e.expires_ns - now + 999'999) / 1'000'000});
        }
    }
    std::sort(out.begin(), out.end(), [](const live_verdict& a, const live_verdict& b) {
        return a.src.bytes < b.src.bytes;
    });
    return out;
}

std::string_view reason_name(gateway_reason r) {
    switch (r) {
        case gateway_reason::rate_limited: return "rate_limited";
        case gateway_reason::blocked: return "blocked";
    }
    return "unknown";
}

std::optional<gateway_reason> parse_reason(std::string_view text) {
    if (text == "rate_limited" || text == "rate-limited") {
        return gateway_reason::rate_limited;
    }
    if (text == "blocked") {
        return gateway_reason::blocked;
    }
    return std::nullopt;
}

result<std::uint64_t> parse_uint(std::string_view what, std::string_view text, std::uint64_t lo,
                                 std::uint64_t hi) {
    std::uint64_t v = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || v < lo ||
        v > hi) {
        return error{std::string(what) + " '" + std::string(text) + "' must be an integer in " +
                     std::to_string(lo) + ".." + std::to_string(hi)};
    }
    return v;
}

}  // namespace sluice::ebpf
