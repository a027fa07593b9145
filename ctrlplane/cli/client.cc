// Control-socket client (CLI process).
#include "ctrlplane/cli/client.hh"

#include <fmt/format.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "ctrlplane/daemon/net.hh"
#include "ctrlplane/errno_text.hh"

namespace sluice::cp::cli {
namespace {

reply local_error(int code, std::string msg, std::string_view kind) {
    return {code, {{"ok", false}, {"error", std::move(msg)}, {"kind", kind}}};
}

}  // namespace

reply call(const std::string& path, const nlohmann::ordered_json& req, int timeout_ms) {
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    if (path.size() >= sizeof sa.sun_path) {
        return local_error(exit_usage, fmt::format("socket path {} is too long", path), "usage");
    }
    std::memcpy(sa.sun_path, path.c_str(), path.size() + 1);
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return local_error(exit_unreachable, fmt::format("socket: {}", errno_text(errno)),
                           "unreachable");
    }
    timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
        const int e = errno;
        ::close(fd);
        if (e == EACCES || e == EPERM) {
            return local_error(exit_unreachable,
                               fmt::format("permission denied on {}: the control socket is "
                                           "root:sluice 0660; run as root or as a member of "
                                           "group 'sluice'",
                                           path),
                               "unreachable");
        }
        return local_error(exit_unreachable,
                           fmt::format("cannot reach the daemon at {}: {}: is sluice-ctrlplane "
                                       "running? (start it with 'sluice-ctrlplane --instance "
                                       "NAME --config FILE', or pass --socket/--instance)",
                                       path, errno_text(e)),
                           "unreachable");
    }
    const std::string out = daemon::frame(req.dump());
    std::size_t done = 0;
    while (done < out.size()) {
        const ssize_t n = ::send(fd, out.data() + done, out.size() - done, MSG_NOSIGNAL);
        if (n <= 0) {
            if (n < 0 && errno == EINTR) {
                continue;
            }
            const int e = errno;
            ::close(fd);
            return local_error(exit_unreachable,
                               fmt::format("lost the daemon at {} while sending: {}", path,
                                           errno_text(e)),
                               "unreachable");
        }
        done += static_cast<std::size_t>(n);
    }
    std::string in;
    char buf[65536];
    for (;;) {
        auto f = daemon::unframe(in);
        if (!f) {
            ::close(fd);
            return local_error(exit_protocol, f.message(), "protocol");
        }
        if (f->has_value()) {
            ::close(fd);
            try {
                nlohmann::ordered_json body = nlohmann::ordered_json::parse(**f);
                if (!body.is_object()) {
                    return local_error(exit_protocol, "reply is not a JSON object", "protocol");
                }
                if (body.value("ok", false)) {
                    return {exit_ok, std::move(body)};
                }
                const std::string kind = body.value("kind", "invalid");
                return {kind == "busy" || kind == "io" ? exit_busy : exit_refused,
                        std::move(body)};
            } catch (const nlohmann::ordered_json::exception& e) {
                return local_error(exit_protocol, fmt::format("malformed reply: {}", e.what()),
                                   "protocol");
            }
        }
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            const int e = errno;
            ::close(fd);
            return local_error(exit_unreachable,
                               n == 0 ? fmt::format("the daemon at {} closed the connection "
                                                    "without replying",
                                                    path)
                                      : fmt::format("no reply from the daemon at {} within {} "
                                                    "ms: {}",
                                                    path, timeout_ms, errno_text(e)),
                               "unreachable");
        }
        in.append(buf, static_cast<std::size_t>(n));
    }
}

}  // namespace sluice::cp::cli
