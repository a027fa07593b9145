// The daemon's poll loop, request handlers and dataplane watcher (one thread).
#include "ctrlplane/daemon/daemon.hh"

#include <fmt/format.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <vector>

#include "ctrlplane/daemon/config_doc.hh"
#include "ctrlplane/daemon/log.hh"
#include "ctrlplane/daemon/net.hh"

namespace sluice::cp::daemon {
namespace {

using json = nlohmann::ordered_json;
using detail::fail_reply;

// Per connection: bytes buffered before a request is refused (a control request is one frame
// of at most max_frame; an HTTP request head for /metrics is tiny).
constexpr std::size_t max_http_head = 8192;
// A peer that holds a connection this long without finishing is dropped, and at most this many
// connections are served at once, so a stuck or hostile client cannot starve the poll loop of
// fds. Generous for `sluicectl` (one request, milliseconds) and for Prometheus scrapes.
constexpr std::uint64_t conn_timeout_ns = 10'000'000'000u;
constexpr std::size_t max_conns = 64;

}  // namespace

std::uint64_t mono_ns() noexcept {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u +
           static_cast<std::uint64_t>(ts.tv_nsec);
}

result<std::unique_ptr<ctrl_daemon>> ctrl_daemon::start(daemon_options o) {
    auto s = store::config_store::open(o.store);
    if (!s) {
        return s.err();
    }
    const std::uint64_t now = mono_ns();
    const std::uint64_t before = s->generation();
    auto r = s->resume(now);
    if (!r) {
        return r.err();
    }
    if (s->current_yaml().empty() && !o.config_file.empty()) {
        auto loaded = model::load_config_file(o.config_file);
        if (!loaded.ok()) {
            return error{fmt::format("{} is invalid ({} error{}); nothing was applied\n{}",
                                     o.config_file, loaded.errors.size(),
                                     loaded.errors.size() == 1 ? "" : "s",
                                     model::format_all(loaded.errors))};
        }
        std::string text;
        {
            std::FILE* f = std::fopen(o.config_file.c_str(), "rb");
            char buf[65536];
            std::size_t n = 0;
            while (f != nullptr && (n = std::fread(buf, 1, sizeof buf, f)) > 0) {
                text.append(buf, n);
            }
            if (f != nullptr) {
                std::fclose(f);
            }
        }
        auto a = s->apply(text, o.config_file, now);
        if (!a) {
            return a.err();
        }
        log(log_level::info, "applied the config file", {{"file", o.config_file},
                                                         {"generation", a.value()}});
    } else if (!s->current_yaml().empty()) {
        log(log_level::info,
            s->generation() == before ? "re-attached: the persisted config is already live"
                                      : "restored the persisted config",
            {{"file", o.store.persist_path}, {"generation", s->generation()}});
        if (!o.config_file.empty()) {
            log(log_level::warn,
                "--config ignored: a persisted config exists and wins (apply the file with "
                "'sluicectl config apply -f FILE')",
                {{"config", o.config_file}, {"persisted", o.store.persist_path}});
        }
    } else {
        log(log_level::warn, "no config yet: nothing persisted and no --config given",
            {{"generation", s->generation()}});
    }
    auto d = std::make_unique<ctrl_daemon>(std::move(o), std::move(s.value()));
    // What is alive now is already served: only lcores registering later trigger a republish.
    const auto& st = d->store_->writer().stats();
    for (const auto& l : d->metrics_.lcores_json(st, now, d->store_->writer().policy())) {
        if (l["alive"].get<bool>()) {
            d->seen_.emplace(l["lcore"].get<std::uint32_t>(), l["pid"].get<std::int32_t>(),
                            l["incarnation"].get<std::uint32_t>());
        }
    }
    return d;
}

ctrl_daemon::ctrl_daemon(daemon_options o, store::config_store s)
    : opts_(std::move(o)), store_(std::move(s)), started_ns_(mono_ns()) {}

ctrl_daemon::~ctrl_daemon() {
    for (auto& [fd, c] : conns_) {
        ::close(fd);
    }
    if (ctl_fd_ >= 0) {
        ::close(ctl_fd_);
        ::unlink(fmt::format("{}/{}.sock", opts_.run_dir, opts_.instance).c_str());
    }
    if (http_fd_ >= 0) {
        ::close(http_fd_);
    }
}

result<void> ctrl_daemon::listen() {
    auto h = listen_tcp(opts_.metrics);
    if (!h) {
        return h.err();
    }
    http_fd_ = h->first;
    metrics_port_ = h->second;
    const gid_t gid = opts_.store.shm.group.value_or(0);
    auto u = listen_unix(fmt::format("{}/{}.sock", opts_.run_dir, opts_.instance), gid);
    if (!u) {
        return u.err();
    }
    ctl_fd_ = u.value();
    return {};
}

void ctrl_daemon::on_readable(int fd, conn& c) {
    char buf[65536];
    for (;;) {
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n > 0) {
            c.in.append(buf, static_cast<std::size_t>(n));
            if (c.http && c.in.size() > max_http_head) {
                break;
            }
            continue;
        }
        if (n == 0) {
            c.close_after_write = true;  // peer finished sending
        } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            c.close_after_write = true;
        }
        break;
    }
    if (c.http) {
        const bool end = c.in.find("\r\n\r\n") != std::string::npos ||
                         c.in.find("\n\n") != std::string::npos;
        if (!end && c.in.size() <= max_http_head && !c.close_after_write) {
            return;
        }
        auto r = end ? parse_request_line(c.in) : std::nullopt;
        if (!r) {
            c.out = http_response(c.in.size() > max_http_head ? 431 : 400,
                                  c.in.size() > max_http_head ? "Request Header Fields Too Large"
                                                              : "Bad Request",
                                  "text/plain", "bad request\n");
        } else if (r->method != "GET" && r->method != "HEAD") {
            c.out = http_response(405, "Method Not Allowed", "text/plain", "GET only\n");
        } else if (r->target != "/metrics") {
            c.out = http_response(404, "Not Found", "text/plain", "try /metrics\n");
        } else {
            const auto& w = store_->writer();
            std::string body = metrics_.prometheus(w.stats(), mono_ns(), w.policy(),
                                                   w.generation());
            c.out = http_response(200, "OK", "text/plain; version=0.0.4; charset=utf-8",
                                  r->method == "HEAD" ? std::string_view{} : body);
        }
        c.close_after_write = true;
        c.in.clear();
        return;
    }
    for (;;) {
        auto f = unframe(c.in);
        if (!f) {
            c.out += frame(fail_reply(error{f.message()})
                               .dump(-1, ' ', false, json::error_handler_t::replace));
            c.close_after_write = true;
            c.in.clear();
            return;
        }
        if (!f->has_value()) {
            return;
        }
        json resp;
        try {
            json req = json::parse(**f);
            resp = req.is_object() ? handle(req)
                                   : fail_reply(error{"a request is a JSON object"});
        } catch (const json::exception& e) {
            resp = fail_reply(error{fmt::format("malformed request: {}", e.what())});
        }
        // replace: a config may hold bytes that are not UTF-8; the reply must still be JSON.
        c.out += frame(resp.dump(-1, ' ', false, json::error_handler_t::replace));
    }
}

void ctrl_daemon::accept_all(int lfd, bool http) {
    for (;;) {
        int fd = ::accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            return;
        }
        if (conns_.size() >= max_conns) {
            ::close(fd);
            log(log_level::warn, "too many connections: refused one", {{"limit", max_conns}});
            continue;
        }
        conn& c = conns_[fd];
        c.http = http;
        c.since_ns = mono_ns();
    }
}

void ctrl_daemon::watch() {
    const std::uint64_t now = mono_ns();
    for (auto it = conns_.begin(); it != conns_.end();) {
        if (now - it->second.since_ns > conn_timeout_ns) {
            ::close(it->first);
            it = conns_.erase(it);
        } else {
            ++it;
        }
    }
    if (store_->writer().segments_replaced()) {
        const std::string yaml = store_->current_yaml();
        auto s = store::config_store::open(opts_.store);
        if (!s) {
            log(log_level::error, "segments were replaced but cannot be reopened; retrying",
                {{"error", s.message()}});
            return;
        }
        log(log_level::warn, "shared-memory segments were recreated (dataplane restart): "
                             "re-attached",
            {{"instance", opts_.instance}});
        store_.reset();
        store_.emplace(std::move(s.value()));
        if (!yaml.empty()) {
            auto g = store_->apply(yaml, opts_.store.persist_path, now);
            if (!g) {
                log(log_level::error, "republish after recreation failed",
                    {{"error", g.message()}});
            }
        }
        seen_.clear();
    }
    const auto& w = store_->writer();
    metrics_.tick(w.stats(), now, w.policy());
    decltype(seen_) cur;
    for (std::uint32_t i = 0; i < w.stats().lcore_count(); ++i) {
        shm::lcore_status st = w.stats().status(i, now, w.policy());
        if (st.alive) {
            cur.emplace(i, st.pid, st.incarnation);
        }
    }
    for (const auto& e : cur) {
        if (seen_.count(e) == 0) {
            log(log_level::info, "lcore registered", {{"lcore", std::get<0>(e)},
                                                      {"pid", std::get<1>(e)},
                                                      {"incarnation", std::get<2>(e)}});
            republish_pending_ = !store_->current_yaml().empty();
        }
    }
    seen_ = std::move(cur);
    if (republish_pending_) {
        auto g = store_->republish(now);
        if (g) {
            republish_pending_ = false;
            log(log_level::info, "republished the config for new lcores",
                {{"generation", g.value()}});
        } else if (g.kind() != error_kind::busy) {  // busy: a new lcore has not adopted yet
            republish_pending_ = false;
            log(log_level::error, "republish failed", {{"error", g.message()}});
        }
    }
}

int ctrl_daemon::run(int signal_fd) {
    const std::uint64_t interval = opts_.watch_interval_ms * 1'000'000u;
    std::vector<pollfd> fds;
    for (;;) {
        fds.clear();
        fds.push_back({signal_fd, POLLIN, 0});
        fds.push_back({ctl_fd_, POLLIN, 0});
        fds.push_back({http_fd_, POLLIN, 0});
        for (auto& [fd, c] : conns_) {
            fds.push_back({fd, static_cast<short>(c.out.empty() ? POLLIN : POLLOUT), 0});
        }
        const std::uint64_t now = mono_ns();
        const std::uint64_t due = last_watch_ns_ + interval;
        const int timeout = due <= now ? 0 : static_cast<int>((due - now) / 1'000'000u + 1);
        if (::poll(fds.data(), fds.size(), timeout) < 0 && errno != EINTR) {
            log(log_level::error, "poll failed", {{"errno", errno}});
            return 1;
        }
        if ((fds[0].revents & POLLIN) != 0) {
            log(log_level::info, "stopping on signal", {{"generation", generation()}});
            return 0;
        }
        if ((fds[1].revents & POLLIN) != 0) {
            accept_all(ctl_fd_, false);
        }
        if ((fds[2].revents & POLLIN) != 0) {
            accept_all(http_fd_, true);
        }
        for (std::size_t i = 3; i < fds.size(); ++i) {
            auto it = conns_.find(fds[i].fd);
            if (it == conns_.end() || fds[i].revents == 0) {
                continue;
            }
            conn& c = it->second;
            if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) != 0 && c.out.empty()) {
                on_readable(fds[i].fd, c);
            }
            if (!c.out.empty()) {
                const ssize_t n = ::send(fds[i].fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
                if (n > 0) {
                    c.out.erase(0, static_cast<std::size_t>(n));
                } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
                    c.out.clear();
                    c.close_after_write = true;
                }
            }
            if (c.out.empty() && c.close_after_write) {
                ::close(fds[i].fd);
                conns_.erase(it);
            }
        }
        if (mono_ns() >= last_watch_ns_ + interval) {
            last_watch_ns_ = mono_ns();
            watch();
        }
    }
}

}  // namespace sluice::cp::daemon
