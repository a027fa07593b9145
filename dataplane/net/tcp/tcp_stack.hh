// One lcore's TCP: connection table, TCB pool, listeners, timers and the application API
// (sluice::dp::net::tcp).
//
// Threading: one tcp_stack per worker lcore, attached to that worker's net::stack; every call
// (packet input, timers, the API below, handler callbacks) runs on that lcore. No locks; the
// TCB pool, the out-of-order queue pool and the connection table (rte_hash) are sized at
// construction, so nothing allocates per packet or per connection.
//
// Application API (event-driven, on the connection's lcore). A `tcp_handler` is chosen at
// listen()/connect() time; its virtual functions are called once per *event* (never per
// segment inside the stack's own processing). Contracts:
//   - on_data hands over one reference on an mbuf chain: `len` payload bytes starting `off`
//     bytes into `m` (zero-copy; the app frees `m` with rte_pktmbuf_free when done).
//   - send() copies into pooled mbufs and returns what it accepted (0..len) against the
//     per-connection queued-bytes limit; on a short write, on_writable follows when room
//     frees. send_mbuf() takes a chain zero-copy (always accepted; when it leaves the queue at
//     or past snd_buffer, on_writable follows once it drains to half). Queued data is
//     retransmitted from the queue without copying again.
//   - pause_recv()/resume_recv() push back on the peer through the receive window (below).
//   - close() = shutdown(write) + "no more events"; abort() sends RST and frees at once; on
//     neither is on_closed called. on_closed(reason) is called exactly once otherwise, after
//     which the connection pointer must not be used.
#pragma once

#include <rte_hash.h>
#include <rte_mbuf.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <vector>

#include "core/timer/timer_wheel.hh"
#include "net/counters.hh"
#include "net/tcp/options.hh"
#include "net/tcp/reassembly.hh"
#include "net/tcp/rss.hh"
#include "net/tcp/syn_cookie.hh"
#include "net/tcp/tcb.hh"

namespace sluice::dp::net {
class stack;
}

namespace sluice::dp::net::tcp {

using connection = tcb;

class tcp_handler {
public:
    virtual ~tcp_handler() = default;
    // A connection reached ESTABLISHED: accepted on a listener, or our connect() completed.
    // The app may set c.user here.
    virtual void on_established(connection& c) = 0;
    // In-order data; the app owns one reference on v.m.
    virtual void on_data(connection& c, const rx_view& v) = 0;
    // Room in the send queue again after a short send().
    virtual void on_writable(connection& c) { (void)c; }
    // The peer sent FIN: no more data will arrive; sending is still allowed (half-close).
    virtual void on_peer_shutdown(connection& c) { (void)c; }
    // The connection is over; `c` is invalid after this returns.
    virtual void on_closed(connection& c, close_reason why) = 0;
};

struct tcp_params {
    std::uint32_t max_connections = 4096;  // TCBs per lcore
    std::uint32_t ooo_queues = 256;        // out-of-order queues per lcore (borrowed per conn)
    std::uint32_t rcv_buffer = 256 * 1024; // advertised receive window, bytes
    std::uint32_t snd_buffer = 256 * 1024; // queued-bytes limit per connection
    std::uint32_t time_wait_ms = 60'000;   // 2*MSL; RFC 9293 §3.4.2 suggests MSL = 2 min
    std::uint32_t delack_ms = 40;          // delayed-ACK bound (issue 3; RFC 1122 allows 500)
    std::uint32_t syn_retries = 6;         // Linux tcp_syn_retries
    std::uint32_t data_retries = 15;       // Linux tcp_retries2 (RFC 9293 §3.8.3 R2)
    // RFC 5961 §7: challenge ACKs per second per lcore (Linux's historical default).
    std::uint32_t challenge_ack_limit = 1000;
    // Answer SYNs with SYN cookies when a listener's backlog is full (RFC 4987 §3.6).
    bool syn_cookies = true;
    cc_algorithm cc = cc_algorithm::cubic;
    // RFC 8985 §7 tail loss probe (SACK connections only; docs/tcp.md "Tail loss probe").
    bool tlp = true;
    // RFC 8985 §7.2: with one segment in flight the PTO also covers the peer's delayed ACK;
    // 200 ms is the worst case the RFC allows for (and what Linux adds, TCP_RTO_MIN).
    std::uint32_t tlp_max_ack_delay_ms = 200;
    // Floor of the PTO, so that a LAN's sub-millisecond SRTT does not probe every tick
    // (Linux's 10 ms in tcp_schedule_loss_probe).
    std::uint32_t tlp_min_pto_ms = 10;
    // How queued data goes into a segment: attached as indirect mbufs (zero-copy, needs a PMD
    // with RTE_ETH_TX_OFFLOAD_MULTI_SEGS), or copied into the header mbuf (DPDK 22.11's
    // net_af_xdp reads only the first segment). `automatic` asks the port once.
    enum class tx_mode : std::uint8_t { automatic, attach, copy };
    tx_mode tx = tx_mode::automatic;
    rto_config rto{};
    std::uint64_t isn_secret = 0x5eed5eed5eedULL;  // RFC 6528 F(); tests inject it
    std::array<std::uint64_t, 2> cookie_key{0x636f6f6b6965ULL, 0x5eedULL};  // from a good RNG
    std::uint64_t tsc_hz = 0;
    rte_mempool* pool = nullptr;  // TX segments and copies of send() data
    int socket_id = 0;
    unsigned lcore = 0;  // for the rte_hash name
};

class tcp_stack {
public:
    // Mempool sizing (docs/tcp.md, "Mempool sizing"): the mbufs one lcore's TCP may hold when
    // every connection is at its limits: a full send queue (snd_buffer) and a full receive
    // window held for a paused application or out of order (rcv_buffer), in segments of
    // MTU - 40 bytes: max_connections * (ceil(snd_buffer / mss) + ceil(rcv_buffer / mss)).
    // Callers cap it (dataplane::create_pools); backpressure keeps each connection within it.
    [[nodiscard]] static std::uint64_t mbuf_demand(const tcp_params& p,
                                                   std::uint16_t mtu) noexcept {
        const std::uint64_t mss = mtu > 40 + 536 ? mtu - 40U : 536U;
        const std::uint64_t per_conn =
            (p.snd_buffer + mss - 1) / mss + (p.rcv_buffer + mss - 1) / mss;
        return std::uint64_t{p.max_connections} * per_conn;
    }

    tcp_stack(net::stack& ip, const tcp_params& p);
    ~tcp_stack();
    tcp_stack(const tcp_stack&) = delete;
    tcp_stack& operator=(const tcp_stack&) = delete;
    // False if the pools or the table could not be created (message in error()).
    [[nodiscard]] bool ok() const noexcept { return table_ != nullptr; }

    // --- packet path (called by net::stack) ---
    // `m` starts at the TCP header (IP header stripped), `src`/`dst` from the IP header.
    // Takes ownership.
    void input(std::uint16_t port, rte_mbuf* m, rte_be32_t src, rte_be32_t dst,
               std::uint64_t now_tsc) noexcept;
    // ICMP "fragmentation needed" (type 3 code 4); `m` starts at the ICMP header, checksum
    // verified. Takes ownership. RFC 1191 §4 with RFC 5927 §4.1 validation.
    void icmp_frag_needed(std::uint16_t port, rte_mbuf* m, std::uint64_t now_tsc) noexcept;
    // Runs due timers; call every millisecond or so.
    void tick(std::uint64_t now_tsc) noexcept;

    // --- application API ---
    // Listens on `port` (host order) on every address of every port this lcore serves.
    // `backlog` bounds connections in SYN-RECEIVED for this listener.
    [[nodiscard]] bool listen(std::uint16_t port, std::uint32_t backlog, tcp_handler* h) noexcept;
    // Stops accepting on `port` (host order): new SYNs get RST. Connections already accepted
    // keep their handler, and ones still in SYN-RECEIVED complete with it, so `h` must stay
    // alive. False if nothing listens there.
    bool unlisten(std::uint16_t port) noexcept;
    [[nodiscard]] bool listening(std::uint16_t port) const noexcept;
    // Active open from `port_id`'s address to dst:dst_port (host order port). The source port
    // is chosen so that the NIC's RSS brings the answers back to this lcore's queue (any port
    // when the port has one queue). Returns nullptr when out of TCBs or source ports. on_established or on_closed(refused/timeout) follows.
    connection* connect(std::uint16_t port_id, rte_be32_t dst, std::uint16_t dst_port,
                        tcp_handler* h, void* user, std::uint32_t timeout_ms) noexcept;
    std::uint32_t send(connection& c, const void* data, std::uint32_t len) noexcept;
    void send_mbuf(connection& c, rte_mbuf* m) noexcept;
    // Queues the bytes of a received view zero-copy (an echo or a relay): takes v.m's
    // reference, cuts the chain down to [v.off, v.off + v.len) and then works as send_mbuf.
    // A view sharing its mbuf with others (out-of-order pieces) is copied instead; false when
    // that copy found no mbuf (the view is freed, nothing is queued: the caller should abort).
    [[nodiscard]] bool send_view(connection& c, const rx_view& v) noexcept;
    // send() for bytes the app wrote straight into `m` (one segment, data_len bytes, e.g. a
    // head built in a buffer from params().pool) instead of a buffer of its own: `m` itself is
    // queued when all of it fits the queued-bytes limit, saving send()'s copy; otherwise, and
    // when the connection cannot send, the result is exactly send(c, data, data_len)'s. Takes
    // ownership of `m`; returns the bytes accepted.
    std::uint32_t send_filled(connection& c, rte_mbuf* m) noexcept;
    [[nodiscard]] std::uint32_t send_space(const connection& c) const noexcept;
    // Keepalive: after `idle_ms` without traffic, up to `probes` probes `interval_ms` apart;
    // unanswered, the connection is reset and reported as timeout. idle_ms 0 turns it off.
    void set_keepalive(connection& c, std::uint32_t idle_ms, std::uint32_t interval_ms,
                       std::uint8_t probes) noexcept;
    // Nagle's algorithm (RFC 9293 §3.7.4, RFC 1122 §4.2.3.4): off by default, as proxies want.
    void set_nagle(connection& c, bool on) noexcept { c.nagle = on; }
    // Sends the ACK for received data now instead of after the delayed-ACK timeout. For an
    // application that knows the peer is waiting for it: e.g. a proxy holding an incomplete
    // response, whose backend may be holding the rest back under Nagle (RFC 9293 §3.7.4)
    // until the first part is acknowledged. Nothing happens if there is nothing to ACK.
    void ack_now(connection& c) noexcept;
    // Receive flow control (backpressure with push delivery). After pause_recv, in-order data
    // is no longer given to on_data but held in the connection (zero-copy, one mbuf chain),
    // counted against rcv_buffer: the advertised window shrinks as data is held and reaches
    // zero when it is full; the peer's probes are answered and nothing is lost. resume_recv
    // hands everything held over in one on_data call (before it returns; `c` may be paused
    // again from inside it), then a peer FIN that arrived behind it (on_peer_shutdown), and
    // sends a window update once the window can open by min(rcv_buffer/2, MSS) (RFC 9293
    // §3.8.6.2.2). Both may be called from any handler callback on this lcore, for any
    // connection. A connection that ends normally while paused gets its held data in on_data
    // before on_closed; close()/abort() discard it.
    void pause_recv(connection& c) noexcept;
    void resume_recv(connection& c) noexcept;
    [[nodiscard]] bool recv_paused(const connection& c) const noexcept { return c.rcv_paused; }
    // Bytes held for a paused connection (not yet given to on_data).
    [[nodiscard]] std::uint32_t recv_held(const connection& c) const noexcept {
        return c.rcv_held;
    }
    // Sums over this lcore's connections (walks the TCB pool: for stats, not per packet).
    [[nodiscard]] std::uint64_t held_bytes() const noexcept;
    [[nodiscard]] std::uint64_t queued_bytes() const noexcept;
    void shutdown_write(connection& c) noexcept;
    void close(connection& c) noexcept;
    void abort(connection& c) noexcept;

    // Frees every connection and queued mbuf (shutdown); no callbacks.
    void release() noexcept;

    [[nodiscard]] std::uint32_t active_connections() const noexcept { return in_use_; }
    [[nodiscard]] connection* lookup(const flow_key& k) const noexcept;
    [[nodiscard]] std::uint64_t now_ms() const noexcept { return now_ms_; }
    // The TSC of the burst being processed (input(), tick()): what the stack's clock reads.
    [[nodiscard]] std::uint64_t now_tsc() const noexcept { return now_tsc_; }
    [[nodiscard]] const tcp_params& params() const noexcept { return params_; }
    // The lcore's timer wheel (1 ms ticks, advanced by tick()); applications on this lcore may
    // arm their own timers on it (e.g. request timeouts), with the wheel's contract.
    [[nodiscard]] core::timer_wheel& timers() noexcept { return wheel_; }

private:
    friend struct tcp_detail;
    // Sets now_tsc_, now_ms_ and advances the wheel to now_ms_. Every segment of a burst shares
    // one `now_tsc`, so the division runs once per burst, not per segment.
    void set_clock(std::uint64_t now_tsc) noexcept {
        now_tsc_ = now_tsc;
        if (now_tsc != clock_tsc_) {
            clock_tsc_ = now_tsc;
            now_ms_ = tsc_per_ms_ == 0 ? 0 : std::max(now_ms_, now_tsc / tsc_per_ms_);
        }
        if (wheel_.now() < now_ms_) {
            wheel_.advance(now_ms_);  // timers armed after this count from now
        }
    }
    struct listener {
        std::uint16_t port = 0;  // network order; 0: free slot
        std::uint32_t backlog = 0;
        std::uint32_t pending = 0;  // connections in SYN-RECEIVED
        tcp_handler* handler = nullptr;
    };
    static constexpr std::size_t max_listeners = 16;

    // A direct-mapped cache in front of table_ (tcb pointers by a multiplicative hash of the
    // key): a hit costs one multiply and one 40-byte compare instead of rte_hash's CRC hash and
    // bucket walk (~170 instructions per segment in bench/gateway/inproc_callgrind.py). It
    // mirrors the table: an entry is cleared when its key leaves the table (free_tcb).
    static constexpr unsigned flow_cache_bits = 10;  // 8 KiB of pointers
    [[nodiscard]] static std::uint32_t flow_slot(const flow_key& k) noexcept {
        const std::uint64_t x = (std::uint64_t{k.remote_addr[0]} << 32 |
                                 std::uint64_t{k.remote_port} << 16 | k.local_port) ^
                                k.local_addr[0];
        return static_cast<std::uint32_t>((x * 0x9e3779b97f4a7c15ULL) >> (64 - flow_cache_bits));
    }
    void flow_cache_forget(const tcb& t) noexcept;

    net::stack& ip_;
    tcp_params params_;
    rte_hash* table_ = nullptr;
    mutable std::unique_ptr<tcb*[]> flow_cache_;  // 2^flow_cache_bits entries, null: empty
    std::unique_ptr<tcb[]> tcbs_;
    std::uint32_t free_head_ = 0;
    std::uint32_t in_use_ = 0;
    std::unique_ptr<reassembly_queue[]> ooo_;
    std::vector<reassembly_queue*> ooo_free_;
    reassembly_counters ooo_counters_{};
    listener listeners_[max_listeners]{};
    core::timer_wheel wheel_{0};
    std::uint64_t now_tsc_ = 0;
    std::uint64_t now_ms_ = 0;
    std::uint64_t clock_tsc_ = 0;   // the TSC now_ms_ was computed from (0 -> 0 ms)
    std::uint64_t tsc_per_ms_ = 0;  // params_.tsc_hz / 1000, once
    std::uint16_t next_ephemeral_ = 0;
    syn_cookie_codec cookies_;
    // Per port, read at the first connect() on it (rss.hh); 16 ports at most (net::max_ports).
    std::unique_ptr<rss_view> rss_[16];
    std::int8_t tx_copy_[16] = {-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1};
    std::uint64_t challenge_window_s_ = 0;
    std::uint32_t challenges_in_window_ = 0;
};

}  // namespace sluice::dp::net::tcp
