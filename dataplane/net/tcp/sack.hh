// RFC 6675 SACK scoreboard for the sending side (sluice::dp::net::tcp).
//
// One per connection, on the connection's lcore; a fixed array, so per-ACK updates never
// allocate. It remembers which bytes in [SND.UNA, SND.NXT) the peer has SACKed, as sorted,
// merged half-open ranges, and answers RFC 6675's questions: IsLost(), SetPipe() and
// NextSeg() rules 1-4. The connection owns the rest of loss recovery: counting duplicate
// ACKs, the congestion window (congestion.hh) and actually sending.
//
// Variable names follow RFC 6675 §2 and §4 where they exist. Sequence numbers here are
// "one past" boundaries: `high_rxt` is one past the highest retransmitted octet, `recovery_point`
// is SND.NXT when recovery started (RFC 6675 HighData + 1).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "net/tcp/options.hh"
#include "net/tcp/seq.hh"

namespace sluice::dp::net::tcp {

// Ranges kept. An ACK carries at most 4 blocks (RFC 2018 §3), so this holds the state of at
// least 8 ACKs' worth of distinct holes; beyond it the highest range is forgotten, which only
// makes the sender more conservative (forgotten bytes count as in flight, RFC 2018 §8 allows
// treating SACK state as advisory).
inline constexpr std::size_t sack_scoreboard_capacity = 32;
// RFC 6675 §2 / RFC 5681 §3.2: DupThresh = 3.
inline constexpr std::uint8_t default_dup_thresh = 3;

struct sack_update {
    std::uint32_t newly_sacked = 0;  // bytes SACKed by this ACK that were not before
    std::uint8_t accepted = 0;       // blocks applied
    std::uint8_t stale = 0;          // blocks at or below SND.UNA (ignored)
    std::uint8_t invalid = 0;        // blocks empty, inverted or beyond SND.NXT (ignored)
    bool dsack = false;              // RFC 2883 §4: the first block reports a duplicate
    bool overflow = false;           // a range had to be forgotten (see capacity above)
};

// RFC 6675 §4 NextSeg(): which rule picked the segment.
enum class next_seg_rule : std::uint8_t {
    none,      // nothing to send
    lost,      // rule 1: retransmit the first lost, not yet retransmitted hole
    new_data,  // rule 2: send new data from SND.NXT
    unsacked,  // rule 3: retransmit a hole that is not (yet) deemed lost
    rescue,    // rule 4: one rescue retransmission of the highest outstanding unSACKed data
};

struct next_seg_result {
    next_seg_rule rule = next_seg_rule::none;
    seq_t seq = 0;
    std::uint32_t len = 0;  // at most SMSS; for new_data the caller further limits by data/rwnd
};

struct sack_range {
    seq_t start = 0;  // first SACKed octet
    seq_t end = 0;    // one past the last
};

class sack_scoreboard {
public:
    sack_scoreboard(seq_t snd_una, std::uint32_t smss,
                    std::uint8_t dup_thresh = default_dup_thresh) noexcept;

    // Applies one ACK: its cumulative `snd_una` (already validated by the caller, RFC 9293
    // §3.10.7.4) and its SACK blocks, validated here: blocks must lie within (SND.UNA, SND.NXT]
    // (RFC 2018 §3), a block straddling SND.UNA is trimmed to it, and the first block is
    // recognised as a D-SACK (RFC 2883 §4) when it lies below SND.UNA or inside the second.
    sack_update update(seq_t snd_una, seq_t snd_nxt, std::span<const sack_block> blocks) noexcept;

    // RFC 6675 §4 IsLost(SeqNum): DupThresh discontiguous SACKed ranges lie above `seq`, or more
    // than (DupThresh - 1) * SMSS SACKed bytes do.
    [[nodiscard]] bool is_lost(seq_t seq) const noexcept;

    // RFC 6675 §5 (C): start loss recovery when DupAcks >= DupThresh or IsLost(HighACK + 1).
    [[nodiscard]] bool should_enter_recovery(std::uint32_t dup_acks) const noexcept {
        return dup_acks >= dup_thresh_ || (count_ > 0 && is_lost(snd_una_));
    }

    // RFC 6675 §5 step 4.1: RecoveryPoint = HighData; HighRxt starts at HighACK; the rescue
    // retransmission (rule 4) becomes available again.
    void enter_recovery(seq_t snd_nxt) noexcept;
    void exit_recovery() noexcept { in_recovery_ = false; }
    [[nodiscard]] bool in_recovery() const noexcept { return in_recovery_; }
    [[nodiscard]] seq_t recovery_point() const noexcept { return recovery_point_; }

    // RFC 6675 §4 SetPipe(): bytes in [SND.UNA, snd_nxt) presumed in the network: unSACKed
    // octets not deemed lost, plus retransmitted octets (below HighRxt), each counted once per
    // condition.
    [[nodiscard]] std::uint32_t pipe(seq_t snd_nxt) const noexcept;

    // RFC 6675 §4 NextSeg(). `can_send_new`: unsent data exists and the peer's window allows
    // it (rule 2's conditions, known only to the caller).
    [[nodiscard]] next_seg_result next_seg(seq_t snd_nxt, bool can_send_new) const noexcept;

    // Records that the segment NextSeg() returned was sent: rules 1 and 3 advance HighRxt,
    // rule 4 uses up the rescue (RFC 6675 §4: HighRxt MUST NOT be updated for it).
    void on_sent(const next_seg_result& seg) noexcept;

    // RFC 2018 §8: after a retransmission timeout the sender SHOULD forget SACK state, since the
    // receiver may have reneged. Also leaves recovery.
    void on_rto() noexcept;

    [[nodiscard]] std::span<const sack_range> ranges() const noexcept {
        return {ranges_.data(), count_};
    }
    [[nodiscard]] std::uint32_t sacked_bytes() const noexcept;
    // One past the highest SACKed octet, or SND.UNA when nothing is SACKed.
    [[nodiscard]] seq_t high_sacked() const noexcept {
        return count_ == 0 ? snd_una_ : ranges_[count_ - 1].end;
    }
    [[nodiscard]] seq_t high_rxt() const noexcept { return high_rxt_; }
    [[nodiscard]] seq_t snd_una() const noexcept { return snd_una_; }

private:
    [[nodiscard]] std::uint32_t off(seq_t s) const noexcept { return s - snd_una_; }
    void advance_una(seq_t snd_una) noexcept;
    bool insert(seq_t start, seq_t end, std::uint32_t& newly) noexcept;
    // Whether the hole just below range `k` (k == count_: above every range) is lost: holes
    // are lost or not as a whole, since IsLost only counts SACKed data above.
    [[nodiscard]] bool hole_lost(std::size_t k, std::uint32_t bytes_above) const noexcept;

    std::array<sack_range, sack_scoreboard_capacity> ranges_{};
    std::size_t count_ = 0;
    seq_t snd_una_;
    seq_t high_rxt_;
    seq_t recovery_point_;
    std::uint32_t smss_;
    std::uint8_t dup_thresh_;
    bool in_recovery_ = false;
    bool rescue_used_ = false;
};

}  // namespace sluice::dp::net::tcp
