// Receive-side out-of-order queue (sluice::dp::net::tcp).
//
// One per connection, on the connection's lcore. Holds out-of-order payload zero-copy as views
// into the received mbuf chains: an entry is (sequence number, mbuf chain, byte offset, length)
// and owns one reference on the chain. Overlaps are resolved so that the first copy wins
// (bytes already queued or delivered are never replaced): a new segment contributes only the
// gaps it fills, and when it fills several gaps the chain is shared by several views, each with
// its own reference (rte_pktmbuf_refcnt_update), so nothing is copied or allocated.
//
// Capacity is fixed (`reassembly_capacity` entries per connection, no allocation); when it is
// full the new data is dropped and counted, never the data already queued, which may have been
// SACKed (RFC 2018 §8 discourages reneging).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "net/tcp/options.hh"
#include "net/tcp/seq.hh"

struct rte_mbuf;

namespace sluice::dp::net::tcp {

// Entries per connection. An entry is one received segment (views of different mbufs are never
// merged), so this bounds out-of-order *segments*, not holes: it must cover a whole receive
// window of full-size segments, or everything past the first `capacity` segments after a loss
// is dropped and the SACK sender has to retransmit it. The default window (tcp_params::rcv_buffer,
// 256 KiB) is 181 segments of 1448 bytes (1500-byte MTU with timestamps). At 32, a Linux upload
// through 5 % loss stalled for more than 30 s (tests/integration/test_tcp_bulk.py); 256 entries of
// 24 bytes are 6 KiB per queue.
inline constexpr std::size_t reassembly_capacity = 256;

// `len` payload bytes starting `off` bytes into the chain `m`. Whoever holds a view owns one
// reference on `m` and releases it with rte_pktmbuf_free(m).
struct rx_view {
    rte_mbuf* m = nullptr;
    std::uint32_t off = 0;
    std::uint32_t len = 0;
};

// Per-lcore counters (plain, summed by the stats reader), passed in by the caller.
struct reassembly_counters {
    std::uint64_t segments_queued = 0;  // inserts that queued at least one byte
    std::uint64_t bytes_queued = 0;
    std::uint64_t duplicate_segments = 0;  // inserts with nothing new (all bytes already held)
    std::uint64_t overlap_bytes = 0;       // bytes discarded because an earlier copy existed
    std::uint64_t dropped_full = 0;        // pieces dropped for lack of entries
    std::uint64_t dropped_full_bytes = 0;
};

class reassembly_queue {
public:
    reassembly_queue() noexcept = default;
    // Releases every queued view.
    ~reassembly_queue();
    reassembly_queue(const reassembly_queue&) = delete;
    reassembly_queue& operator=(const reassembly_queue&) = delete;

    // Queues payload [seq, seq + len) held at byte `off` of chain `m`, taking ownership of one
    // reference on `m` (released here if nothing is kept). `rcv_nxt` is RCV.NXT: bytes below it
    // were delivered already and are trimmed (RFC 9293 §3.10.7.4: segments are trimmed to the
    // window; the caller trims the right edge to RCV.NXT + RCV.WND before calling).
    // Returns the number of new bytes queued.
    std::uint32_t insert(seq_t seq, rte_mbuf* m, std::uint32_t off, std::uint32_t len,
                         seq_t rcv_nxt, reassembly_counters& c) noexcept;

    // Moves the in-order prefix starting at `rcv_nxt` into `out` (ownership of each view's
    // reference passes to the caller) and advances `rcv_nxt` past it (RFC 9293 §3.10.7.4,
    // seventh step: segments are processed in sequence order). Views wholly below `rcv_nxt`
    // (delivered meanwhile by the in-order path) are released. Returns how many views were
    // written; stops early when `out` is full.
    std::size_t pop_ready(seq_t& rcv_nxt, std::span<rx_view> out) noexcept;

    // Releases everything (connection reset or close).
    void clear() noexcept;

    [[nodiscard]] bool empty() const noexcept { return n_ == 0; }
    [[nodiscard]] std::size_t size() const noexcept { return n_; }
    [[nodiscard]] std::uint32_t bytes() const noexcept;
    // Sequence number of the first queued byte (meaningless when empty).
    [[nodiscard]] seq_t first_seq() const noexcept { return e_[0].seq; }

    // The SACK blocks to send with the next ACK (RFC 2018 §4): the first block is the run of
    // queued data holding the most recently received segment, then the runs holding the
    // segments received before it, most recent first, each reported once. Runs are maximal
    // contiguous stretches of queued data. Returns how many of `out` were written; pass 3
    // slots when timestamps are on, 4 otherwise (RFC 2018 §3).
    std::size_t sack_blocks(std::span<sack_block> out) const noexcept;

    struct entry {
        seq_t seq;
        rx_view v;
    };
    [[nodiscard]] std::span<const entry> entries() const noexcept { return {e_.data(), n_}; }

private:
    void insert_at(std::size_t pos, const entry& e) noexcept;
    void note_recent(seq_t seq) noexcept;

    // RFC 2018 §4 needs the order in which blocks were last reported; we keep the start of the
    // most recently received segments (most recent first) and map them to runs on demand.
    static constexpr std::size_t recent_slots = 4;  // RFC 2018 §3: at most 4 blocks per ACK

    std::array<entry, reassembly_capacity> e_{};
    std::size_t n_ = 0;
    std::array<seq_t, recent_slots> recent_{};
    std::size_t n_recent_ = 0;
};

}  // namespace sluice::dp::net::tcp
