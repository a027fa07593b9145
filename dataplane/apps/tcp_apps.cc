// Test applications on the TCP API; see tcp_apps.hh. Runs on each worker lcore.
#include "tcp_apps.hh"

#include "../core/config.hh"

#include <rte_mbuf.h>

#include <charconv>
#include <cstdio>
#include <vector>

namespace sluice::dp::apps {

namespace {

using net::tcp::close_reason;
using net::tcp::connection;
using net::tcp::rx_view;
using net::tcp::tcp_handler;
using net::tcp::tcp_stack;

constexpr std::uint32_t max_app_conns = 1024;  // per lcore and app

template <typename T>
bool parse_num(std::string_view s, T& out) {
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return !s.empty() && ec == std::errc{} && p == s.data() + s.size();
}

// Fixed per-connection slots, found through connection::user.
template <typename State>
class slots {
public:
    slots() : s_(max_app_conns) {
        for (std::uint32_t i = 0; i < max_app_conns; ++i) {
            free_.push_back(max_app_conns - 1 - i);
        }
    }
    State* take() {
        if (free_.empty()) {
            return nullptr;
        }
        const std::uint32_t i = free_.back();
        free_.pop_back();
        s_[i] = State{};
        s_[i].index = i;
        return &s_[i];
    }
    void give(State* st) { free_.push_back(st->index); }

private:
    std::vector<State> s_;
    std::vector<std::uint32_t> free_;  // reserved at start; never grows past max_app_conns
};

class echo_app final : public tcp_handler {
public:
    explicit echo_app(tcp_stack& t) : tcp_(t) {}
    void on_established(connection&) override {}
    void on_data(connection& c, const rx_view& v) override {
        // Copies the view into the send queue; a peer that outruns the queue is reset (this
        // app has no receive-side flow control of its own).
        std::uint8_t buf[2048];
        std::uint32_t off = v.off;
        std::uint32_t left = v.len;
        while (left > 0) {
            const std::uint32_t n = std::min<std::uint32_t>(left, sizeof(buf));
            const void* p = rte_pktmbuf_read(v.m, off, n, buf);
            if (tcp_.send(c, p, n) != n) {
                rte_pktmbuf_free(v.m);
                tcp_.abort(c);
                return;
            }
            off += n;
            left -= n;
        }
        rte_pktmbuf_free(v.m);
    }
    void on_peer_shutdown(connection& c) override { tcp_.close(c); }
    void on_closed(connection&, close_reason) override {}

private:
    tcp_stack& tcp_;
};

class source_app final : public tcp_handler {
public:
    source_app(tcp_stack& t, std::uint64_t bytes) : tcp_(t), total_(bytes) {}
    struct state {
        std::uint32_t index = 0;
        std::uint64_t sent = 0;
    };
    void on_established(connection& c) override {
        state* st = slots_.take();
        if (st == nullptr) {
            tcp_.abort(c);
            return;
        }
        c.user = st;
        pump(c);
    }
    void on_data(connection&, const rx_view& v) override { rte_pktmbuf_free(v.m); }
    void on_writable(connection& c) override { pump(c); }
    void on_closed(connection& c, close_reason) override { release(c); }

private:
    void pump(connection& c) {
        auto* st = static_cast<state*>(c.user);
        std::uint8_t buf[2048];
        while (st->sent < total_) {
            const std::uint32_t n =
                static_cast<std::uint32_t>(std::min<std::uint64_t>(total_ - st->sent, sizeof(buf)));
            for (std::uint32_t i = 0; i < n; ++i) {
                buf[i] = static_cast<std::uint8_t>((st->sent + i) % 251);
            }
            const std::uint32_t took = tcp_.send(c, buf, n);
            st->sent += took;
            if (took < n) {
                return;  // on_writable resumes
            }
        }
        release(c);
        tcp_.close(c);
    }
    void release(connection& c) {
        if (c.user != nullptr) {
            slots_.give(static_cast<state*>(c.user));
            c.user = nullptr;
        }
    }
    tcp_stack& tcp_;
    std::uint64_t total_;
    slots<state> slots_;
};

class sink_app final : public tcp_handler {
public:
    explicit sink_app(tcp_stack& t) : tcp_(t) {}
    struct state {
        std::uint32_t index = 0;
        std::uint64_t bytes = 0;
        std::uint64_t hash = fnv1a64_init;
    };
    void on_established(connection& c) override {
        state* st = slots_.take();
        if (st == nullptr) {
            tcp_.abort(c);
            return;
        }
        c.user = st;
    }
    void on_data(connection& c, const rx_view& v) override {
        auto* st = static_cast<state*>(c.user);
        std::uint32_t skip = v.off;
        std::uint32_t left = v.len;
        for (rte_mbuf* s = v.m; s != nullptr && left > 0; s = s->next) {
            if (skip >= s->data_len) {
                skip -= s->data_len;
                continue;
            }
            const std::uint32_t n = std::min<std::uint32_t>(left, s->data_len - skip);
            st->hash = fnv1a64(st->hash, rte_pktmbuf_mtod_offset(s, const std::uint8_t*, skip), n);
            st->bytes += n;
            left -= n;
            skip = 0;
        }
        rte_pktmbuf_free(v.m);
    }
    void on_peer_shutdown(connection& c) override {
        auto* st = static_cast<state*>(c.user);
        char line[64];
        const int n = std::snprintf(line, sizeof(line), "%llu %016llx\n",
                                    static_cast<unsigned long long>(st->bytes),
                                    static_cast<unsigned long long>(st->hash));
        (void)tcp_.send(c, line, static_cast<std::uint32_t>(n));
        release(c);
        tcp_.close(c);
    }
    void on_closed(connection& c, close_reason) override { release(c); }

private:
    void release(connection& c) {
        if (c.user != nullptr) {
            slots_.give(static_cast<state*>(c.user));
            c.user = nullptr;
        }
    }
    tcp_stack& tcp_;
    slots<state> slots_;
};

class client_app final : public tcp_handler {
public:
    client_app(tcp_stack& t, const tcp_app_spec& spec) : tcp_(t), spec_(spec) {}
    void connect(std::uint16_t port_id) {
        // RFC 9293 §3.8.3: give up after 10 s rather than the SYN retry budget.
        (void)tcp_.connect(port_id, spec_.addr, spec_.port, this, nullptr, 10'000);
    }
    void on_established(connection& c) override { pump(c); }
    void on_data(connection&, const rx_view& v) override { rte_pktmbuf_free(v.m); }
    void on_writable(connection& c) override { pump(c); }
    void on_peer_shutdown(connection& c) override { tcp_.close(c); }
    void on_closed(connection&, close_reason) override {}

private:
    void pump(connection& c) {
        std::uint8_t buf[2048];
        while (sent_ < spec_.bytes) {
            const std::uint32_t n = static_cast<std::uint32_t>(
                std::min<std::uint64_t>(spec_.bytes - sent_, sizeof(buf)));
            for (std::uint32_t i = 0; i < n; ++i) {
                buf[i] = static_cast<std::uint8_t>((sent_ + i) % 251);
            }
            const std::uint32_t took = tcp_.send(c, buf, n);
            sent_ += took;
            if (took < n) {
                return;
            }
        }
        tcp_.shutdown_write(c);  // half-close: the server answers after our FIN
    }
    tcp_stack& tcp_;
    tcp_app_spec spec_;
    std::uint64_t sent_ = 0;  // one connection per worker
};

}  // namespace

void start_client(tcp_handler& h, std::uint16_t port_id) noexcept {
    static_cast<client_app&>(h).connect(port_id);
}

std::uint64_t fnv1a64(std::uint64_t h, const std::uint8_t* p, std::size_t n) noexcept {
    for (std::size_t i = 0; i < n; ++i) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

result<tcp_app_spec> parse_tcp_app(std::string_view spec) {
    const std::string s(spec);
    auto fail = [&](const std::string& why) {
        return error{"--app " + s + ": " + why +
                      " (expected tcp-echo:PORT, tcp-source:PORT:BYTES, tcp-sink:PORT or "
                     "tcp-client:A.B.C.D:PORT:BYTES)"};
    };
    const auto c1 = spec.find(':');
    if (c1 == std::string_view::npos) {
        return fail("missing :PORT");
    }
    const std::string_view kind = spec.substr(0, c1);
    std::string_view rest = spec.substr(c1 + 1);
    tcp_app_spec out;
    std::string_view port_text = rest;
    if (kind == "tcp-echo") {
        out.kind = tcp_app_kind::echo;
    } else if (kind == "tcp-sink") {
        out.kind = tcp_app_kind::sink;
    } else if (kind == "tcp-client") {
        out.kind = tcp_app_kind::client;
        const auto c2 = rest.find(':');
        const auto c3 = c2 == std::string_view::npos ? c2 : rest.find(':', c2 + 1);
        if (c3 == std::string_view::npos) {
            return fail("tcp-client needs A.B.C.D:PORT:BYTES");
        }
        auto ip = core::parse_ipv4(rest.substr(0, c2));
        if (!ip) {
            return fail(ip.message());
        }
        out.addr = *ip;
        port_text = rest.substr(c2 + 1, c3 - c2 - 1);
        if (!parse_num(rest.substr(c3 + 1), out.bytes)) {
            return fail("BYTES '" + std::string(rest.substr(c3 + 1)) + "' is not a number");
        }
    } else if (kind == "tcp-source") {
        out.kind = tcp_app_kind::source;
        const auto c2 = rest.find(':');
        if (c2 == std::string_view::npos) {
            return fail("tcp-source needs :BYTES");
        }
        port_text = rest.substr(0, c2);
        if (!parse_num(rest.substr(c2 + 1), out.bytes)) {
            return fail("BYTES '" + std::string(rest.substr(c2 + 1)) + "' is not a number");
        }
    } else {
        return fail("unknown app '" + std::string(kind) + "'");
    }
    if (!parse_num(port_text, out.port) || out.port == 0) {
        return fail("PORT '" + std::string(port_text) + "' is not a number in 1..65535");
    }
    return out;
}

result<std::unique_ptr<tcp_handler>> start_tcp_app(const tcp_app_spec& spec, tcp_stack& tcp) {
    std::unique_ptr<tcp_handler> h;
    switch (spec.kind) {
        case tcp_app_kind::echo:
            h = std::make_unique<echo_app>(tcp);
            break;
        case tcp_app_kind::source:
            h = std::make_unique<source_app>(tcp, spec.bytes);
            break;
        case tcp_app_kind::sink:
            h = std::make_unique<sink_app>(tcp);
            break;
        case tcp_app_kind::client:
            return std::unique_ptr<tcp_handler>(std::make_unique<client_app>(tcp, spec));
    }
    if (!tcp.listen(spec.port, spec.backlog, h.get())) {
        return error{"--app: cannot listen on TCP port " + std::to_string(spec.port) +
                     " (already used, or too many listeners)"};
    }
    return h;
}

}  // namespace sluice::dp::apps
