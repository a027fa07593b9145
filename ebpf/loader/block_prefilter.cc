// The block-list pre-filters of the XDP program (sl_blk4_pf, sl_blk6_pf; layout in
// ebpf/abi/sluice_xdp_abi.h): bitmaps derived from the LPM tries that let the program skip
// the trie for every source no entry can match, and drop a source whose whole IPv4 /24 is
// blocked without it. Setup path, same thread rules as xdp_maps (one writer at a time).
//
// Consistency with the tries: sync_prefilter() recomputes a family's whole bitmap from the
// trie's entries as they are *after* the change (so an overlapping entry that remains keeps
// its bits when another is deleted) and stores only the words that differ, each with one
// aligned 8-byte store, which the program's 8-byte load sees whole. The trie is always
// written first, the bitmap second, so a packet racing the update sees at worst one stale
// verdict:
//   add:    old bitmap, no bit yet -> passes as if it had arrived just before the add;
//           a PART bit -> the trie, which already has the entry (correct).
//   delete: old FULL state -> dropped as if it had arrived just before the delete;
//           a PART bit -> the trie, which no longer has the entry (correct).
// Different words (other /24s, other IPv6 buckets) switch independently, each from its old
// to its new state. sync_flags() rebuilds both bitmaps (pins of unknown history, entries
// written with bpftool).
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "xdp_maps.hh"

namespace sluice::ebpf {
namespace {

// The 2-bit state of a /24 (index = address >> 8) in the IPv4 bitmap.
void set_pf4(std::vector<std::uint64_t>& w, std::uint32_t idx24, std::uint32_t state) {
    w[idx24 >> 5] |= static_cast<std::uint64_t>(state) << ((idx24 & 31u) * 2);
}

void set_pf6(std::vector<std::uint64_t>& w, std::uint64_t top48) {
    const std::uint32_t i = sluice_xdp_pf6_index(top48);
    w[i >> 6] |= 1ULL << (i & 63u);
}

}  // namespace

std::vector<std::uint64_t> detail::prefilter_words(const std::vector<cidr>& entries, bool v6) {
    std::vector<std::uint64_t> w(v6 ? SLUICE_XDP_PF6_WORDS : SLUICE_XDP_PF4_WORDS, 0);
    for (const cidr& c : entries) {
        if (c.addr.is_v4 == v6) {
            continue;
        }
        if (!v6) {
            std::uint32_t top = 0;
            std::memcpy(&top, &c.addr.bytes[12], 4);
            top = ntohl(top);
            if (c.len > 24) {
                set_pf4(w, top >> 8, SLUICE_XDP_PF4_PART);
                continue;
            }
            // Every /24 the prefix covers: 2^(24 - len) of them from its aligned start.
            const std::uint32_t count = 1u << (24 - c.len);
            const std::uint32_t first = (top >> 8) & ~(count - 1);
            for (std::uint32_t i = 0; i < count; ++i) {
                set_pf4(w, first + i, SLUICE_XDP_PF4_FULL);
            }
            continue;
        }
        constexpr unsigned p = SLUICE_XDP_PF6_PREFIX;
        if (c.len < p - 24) {
            // 2^24 or more /48s: as many as there are bits, so set them all.
            std::fill(w.begin(), w.end(), ~0ULL);
            return w;
        }
        std::uint64_t top = 0;
        for (unsigned i = 0; i < 8; ++i) {
            top = (top << 8) | c.addr.bytes[i];
        }
        const std::uint64_t top48 = top >> (64 - p);
        if (c.len >= p) {
            set_pf6(w, top48);
            continue;
        }
        const std::uint64_t count = 1ULL << (p - c.len);
        const std::uint64_t first = top48 & ~(count - 1);
        for (std::uint64_t i = 0; i < count; ++i) {
            set_pf6(w, first + i);
        }
    }
    return w;
}

status xdp_maps::sync_prefilter(bool v6) {
    auto entries = blocked();
    if (!entries) {
        return error{entries.message()};
    }
    const std::vector<std::uint64_t> want = detail::prefilter_words(entries.value(), v6);
    const std::size_t len = want.size() * sizeof(std::uint64_t);
    const char* name = v6 ? "sl_blk6_pf" : "sl_blk4_pf";
    void* p = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd(v6 ? blk6_pf : blk4_pf), 0);
    if (p == MAP_FAILED) {
        return error{errno_message(std::string("mmap ") + name +
                                       " (the block list is written, its pre-filter is stale: "
                                       "sources may skip the block list until `sluice-xdp` "
                                       "resyncs)",
                                   errno)};
    }
    auto* words = static_cast<std::uint64_t*>(p);
    for (std::size_t i = 0; i < want.size(); ++i) {
        // One aligned 8-byte store per changed word: the program never sees half a word.
        if (__atomic_load_n(&words[i], __ATOMIC_RELAXED) != want[i]) {
            __atomic_store_n(&words[i], want[i], __ATOMIC_RELEASE);
        }
    }
    munmap(p, len);
    return {};
}

}  // namespace sluice::ebpf
