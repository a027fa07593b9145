// libFuzzer target for the TCP connection state machine, one start state per input: the first
// byte picks LISTEN, SYN-SENT, SYN-RECEIVED, ESTABLISHED, FIN-WAIT-1/2, CLOSE-WAIT, CLOSING,
// LAST-ACK or TIME-WAIT; the harness (tcp_harness.hh: a real stack on the dpdk_env net_ring
// port, injected clock) drives a connection there with well-formed segments, then feeds the rest
// of the input as arbitrary segments (flags, sequence/ACK numbers near the window or anywhere,
// window, raw option bytes, payload length), clock advances and application calls
// (fuzz_tcp_conn.hh has the format). Checked besides "no crash, no sanitizer report":
//   - every step of the drive reaches the state RFC 9293 §3.3.2 says (the harness's EXPECTs
//     abort through gtest's break_on_failure);
//   - for each live connection SND.UNA ≤ SND.NXT ≤ SND.MAX (RFC 9293 §3.3.1, with SND.MAX the
//     highest sequence sent) and its state is a synchronized or opening one;
//   - no more live connections than TCBs;
//   - every mbuf is back in the pool once the stack is released.
// Single-threaded (the EAL comes up once, on the first input).
#include "fuzz_tcp_conn.hh"

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "tcp_harness.hh"

namespace {

using namespace sluice::test;  // NOLINT: test-only file, not a header
namespace fc = sluice::test::fuzz_conn;
using tcp::seq_le;
using tcp::tcp_state;

void require(bool ok) {
    if (!ok) {
        std::abort();
    }
}

bytes ts_option(std::uint32_t val, std::uint32_t ecr) {
    bytes b{1, 1, 8, 10, 0, 0, 0, 0, 0, 0, 0, 0};
    put32(b, 4, val);
    put32(b, 8, ecr);
    return b;
}

tcp::flow_key key_of(const harness& h, std::uint16_t peer_port) {
    tcp::flow_key k{};
    k.family = 4;
    k.local_addr[0] = rte_cpu_to_be_32(our_ip);
    k.remote_addr[0] = rte_cpu_to_be_32(peer_ip);
    k.local_port = rte_cpu_to_be_16(h.our_port);
    k.remote_port = rte_cpu_to_be_16(peer_port);
    return k;
}

// Drives the main flow (peer port h.peer_port) to `s`. Returns false when the stack did not get
// there, which the EXPECTs in the harness and the require()s below turn into an abort.
struct driven {
    std::uint32_t irs = 1000;  // the peer's ISN
    std::uint32_t iss = 0;     // ours
    std::uint32_t ts = 5000;   // the peer's timestamp clock
};

void drive(harness& h, fc::start s, bool timestamps, bool data, driven& d) {
    auto opts = [&](bool ack) { return timestamps ? ts_option(++d.ts, ack ? 1 : 0) : bytes{}; };
    auto conn = [&] { return h.tcp->lookup(key_of(h, h.peer_port)); };
    if (s == fc::start::syn_sent) {
        h.peer_port = 8080;
        tcp::connection* c =
            h.tcp->connect(h.env.port, rte_cpu_to_be_32(peer_ip), 8080, &h.app, nullptr, 0);
        require(c != nullptr);
        const auto o = h.out();
        require(o.size() == 1 && o[0].flags == S);
        d.iss = o[0].seq;
        h.our_port = o[0].sport;
        require(conn() == c && c->state == tcp_state::syn_sent);
        return;
    }
    h.listen(8);
    if (s == fc::start::listen) {
        return;
    }
    h.send(S, d.irs, 0, {}, harness::syn_opts(timestamps));
    auto o = h.out();
    require(o.size() == 1 && o[0].flags == (S | A));
    d.iss = o[0].seq;
    if (s == fc::start::syn_received) {
        return;
    }
    // The ACK echoes our SYN-ACK's timestamp, as a real peer would.
    bytes ack_opts = timestamps ? ts_option(++d.ts, o[0].opt.ts_val) : bytes{};
    h.send(A, d.irs + 1, d.iss + 1, {}, ack_opts);
    tcp::connection* c = conn();
    require(c != nullptr && c->state == tcp_state::established);
    if (data) {
        const bytes b = payload_of(3000, 7);
        require(h.tcp->send(*c, b.data(), 3000) == 3000);
        (void)h.out();
    }
    const std::uint32_t rcv = d.irs + 1;
    switch (s) {
        case fc::start::established:
            return;
        case fc::start::close_wait:
        case fc::start::last_ack:
            h.send(F | A, rcv, c->snd_una, {}, opts(true));
            require(c->state == tcp_state::close_wait);
            if (s == fc::start::last_ack) {
                h.tcp->close(*c);
                require(c->state == tcp_state::last_ack);
            }
            break;
        default:  // our close first
            h.tcp->close(*c);
            require(c->state == tcp_state::fin_wait_1);
            (void)h.out();
            if (s == fc::start::closing) {
                h.send(F | A, rcv, c->snd_una, {}, opts(true));  // acks nothing of ours
                require(c->state == tcp_state::closing);
            } else if (s != fc::start::fin_wait_1) {
                h.send(A, rcv, c->snd_max, {}, opts(true));
                require(c->state == tcp_state::fin_wait_2);
                if (s == fc::start::time_wait) {
                    h.send(F | A, rcv, c->snd_max, {}, opts(true));
                    require(c->state == tcp_state::time_wait);
                }
            }
            break;
    }
    (void)h.out();
}

void check(const harness& h, std::uint16_t peer_port) {
    const tcp::connection* c = h.tcp->lookup(key_of(h, peer_port));
    if (c == nullptr) {
        return;
    }
    require(c->state != tcp_state::closed && c->state != tcp_state::listen);
    require(seq_le(c->snd_una, c->snd_nxt));
    require(seq_le(c->snd_nxt, c->snd_max));
}

void advance(harness& h, std::uint8_t b) {
    std::uint64_t ms = b < 128 ? b : (b - 127U) * 250U;
    // Timers have 1 ms ticks; a long jump ticks every 10 ms, which the wheel handles like a
    // late poll, and keeps a 32 s jump cheap.
    const std::uint64_t step = ms > 200 ? 10 : 1;
    for (; ms > 0; ms -= std::min(ms, step)) {
        h.now += std::min(ms, step) * dpdk_env::hz / 1000;
        h.tcp->tick(h.now);
    }
}

void act(harness& h, std::uint16_t peer_port, std::uint8_t a) {
    tcp::connection* c = h.tcp->lookup(key_of(h, peer_port));
    if (c == nullptr || c->app_closed || c->doomed) {
        return;
    }
    const bool can_send =
        (c->state == tcp_state::established || c->state == tcp_state::close_wait) && !c->fin_queued;
    switch (static_cast<fc::action>(a % fc::action_count)) {
        case fc::action::none:
            break;
        case fc::action::send_small:
        case fc::action::send_large:
            if (can_send) {
                const bytes b = payload_of(a % fc::action_count == 1 ? 100 : 5000, a);
                (void)h.tcp->send(*c, b.data(), static_cast<std::uint32_t>(b.size()));
            }
            break;
        case fc::action::close:
            h.tcp->close(*c);
            break;
        case fc::action::shutdown:
            if (!c->fin_queued) {
                h.tcp->shutdown_write(*c);
            }
            break;
        case fc::action::abort:
            h.tcp->abort(*c);
            break;
        case fc::action::ack_now:
            h.tcp->ack_now(*c);
            break;
    }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    GTEST_FLAG_SET(break_on_failure, true);  // a harness EXPECT that fails is a crash here
    (void)dpdk_env::get();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) {
        return 0;
    }
    const unsigned before = dpdk_env::get().in_use();
    {
        tcp::tcp_params p;
        p.time_wait_ms = 2000;  // short, so that inputs can reach its end
        p.syn_retries = 3;
        p.data_retries = 4;
        p.challenge_ack_limit = 20;
        harness h(p);
        const auto s = static_cast<fc::start>((data[0] & 0x0f) % fc::state_count);
        driven d;
        drive(h, s, (data[0] & fc::flag_timestamps) != 0, (data[0] & fc::flag_data_in_flight) != 0,
              d);
        const std::uint16_t main_port = h.peer_port;
        const std::uint16_t second_port = static_cast<std::uint16_t>(main_port + 1);
        std::size_t at = 1;
        while (at + sizeof(fc::seg_header) <= size) {
            fc::seg_header r;
            std::memcpy(&r, data + at, sizeof r);
            at += sizeof r;
            const std::size_t optn = (r.opt_words % 11U) * 4U;
            bytes opts(optn);
            for (std::size_t i = 0; i < optn; ++i) {
                opts[i] = at + i < size ? data[at + i] : 1;  // NOP past the end
            }
            at += optn;
            const std::uint16_t peer = (r.mode & fc::other_port) != 0 ? second_port : main_port;
            h.peer_port = peer;
            const tcp::connection* c = h.tcp->lookup(key_of(h, peer));
            const std::uint32_t base_seq = c != nullptr ? c->rcv_nxt : d.irs + 1;
            const std::uint32_t base_ack = c != nullptr ? c->snd_una : d.iss + 1;
            const auto near = [](std::uint32_t base, std::uint32_t v) {
                return base + static_cast<std::uint32_t>(static_cast<std::int16_t>(v & 0xffff));
            };
            const std::uint32_t seq =
                (r.mode & fc::seq_absolute) != 0 ? r.seq : near(base_seq, r.seq);
            const std::uint32_t ack =
                (r.mode & fc::ack_absolute) != 0 ? r.ack : near(base_ack, r.ack);
            h.send(r.flags, seq, ack, payload_of(r.payload_len % 1601U, r.flags), opts, r.wnd);
            (void)h.out();
            act(h, peer, r.app);
            (void)h.out();
            advance(h, r.advance);
            (void)h.out();
            check(h, main_port);
            check(h, second_port);
            require(h.tcp->active_connections() <= h.tcp->params().max_connections);
        }
        h.peer_port = main_port;
    }
    require(dpdk_env::get().in_use() == before);
    return 0;
}
