// sluice-ctrlplane: the control-plane daemon of one Sluice instance. Parses options, takes the
// per-instance lock, restores or loads the config, then runs ctrl_daemon's single-threaded loop.
// Exit codes: 0 stopped by SIGTERM/SIGINT; 1 refused to start (invalid config, ABI mismatch,
// another daemon running, sockets); 2 usage.
#include <CLI/CLI.hpp>
#include <fcntl.h>
#include <fmt/format.h>
#include <grp.h>
#include <signal.h>  // NOLINT(modernize-deprecated-headers): sigprocmask
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "ctrlplane/daemon/daemon.hh"
#include "ctrlplane/daemon/log.hh"
#include "ctrlplane/errno_text.hh"

namespace {

using namespace sluice::cp;  // NOLINT(google-build-using-namespace): main only
using daemon::log;
using daemon::log_level;

// Lock file <run_dir>/<instance>.lock holding our pid. flock is released by the kernel when we
// die, so a SIGKILLed daemon never blocks its successor.
result<int> take_instance_lock(const daemon::daemon_options& o) {
    const std::string path = fmt::format("{}/{}.lock", o.run_dir, o.instance);
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        return error{fmt::format("cannot open lock file {}: {}", path, errno_text(errno)),
                     error_kind::io};
    }
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        char buf[32] = {};
        const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
        ::close(fd);
        return error{fmt::format("instance '{}' is already running (pid {}, lock {}); stop it "
                                 "first or pick another --instance",
                                 o.instance, n > 0 ? std::string(buf, static_cast<std::size_t>(n))
                                                   : std::string("unknown"),
                                 path),
                     error_kind::busy};
    }
    const std::string pid = std::to_string(::getpid());
    if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) < 0) {
        log(log_level::warn, "cannot write pid to the lock file", {{"path", path}});
    }
    return fd;
}

bool valid_instance(const std::string& s) {
    if (s.empty() || s.size() > 64) {
        return false;
    }
    for (char c : s) {
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-')) {
            return false;
        }
    }
    return s != "." && s != "..";
}

}  // namespace

int main(int argc, char** argv) {
    daemon::daemon_options o;
    std::string shm_dir = "/dev/shm";
    bool no_pid_check = false;
    CLI::App app{"sluice-ctrlplane: Sluice control-plane daemon (config, shared memory, stats, "
                 "CLI socket). See docs/cli.md and docs/operations.md."};
    app.add_option("-i,--instance", o.instance, "instance name ([A-Za-z0-9_.-], ≤ 64)")
        ->capture_default_str();
    app.add_option("-c,--config", o.config_file,
                   "YAML config applied at start when no persisted config exists");
    app.add_option("--state-dir", o.state_dir, "where <instance>.yaml (last good config) lives")
        ->capture_default_str();
    app.add_option("--run-dir", o.run_dir, "where <instance>.sock and <instance>.lock live")
        ->capture_default_str();
    app.add_option("--shm-dir", shm_dir, "tmpfs directory of the shared-memory segments")
        ->capture_default_str();
    app.add_option("--metrics", o.metrics, "Prometheus listener ADDR:PORT (port 0: any free)")
        ->capture_default_str();
    app.add_option("--watch-interval-ms", o.watch_interval_ms,
                   "how often the dataplane's registrations and segments are checked")
        ->capture_default_str()
        ->check(CLI::Range(10, 1000));
    app.add_flag("--no-pid-check", no_pid_check,
                 "do not treat lcores whose pid is gone as dead (planes in different PID "
                 "namespaces)");
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e) == 0 ? 0 : 2;
    }
    if (!valid_instance(o.instance)) {
        log(log_level::error, "invalid --instance: expected 1-64 of [A-Za-z0-9_.-]",
            {{"instance", o.instance}});
        return 2;
    }
    for (const auto& [dir, mode] : {std::pair{o.run_dir, 0755}, std::pair{o.state_dir, 0700}}) {
        if (::mkdir(dir.c_str(), static_cast<mode_t>(mode)) != 0 && errno != EEXIST) {
            log(log_level::error, "cannot create directory", {{"dir", dir},
                                                              {"error", errno_text(errno)}});
            return 1;
        }
    }
    auto lock = take_instance_lock(o);
    if (!lock) {
        log(log_level::error, lock.message(), {{"instance", o.instance}});
        return 1;
    }
    o.store.shm.instance = o.instance;
    o.store.shm.dir = shm_dir;
    if (const group* g = ::getgrnam("sluice"); g != nullptr) {
        o.store.shm.group = g->gr_gid;  // segments and socket 0660 root:sluice
    }
    o.store.liveness.check_pid = !no_pid_check;
    o.store.persist_path = fmt::format("{}/{}.yaml", o.state_dir, o.instance);

    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigprocmask(SIG_BLOCK, &set, nullptr);
    ::signal(SIGPIPE, SIG_IGN);
    const int sfd = ::signalfd(-1, &set, SFD_CLOEXEC);

    auto d = daemon::ctrl_daemon::start(o);
    if (!d) {
        log(log_level::error, "refusing to start: " + d.message(),
            {{"instance", o.instance}, {"kind", static_cast<int>(d.kind())}});
        return 1;
    }
    if (auto l = d.value()->listen(); !l) {
        log(log_level::error, "refusing to start: " + l.message(), {{"instance", o.instance}});
        return 1;
    }
    log(log_level::info, "sluice-ctrlplane running",
        {{"instance", o.instance},
         {"pid", ::getpid()},
         {"generation", d.value()->generation()},
         {"socket", fmt::format("{}/{}.sock", o.run_dir, o.instance)},
         {"metrics", fmt::format("{}:{}", o.metrics.substr(0, o.metrics.rfind(':')),
                                 d.value()->metrics_port())}});
    return d.value()->run(sfd);
}
