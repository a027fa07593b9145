// Raw map operations shared by xdp_maps and verdict_writer; see map_ops.hh. Any thread,
// bpf(2) syscalls only, no allocation.
#include "map_ops.hh"

#include <bpf/bpf.h>
#include <linux/bpf.h>

#include <cerrno>
#include <ctime>

namespace sluice::ebpf::detail {

std::uint64_t monotonic_ns() noexcept {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000ULL +
           static_cast<std::uint64_t>(ts.tv_nsec);
}

int set_config_flag(int config_fd, std::uint32_t bit, bool on) noexcept {
    const std::uint32_t zero = 0;
    sluice_xdp_config cfg{};
    if (bpf_map_lookup_elem(config_fd, &zero, &cfg) != 0) {
        return errno;
    }
    const std::uint32_t flags = on ? (cfg.flags | bit) : (cfg.flags & ~bit);
    if (flags == cfg.flags) {
        return 0;
    }
    cfg.flags = flags;
    cfg.abi_version = SLUICE_XDP_ABI_VERSION;
    return bpf_map_update_elem(config_fd, &zero, &cfg, BPF_ANY) != 0 ? errno : 0;
}

int put_gateway_verdict(int verdict_fd, int config_fd, const sluice_xdp_addr& src,
                        std::uint64_t expires_ns, std::uint32_t reason) noexcept {
    const sluice_xdp_gw_verdict v{expires_ns, reason, 0};
    if (bpf_map_update_elem(verdict_fd, &src, &v, BPF_ANY) != 0) {
        return errno;
    }
    return set_config_flag(config_fd, SLUICE_XDP_F_GW_VERDICTS, true);
}

int delete_gateway_verdict(int verdict_fd, const sluice_xdp_addr& src) noexcept {
    return bpf_map_delete_elem(verdict_fd, &src) != 0 ? errno : 0;
}

}  // namespace sluice::ebpf::detail
