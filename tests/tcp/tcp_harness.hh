// A test peer for the TCP connection tests: a real net::stack and tcp::tcp_stack on the
// dpdk_env net_ring loopback port, an injected clock (1 GHz fake TSC), segments crafted as
// Ethernet frames from the peer and the stack's output parsed back. One harness per test.
#pragma once

#include <rte_tcp.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "../../dataplane/net/tcp/tcp_stack.hh"
#include "../packet/l2l3_cases.hh"
#include "../unit/dpdk_env.hh"
#include "net/tcp/options.hh"

namespace sluice::test {

namespace tcp = dp::net::tcp;

inline constexpr std::uint8_t F = RTE_TCP_FIN_FLAG, S = RTE_TCP_SYN_FLAG, R = RTE_TCP_RST_FLAG,
                              P = RTE_TCP_PSH_FLAG, A = RTE_TCP_ACK_FLAG;

// A TCP segment from the stack, parsed.
struct out_seg {
    std::uint16_t sport = 0, dport = 0;
    std::uint32_t seq = 0, ack = 0;
    std::uint8_t flags = 0;
    std::uint16_t wnd = 0;
    tcp::tcp_options opt{};
    bytes payload;
};

// Records every event as a string, keeps received bytes, frees the views.
struct recorder final : tcp::tcp_handler {
    std::vector<std::string> events;
    bytes data;
    tcp::connection* conn = nullptr;
    tcp::tcp_stack* stack = nullptr;
    bool close_on_peer_shutdown = false;
    void on_established(tcp::connection& c) override {
        conn = &c;
        events.emplace_back("established");
    }
    void on_data(tcp::connection&, const tcp::rx_view& v) override {
        bytes b(v.len);
        const void* p = rte_pktmbuf_read(v.m, v.off, v.len, b.data());
        if (p != b.data()) {
            std::memcpy(b.data(), p, v.len);
        }
        const std::size_t n = data.size();
        data.resize(n + b.size());
        std::memcpy(data.data() + n, b.data(), b.size());
        events.push_back("data:" + std::to_string(v.len));
        rte_pktmbuf_free(v.m);
    }
    void on_writable(tcp::connection&) override { events.emplace_back("writable"); }
    void on_peer_shutdown(tcp::connection& c) override {
        events.emplace_back("peer_shutdown");
        if (close_on_peer_shutdown) {
            stack->close(c);
        }
    }
    void on_closed(tcp::connection&, tcp::close_reason why) override {
        events.push_back(std::string("closed:") + tcp::to_string(why));
        conn = nullptr;
    }
};

inline void append(bytes& to, const bytes& from) {
    const std::size_t n = to.size();
    to.resize(n + from.size());
    if (!from.empty()) {
        std::memcpy(to.data() + n, from.data(), from.size());
    }
}

struct harness {
    dpdk_env& env = dpdk_env::get();
    std::unique_ptr<dp::net::stack> ip;
    std::unique_ptr<tcp::tcp_stack> tcp;
    recorder app;
    std::uint64_t now = 5 * dpdk_env::hz;  // fake TSC, 1 ns per cycle
    std::uint16_t peer_port = 40000;
    std::uint16_t our_port = 80;
    unsigned mbufs_before = 0;

    explicit harness(tcp::tcp_params p = {}) {
        mbufs_before = env.in_use();
        ip = env.make_stack();
        rte_ether_addr pm;
        std::memcpy(pm.addr_bytes, peer_mac.data(), 6);
        ip->apply_neighbor(env.port, rte_cpu_to_be_32(peer_ip), pm, 0);
        p.tsc_hz = dpdk_env::hz;
        p.pool = env.pool;
        p.max_connections = 64;
        p.ooo_queues = 4;
        p.isn_secret = 42;
        if (p.tx == tcp::tcp_params::tx_mode::automatic) {
            p.tx = tcp::tcp_params::tx_mode::attach;  // the zero-copy path unless a test asks
        }
        tcp = std::make_unique<tcp::tcp_stack>(*ip, p);
        ip->attach_tcp(tcp.get());
        app.stack = tcp.get();
        tcp->tick(now);
    }
    ~harness() {
        tcp->release();
        (void)env.drain(*ip);
        ip->attach_tcp(nullptr);
    }
    harness(const harness&) = delete;
    harness& operator=(const harness&) = delete;

    void listen(std::uint32_t backlog = 8) { ASSERT_TRUE(tcp->listen(our_port, backlog, &app)); }

    // A segment from the peer. `opts` are raw option bytes (a multiple of 4).
    void send(std::uint8_t flags, std::uint32_t seq, std::uint32_t ack, const bytes& payload = {},
              const bytes& opts = {}, std::uint16_t wnd = 65535) {
        bytes t(20 + opts.size());
        put16(t, 0, peer_port);
        put16(t, 2, our_port);
        put32(t, 4, seq);
        put32(t, 8, ack);
        t[12] = static_cast<std::uint8_t>(((20 + opts.size()) / 4) << 4);
        t[13] = flags;
        put16(t, 14, wnd);
        std::copy(opts.begin(), opts.end(), t.begin() + 20);
        append(t, payload);
        bytes ph(12);
        put32(ph, 0, peer_ip);
        put32(ph, 4, our_ip);
        ph[9] = 6;
        put16(ph, 10, static_cast<std::uint16_t>(t.size()));
        append(ph, t);
        put16(t, 16, inet_checksum(ph, 0, ph.size()));
        inject_ipv4(6, t);
    }

    // An IPv4 frame from the peer carrying `l4` as protocol `proto`. Built by hand rather than
    // with frames.hh's eth()/ipv4(), whose vector inserts trip GCC 12's -Warray-bounds false
    // positive at -O3.
    void inject_ipv4(std::uint8_t proto, const bytes& t) {
        bytes f(34);
        std::copy(env.our_mac.begin(), env.our_mac.end(), f.begin());
        std::copy(peer_mac.begin(), peer_mac.end(), f.begin() + 6);
        put16(f, 12, 0x0800);
        f[14] = 0x45;
        put16(f, 16, static_cast<std::uint16_t>(20 + t.size()));
        put16(f, 20, 0x4000);
        f[22] = 64;
        f[23] = proto;
        put32(f, 26, peer_ip);
        put32(f, 30, our_ip);
        put16(f, 24, inet_checksum(f, 14, 20));
        append(f, t);
        rte_mbuf* m = env.mbuf_of(f);
        ASSERT_NE(m, nullptr);
        ip->input(env.port, &m, 1, now);
    }

    // Everything the stack sent since the last call, TCP segments only.
    std::vector<out_seg> out() {
        std::vector<out_seg> r;
        for (const bytes& f : env.drain(*ip)) {
            if (f.size() < 54 || get16(f, 12) != 0x0800 || f[23] != 6) {
                continue;
            }
            const std::size_t t = 14 + (f[14] & 0x0f) * 4U;
            out_seg o;
            o.sport = get16(f, t);
            o.dport = get16(f, t + 2);
            o.seq = get32(f, t + 4);
            o.ack = get32(f, t + 8);
            const std::size_t hl = (f[t + 12] >> 4) * 4U;
            o.flags = f[t + 13];
            o.wnd = get16(f, t + 14);
            (void)tcp::parse_options({f.data() + t + 20, hl - 20}, o.opt);
            // The checksum over pseudo-header + segment must verify.
            bytes ph(12);
            std::copy(f.begin() + 26, f.begin() + 34, ph.begin());
            ph[9] = 6;
            put16(ph, 10, static_cast<std::uint16_t>(f.size() - t));
            const std::size_t phl = ph.size();
            ph.resize(phl + f.size() - t);
            std::memcpy(ph.data() + phl, f.data() + t, f.size() - t);
            EXPECT_EQ(inet_checksum(ph, 0, ph.size()), 0) << "bad TCP checksum";
            o.payload.assign(f.begin() + static_cast<long>(t + hl), f.end());
            r.push_back(std::move(o));
        }
        return r;
    }

    void advance_ms(std::uint64_t ms) {
        for (std::uint64_t i = 0; i < ms; ++i) {
            now += dpdk_env::hz / 1000;
            tcp->tick(now);
        }
    }

    // The peer's SYN options: MSS 1460, SACK-permitted, timestamps (optional), WS 7.
    static bytes syn_opts(bool timestamps = false) {
        tcp::syn_option_spec sp;
        sp.mss = 1460;
        sp.window_scale = true;
        sp.window_shift = 7;
        sp.sack_permitted = true;
        sp.timestamps = timestamps;
        sp.ts_val = 1000;
        std::array<std::uint8_t, tcp::max_option_bytes> b{};
        const std::size_t n = tcp::build_syn_options(b, sp);
        return bytes(b.begin(), b.begin() + static_cast<long>(n));
    }

    // Passive open from the peer with ISN `irs`; returns our ISN.
    std::uint32_t handshake(std::uint32_t irs = 1000) {
        listen();
        send(S, irs, 0, {}, syn_opts());
        auto o = out();
        EXPECT_EQ(o.size(), 1U);
        if (o.empty()) {
            return 0;
        }
        EXPECT_EQ(o[0].flags, S | A);
        EXPECT_EQ(o[0].ack, irs + 1);
        send(A, irs + 1, o[0].seq + 1);
        EXPECT_TRUE(out().empty());
        return o[0].seq;
    }

    [[nodiscard]] std::uint64_t counted(dp::net::event e) const {
        return ip->stats(env.port).counted(e);
    }
    [[nodiscard]] std::uint64_t dropped(dp::net::drop_reason d) const {
        return ip->stats(env.port).dropped(d);
    }
};

inline bytes payload_of(std::size_t n, std::uint8_t seed = 1) {
    bytes b(n);
    for (std::size_t i = 0; i < n; ++i) {
        b[i] = static_cast<std::uint8_t>(i * 13 + seed);
    }
    return b;
}

}  // namespace sluice::test
