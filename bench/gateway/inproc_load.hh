// The load side of the in-process proxy benchmark (inproc_bench.cc): one Sluice stack on one
// lcore that is both the HTTP/1.1 keep-alive GET client (N connections, one request in flight
// on each) and the backend the gateway proxies to (a fixed 200 response with a
// Content-Length). Benchmark code, not dataplane code: it copies response bytes into a
// per-connection buffer to find the end of each response, which is simple and cheap enough at
// these sizes; the figure that matters is the gateway lcore's.
//
// Threading: everything here runs on the lcore that calls run() (the main lcore 0).
#pragma once

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <cstdint>
#include <cstdlib>  // strtoul
#include <cstring>
#include <memory>
#include <string_view>

#include "../../dataplane/net/stack.hh"
#include "../../dataplane/net/tcp/tcp_stack.hh"

namespace sluice::bench {

struct load_options {
    std::uint32_t conns = 64;
    double warmup_s = 1.0;
    double seconds = 5.0;
};

struct load_window {
    std::uint64_t responses = 0;  // complete 200 responses received in the window
    std::uint64_t errors = 0;     // non-200 responses or connections lost, in the window
    double seconds = 0;
    std::uint64_t load_busy = 0;  // this lcore's busy cycles in the window
    std::uint64_t gw_busy = 0;    // filled by the caller's snapshot callback
    std::uint64_t gw_stolen = 0;
};

namespace detail {

namespace tcp = dp::net::tcp;

inline constexpr std::string_view request =
    "GET /bench HTTP/1.1\r\nHost: bench\r\nUser-Agent: sluice-inproc\r\n\r\n";
inline constexpr std::string_view response =
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nhello, world\n";

// Copies [off, off+len) of a chain into dst (len <= cap).
inline void copy_out(const rte_mbuf* m, std::uint32_t off, std::uint32_t len, char* dst) {
    const void* p = rte_pktmbuf_read(m, off, len, dst);
    if (p != dst) {
        std::memcpy(dst, p, len);
    }
}

struct backend_app final : tcp::tcp_handler {
    tcp::tcp_stack* t = nullptr;
    void on_established(tcp::connection& c) override { c.user = nullptr; }
    // Answers every request head (up to its blank line; GETs carry no body). The match state of
    // "\r\n\r\n" across segments lives in c.user.
    void on_data(tcp::connection& c, const tcp::rx_view& v) override {
        auto st = reinterpret_cast<std::uintptr_t>(c.user);
        char buf[2048];
        for (std::uint32_t done = 0; done < v.len;) {
            const std::uint32_t n = std::min<std::uint32_t>(v.len - done, sizeof(buf));
            copy_out(v.m, v.off + done, n, buf);
            for (std::uint32_t i = 0; i < n; ++i) {
                const char want = (st % 2 == 0) ? '\r' : '\n';
                st = buf[i] == want ? st + 1 : (buf[i] == '\r' ? 1 : 0);
                if (st == 4) {
                    (void)t->send(c, response.data(), static_cast<std::uint32_t>(response.size()));
                    st = 0;
                }
            }
            done += n;
        }
        rte_pktmbuf_free(v.m);
        c.user = reinterpret_cast<void*>(st);
    }
    void on_peer_shutdown(tcp::connection& c) override { t->close(c); }
    void on_closed(tcp::connection&, tcp::close_reason) override {}
};

struct client_conn {
    tcp::connection* c = nullptr;
    std::uint32_t len = 0;
    char buf[4096];
};

struct client_app final : tcp::tcp_handler {
    tcp::tcp_stack* t = nullptr;
    std::uint64_t responses = 0, errors = 0;
    std::uint32_t open = 0;

    void send_request(tcp::connection& c) {
        (void)t->send(c, request.data(), static_cast<std::uint32_t>(request.size()));
    }
    void on_established(tcp::connection& c) override { send_request(c); }
    void on_data(tcp::connection& c, const tcp::rx_view& v) override {
        auto* cc = static_cast<client_conn*>(c.user);
        if (cc->len + v.len > sizeof(cc->buf)) {
            rte_pktmbuf_free(v.m);
            ++errors;
            cc->len = 0;
            return;
        }
        copy_out(v.m, v.off, v.len, cc->buf + cc->len);
        cc->len += v.len;
        rte_pktmbuf_free(v.m);
        for (;;) {
            const std::string_view s(cc->buf, cc->len);
            const auto head_end = s.find("\r\n\r\n");
            if (head_end == std::string_view::npos) {
                return;
            }
            std::size_t body = 0;
            for (std::size_t i = 0; i + 15 < head_end; ++i) {
                if ((s[i] == 'C' || s[i] == 'c') && (s.substr(i, 15) == "Content-Length:" ||
                                                     s.substr(i, 15) == "content-length:")) {
                    body = std::strtoul(cc->buf + i + 15, nullptr, 10);
                    break;
                }
            }
            const std::size_t total = head_end + 4 + body;
            if (cc->len < total) {
                return;
            }
            if (s.substr(0, 12) == "HTTP/1.1 200") {
                ++responses;
            } else {
                ++errors;
            }
            std::memmove(cc->buf, cc->buf + total, cc->len - total);
            cc->len -= static_cast<std::uint32_t>(total);
            send_request(c);
        }
    }
    void on_closed(tcp::connection& c, tcp::close_reason) override {
        static_cast<client_conn*>(c.user)->c = nullptr;
        ++errors;
        --open;
    }
};

}  // namespace detail

class load_node {
public:
    bool make(rte_mempool* pool, std::uint16_t port, const dp::net::iface* ifc, rte_be32_t gw_addr,
              const rte_ether_addr& gw_mac, std::uint16_t backend_port) {
        const std::uint64_t hz = rte_get_tsc_hz();
        dp::net::stack_params sp;
        sp.tsc_hz = hz;
        sp.pool = pool;
        sp.socket_id = SOCKET_ID_ANY;
        sp.arp.entries = 16;
        sp.arp.pending_max = 4;
        sp.arp.timeout = 300 * hz;
        sp.arp.retry = hz;
        sp.arp.max_retries = 3;
        ip_ = std::make_unique<dp::net::stack>(sp);
        if (!ip_->add_port(ifc, 0)) {
            return false;
        }
        ip_->apply_neighbor(port, gw_addr, gw_mac, rte_rdtsc());
        detail::tcp::tcp_params tp;
        tp.tsc_hz = hz;
        tp.pool = pool;
        tp.socket_id = SOCKET_ID_ANY;
        tp.lcore = rte_lcore_id();
        tcp_ = std::make_unique<detail::tcp::tcp_stack>(*ip_, tp);
        if (!tcp_->ok()) {
            return false;
        }
        ip_->attach_tcp(tcp_.get());
        tcp_->tick(rte_rdtsc());  // start the TCP clock: connect timeouts count from now
        port_ = port;
        backend_.t = tcp_.get();
        client_.t = tcp_.get();
        return tcp_->listen(backend_port, 1024, &backend_);
    }

    // Opens the connections (first call), then polls for warm-up + window; `snap(false)` runs
    // at the window's start and `snap(true)` at its end. False if connections failed to open.
    template <typename F>
    bool run(const load_options& o, std::uint16_t gw_port, rte_be32_t gw_addr, load_window& w,
             F&& snap) {
        if (conns_ == nullptr) {
            conns_ = std::make_unique<detail::client_conn[]>(o.conns);
            for (std::uint32_t i = 0; i < o.conns; ++i) {
                auto* c = tcp_->connect(port_, gw_addr, gw_port, &client_, &conns_[i], 3000);
                if (c == nullptr) {
                    return false;
                }
                conns_[i].c = c;
                ++client_.open;
            }
        }
        const std::uint64_t hz = rte_get_tsc_hz();
        const std::uint64_t preempted = hz / 5000;  // 200 us, as in inproc_bench.cc
        const std::uint64_t start = rte_rdtsc();
        const std::uint64_t w0 = start + static_cast<std::uint64_t>(o.warmup_s * double(hz));
        const std::uint64_t w1 = w0 + static_cast<std::uint64_t>(o.seconds * double(hz));
        bool in = false;
        std::uint64_t r0 = 0, e0 = 0, b0 = 0;
        std::uint64_t t0 = rte_rdtsc();
        for (;;) {
            const bool busy = poll(t0);
            const std::uint64_t t1 = rte_rdtsc();
            if (t1 - t0 <= preempted && busy) {
                busy_ += t1 - t0;
            }
            t0 = t1;
            if (!in && t0 >= w0) {
                in = true;
                snap(false);
                r0 = client_.responses;
                e0 = client_.errors;
                b0 = busy_;
            } else if (in && t0 >= w1) {
                snap(true);
                w.responses = client_.responses - r0;
                w.errors = client_.errors - e0;
                w.load_busy = busy_ - b0;
                w.seconds = double(t0 - w0) / double(hz);
                return client_.open == o.conns;
            }
        }
    }

    // Diagnostics after a stall: the client connection `i` (nullptr if closed).
    [[nodiscard]] const detail::tcp::connection* client_conn(std::uint32_t i) const noexcept {
        return conns_ != nullptr ? conns_[i].c : nullptr;
    }
    [[nodiscard]] std::uint32_t client_buffered(std::uint32_t i) const noexcept {
        return conns_ != nullptr ? conns_[i].len : 0;
    }
    [[nodiscard]] const dp::net::queue_stats& stats() const noexcept { return ip_->stats(port_); }
    // Complete 200 responses since the connections opened (all windows and warm-ups).
    [[nodiscard]] std::uint64_t total_responses() const noexcept { return client_.responses; }

    void teardown() {
        tcp_->release();
        ip_->release();
        ip_->attach_tcp(nullptr);
    }

private:
    bool poll(std::uint64_t now) {
        rte_mbuf* pkts[dp::net::burst_size];
        const std::uint16_t n = rte_eth_rx_burst(port_, 0, pkts, dp::net::burst_size);
        if (n != 0) {
            ip_->input(port_, pkts, n, now);
        }
        if (now >= next_tick_) {
            ip_->tick(now);
            tcp_->tick(now);
            next_tick_ = now + rte_get_tsc_hz() / 1000;
        }
        ip_->flush();
        return n != 0;
    }

    std::unique_ptr<dp::net::stack> ip_;
    std::unique_ptr<detail::tcp::tcp_stack> tcp_;
    std::uint16_t port_ = 0;
    std::uint64_t next_tick_ = 0;
    std::uint64_t busy_ = 0;
    detail::backend_app backend_;
    detail::client_app client_;
    std::unique_ptr<detail::client_conn[]> conns_;
};

}  // namespace sluice::bench
