// Gateway verdicts into sl_gw_verdict; see verdict_writer.hh. Runs on the gateway's control
// thread (never a polling lcore): bpf(2) syscalls, no allocation after open().
#include "verdict_writer.hh"

#include <fcntl.h>

#include <cerrno>
#include <cstring>

#include "map_ops.hh"
#include "xdp_admin.hh"

namespace sluice::ebpf {
namespace {

sluice_xdp_addr mapped(std::uint32_t ipv4_be) noexcept {
    sluice_xdp_addr a{};  // RFC 4291 §2.5.5.2 IPv4-mapped, as the program builds its keys
    a.bytes[10] = 0xff;
    a.bytes[11] = 0xff;
    std::memcpy(&a.bytes[12], &ipv4_be, 4);
    return a;
}

}  // namespace

result<verdict_writer> verdict_writer::open(const std::string& pin_root) {
    auto m = open_admin_maps(pin_root);
    if (!m.maps) {
        return error{m.message};
    }
    return from_maps(*m.maps);
}

result<verdict_writer> verdict_writer::from_maps(const xdp_maps& maps) {
    unique_fd v(fcntl(maps.gateway_verdict_fd(), F_DUPFD_CLOEXEC, 0));
    unique_fd c(fcntl(maps.config_fd(), F_DUPFD_CLOEXEC, 0));
    if (!v.valid() || !c.valid()) {
        return error{errno_message("duplicate the sl_gw_verdict/sl_config fds", errno)};
    }
    return verdict_writer(std::move(v), std::move(c));
}

bool verdict_writer::block(std::uint32_t ipv4_be, std::uint32_t ttl_ms,
                           gateway_reason reason) noexcept {
    if (ttl_ms == 0 || ttl_ms > max_ttl_ms) {
        last_error_ = EINVAL;
        return false;
    }
    const std::uint64_t expires = detail::monotonic_ns() + std::uint64_t{ttl_ms} * 1'000'000ULL;
    const int err = detail::put_gateway_verdict(verdicts_.get(), config_.get(), mapped(ipv4_be),
                                                expires, static_cast<std::uint32_t>(reason));
    if (err != 0) {
        last_error_ = err;
        return false;
    }
    return true;
}

bool verdict_writer::unblock(std::uint32_t ipv4_be) noexcept {
    const int err = detail::delete_gateway_verdict(verdicts_.get(), mapped(ipv4_be));
    if (err != 0 && err != ENOENT) {
        last_error_ = err;
        return false;
    }
    return true;
}

}  // namespace sluice::ebpf
