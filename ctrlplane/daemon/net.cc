// Control and metrics sockets, framing and request-line parsing (daemon thread).
#include "ctrlplane/daemon/net.hh"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "ctrlplane/errno_text.hh"

namespace sluice::cp::daemon {

std::string frame(std::string_view body) {
    const auto n = static_cast<std::uint32_t>(body.size());
    std::string out(4, '\0');
    out[0] = static_cast<char>(n >> 24);
    out[1] = static_cast<char>(n >> 16);
    out[2] = static_cast<char>(n >> 8);
    out[3] = static_cast<char>(n);
    out.append(body);
    return out;
}

result<std::optional<std::string>> unframe(std::string& buf) {
    if (buf.size() < 4) {
        return std::optional<std::string>{};
    }
    const auto* p = reinterpret_cast<const unsigned char*>(buf.data());
    const std::uint32_t n = (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) |
                            (std::uint32_t{p[2]} << 8) | std::uint32_t{p[3]};
    if (n > max_frame) {
        return error{fmt::format("frame of {} bytes exceeds the {} byte limit", n, max_frame)};
    }
    if (buf.size() < 4 + std::size_t{n}) {
        return std::optional<std::string>{};
    }
    std::string body = buf.substr(4, n);
    buf.erase(0, 4 + std::size_t{n});
    return std::optional<std::string>{std::move(body)};
}

result<int> listen_unix(const std::string& path, gid_t gid) {
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    if (path.size() >= sizeof sa.sun_path) {
        return error{fmt::format("socket path {} is longer than {} bytes", path,
                                 sizeof sa.sun_path - 1)};
    }
    std::memcpy(sa.sun_path, path.c_str(), path.size() + 1);
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return error{fmt::format("socket: {}", errno_text(errno)), error_kind::io};
    }
    ::unlink(path.c_str());
    // Bind under a tight umask so the socket is never briefly reachable with looser modes.
    const mode_t old = ::umask(0177);
    const int b = ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    const int be = errno;
    ::umask(old);
    if (b != 0 || ::chown(path.c_str(), 0, gid) != 0 || ::chmod(path.c_str(), 0660) != 0 ||
        ::listen(fd, 16) != 0) {
        const int e = b != 0 ? be : errno;
        ::close(fd);
        return error{fmt::format("cannot listen on {}: {}", path, errno_text(e)), error_kind::io};
    }
    return fd;
}

result<std::pair<int, std::uint16_t>> listen_tcp(const std::string& addr_port) {
    const auto colon = addr_port.rfind(':');
    if (colon == std::string::npos || colon + 1 == addr_port.size()) {
        return error{fmt::format("--metrics '{}': expected ADDR:PORT, e.g. 127.0.0.1:9145",
                                 addr_port)};
    }
    std::string host = addr_port.substr(0, colon);
    const std::string port_s = addr_port.substr(colon + 1);
    char* end = nullptr;
    const long port = std::strtol(port_s.c_str(), &end, 10);
    if (*end != '\0' || port < 0 || port > 65535) {
        return error{fmt::format("--metrics '{}': port must be 0..65535", addr_port)};
    }
    sockaddr_storage ss{};
    socklen_t len = 0;
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
        auto* s6 = reinterpret_cast<sockaddr_in6*>(&ss);
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(static_cast<std::uint16_t>(port));
        if (::inet_pton(AF_INET6, host.c_str(), &s6->sin6_addr) != 1) {
            return error{fmt::format("--metrics '{}': '{}' is not an IPv6 address", addr_port,
                                     host)};
        }
        len = sizeof *s6;
    } else {
        auto* s4 = reinterpret_cast<sockaddr_in*>(&ss);
        s4->sin_family = AF_INET;
        s4->sin_port = htons(static_cast<std::uint16_t>(port));
        if (::inet_pton(AF_INET, host.c_str(), &s4->sin_addr) != 1) {
            return error{fmt::format("--metrics '{}': '{}' is not an IPv4 address (IPv6: "
                                     "[::1]:9145)",
                                     addr_port, host)};
        }
        len = sizeof *s4;
    }
    int fd = ::socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return error{fmt::format("socket: {}", errno_text(errno)), error_kind::io};
    }
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 || ::listen(fd, 16) != 0) {
        const int e = errno;
        ::close(fd);
        return error{fmt::format("cannot listen on {} for metrics: {}", addr_port, errno_text(e)),
                     error_kind::io};
    }
    sockaddr_storage bound{};
    socklen_t bl = sizeof bound;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &bl);
    const std::uint16_t p = bound.ss_family == AF_INET6
                                ? ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port)
                                : ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
    return std::pair<int, std::uint16_t>{fd, p};
}

std::optional<http_request> parse_request_line(std::string_view head) {
    const auto eol = head.find("\r\n");
    const std::string_view line = head.substr(0, eol == std::string_view::npos ? head.find('\n') : eol);
    const auto sp1 = line.find(' ');
    if (sp1 == std::string_view::npos || sp1 == 0) {
        return std::nullopt;
    }
    const auto sp2 = line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos || sp2 == sp1 + 1 || line.find(' ', sp2 + 1) != line.npos) {
        return std::nullopt;
    }
    http_request r{std::string(line.substr(0, sp1)), std::string(line.substr(sp1 + 1, sp2 - sp1 - 1))};
    const std::string_view version = line.substr(sp2 + 1);
    if (version != "HTTP/1.0" && version != "HTTP/1.1") {
        return std::nullopt;
    }
    for (char c : r.method) {
        if (c < 'A' || c > 'Z') {
            return std::nullopt;
        }
    }
    if (r.target.empty() || r.target.front() != '/') {
        return std::nullopt;
    }
    for (unsigned char c : r.target) {
        if (c <= 0x20 || c >= 0x7f) {
            return std::nullopt;
        }
    }
    return r;
}

std::string http_response(int status, std::string_view reason, std::string_view content_type,
                          std::string_view body) {
    return fmt::format("HTTP/1.0 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n"
                       "Connection: close\r\n\r\n{}",
                       status, reason, content_type, body.size(), body);
}

}  // namespace sluice::cp::daemon
