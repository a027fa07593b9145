// Out-of-order queue: gap computation and zero-copy views. Owning lcore only.
#include "net/tcp/reassembly.hh"

#include <rte_mbuf.h>

#include <algorithm>

namespace sluice::dp::net::tcp {

reassembly_queue::~reassembly_queue() { clear(); }

void reassembly_queue::clear() noexcept {
    for (std::size_t i = 0; i < n_; ++i) {
        rte_pktmbuf_free(e_[i].v.m);
    }
    n_ = 0;
    n_recent_ = 0;
}

std::uint32_t reassembly_queue::bytes() const noexcept {
    std::uint32_t b = 0;
    for (std::size_t i = 0; i < n_; ++i) {
        b += e_[i].v.len;
    }
    return b;
}

void reassembly_queue::insert_at(std::size_t pos, const entry& e) noexcept {
    std::copy_backward(e_.begin() + static_cast<std::ptrdiff_t>(pos),
                       e_.begin() + static_cast<std::ptrdiff_t>(n_),
                       e_.begin() + static_cast<std::ptrdiff_t>(n_ + 1));
    e_[pos] = e;
    ++n_;
}

std::uint32_t reassembly_queue::insert(seq_t seq, rte_mbuf* m, std::uint32_t off, std::uint32_t len,
                                       seq_t rcv_nxt, reassembly_counters& c) noexcept {
    if (len == 0) {
        rte_pktmbuf_free(m);
        return 0;
    }
    // Already delivered bytes: the first copy (the one the application got) wins.
    if (seq_lt(seq, rcv_nxt)) {
        const std::uint32_t cut = rcv_nxt - seq;
        if (cut >= len) {
            ++c.duplicate_segments;
            c.overlap_bytes += len;
            rte_pktmbuf_free(m);
            return 0;
        }
        c.overlap_bytes += cut;
        seq = rcv_nxt;
        off += cut;
        len -= cut;
    }

    // The gaps [start, end) of the queue that this segment covers, as offsets from `seq`.
    struct piece {
        std::uint32_t start, end;
        std::size_t pos;  // index in e_ where it goes
    };
    std::array<piece, reassembly_capacity + 1> pieces{};
    std::size_t np = 0;
    std::uint32_t cur = 0;
    std::size_t i = 0;
    for (; i < n_ && cur < len; ++i) {
        // Entries may lie below `seq` (older, lower data); compare as signed offsets.
        const auto es = static_cast<std::int32_t>(e_[i].seq - seq);
        const std::int64_t ee = std::int64_t{es} + e_[i].v.len;
        if (ee <= static_cast<std::int64_t>(cur)) {
            continue;
        }
        if (es >= static_cast<std::int32_t>(len)) {
            break;
        }
        if (es > static_cast<std::int32_t>(cur)) {
            pieces[np++] = {cur, static_cast<std::uint32_t>(es), i};
        }
        cur = static_cast<std::uint32_t>(std::min<std::int64_t>(ee, len));
    }
    if (cur < len) {
        pieces[np++] = {cur, len, i};
    }
    std::uint32_t fresh = 0;
    for (std::size_t p = 0; p < np; ++p) {
        fresh += pieces[p].end - pieces[p].start;
    }
    c.overlap_bytes += len - fresh;
    note_recent(seq);  // even a duplicate: its ACK's first block reports where it landed
    if (np == 0) {
        ++c.duplicate_segments;
        rte_pktmbuf_free(m);
        return 0;
    }

    // Keep the lowest pieces that fit: they are closest to RCV.NXT.
    const std::size_t room = reassembly_capacity - n_;
    const std::size_t keep = std::min(np, room);
    for (std::size_t p = keep; p < np; ++p) {
        ++c.dropped_full;
        c.dropped_full_bytes += pieces[p].end - pieces[p].start;
        fresh -= pieces[p].end - pieces[p].start;
    }
    if (keep == 0) {
        rte_pktmbuf_free(m);
        return 0;
    }
    if (keep > 1) {
        // One reference per view; the caller gave us one.
        rte_pktmbuf_refcnt_update(m, static_cast<std::int16_t>(keep - 1));
    }
    // Insert from the highest piece down so earlier positions stay valid.
    for (std::size_t p = keep; p-- > 0;) {
        insert_at(pieces[p].pos, {seq + pieces[p].start,
                                  {m, off + pieces[p].start, pieces[p].end - pieces[p].start}});
    }
    ++c.segments_queued;
    c.bytes_queued += fresh;
    return fresh;
}

void reassembly_queue::note_recent(seq_t seq) noexcept {
    const std::size_t keep = std::min(n_recent_, recent_slots - 1);
    std::copy_backward(recent_.begin(), recent_.begin() + static_cast<std::ptrdiff_t>(keep),
                       recent_.begin() + static_cast<std::ptrdiff_t>(keep + 1));
    recent_[0] = seq;
    n_recent_ = keep + 1;
}

std::size_t reassembly_queue::sack_blocks(std::span<sack_block> out) const noexcept {
    std::size_t written = 0;
    for (std::size_t r = 0; r < n_recent_ && written < out.size(); ++r) {
        // Find the entry holding recent_[r], then widen to its contiguous run.
        std::size_t k = 0;
        while (k < n_ && !seq_in_range(recent_[r], e_[k].seq, e_[k].v.len)) {
            ++k;
        }
        if (k == n_) {
            continue;  // delivered since, or never queued
        }
        std::size_t first = k;
        while (first > 0 && e_[first - 1].seq + e_[first - 1].v.len == e_[first].seq) {
            --first;
        }
        std::size_t last = k;
        while (last + 1 < n_ && e_[last].seq + e_[last].v.len == e_[last + 1].seq) {
            ++last;
        }
        const sack_block b{e_[first].seq, e_[last].seq + e_[last].v.len};
        bool dup = false;
        for (std::size_t w = 0; w < written; ++w) {
            dup = dup || out[w] == b;  // RFC 2018 §4: no block repeated within one option
        }
        if (!dup) {
            out[written++] = b;
        }
    }
    // RFC 2018 §4: "as many distinct SACK blocks as possible": fill up with the other runs,
    // highest first.
    std::size_t end = n_;
    while (end > 0 && written < out.size()) {
        std::size_t first = end - 1;
        while (first > 0 && e_[first - 1].seq + e_[first - 1].v.len == e_[first].seq) {
            --first;
        }
        const sack_block b{e_[first].seq, e_[end - 1].seq + e_[end - 1].v.len};
        bool dup = false;
        for (std::size_t w = 0; w < written; ++w) {
            dup = dup || out[w] == b;
        }
        if (!dup) {
            out[written++] = b;
        }
        end = first;
    }
    return written;
}

std::size_t reassembly_queue::pop_ready(seq_t& rcv_nxt, std::span<rx_view> out) noexcept {
    std::size_t taken = 0;  // entries consumed from the front
    std::size_t written = 0;
    while (taken < n_ && written < out.size()) {
        entry& e = e_[taken];
        if (seq_gt(e.seq, rcv_nxt)) {
            break;  // a hole remains at RCV.NXT
        }
        const std::uint32_t behind = rcv_nxt - e.seq;
        ++taken;
        if (behind >= e.v.len) {
            rte_pktmbuf_free(e.v.m);  // delivered meanwhile by the in-order path
            continue;
        }
        rx_view v = e.v;
        v.off += behind;
        v.len -= behind;
        rcv_nxt += v.len;
        out[written++] = v;
    }
    std::copy(e_.begin() + static_cast<std::ptrdiff_t>(taken),
              e_.begin() + static_cast<std::ptrdiff_t>(n_), e_.begin());
    n_ -= taken;
    return written;
}

}  // namespace sluice::dp::net::tcp
