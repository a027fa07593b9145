// Test applications on the TCP API; see tcp_apps.hh. Runs on each worker lcore.
#include "tcp_apps.hh"

#include "../core/config.hh"

#include <rte_mbuf.h>

// The HTTP sink hashes with OpenSSL's low-level SHA256_* calls (deprecated in 3.0, present, and
// free of allocation; see dataplane/filters/auth/hmac_sha256.hh).
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include <openssl/sha.h>

#include <array>
#include <charconv>
#include <cstdio>
#include <cstring>
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

// The source pattern (byte i = i % 251) is copied out of this table: `pattern_table[k + j]`
// is the pattern byte at any stream offset o with o % 251 == k, for j up to chunk_bytes.
constexpr std::uint32_t chunk_bytes = 2048;
struct pattern_table_t {
    std::array<std::uint8_t, chunk_bytes + 251> b{};
    constexpr pattern_table_t() {
        for (std::uint32_t i = 0; i < b.size(); ++i) {
            b[i] = static_cast<std::uint8_t>(i % 251);
        }
    }
};
constexpr pattern_table_t pattern_table{};

// Feeds bytes to a "\r\n\r\n" matcher; returns how many of `n` bytes were consumed, stopping
// right after the terminator (then `state` is 4).
std::uint32_t scan_head_end(std::uint8_t& state, const std::uint8_t* p, std::uint32_t n) {
    static constexpr char end[] = "\r\n\r\n";
    for (std::uint32_t i = 0; i < n; ++i) {
        if (p[i] == static_cast<std::uint8_t>(end[state])) {
            if (++state == 4) {
                return i + 1;
            }
        } else {
            state = p[i] == '\r' ? 1 : 0;
        }
    }
    return n;
}

// Walks the payload bytes of an rx_view segment by segment: fn(ptr, len) returns how many it
// consumed; a short count stops the walk. Returns the bytes consumed in all.
template <typename Fn>
std::uint32_t for_each_piece(const rx_view& v, Fn&& fn) {
    std::uint32_t skip = v.off;
    std::uint32_t left = v.len;
    std::uint32_t done = 0;
    for (rte_mbuf* s = v.m; s != nullptr && left > 0; s = s->next) {
        if (skip >= s->data_len) {
            skip -= s->data_len;
            continue;
        }
        const std::uint32_t n = std::min<std::uint32_t>(left, s->data_len - skip);
        const std::uint32_t took = fn(rte_pktmbuf_mtod_offset(s, const std::uint8_t*, skip), n);
        done += took;
        left -= took;
        if (took < n) {
            break;
        }
        skip = 0;
    }
    return done;
}

// Sends a stream from offset `sent` up to `total` in chunk_bytes pieces while the send queue
// takes them: chunk(offset, n, buf) returns the n bytes at that offset (in buf or elsewhere).
// `sent` advances by what was accepted; true when everything went out, false on a short send
// (on_writable resumes).
template <typename Chunk>
bool send_stream(tcp_stack& tcp, connection& c, std::uint64_t& sent, std::uint64_t total,
                 Chunk&& chunk) {
    std::uint8_t buf[chunk_bytes];
    while (sent < total) {
        const auto n =
            static_cast<std::uint32_t>(std::min<std::uint64_t>(total - sent, chunk_bytes));
        const std::uint32_t took = tcp.send(c, chunk(sent, n, buf), n);
        sent += took;
        if (took < n) {
            return false;
        }
    }
    return true;
}

// The source pattern's n bytes at stream offset o.
const std::uint8_t* pattern_at(std::uint64_t o, std::uint32_t, std::uint8_t*) {
    return pattern_table.b.data() + o % 251;
}

// The per-connection plumbing of the apps that keep state: a slot from a fixed pool taken at
// on_established (the connection is reset when none is left), found through connection::user,
// given back exactly once (release() clears c.user), at the latest in on_closed.
template <typename State>
class slot_app : public tcp_handler {
public:
    explicit slot_app(tcp_stack& t) : tcp_(t) {}
    void on_established(connection& c) override { (void)attach(c); }
    void on_closed(connection& c, close_reason) override { release(c); }

protected:
    // Takes a slot for `c`; nullptr (and `c` reset) when none is left.
    State* attach(connection& c) {
        State* st = slots_.take();
        if (st == nullptr) {
            tcp_.abort(c);
            return nullptr;
        }
        c.user = st;
        return st;
    }
    static State* state_of(const connection& c) { return static_cast<State*>(c.user); }
    void release(connection& c) {
        if (c.user != nullptr) {
            slots_.give(state_of(c));
            c.user = nullptr;
        }
    }
    tcp_stack& tcp_;

private:
    slots<State> slots_;
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

struct source_state {
    std::uint32_t index = 0;
    std::uint64_t sent = 0;
};

class source_app final : public slot_app<source_state> {
public:
    source_app(tcp_stack& t, std::uint64_t bytes) : slot_app(t), total_(bytes) {}
    void on_established(connection& c) override {
        if (attach(c) != nullptr) {
            pump(c);
        }
    }
    void on_data(connection&, const rx_view& v) override { rte_pktmbuf_free(v.m); }
    void on_writable(connection& c) override { pump(c); }

private:
    void pump(connection& c) {
        if (send_stream(tcp_, c, state_of(c)->sent, total_, pattern_at)) {
            release(c);
            tcp_.close(c);
        }
    }
    std::uint64_t total_;
};

struct sink_state {
    std::uint32_t index = 0;
    std::uint64_t bytes = 0;
    std::uint64_t hash = fnv1a64_init;
};

class sink_app final : public slot_app<sink_state> {
public:
    explicit sink_app(tcp_stack& t) : slot_app(t) {}
    void on_data(connection& c, const rx_view& v) override {
        sink_state* st = state_of(c);
        (void)for_each_piece(v, [&](const std::uint8_t* p, std::uint32_t n) {
            st->hash = fnv1a64(st->hash, p, n);
            st->bytes += n;
            return n;
        });
        rte_pktmbuf_free(v.m);
    }
    void on_peer_shutdown(connection& c) override {
        const sink_state* st = state_of(c);
        char line[64];
        const int n = std::snprintf(line, sizeof(line), "%llu %016llx\n",
                                    static_cast<unsigned long long>(st->bytes),
                                    static_cast<unsigned long long>(st->hash));
        (void)tcp_.send(c, line, static_cast<std::uint32_t>(n));
        release(c);
        tcp_.close(c);
    }
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
        if (send_stream(tcp_, c, sent_, spec_.bytes, pattern_at)) {
            tcp_.shutdown_write(c);  // half-close: the server answers after our FIN
        }
    }
    tcp_stack& tcp_;
    tcp_app_spec spec_;
    std::uint64_t sent_ = 0;  // one connection per worker
};

// tcp-http-source: one fixed response per connection, after the first request's header block.
struct http_source_state {
    std::uint32_t index = 0;
    std::uint8_t match = 0;  // scan_head_end state; 4 once the request head is complete
    std::uint64_t sent = 0;  // stream offset: response head, then the pattern
};

class http_source_app final : public slot_app<http_source_state> {
public:
    http_source_app(tcp_stack& t, std::uint64_t bytes) : slot_app(t), bytes_(bytes) {
        head_ = "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: " +
                std::to_string(bytes) + "\r\nConnection: close\r\n\r\n";
    }
    void on_data(connection& c, const rx_view& v) override {
        http_source_state* st = state_of(c);
        if (st != nullptr && st->match < 4) {
            (void)for_each_piece(v, [&](const std::uint8_t* p, std::uint32_t n) {
                return scan_head_end(st->match, p, n);
            });
            if (st->match == 4) {
                pump(c);
            }
        }
        rte_pktmbuf_free(v.m);  // a request body or a second request is ignored
    }
    void on_writable(connection& c) override {
        if (c.user != nullptr && state_of(c)->match == 4) {
            pump(c);
        }
    }
    void on_peer_shutdown(connection& c) override {
        const http_source_state* st = state_of(c);
        if (st != nullptr && st->match < 4) {  // no request: nothing to answer
            release(c);
            tcp_.close(c);
        }
    }

private:
    void pump(connection& c) {
        const std::uint64_t hlen = head_.size();
        const auto chunk = [&](std::uint64_t o, std::uint32_t n, std::uint8_t* buf) {
            if (o >= hlen) {
                return pattern_at(o - hlen, n, buf);
            }
            for (std::uint32_t i = 0; i < n; ++i, ++o) {  // the head, then the pattern
                buf[i] = o < hlen ? static_cast<std::uint8_t>(head_[o])
                                  : static_cast<std::uint8_t>((o - hlen) % 251);
            }
            return static_cast<const std::uint8_t*>(buf);
        };
        if (send_stream(tcp_, c, state_of(c)->sent, hlen + bytes_, chunk)) {
            release(c);
            tcp_.close(c);
        }
    }
    std::uint64_t bytes_;
    std::string head_;  // built once at start
};

// tcp-http-sink: one PUT/POST per connection; answers with the body's length and SHA-256.
constexpr std::uint32_t max_http_head = 2048;  // request head bytes kept per connection

struct http_sink_state {
    std::uint32_t index = 0;
    std::uint8_t match = 0;  // scan_head_end state
    bool answered = false;
    std::uint32_t head_len = 0;
    std::uint64_t left = 0;   // body bytes still expected
    std::uint64_t bytes = 0;  // body bytes hashed
    SHA256_CTX sha{};
    std::array<char, max_http_head> head{};
};

class http_sink_app final : public slot_app<http_sink_state> {
public:
    using state = http_sink_state;
    static constexpr std::uint32_t max_head = max_http_head;
    explicit http_sink_app(tcp_stack& t) : slot_app(t) {}
    void on_established(connection& c) override {
        if (state* st = attach(c)) {
            SHA256_Init(&st->sha);
        }
    }
    void on_data(connection& c, const rx_view& v) override {
        state* st = state_of(c);
        if (st == nullptr || st->answered) {
            rte_pktmbuf_free(v.m);
            return;
        }
        (void)for_each_piece(v, [&](const std::uint8_t* p, std::uint32_t n) -> std::uint32_t {
            std::uint32_t used = 0;
            if (st->match < 4) {
                used = scan_head_end(st->match, p, n);
                const std::uint32_t keep = std::min(used, max_head - st->head_len);
                std::memcpy(st->head.data() + st->head_len, p, keep);
                st->head_len += keep;
                if (st->match < 4) {
                    return n;
                }
                if (!start_body(c, *st)) {
                    return 0;
                }
            }
            const auto h = static_cast<std::uint32_t>(std::min<std::uint64_t>(n - used, st->left));
            SHA256_Update(&st->sha, p + used, h);
            st->bytes += h;
            st->left -= h;
            if (st->left == 0) {
                finish(c, *st);
                return 0;
            }
            return n;
        });
        rte_pktmbuf_free(v.m);
    }
    void on_peer_shutdown(connection& c) override {
        state* st = state_of(c);
        if (st != nullptr && !st->answered) {
            answer(c, *st, "400 Bad Request", "body ended early\n");
        }
        tcp_.close(c);
    }

private:
    // The head is complete: check it, maybe say 100 Continue. False when already answered.
    bool start_body(connection& c, state& st) {
        if (st.head_len == max_head) {
            answer(c, st, "431 Request Header Fields Too Large", "head too long\n");
            return false;
        }
        const http_request_head h =
            parse_http_head(std::string_view(st.head.data(), st.head_len));
        if (h.chunked || h.length < 0) {
            answer(c, st, "411 Length Required", "need Content-Length\n");
            return false;
        }
        if (h.expect_continue) {
            static constexpr char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
            (void)tcp_.send(c, cont, sizeof(cont) - 1);
        }
        st.left = static_cast<std::uint64_t>(h.length);
        if (st.left == 0) {
            finish(c, st);
            return false;
        }
        return true;
    }
    void finish(connection& c, state& st) {
        std::uint8_t d[SHA256_DIGEST_LENGTH];
        SHA256_Final(d, &st.sha);
        char body[96];
        int n = std::snprintf(body, sizeof(body), "%llu ",
                              static_cast<unsigned long long>(st.bytes));
        for (std::uint8_t b : d) {
            n += std::snprintf(body + n, sizeof(body) - n, "%02x", b);
        }
        body[n++] = '\n';
        body[n] = '\0';
        answer(c, st, "200 OK", body);
    }
    void answer(connection& c, state& st, const char* status, const char* body) {
        char msg[256];
        const int n = std::snprintf(msg, sizeof(msg),
                                    "HTTP/1.1 %s\r\nContent-Type: text/plain\r\nContent-Length: "
                                    "%zu\r\nConnection: close\r\n\r\n%s",
                                    status, std::strlen(body), body);
        (void)tcp_.send(c, msg, static_cast<std::uint32_t>(n));
        st.answered = true;
        tcp_.shutdown_write(c);  // the peer's FIN then closes (on_peer_shutdown)
    }
};

bool ieq(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
        const auto lc = [](char ch) {
            return ch >= 'A' && ch <= 'Z' ? static_cast<char>(ch - 'A' + 'a') : ch;
        };
        if (lc(a[i]) != lc(b[i])) {
            return false;
        }
    }
    return true;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
        s.remove_prefix(1);
    }
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
        s.remove_suffix(1);
    }
    return s;
}

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

http_request_head parse_http_head(std::string_view head) noexcept {
    http_request_head out;
    std::size_t pos = head.find('\n');  // skip the request line
    while (pos != std::string_view::npos && pos + 1 < head.size()) {
        const std::size_t next = head.find('\n', pos + 1);
        const std::string_view line =
            head.substr(pos + 1, next == std::string_view::npos ? next : next - pos - 1);
        pos = next;
        const std::size_t colon = line.find(':');
        if (colon == std::string_view::npos) {
            continue;
        }
        const std::string_view name = line.substr(0, colon);
        const std::string_view value = trim(line.substr(colon + 1));
        if (ieq(name, "content-length")) {
            std::int64_t n = -1;
            auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
            out.length = (ec == std::errc{} && p == value.data() + value.size() && n >= 0) ? n : -1;
        } else if (ieq(name, "transfer-encoding")) {
            out.chunked = out.chunked || !ieq(value, "identity");
        } else if (ieq(name, "expect")) {
            out.expect_continue = ieq(value, "100-continue");
        }
    }
    return out;
}

result<tcp_app_spec> parse_tcp_app(std::string_view spec) {
    const std::string s(spec);
    auto fail = [&](const std::string& why) {
        return error{"--app " + s + ": " + why +
                     " (expected tcp-echo:PORT, tcp-source:PORT:BYTES, tcp-sink:PORT, "
                     "tcp-client:A.B.C.D:PORT:BYTES, tcp-http-source:PORT:BYTES or "
                     "tcp-http-sink:PORT)"};
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
    } else if (kind == "tcp-http-sink") {
        out.kind = tcp_app_kind::http_sink;
    } else if (kind == "tcp-source" || kind == "tcp-http-source") {
        out.kind = kind == "tcp-source" ? tcp_app_kind::source : tcp_app_kind::http_source;
        const auto c2 = rest.find(':');
        if (c2 == std::string_view::npos) {
            return fail(std::string(kind) + " needs :BYTES");
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
        case tcp_app_kind::http_source:
            h = std::make_unique<http_source_app>(tcp, spec.bytes);
            break;
        case tcp_app_kind::http_sink:
            h = std::make_unique<http_sink_app>(tcp);
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
