// The few raw map operations that both xdp_maps (setup code that reports with messages) and
// verdict_writer (the gateway's control thread, noexcept, no allocation) perform, kept in one
// place so the two cannot drift: gateway-verdict insert/delete and the sl_config flag
// read-modify-write. Each is one to three bpf(2) syscalls: never on a polling lcore.
//
// Threads: any thread. The sl_config flag update is a read-modify-write of one array slot;
// two writers racing can lose a bit, see set_config_flag.
#pragma once

#include <cstdint>

#include "sluice_xdp_abi.h"

namespace sluice::ebpf::detail {

// CLOCK_MONOTONIC in ns: the timeline bpf_ktime_get_ns() reads, so verdict deadlines
// written from userspace compare directly with the program's clock.
[[nodiscard]] std::uint64_t monotonic_ns() noexcept;

// Sets or clears `bit` in sl_config slot 0 (also stamps abi_version). Writes only when the
// bit changes. Returns 0 or a positive errno. Two writers setting different bits at the same
// moment can lose one; Sluice has one writer per bit (the control plane for block flags, the
// gateway's control thread for SLUICE_XDP_F_GW_VERDICTS, which only ever sets it).
[[nodiscard]] int set_config_flag(int config_fd, std::uint32_t bit, bool on) noexcept;

// Inserts or replaces the verdict on `src` (IPv4-mapped for IPv4), then makes sure the
// program consults the map (SLUICE_XDP_F_GW_VERDICTS) — after the insert, so the program
// never sees the flag without an entry to find. Returns 0 or a positive errno.
[[nodiscard]] int put_gateway_verdict(int verdict_fd, int config_fd, const sluice_xdp_addr& src,
                                      std::uint64_t expires_ns, std::uint32_t reason) noexcept;

// Deletes the verdict on `src`. Returns 0, ENOENT when there was none, or another errno.
// Leaves SLUICE_XDP_F_GW_VERDICTS set: clearing it when the map looks empty would race
// with a concurrent put_gateway_verdict and could hide a fresh verdict; an empty map costs
// the program one hash lookup per service packet.
[[nodiscard]] int delete_gateway_verdict(int verdict_fd, const sluice_xdp_addr& src) noexcept;

}  // namespace sluice::ebpf::detail
