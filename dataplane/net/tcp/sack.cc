// RFC 6675 scoreboard. Owning lcore only; per ACK, bounded work (at most 4 blocks merged
// into at most sack_scoreboard_capacity ranges), no allocation.
#include "net/tcp/sack.hh"

#include <algorithm>

namespace sluice::dp::net::tcp {

sack_scoreboard::sack_scoreboard(seq_t snd_una, std::uint32_t smss,
                                 std::uint8_t dup_thresh) noexcept
    : snd_una_(snd_una),
      high_rxt_(snd_una),
      recovery_point_(snd_una),
      smss_(smss == 0 ? 1 : smss),
      dup_thresh_(dup_thresh == 0 ? default_dup_thresh : dup_thresh) {}

void sack_scoreboard::advance_una(seq_t snd_una) noexcept {
    if (!seq_gt(snd_una, snd_una_)) {
        return;
    }
    const std::uint32_t cut = snd_una - snd_una_;
    std::size_t drop = 0;
    while (drop < count_ && off(ranges_[drop].end) <= cut) {
        ++drop;
    }
    if (drop > 0) {
        std::copy(ranges_.begin() + static_cast<std::ptrdiff_t>(drop),
                  ranges_.begin() + static_cast<std::ptrdiff_t>(count_), ranges_.begin());
        count_ -= drop;
    }
    if (count_ > 0 && off(ranges_[0].start) < cut) {
        ranges_[0].start = snd_una;  // cumulative ACK reached into a SACKed range
    }
    high_rxt_ = seq_max(high_rxt_, snd_una);
    snd_una_ = snd_una;
}

// Merges [start, end) (validated: SND.UNA <= start < end) into the sorted ranges. Returns false
// when a range had to be forgotten for lack of room.
bool sack_scoreboard::insert(seq_t start, seq_t end, std::uint32_t& newly) noexcept {
    const std::uint32_t l = off(start);
    const std::uint32_t r = off(end);
    std::size_t i = 0;
    while (i < count_ && off(ranges_[i].end) < l) {
        ++i;
    }
    std::size_t j = i;
    std::uint32_t nl = l;
    std::uint32_t nr = r;
    std::uint32_t covered = 0;
    while (j < count_ && off(ranges_[j].start) <= r) {
        const std::uint32_t rs = off(ranges_[j].start);
        const std::uint32_t re = off(ranges_[j].end);
        const std::uint32_t lo = std::max(rs, l);
        const std::uint32_t hi = std::min(re, r);
        covered += hi > lo ? hi - lo : 0;
        nl = std::min(nl, rs);
        nr = std::max(nr, re);
        ++j;
    }
    if (j > i) {
        // Overlaps or touches ranges i..j-1: they collapse into one.
        newly += (r - l) - covered;
        ranges_[i] = {snd_una_ + nl, snd_una_ + nr};
        std::copy(ranges_.begin() + static_cast<std::ptrdiff_t>(j),
                  ranges_.begin() + static_cast<std::ptrdiff_t>(count_),
                  ranges_.begin() + static_cast<std::ptrdiff_t>(i + 1));
        count_ -= j - i - 1;
        return true;
    }
    bool kept_all = true;
    if (count_ == ranges_.size()) {
        kept_all = false;
        if (i == count_) {
            return false;  // the new range is the highest: it is the one forgotten
        }
        --count_;  // forget the highest range
    }
    std::copy_backward(ranges_.begin() + static_cast<std::ptrdiff_t>(i),
                       ranges_.begin() + static_cast<std::ptrdiff_t>(count_),
                       ranges_.begin() + static_cast<std::ptrdiff_t>(count_ + 1));
    ranges_[i] = {start, end};
    ++count_;
    newly += r - l;
    return kept_all;
}

sack_update sack_scoreboard::update(seq_t snd_una, seq_t snd_nxt,
                                    std::span<const sack_block> blocks) noexcept {
    sack_update u;
    advance_una(snd_una);
    for (std::size_t b = 0; b < blocks.size(); ++b) {
        const sack_block& blk = blocks[b];
        if (b == 0 && seq_lt(blk.left, blk.right)) {
            // RFC 2883 §4: a first block below the cumulative ACK, or inside the second
            // block, reports a duplicate segment, not new SACK information.
            const bool below_ack = seq_le(blk.right, snd_una_);
            const bool inside_second = blocks.size() > 1 && seq_le(blocks[1].left, blk.left) &&
                                       seq_le(blk.right, blocks[1].right) &&
                                       seq_lt(blocks[1].left, blocks[1].right);
            if (below_ack || inside_second) {
                u.dsack = true;
                continue;
            }
        }
        if (!seq_lt(blk.left, blk.right) || seq_gt(blk.right, snd_nxt)) {
            ++u.invalid;  // RFC 2018 §3: a block describes data sent and received
            continue;
        }
        if (seq_le(blk.right, snd_una_)) {
            ++u.stale;
            continue;
        }
        const seq_t left = seq_lt(blk.left, snd_una_) ? snd_una_ : blk.left;
        if (!insert(left, blk.right, u.newly_sacked)) {
            u.overflow = true;
        }
        ++u.accepted;
    }
    return u;
}

std::uint32_t sack_scoreboard::sacked_bytes() const noexcept {
    std::uint32_t n = 0;
    for (std::size_t k = 0; k < count_; ++k) {
        n += ranges_[k].end - ranges_[k].start;
    }
    return n;
}

bool sack_scoreboard::hole_lost(std::size_t k, std::uint32_t bytes_above) const noexcept {
    // RFC 6675 §4 IsLost: DupThresh discontiguous SACKed sequences above, or more than
    // (DupThresh - 1) * SMSS SACKed bytes above.
    const std::size_t ranges_above = count_ - k;
    return ranges_above >= dup_thresh_ ||
           bytes_above > static_cast<std::uint32_t>(dup_thresh_ - 1) * smss_;
}

bool sack_scoreboard::is_lost(seq_t seq) const noexcept {
    std::size_t ranges_above = 0;
    std::uint32_t bytes_above = 0;
    for (std::size_t k = 0; k < count_; ++k) {
        if (seq_gt(ranges_[k].start, seq)) {
            ++ranges_above;
            bytes_above += ranges_[k].end - ranges_[k].start;
        } else if (seq_gt(ranges_[k].end, seq + 1)) {
            bytes_above += ranges_[k].end - (seq + 1);  // part of a range above `seq`
        }
    }
    return ranges_above >= dup_thresh_ ||
           bytes_above > static_cast<std::uint32_t>(dup_thresh_ - 1) * smss_;
}

void sack_scoreboard::enter_recovery(seq_t snd_nxt) noexcept {
    recovery_point_ = snd_nxt;  // RFC 6675 §5 step 4.1
    high_rxt_ = snd_una_;       // nothing retransmitted yet in this episode
    rescue_used_ = false;
    in_recovery_ = true;
}

void sack_scoreboard::on_rto() noexcept {
    count_ = 0;  // RFC 2018 §8
    high_rxt_ = snd_una_;
    in_recovery_ = false;
}

std::uint32_t sack_scoreboard::pipe(seq_t snd_nxt) const noexcept {
    // RFC 6675 §4 SetPipe(), walking holes (unSACKed runs) instead of octets: IsLost is the
    // same for every octet of a hole.
    const std::uint32_t total = sacked_bytes();
    std::uint32_t below = 0;  // SACKed bytes below the current hole
    std::uint32_t pipe = 0;
    const std::uint32_t rxt = off(high_rxt_);
    for (std::size_t k = 0; k <= count_; ++k) {
        if (k > 0) {
            below += ranges_[k - 1].end - ranges_[k - 1].start;
        }
        const std::uint32_t hs = k == 0 ? 0 : off(ranges_[k - 1].end);
        const std::uint32_t he = k == count_ ? off(snd_nxt) : off(ranges_[k].start);
        if (he <= hs) {
            continue;
        }
        if (k == count_ || !hole_lost(k, total - below)) {
            pipe += he - hs;  // (a) not lost: still in the network
        }
        if (rxt > hs) {
            pipe += std::min(rxt, he) - hs;  // (b) retransmitted
        }
    }
    return pipe;
}

next_seg_result sack_scoreboard::next_seg(seq_t snd_nxt, bool can_send_new) const noexcept {
    const std::uint32_t total = sacked_bytes();
    const std::uint32_t rxt = off(high_rxt_);
    // Rules 1 and 3 look at holes below the highest SACKed octet (1.b, 3.b) and above HighRxt
    // (1.a, 3.a). Holes are visited lowest first, so the first match is the smallest S2/S3.
    next_seg_result rule3;
    std::uint32_t below = 0;
    for (std::size_t k = 0; k < count_; ++k) {
        if (k > 0) {
            below += ranges_[k - 1].end - ranges_[k - 1].start;
        }
        const std::uint32_t hs = std::max(k == 0 ? 0U : off(ranges_[k - 1].end), rxt);
        const std::uint32_t he = off(ranges_[k].start);
        if (he <= hs) {
            continue;
        }
        const next_seg_result cand{next_seg_rule::lost, snd_una_ + hs, std::min(he - hs, smss_)};
        if (hole_lost(k, total - below)) {
            return cand;  // rule 1 (1.c IsLost)
        }
        if (rule3.rule == next_seg_rule::none) {
            rule3 = cand;
            rule3.rule = next_seg_rule::unsacked;
        }
        // Higher holes have fewer SACKed bytes above: none of them is lost either.
        break;
    }
    if (can_send_new) {
        return {next_seg_rule::new_data, snd_nxt, smss_};  // rule 2
    }
    if (rule3.rule != next_seg_rule::none) {
        return rule3;  // rule 3
    }
    // Rule 4: one rescue retransmission per recovery, covering the highest outstanding
    // unSACKed octet.
    if (!in_recovery_ || rescue_used_) {
        return {};
    }
    const std::uint32_t top_start = count_ == 0 ? 0 : off(ranges_[count_ - 1].end);
    const std::uint32_t end = off(snd_nxt);
    if (end > top_start) {
        const std::uint32_t len = std::min(end - top_start, smss_);
        return {next_seg_rule::rescue, snd_nxt - len, len};
    }
    for (std::size_t k = count_; k-- > 0;) {
        const std::uint32_t hs = k == 0 ? 0 : off(ranges_[k - 1].end);
        const std::uint32_t he = off(ranges_[k].start);
        if (he > hs) {
            const std::uint32_t len = std::min(he - hs, smss_);
            return {next_seg_rule::rescue, snd_una_ + he - len, len};
        }
    }
    return {};
}

void sack_scoreboard::on_sent(const next_seg_result& seg) noexcept {
    switch (seg.rule) {
        case next_seg_rule::lost:
        case next_seg_rule::unsacked:
            high_rxt_ = seq_max(high_rxt_, seg.seq + seg.len);  // RFC 6675 §5 step (C.3)
            break;
        case next_seg_rule::rescue:
            rescue_used_ = true;  // RFC 6675 §4 rule 4: RescueRxt = RecoveryPoint
            break;
        case next_seg_rule::new_data:
        case next_seg_rule::none:
            break;
    }
}

}  // namespace sluice::dp::net::tcp
