// impair_bridge: a two-port Ethernet bridge with impairments, for the TCP interop tests and the
// loss benchmark (tests/integration/test_tcp_bulk.py, bench/tcp/loss_bench.py). This kernel has
// no tc netem (docs/tcp.md, "Interop and impairment tests"), so delay, reordering and
// duplication are done here, in a middle namespace between the dataplane's veth and Linux's.
//
//   impair_bridge --a IF --b IF [--delay-ms MS] [--loss PCT] [--reorder PCT] [--reorder-gap N]
//                 [--dup PCT] [--seed N] [--queue SLOTS]
//
// Every frame read on one interface (AF_PACKET, ETH_P_ALL, outgoing frames ignored) is, in
// this order and with independent draws from a seeded splitmix64: dropped with probability
// --loss; duplicated with probability --dup; held back with probability --reorder (it then
// leaves after the next --reorder-gap frames of the same direction, or after 10 ms more if
// none come); and sent out of the other interface --delay-ms after it arrived (one-way, so the
// round trip gains twice that). Delayed frames wait in a fixed ring per direction (--queue
// slots of 2 KiB); a full ring drops and counts `overflow`. Frames over 2 KiB (GSO bursts:
// turn off tx offloads on the Linux side) are dropped and counted `oversize`.
//
// Prints "impair_bridge: ready" once both sockets are bound, and one JSON line of counters per
// direction (a_to_b, b_to_a) when SIGTERM or SIGINT ends it.
//
// Threading: one thread, one ppoll loop; nothing allocates after start.
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

namespace {

constexpr std::uint32_t slot_bytes = 2048;        // a 1514-byte frame and then some
constexpr std::uint64_t reorder_hold_ns = 10'000'000;  // a held frame waits at most 10 ms more

volatile std::sig_atomic_t stop_flag = 0;
void on_signal(int) { stop_flag = 1; }

std::uint64_t now_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000ULL +
           static_cast<std::uint64_t>(ts.tv_nsec);
}

// splitmix64 (Steele, Lea, Flood 2014): small, seedable, good enough for coin flips.
struct rng {
    std::uint64_t s;
    std::uint64_t next() {
        std::uint64_t z = (s += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }
    // True with probability ppm / 1e6.
    bool chance(std::uint32_t ppm) { return ppm != 0 && next() % 1'000'000 < ppm; }
};

struct frame {
    std::uint64_t due = 0;
    std::uint32_t len = 0;
    std::uint8_t data[slot_bytes];
};

struct counters {
    std::uint64_t rx = 0, tx = 0, lost = 0, duplicated = 0, reordered = 0, overflow = 0,
                  oversize = 0, tx_errors = 0;
};

struct direction {
    int in = -1, out = -1;
    std::vector<frame> ring;  // sized at start
    std::uint32_t head = 0, count = 0;
    frame held;
    bool holding = false;
    std::uint32_t held_after = 0;  // frames still to send before the held one
    std::uint64_t held_deadline = 0;
    counters c;

    void send(const frame& f) {
        if (::send(out, f.data, f.len, 0) == static_cast<ssize_t>(f.len)) {
            c.tx++;
        } else {
            c.tx_errors++;
        }
    }
    bool push(const std::uint8_t* p, std::uint32_t len, std::uint64_t due) {
        if (count == ring.size()) {
            c.overflow++;
            return false;
        }
        frame& f = ring[(head + count) % ring.size()];
        f.due = due;
        f.len = len;
        std::memcpy(f.data, p, len);
        count++;
        return true;
    }
    // Sends what is due; returns the next time something becomes due (UINT64_MAX if nothing).
    std::uint64_t flush(std::uint64_t now) {
        while (count > 0 && ring[head].due <= now) {
            send(ring[head]);
            head = (head + 1) % ring.size();
            count--;
            if (holding && --held_after == 0) {
                send(held);
                holding = false;
            }
        }
        if (holding && held_deadline <= now) {
            send(held);
            holding = false;
        }
        std::uint64_t next = UINT64_MAX;
        if (count > 0) {
            next = ring[head].due;
        }
        if (holding && held_deadline < next) {
            next = held_deadline;
        }
        return next;
    }
};

int open_port(const char* ifname) {
    const unsigned idx = if_nametoindex(ifname);
    if (idx == 0) {
        std::fprintf(stderr, "impair_bridge: no interface %s\n", ifname);
        return -1;
    }
    // Protocol 0 at socket(): nothing is captured before bind() picks the interface.
    const int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        std::perror("impair_bridge: socket(AF_PACKET)");
        return -1;
    }
    const int one = 1;
    const int buf = 16 << 20;  // absorbs bursts while the loop sends (needs CAP_NET_ADMIN)
    (void)setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one));
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf));
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof(buf));
    sockaddr_ll sll{};
    sll.sll_family = AF_PACKET;
    sll.sll_protocol = htons(ETH_P_ALL);
    sll.sll_ifindex = static_cast<int>(idx);
    if (bind(fd, reinterpret_cast<sockaddr*>(&sll), sizeof(sll)) != 0) {
        std::perror("impair_bridge: bind");
        close(fd);
        return -1;
    }
    return fd;
}

std::uint32_t pct_to_ppm(const char* s) {
    const double v = std::strtod(s, nullptr);
    return v <= 0 ? 0 : v >= 100 ? 1'000'000 : static_cast<std::uint32_t>(v * 10'000 + 0.5);
}

void print_counters(const char* name, const direction& d, int fd) {
    tpacket_stats st{};
    socklen_t len = sizeof(st);
    (void)getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, &st, &len);
    std::printf(
        "{\"dir\":\"%s\",\"rx\":%llu,\"tx\":%llu,\"lost\":%llu,\"duplicated\":%llu,"
        "\"reordered\":%llu,\"overflow\":%llu,\"oversize\":%llu,\"tx_errors\":%llu,"
        "\"kernel_drops\":%u}\n",
        name, static_cast<unsigned long long>(d.c.rx), static_cast<unsigned long long>(d.c.tx),
        static_cast<unsigned long long>(d.c.lost),
        static_cast<unsigned long long>(d.c.duplicated),
        static_cast<unsigned long long>(d.c.reordered),
        static_cast<unsigned long long>(d.c.overflow),
        static_cast<unsigned long long>(d.c.oversize),
        static_cast<unsigned long long>(d.c.tx_errors), st.tp_drops);
}

int usage() {
    std::fprintf(stderr,
                 "usage: impair_bridge --a IF --b IF [--delay-ms MS] [--loss PCT] [--reorder PCT]"
                 " [--reorder-gap N] [--dup PCT] [--seed N] [--queue SLOTS]\n");
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    const char* ifa = nullptr;
    const char* ifb = nullptr;
    std::uint64_t delay_ns = 0;
    std::uint32_t loss = 0, reorder = 0, dup = 0, gap = 3, slots = 16384;
    std::uint64_t seed = 1;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string k = argv[i];
        const char* v = argv[i + 1];
        if (k == "--a") {
            ifa = v;
        } else if (k == "--b") {
            ifb = v;
        } else if (k == "--delay-ms") {
            delay_ns = static_cast<std::uint64_t>(std::strtod(v, nullptr) * 1e6);
        } else if (k == "--loss") {
            loss = pct_to_ppm(v);
        } else if (k == "--reorder") {
            reorder = pct_to_ppm(v);
        } else if (k == "--reorder-gap") {
            gap = static_cast<std::uint32_t>(std::strtoul(v, nullptr, 10));
        } else if (k == "--dup") {
            dup = pct_to_ppm(v);
        } else if (k == "--seed") {
            seed = std::strtoull(v, nullptr, 10);
        } else if (k == "--queue") {
            slots = static_cast<std::uint32_t>(std::strtoul(v, nullptr, 10));
        } else {
            return usage();
        }
    }
    if (ifa == nullptr || ifb == nullptr || gap == 0 || slots == 0 || argc % 2 == 0) {
        return usage();
    }
    const int fa = open_port(ifa);
    const int fb = open_port(ifb);
    if (fa < 0 || fb < 0) {
        return 1;
    }
    direction dirs[2];
    dirs[0].in = fa;
    dirs[0].out = fb;
    dirs[1].in = fb;
    dirs[1].out = fa;
    for (direction& d : dirs) {
        d.ring.resize(slots);
    }
    rng r{seed};

    struct sigaction sa{};
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGINT, &sa, nullptr);
    std::printf("impair_bridge: ready\n");
    std::fflush(stdout);

    std::uint8_t buf[slot_bytes];
    pollfd pfd[2] = {{fa, POLLIN, 0}, {fb, POLLIN, 0}};
    while (stop_flag == 0) {
        std::uint64_t now = now_ns();
        std::uint64_t next = UINT64_MAX;
        for (direction& d : dirs) {
            const std::uint64_t n = d.flush(now);
            next = n < next ? n : next;
        }
        timespec ts{};
        timespec* tsp = nullptr;
        if (next != UINT64_MAX) {
            const std::uint64_t wait = next > now ? next - now : 0;
            ts.tv_sec = static_cast<time_t>(wait / 1'000'000'000ULL);
            ts.tv_nsec = static_cast<long>(wait % 1'000'000'000ULL);
            tsp = &ts;
        }
        const int rc = ppoll(pfd, 2, tsp, nullptr);
        if (rc < 0) {
            if (errno == EINTR) {
                continue;
            }
            std::perror("impair_bridge: ppoll");
            return 1;
        }
        now = now_ns();
        for (int i = 0; i < 2; ++i) {
            if ((pfd[i].revents & POLLIN) == 0) {
                continue;
            }
            direction& d = dirs[i];
            for (int budget = 0; budget < 256; ++budget) {
                const ssize_t n = recv(d.in, buf, sizeof(buf), MSG_TRUNC);
                if (n < 0) {
                    break;  // EAGAIN: drained
                }
                d.c.rx++;
                if (static_cast<std::size_t>(n) > sizeof(buf)) {
                    d.c.oversize++;
                    continue;
                }
                if (r.chance(loss)) {
                    d.c.lost++;
                    continue;
                }
                const int copies = r.chance(dup) ? 2 : 1;
                if (copies == 2) {
                    d.c.duplicated++;
                }
                for (int k = 0; k < copies; ++k) {
                    if (!d.holding && r.chance(reorder)) {
                        d.held.len = static_cast<std::uint32_t>(n);
                        std::memcpy(d.held.data, buf, static_cast<std::size_t>(n));
                        d.holding = true;
                        d.held_after = d.count + gap;  // behind what is queued ahead
                        d.held_deadline = now + delay_ns + reorder_hold_ns;
                        d.c.reordered++;
                    } else {
                        (void)d.push(buf, static_cast<std::uint32_t>(n), now + delay_ns);
                    }
                }
            }
            // Zero delay: send at once rather than after the next ppoll.
            (void)d.flush(now);
        }
    }
    print_counters("a_to_b", dirs[0], fa);
    print_counters("b_to_a", dirs[1], fb);
    std::fflush(stdout);
    return 0;
}
