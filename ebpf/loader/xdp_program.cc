// Load, attach, stale-program replacement and detach for the Sluice XDP program; see
// xdp_program.hh. Setup path only.
#include "xdp_program.hh"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <net/if.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <deque>
#include <mutex>

#include "sluice_xdp.skel.h"

namespace sluice::ebpf {
namespace {

// libbpf reports verifier and pinning failures only through its print callback; keep the
// last lines so load() can put them in its error message. libbpf's callback is process-wide.
std::mutex log_mutex;
std::deque<std::string> log_tail;
constexpr std::size_t log_tail_lines = 24;  // enough for the verifier's verdict and context

int capture_libbpf(libbpf_print_level level, const char* fmt, va_list args) {
    if (level == LIBBPF_DEBUG) {
        return 0;
    }
    char buf[512];
    const int n = std::vsnprintf(buf, sizeof(buf), fmt, args);
    const std::lock_guard lock(log_mutex);
    log_tail.emplace_back(buf, n > 0 ? std::min<std::size_t>(n, sizeof(buf) - 1) : 0);
    while (log_tail.size() > log_tail_lines) {
        log_tail.pop_front();
    }
    return n;
}

std::string take_log() {
    const std::lock_guard lock(log_mutex);
    std::string s;
    for (auto& l : log_tail) {
        s += "  libbpf: " + l;
        if (s.back() != '\n') {
            s += '\n';
        }
    }
    log_tail.clear();
    return s;
}

std::string ifname(int ifindex) {
    char buf[IF_NAMESIZE] = {};
    if (if_indextoname(static_cast<unsigned>(ifindex), buf) == nullptr) {
        return "ifindex " + std::to_string(ifindex);
    }
    return std::string(buf) + " (ifindex " + std::to_string(ifindex) + ")";
}

const char* mode_name(std::uint32_t flags) {
    return (flags & XDP_FLAGS_DRV_MODE) ? "native" : "skb";
}

// Looks up the attached program; fills the fd so callers can use XDP_FLAGS_REPLACE.
result<std::optional<installed_program>> query_with_fd(int ifindex, unique_fd* fd_out) {
    bpf_xdp_query_opts q{};
    q.sz = sizeof(q);
    if (const int rc = bpf_xdp_query(ifindex, 0, &q); rc != 0) {
        return error{errno_message("query XDP program on " + ifname(ifindex), rc)};
    }
    if (q.attach_mode == XDP_ATTACHED_NONE) {
        return std::optional<installed_program>{};
    }
    installed_program p;
    p.native = q.drv_prog_id != 0;
    p.id = p.native ? q.drv_prog_id : q.skb_prog_id;
    if (p.id == 0) {  // offloaded (hw) or multi: never ours
        p.id = q.prog_id != 0 ? q.prog_id : q.hw_prog_id;
        p.name = "(offloaded)";
        return std::optional<installed_program>{p};
    }
    unique_fd fd(bpf_prog_get_fd_by_id(p.id));
    if (!fd.valid()) {
        return error{errno_message("open XDP program id " + std::to_string(p.id) + " on " +
                                       ifname(ifindex),
                                   errno)};
    }
    bpf_prog_info info{};
    __u32 len = sizeof(info);
    if (bpf_obj_get_info_by_fd(fd.get(), &info, &len) != 0) {
        return error{errno_message("read info of XDP program id " + std::to_string(p.id), errno)};
    }
    p.name = info.name;
    if (fd_out != nullptr) {
        *fd_out = std::move(fd);
    }
    return std::optional<installed_program>{p};
}

}  // namespace

bool installed_program::is_sluice() const { return name == SLUICE_XDP_PROG_NAME; }

result<std::unique_ptr<xdp_program>> xdp_program::load(const load_options& opts) {
    libbpf_set_print(capture_libbpf);
    take_log();

    bpf_object_open_opts oo{};
    oo.sz = sizeof(oo);
    oo.pin_root_path = opts.pin_root.c_str();
    sluice_xdp_bpf* skel = sluice_xdp_bpf::open(&oo);
    if (skel == nullptr) {
        return error{errno_message("open embedded sluice_xdp object", errno) + "\n" + take_log()};
    }
    if (const int rc = sluice_xdp_bpf::load(skel); rc != 0) {
        sluice_xdp_bpf::destroy(skel);
        return error{errno_message("load sluice_xdp (pin root " + opts.pin_root +
                                       "; a 'couldn't reuse pinned map' line means pins from "
                                       "an older ABI: remove them)",
                                   rc) +
                     "\n" + take_log()};
    }
    std::array<unique_fd, xdp_map_count> fds;
    for (std::size_t i = 0; i < fds.size(); ++i) {
        const char* name = xdp_maps::map_names()[i];
        const bpf_map* m = bpf_object__find_map_by_name(skel->obj, name);
        const int fd = m != nullptr ? fcntl(bpf_map__fd(m), F_DUPFD_CLOEXEC, 3) : -1;
        if (fd < 0) {
            sluice_xdp_bpf::destroy(skel);
            return error{std::string("map ") + name + " missing from the sluice_xdp object"};
        }
        fds[i].reset(fd);
    }
    std::unique_ptr<xdp_program> prog(new xdp_program(skel, xdp_maps::adopt(std::move(fds))));
    // Reused pins may hold entries written by an older process: make the fast-path flags
    // agree with them before the program can be attached.
    if (auto st = prog->maps().sync_flags(); !st) {
        return error{st.message()};
    }
    return prog;
}

xdp_program::~xdp_program() {
    if (ifindex_ != 0) {
        (void)detach();  // best effort; the destructor has no one to report to
    }
    sluice_xdp_bpf::destroy(skel_);
}

int xdp_program::prog_fd() const noexcept { return bpf_program__fd(skel_->progs.sluice_xdp); }

int xdp_program::xsks_map_fd() const noexcept { return bpf_map__fd(skel_->maps.xsks_map); }

status xdp_program::unpin_maps() {
    if (const int rc = bpf_object__unpin_maps(skel_->obj, nullptr); rc != 0) {
        return error{errno_message("unpin sluice_xdp maps", rc)};
    }
    return {};
}

result<std::optional<installed_program>> xdp_program::query(int ifindex) {
    return query_with_fd(ifindex, nullptr);
}

result<attach_report> xdp_program::attach(int ifindex, attach_mode mode) {
    if (ifindex_ != 0) {
        return error{"already attached to " + ifname(ifindex_) + "; detach first"};
    }
    unique_fd old_fd;
    auto cur = query_with_fd(ifindex, &old_fd);
    if (!cur) {
        return error{cur.message()};
    }
    attach_report rep;
    if (cur.value().has_value()) {
        const installed_program& old = *cur.value();
        if (!old.is_sluice()) {
            return error{ifname(ifindex) + " already runs XDP program id " +
                         std::to_string(old.id) + " '" + old.name + "' (" +
                         (old.native ? "native" : "skb") +
                         "), which is not Sluice's; left in place. Detach it first "
                         "(ip link set dev IFACE xdp off) if it is not needed"};
        }
        // A Sluice program with no owner left (crashed process): swap it atomically in its
        // own mode, so the interface never runs without the block list.
        const std::uint32_t old_mode = old.native ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE;
        const bool mode_ok = mode == attach_mode::native_then_skb ||
                             (mode == attach_mode::native) == old.native;
        if (mode_ok) {
            bpf_xdp_attach_opts ao{};
            ao.sz = sizeof(ao);
            ao.old_prog_fd = old_fd.get();
            if (const int rc = bpf_xdp_attach(ifindex, prog_fd(), old_mode | XDP_FLAGS_REPLACE, &ao);
                rc != 0) {
                return error{errno_message("replace stale Sluice program id " +
                                               std::to_string(old.id) + " on " + ifname(ifindex),
                                           rc)};
            }
            ifindex_ = ifindex;
            attach_flags_ = old_mode;
            rep.native = old.native;
            rep.replaced_prog_id = old.id;
            rep.note = "replaced stale Sluice program id " + std::to_string(old.id) + " in " +
                       mode_name(old_mode) + " mode";
            return rep;
        }
        // The caller insists on the other mode: remove the stale one, then attach afresh.
        if (auto st = detach_sluice(ifindex); !st) {
            return error{st.message()};
        }
        rep.replaced_prog_id = old.id;
        rep.note = "detached stale Sluice program id " + std::to_string(old.id) + " (" +
                   mode_name(old_mode) + " mode); ";
    }

    const std::uint32_t noexist = XDP_FLAGS_UPDATE_IF_NOEXIST;
    if (mode != attach_mode::skb) {
        const int rc = bpf_xdp_attach(ifindex, prog_fd(), XDP_FLAGS_DRV_MODE | noexist, nullptr);
        if (rc == 0) {
            ifindex_ = ifindex;
            attach_flags_ = XDP_FLAGS_DRV_MODE;
            rep.native = true;
            rep.note += "attached in native mode";
            return rep;
        }
        if (mode == attach_mode::native) {
            return error{errno_message("attach native XDP to " + ifname(ifindex), rc)};
        }
        rep.note += errno_message("native mode refused", rc) + "; ";
    }
    const int rc = bpf_xdp_attach(ifindex, prog_fd(), XDP_FLAGS_SKB_MODE | noexist, nullptr);
    if (rc != 0) {
        return error{rep.note + errno_message("attach skb-mode XDP to " + ifname(ifindex), rc)};
    }
    ifindex_ = ifindex;
    attach_flags_ = XDP_FLAGS_SKB_MODE;
    rep.native = false;
    rep.note += "attached in skb (generic) mode";
    return rep;
}

status xdp_program::detach() {
    if (ifindex_ == 0) {
        return error{"sluice_xdp is not attached"};
    }
    bpf_xdp_attach_opts ao{};
    ao.sz = sizeof(ao);
    ao.old_prog_fd = prog_fd();
    // XDP_FLAGS_REPLACE: the kernel detaches only if our program is the one attached.
    const int rc = bpf_xdp_detach(ifindex_, attach_flags_ | XDP_FLAGS_REPLACE, &ao);
    const int idx = ifindex_;
    ifindex_ = 0;
    attach_flags_ = 0;
    if (rc != 0) {
        return error{errno_message("detach sluice_xdp from " + ifname(idx) +
                                       " (another program may have replaced it; left alone)",
                                   rc)};
    }
    return {};
}

status xdp_program::detach_sluice(int ifindex) {
    unique_fd fd;
    auto cur = query_with_fd(ifindex, &fd);
    if (!cur) {
        return error{cur.message()};
    }
    if (!cur.value().has_value()) {
        return {};
    }
    const installed_program& p = *cur.value();
    if (!p.is_sluice()) {
        return error{ifname(ifindex) + " runs XDP program id " + std::to_string(p.id) + " '" +
                     p.name + "', not Sluice's; left in place"};
    }
    bpf_xdp_attach_opts ao{};
    ao.sz = sizeof(ao);
    ao.old_prog_fd = fd.get();
    const std::uint32_t flags =
        (p.native ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE) | XDP_FLAGS_REPLACE;
    if (const int rc = bpf_xdp_detach(ifindex, flags, &ao); rc != 0) {
        return error{errno_message("detach Sluice program id " + std::to_string(p.id) + " from " +
                                       ifname(ifindex),
                                   rc)};
    }
    return {};
}

}  // namespace sluice::ebpf
