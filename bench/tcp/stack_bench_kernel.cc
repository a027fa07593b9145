// The kernel baseline of the stack-to-stack benchmark (issue 3): the same two patterns over
// loopback with epoll, an epoll server thread on EAL lcore 1 and the epoll client on the main
// lcore 0 (EAL pins each lcore thread to its core, as taskset -c would). TCP_NODELAY on both
// sides; the server answers each 64 B request with 64 B and closes when the client does.
// Cycles are each thread's CPU time (CLOCK_THREAD_CPUTIME_ID: user + system, which includes
// the loopback softirq work done in the thread's own system calls) at the TSC rate; softirq
// work that lands in ksoftirqd is not counted, which flatters the kernel.
//
// Threading: run_kernel() runs on the main lcore; the server on lcore 1 (rte_eal_remote_launch).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <rte_cycles.h>
#include <rte_launch.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "stack_bench.hh"

namespace sluice::bench {
namespace {

std::uint64_t thread_ns(clockid_t id) {
    timespec ts{};
    clock_gettime(id, &ts);
    return std::uint64_t(ts.tv_sec) * 1'000'000'000ULL + std::uint64_t(ts.tv_nsec);
}

void nodelay(int fd) {
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

struct kserver_ctx {
    int lfd = -1;
    shared_run* sh = nullptr;
    std::atomic<pthread_t> tid{};
    std::atomic<bool> have_tid{false};
    std::uint64_t failures = 0;
};

int kernel_server(void* arg) {
    auto* ctx = static_cast<kserver_ctx*>(arg);
    ctx->tid.store(pthread_self());
    ctx->have_tid.store(true);
    const int ep = epoll_create1(0);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = ctx->lfd;
    epoll_ctl(ep, EPOLL_CTL_ADD, ctx->lfd, &ev);
    std::vector<std::uint32_t> pend(1 << 16, 0);  // pending request bytes by fd
    char buf[4096];
    char resp[msg_bytes];
    std::memset(resp, 'r', sizeof(resp));
    epoll_event evs[64];
    ctx->sh->ready.store(true);
    while (!ctx->sh->stop.load(std::memory_order_relaxed)) {
        const int n = epoll_wait(ep, evs, 64, 10);
        for (int i = 0; i < n; ++i) {
            const int fd = evs[i].data.fd;
            if (fd == ctx->lfd) {
                for (;;) {
                    const int c = accept4(ctx->lfd, nullptr, nullptr, SOCK_NONBLOCK);
                    if (c < 0) {
                        break;
                    }
                    if (static_cast<std::size_t>(c) >= pend.size()) {
                        close(c);  // beyond the per-fd table (a huge RLIMIT_NOFILE)
                        ++ctx->failures;
                        continue;
                    }
                    nodelay(c);
                    pend[static_cast<std::size_t>(c)] = 0;
                    epoll_event cev{};
                    cev.events = EPOLLIN;
                    cev.data.fd = c;
                    epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
                }
                continue;
            }
            const ssize_t r = read(fd, buf, sizeof(buf));
            if (r <= 0) {
                if (r < 0 && errno == EAGAIN) {
                    continue;
                }
                ctx->failures += r < 0 ? 1 : 0;
                close(fd);  // also leaves the epoll set
                continue;
            }
            std::uint32_t p = pend[static_cast<std::size_t>(fd)] + static_cast<std::uint32_t>(r);
            for (; p >= msg_bytes; p -= msg_bytes) {
                (void)write(fd, resp, msg_bytes);
            }
            pend[static_cast<std::size_t>(fd)] = p;
        }
    }
    close(ep);
    return 0;
}

struct kclient {
    const run_options& o;
    int ep = -1;
    sockaddr_in dst{};
    std::uint32_t open = 0;
    std::uint64_t transactions = 0, failures = 0;
    std::vector<std::uint32_t> pend = std::vector<std::uint32_t>(1 << 16, 0);
    std::vector<char> mine = std::vector<char>(1 << 16, 0);  // fds this client has open
    char req[msg_bytes];

    void drop(int fd) {
        mine[static_cast<std::size_t>(fd)] = 0;
        close(fd);
        --open;
    }

    explicit kclient(const run_options& opt) : o(opt) { std::memset(req, 'q', sizeof(req)); }

    bool open_one() {
        const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        if (fd < 0) {
            return false;
        }
        nodelay(fd);
        if (connect(fd, reinterpret_cast<const sockaddr*>(&dst), sizeof(dst)) != 0 &&
            errno != EINPROGRESS) {
            close(fd);
            ++failures;
            return false;
        }
        if (static_cast<std::size_t>(fd) >= pend.size()) {
            close(fd);
            return false;
        }
        pend[static_cast<std::size_t>(fd)] = 0;
        mine[static_cast<std::size_t>(fd)] = 1;
        epoll_event ev{};
        ev.events = EPOLLOUT;  // writable once connected: send the request then
        ev.data.fd = fd;
        epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
        ++open;
        return true;
    }
    void event(const epoll_event& e) {
        const int fd = e.data.fd;
        if ((e.events & EPOLLOUT) != 0) {
            if ((e.events & (EPOLLERR | EPOLLHUP)) != 0 ||
                write(fd, req, msg_bytes) != static_cast<ssize_t>(msg_bytes)) {
                ++failures;
                drop(fd);
                return;
            }
            epoll_event ev{};
            ev.events = EPOLLIN;
            ev.data.fd = fd;
            epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
            return;
        }
        char buf[4096];
        const ssize_t r = read(fd, buf, sizeof(buf));
        if (r <= 0) {
            if (r < 0 && errno == EAGAIN) {
                return;
            }
            ++failures;
            drop(fd);
            return;
        }
        std::uint32_t p = pend[static_cast<std::size_t>(fd)] + static_cast<std::uint32_t>(r);
        if (p < msg_bytes) {
            pend[static_cast<std::size_t>(fd)] = p;
            return;
        }
        ++transactions;
        pend[static_cast<std::size_t>(fd)] = p - msg_bytes;
        if (o.pat == pattern::short_conn) {
            drop(fd);
        } else {
            (void)write(fd, req, msg_bytes);
        }
    }
};

}  // namespace

bool run_kernel(const run_options& o, run_result& out, const char*& why) {
    const int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(o.server_port + 1000));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(lfd, reinterpret_cast<const sockaddr*>(&a), sizeof(a)) != 0 || listen(lfd, 4096) != 0) {
        why = std::strerror(errno);
        close(lfd);
        return false;
    }
    shared_run sh;
    kserver_ctx sctx;
    sctx.lfd = lfd;
    sctx.sh = &sh;
    if (rte_eal_remote_launch(kernel_server, &sctx, 1) != 0) {
        why = "lcore 1 busy";
        close(lfd);
        return false;
    }
    while (!sh.ready.load() || !sctx.have_tid.load()) {
    }
    clockid_t server_clock{};
    pthread_getcpuclockid(sctx.tid.load(), &server_clock);
    kclient c(o);
    c.ep = epoll_create1(0);
    c.dst = a;
    const std::uint64_t hz = rte_get_tsc_hz();
    const std::uint64_t start = rte_rdtsc();
    const std::uint64_t window_start = start + static_cast<std::uint64_t>(o.warmup_s * hz);
    const std::uint64_t window_end = window_start + static_cast<std::uint64_t>(o.seconds * hz);
    bool in_window = false;
    std::uint64_t c0 = 0, s0 = 0, x0 = 0, f0 = 0;
    epoll_event evs[64];
    for (;;) {
        while (c.open < o.conns && c.open_one()) {
        }
        const int n = epoll_wait(c.ep, evs, 64, 10);
        for (int i = 0; i < n; ++i) {
            c.event(evs[i]);
        }
        const std::uint64_t t = rte_rdtsc();
        if (!in_window && t >= window_start) {
            in_window = true;
            c0 = thread_ns(CLOCK_THREAD_CPUTIME_ID);
            s0 = thread_ns(server_clock);
            x0 = c.transactions;
            f0 = c.failures;
        } else if (in_window && t >= window_end) {
            const double to_cycles = double(hz) / 1e9;
            out.client_cycles =
                static_cast<std::uint64_t>(double(thread_ns(CLOCK_THREAD_CPUTIME_ID) - c0) * to_cycles);
            out.server_cycles =
                static_cast<std::uint64_t>(double(thread_ns(server_clock) - s0) * to_cycles);
            out.transactions = c.transactions - x0;
            out.failures = c.failures - f0;
            out.seconds = double(t - window_start) / double(hz);
            break;
        }
    }
    sh.stop.store(true);
    rte_eal_wait_lcore(1);
    out.failures += sctx.failures;
    for (std::size_t fd = 0; fd < c.mine.size(); ++fd) {
        if (c.mine[fd] != 0) {
            close(static_cast<int>(fd));
        }
    }
    close(c.ep);
    close(lfd);
    return true;
}

}  // namespace sluice::bench
