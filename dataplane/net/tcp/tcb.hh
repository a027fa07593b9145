// The TCP control block (TCB) and the connection-table key (sluice::dp::net::tcp).
//
// One TCB per connection, taken from the owning lcore's pre-sized pool (tcp_stack) and touched
// only by that lcore. The fields follow RFC 9293 §3.3.1 (send and receive sequence variables);
// the out-of-order queue is not embedded (it is ~800 bytes) but borrowed from a per-lcore pool
// while data is out of order, which keeps a TCB at rest under 1 KiB (static_assert below).
#pragma once

#include <rte_mbuf.h>

#include <cstdint>
#include <optional>

#include "core/timer/timer_wheel.hh"
#include "net/tcp/congestion.hh"
#include "net/tcp/lazy_timer.hh"
#include "net/tcp/rtt.hh"
#include "net/tcp/sack.hh"
#include "net/tcp/seq.hh"

namespace sluice::dp::net::tcp {

class reassembly_queue;
class tcp_handler;
class tcp_stack;

// RFC 9293 §3.3.2 connection states.
enum class tcp_state : std::uint8_t {
    closed,
    listen,
    syn_sent,
    syn_received,
    established,
    fin_wait_1,
    fin_wait_2,
    close_wait,
    closing,
    last_ack,
    time_wait,
};

const char* to_string(tcp_state s) noexcept;

// The connection-table key: addresses are 16 bytes so that IPv6 fits later without a new
// table; IPv4 uses the first 4 bytes (network order) and zeroes the rest. Plain bytes, no
// padding holes, so rte_hash can hash and compare it as a block.
struct flow_key {
    std::uint32_t local_addr[4];
    std::uint32_t remote_addr[4];
    std::uint16_t local_port;   // network order
    std::uint16_t remote_port;  // network order
    std::uint8_t family;        // 4 or 6
    std::uint8_t pad[3];
};
static_assert(sizeof(flow_key) == 40);

// Why a connection ended, as reported to the application.
enum class close_reason : std::uint8_t {
    normal,   // both FINs exchanged, or our close completed
    reset,    // the peer sent RST (RFC 9293 §3.10.7.4, fourth check)
    refused,  // RST in answer to our SYN (SYN-SENT)
    timeout,  // retransmissions or the connect timeout ran out (RFC 9293 §3.8.3, R2)
    aborted,  // we aborted it (abort(), or resources ran out)
};

const char* to_string(close_reason r) noexcept;

struct tcb {
    flow_key key{};
    tcp_state state = tcp_state::closed;
    std::uint16_t port = 0;  // DPDK port the connection lives on
    std::uint16_t listener = 0xffff;  // index of the listener that spawned it (passive open)
    // RFC 9293 §3.3.1 send sequence variables.
    seq_t iss = 0, snd_una = 0, snd_nxt = 0, snd_max = 0, snd_wl1 = 0, snd_wl2 = 0;
    std::uint32_t snd_wnd = 0, max_snd_wnd = 0;
    // Receive sequence variables. RCV.ADV is the right edge we last announced (it never moves
    // left: RFC 9293 §3.8.6.2.1, RFC 7323 §2.4); rcv_wnd is RCV.BUFF, the most we ever offer
    // (rcv_buffer, capped by what the window field can say).
    seq_t irs = 0, rcv_nxt = 0, rcv_adv = 0;
    std::uint32_t rcv_wnd = 0;
    // Receive flow control (tcp_stack::pause_recv): in-order data the application has not
    // taken, one mbuf chain trimmed to exactly its payload, counted against rcv_wnd.
    rte_mbuf* rcvq_head = nullptr;
    rte_mbuf* rcvq_tail = nullptr;  // last segment of the chain
    std::uint32_t rcv_held = 0;
    bool rcv_paused = false;
    bool fin_held = false;  // the peer's FIN came behind held data: on_peer_shutdown after it
    // RFC 2883: a duplicate segment to report in the first SACK block of the next ACK.
    bool dsack_pending = false;
    seq_t dsack_left = 0, dsack_right = 0;
    // RFC 9293 §3.8.6.1 / RFC 1122 §4.2.2.17 zero-window probing: the interval doubles per
    // probe (like the RTO, capped at its maximum); probes_out counts probes without any ACK.
    std::uint8_t persist_backoff = 0;
    std::uint8_t probes_out = 0;
    // Negotiated options (RFC 9293 §3.7.1, RFC 7323, RFC 2018).
    std::uint16_t smss = 536;     // what we put in a segment's payload (options excluded)
    std::uint8_t snd_wscale = 0;  // shift applied to the peer's window
    std::uint8_t rcv_wscale = 0;  // shift applied to ours
    bool ts_ok = false, sack_ok = false, ws_ok = false;
    std::uint32_t ts_recent = 0;  // RFC 7323 §4.3
    // Flags.
    bool fin_queued = false;       // the app closed its sending side; FIN follows the data
    bool fin_sent = false;         // FIN occupies snd_max - 1
    bool app_closed = false;       // the app called close(): no more events
    bool notified_closed = false;  // on_closed was delivered
    bool want_writable = false;    // a send was refused for space
    bool doomed = false;           // aborted; freed by the next timer tick
    bool nagle = false;            // RFC 9293 §3.7.4; off by default (proxy sockets)
    bool rtt_timing = false;       // rtt_seq below is being timed (Karn, no timestamps)
    std::uint8_t unacked_segs = 0; // full segments received since our last ACK (delayed ACK)
    std::uint8_t dupacks = 0;
    std::uint8_t retries = 0;      // consecutive RTO expiries
    seq_t rtt_seq = 0;
    std::uint32_t rtt_start_ms = 0;
    // RFC 8985 §7 tail loss probe (tcp_tlp.cc). tlp_armed: rtx_timer holds the probe timeout
    // (PTO) and the RTO it replaces is due at rto_deadline (wheel tick), as Linux keeps both in
    // one timer slot. tlp_out: a probe was sent and its episode is open (RFC 8985 §7.4,
    // TLP.end_seq = tlp_end, TLP.is_retrans = tlp_is_retrans); tlp_flight is FlightSize then.
    bool tlp_armed = false;
    bool tlp_out = false;
    bool tlp_is_retrans = false;
    seq_t tlp_end = 0;
    seq_t last_seg_start = 0;  // first octet of the newest new-data segment sent
    std::uint32_t tlp_flight = 0;
    std::uint64_t rto_deadline = 0;
    // Send queue: a list of single-segment mbufs linked through `next` (not a chain: head's
    // pkt_len/nb_segs are not maintained). Holds [snd_una, snd_una + snd_queued).
    rte_mbuf* sndq_head = nullptr;
    rte_mbuf* sndq_tail = nullptr;
    std::uint32_t snd_queued = 0;
    // Keepalive (RFC 9293 §3.8.4, RFC 1122 §4.2.3.6); off when ka_idle_ms is 0.
    std::uint32_t ka_idle_ms = 0, ka_interval_ms = 0;
    std::uint8_t ka_probes = 0, ka_sent = 0;
    std::uint32_t connect_deadline_ms = 0;  // active open gives up after this (0: none)
    reassembly_queue* ooo = nullptr;        // borrowed from the lcore's pool while non-empty
    tcp_stack* owner = nullptr;  // for timer callbacks
    tcp_handler* handler = nullptr;
    void* user = nullptr;
    std::optional<congestion_control> cc;
    std::optional<sack_scoreboard> sack;  // when SACK was negotiated (RFC 6675 sender state)
    rtt_estimator rtt;
    lazy_timer rtx_timer;     // SYN/data retransmission, persist, keep-alive, TIME-WAIT
    lazy_timer delack_timer;  // RFC 9293 §3.8.6.3 / RFC 1122 §4.2.3.2
    std::uint32_t pool_index = 0;
    std::uint32_t next_free = 0;

    [[nodiscard]] std::uint32_t flight() const noexcept { return snd_nxt - snd_una; }
};

}  // namespace sluice::dp::net::tcp
