// Loads the Sluice XDP program (ebpf/xdp/sluice_xdp.bpf.c, embedded through its bpftool
// skeleton), attaches it to an interface in native or generic (skb) mode, replaces a stale
// Sluice program left attached by a crashed process, and detaches.
//
// Threads: setup path, one thread at a time per xdp_program. Errors come back as
// status/result with a message naming the interface, mode and errno; nothing throws.
// Not for the dataplane's lcores.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "result.hh"
#include "xdp_maps.hh"

struct sluice_xdp_bpf;  // bpftool skeleton (sluice_xdp.skel.h), kept out of this header

namespace sluice::ebpf {

enum class attach_mode {
    native,           // driver XDP (XDP_FLAGS_DRV_MODE) only
    skb,              // generic XDP (XDP_FLAGS_SKB_MODE) only
    native_then_skb,  // try native; if the driver refuses, fall back to skb
};

struct attach_report {
    bool native = false;              // which mode is in effect
    std::uint32_t replaced_prog_id = 0;  // id of a stale Sluice program replaced, else 0
    std::string note;                 // why this mode / what was replaced, for the log
};

// What is attached to an interface right now.
struct installed_program {
    std::uint32_t id = 0;
    std::string name;
    bool native = false;  // false: skb (generic)
    [[nodiscard]] bool is_sluice() const;
};

struct load_options {
    // bpffs directory under which the maps are pinned by name, and reused if already there.
    // DPDK's af_xdp PMD loads the object with libbpf's default, /sys/fs/bpf: keep that
    // default wherever the PMD and this loader must share maps.
    std::string pin_root = "/sys/fs/bpf";
};

class xdp_program {
public:
    // Opens the embedded object, reuses or creates the pinned maps and loads the program
    // (verifier). On failure the message carries libbpf's last log lines.
    static result<std::unique_ptr<xdp_program>> load(const load_options& opts = {});

    xdp_program(const xdp_program&) = delete;
    xdp_program& operator=(const xdp_program&) = delete;
    // Detaches if still attached by this object (never someone else's program). Pins stay.
    ~xdp_program();

    // Attaches to ifindex. If a program named SLUICE_XDP_PROG_NAME is already attached
    // (a crashed Sluice process), swaps it atomically for this one (XDP_FLAGS_REPLACE).
    // Refuses, and changes nothing, if a foreign program is attached.
    result<attach_report> attach(int ifindex, attach_mode mode = attach_mode::native_then_skb);
    // Detaches from the interface given to attach(), only if our program is still there.
    status detach();

    // Leaves the program attached when this object goes away (a CLI that attaches and
    // exits). The next attach() anywhere treats it as stale and replaces it.
    void leave_attached() noexcept { ifindex_ = 0; }

    [[nodiscard]] xdp_maps& maps() noexcept { return maps_; }
    [[nodiscard]] int prog_fd() const noexcept;
    // The XSKMAP: insert an AF_XDP socket fd at key = RX queue index.
    [[nodiscard]] int xsks_map_fd() const noexcept;
    // Removes the map pins (uninstall, tests). Running programs keep their maps.
    status unpin_maps();

    // What is attached to ifindex, if anything.
    static result<std::optional<installed_program>> query(int ifindex);
    // Detaches whatever Sluice program is attached to ifindex (e.g. from the CLI after a
    // crash). Refuses if the attached program is not Sluice's; ok if nothing is attached.
    static status detach_sluice(int ifindex);

private:
    xdp_program(sluice_xdp_bpf* skel, xdp_maps maps) : skel_(skel), maps_(std::move(maps)) {}

    sluice_xdp_bpf* skel_;
    xdp_maps maps_;
    int ifindex_ = 0;
    std::uint32_t attach_flags_ = 0;  // XDP_FLAGS_DRV_MODE or XDP_FLAGS_SKB_MODE when attached
};

}  // namespace sluice::ebpf
