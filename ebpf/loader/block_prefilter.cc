// The block-list pre-filters of the XDP program (sl_blk4_pf, sl_blk6_pf; layout in
// ebpf/abi/sluice_xdp_abi.h): bitmaps derived from the LPM tries that let the program skip
// the trie for every source no entry can match, and drop a source whose whole IPv4 /24 is
// blocked without it; and the exact host table of partly blocked IPv4 /24s (sl_blk4_hosts),
// which decides those without the trie too. Setup path, same thread rules as xdp_maps (one
// writer at a time).
//
// Consistency with the tries: sync_prefilter() recomputes a family's whole bitmap (and for
// IPv4 every host set) from the trie's entries as they are *after* the change (so an
// overlapping entry that remains keeps its bits when another is deleted) and stores only the
// words that differ, each with one aligned 8-byte store, which the program's 8-byte load sees
// whole. The trie is always written first, the bitmap second, so a packet racing the update
// sees at worst one stale verdict:
//   add:    old bitmap, no bit yet -> passes as if it had arrived just before the add;
//           a PART bit -> the host table or the trie (below).
//   delete: old FULL state -> dropped as if it had arrived just before the delete;
//           a PART bit -> the host table or the trie (below).
// Different words (other /24s, other IPv6 buckets) switch independently, each from its old
// to its new state. sync_flags() rebuilds both bitmaps (pins of unknown history, entries
// written with bpftool).
//
// The host table (IPv4) is a cache of the trie, never the authority: the program asks the
// trie for a PART /24 it does not find there, which is always correct. So the writes go in
// the order that keeps every slot the program can find exact, or at worst one stale verdict:
//   1. host sets of /24s already in the table are updated in place, word by word (a host's
//      bit lives in one word: it flips from its old to its new verdict);
//   2. /24s that need a slot get a free one in their bucket: bits first, then the key
//      (release), so a key is never visible before its bits. A full bucket leaves the /24 to
//      the trie;
//   3. the pre-filter words are written (a /24 becomes PART only after its slot is filled);
//   4. slots no PART /24 needs any more are cleared, key first, after the pre-filter no
//      longer sends their /24 there. A slot freed in step 4 is reused only by a later sync,
//      never in the same one, so a packet that read a key just before it was cleared still
//      finds that /24's bits, not another's.
//
// The IPv6 prefix table (sl_blk6_pfx) and its per-bucket switch (sl_blk6_exact) follow the
// same rules with immutable slots: a listed prefix keeps its slot; a new one is written
// prefix first, then its length (release), which publishes it; the exact bits go next (a
// bucket is decided by the table only once all its prefixes are in), then sl_blk6_pf; last,
// slots of prefixes no longer listed are unpublished (length 0). A bucket whose entries the
// table cannot list, or whose prefix found no free slot, keeps its exact bit clear: the trie.
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <span>
#include <vector>

#include "xdp_maps.hh"

namespace sluice::ebpf {
namespace {

// The 2-bit state of a /24 (index = address >> 8) in the IPv4 bitmap.
void set_pf4(std::vector<std::uint64_t>& w, std::uint32_t idx24, std::uint32_t state) {
    w[idx24 >> 5] |= static_cast<std::uint64_t>(state) << ((idx24 & 31u) * 2);
}

std::uint32_t pf4_state(const std::vector<std::uint64_t>& w, std::uint32_t idx24) {
    return static_cast<std::uint32_t>(w[idx24 >> 5] >> ((idx24 & 31u) * 2)) & 3u;
}

void set_pf6(std::vector<std::uint64_t>& w, std::uint64_t top48) {
    const std::uint32_t i = sluice_xdp_pf6_index(top48);
    w[i >> 6] |= 1ULL << (i & 63u);
}

std::uint32_t top32(const cidr& c) {
    std::uint32_t top = 0;
    std::memcpy(&top, &c.addr.bytes[12], 4);
    return ntohl(top);
}

// A BPF_F_MMAPABLE array map mapped read-write for the duration of one sync.
class mapped_words {
public:
    mapped_words(int fd, std::size_t len)
        : len_(len), p_(mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)) {}
    ~mapped_words() {
        if (ok()) {
            munmap(p_, len_);
        }
    }
    mapped_words(const mapped_words&) = delete;
    mapped_words& operator=(const mapped_words&) = delete;
    [[nodiscard]] bool ok() const { return p_ != MAP_FAILED; }
    template <typename T>
    [[nodiscard]] T* as() const {
        return static_cast<T*>(p_);
    }

private:
    std::size_t len_;
    void* p_;
};

error mmap_error(const char* name) {
    return error{errno_message(std::string("mmap ") + name +
                                   " (the block list is written, its pre-filter is stale: "
                                   "sources may skip the block list until `sluice-xdp` "
                                   "resyncs)",
                               errno)};
}

// One aligned 8-byte store per changed word: the program never sees half a word.
template <typename Word>
void store_if_changed(Word* word, std::uint64_t want) {
    if (__atomic_load_n(word, __ATOMIC_RELAXED) != want) {
        __atomic_store_n(word, static_cast<Word>(want), __ATOMIC_RELEASE);
    }
}

}  // namespace

std::vector<std::uint64_t> detail::prefilter_words(const std::vector<cidr>& entries, bool v6) {
    std::vector<std::uint64_t> w(v6 ? SLUICE_XDP_PF6_WORDS : SLUICE_XDP_PF4_WORDS, 0);
    if (!v6) {
        // FULL first, then PART only where no shorter entry covers the /24: the program
        // needs one state, and FULL decides without the host table.
        for (const cidr& c : entries) {
            if (!c.addr.is_v4 || c.len > 24) {
                continue;
            }
            // Every /24 the prefix covers: 2^(24 - len) of them from its aligned start.
            const std::uint32_t count = 1u << (24 - c.len);
            const std::uint32_t first = (top32(c) >> 8) & ~(count - 1);
            for (std::uint32_t i = 0; i < count; ++i) {
                set_pf4(w, first + i, SLUICE_XDP_PF4_FULL);
            }
        }
        for (const cidr& c : entries) {
            if (c.addr.is_v4 && c.len > 24 && pf4_state(w, top32(c) >> 8) == 0) {
                set_pf4(w, top32(c) >> 8, SLUICE_XDP_PF4_PART);
            }
        }
        return w;
    }
    for (const cidr& c : entries) {
        if (c.addr.is_v4) {
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

host_sets4 detail::partial_hosts4(const std::vector<cidr>& entries) {
    const std::vector<std::uint64_t> pf = prefilter_words(entries, false);
    host_sets4 out;
    for (const cidr& c : entries) {
        if (!c.addr.is_v4 || c.len <= 24) {
            continue;
        }
        const std::uint32_t top = top32(c);
        if (pf4_state(pf, top >> 8) != SLUICE_XDP_PF4_PART) {
            continue;  // FULL: the /24 is decided without the table
        }
        host_set4& hs = out[top >> 8];
        const std::uint32_t count = 1u << (32 - c.len);
        const std::uint32_t first = top & 0xffu & ~(count - 1);
        for (std::uint32_t h = first; h < first + count; ++h) {
            hs[h >> 6] |= 1ULL << (h & 63u);
        }
    }
    return out;
}

detail::prefixes6 detail::exact_prefixes6(const std::vector<cidr>& entries) {
    prefixes6 out;
    for (const cidr& c : entries) {
        if (c.addr.is_v4) {
            continue;
        }
        if (c.len < SLUICE_XDP_PF6_PREFIX - 24) {
            out.all_trie = true;  // every bucket is set in sl_blk6_pf and asks the trie
            continue;
        }
        std::uint64_t top64 = 0;
        for (unsigned i = 0; i < 8; ++i) {
            top64 = (top64 << 8) | c.addr.bytes[i];
        }
        const std::uint64_t top48 = top64 >> 16;
        if (c.len >= 40 && c.len <= 48) {
            const std::uint64_t n = 1ULL << (48 - c.len);
            for (std::uint64_t i = 0; i < n; ++i) {
                out.listed.emplace_back(48, (top48 & ~(n - 1)) + i);
            }
            continue;
        }
        if (c.len >= 56 && c.len <= 64) {
            const std::uint64_t n = 1ULL << (64 - c.len);
            for (std::uint64_t i = 0; i < n; ++i) {
                out.listed.emplace_back(64, (top64 & ~(n - 1)) + i);
            }
            continue;
        }
        // Not representable (longer than /64, 49..55, 24..39): its /48s' buckets ask the trie.
        if (c.len >= 48) {
            out.trie_buckets.push_back(sluice_xdp_pf6_index(top48));
            continue;
        }
        const std::uint64_t n = 1ULL << (48 - c.len);
        for (std::uint64_t i = 0; i < n; ++i) {
            out.trie_buckets.push_back(sluice_xdp_pf6_index((top48 & ~(n - 1)) + i));
        }
    }
    std::sort(out.listed.begin(), out.listed.end());
    out.listed.erase(std::unique(out.listed.begin(), out.listed.end()), out.listed.end());
    std::sort(out.trie_buckets.begin(), out.trie_buckets.end());
    out.trie_buckets.erase(std::unique(out.trie_buckets.begin(), out.trie_buckets.end()),
                           out.trie_buckets.end());
    return out;
}

namespace {

// The sl_blk6_pf bucket a listed IPv6 prefix belongs to (that of its /48).
std::uint32_t pf6_bucket_of(std::uint32_t len, std::uint64_t prefix) {
    return sluice_xdp_pf6_index(len == 64 ? prefix >> 16 : prefix);
}

}  // namespace

status xdp_maps::sync_prefix6(const std::vector<std::uint64_t>& want_pf,
                              const std::vector<cidr>& entries) {
    const detail::prefixes6 px = detail::exact_prefixes6(entries);
    const mapped_words exact(fd(blk6_exact), want_pf.size() * sizeof(std::uint64_t));
    const mapped_words pfx(fd(blk6_prefixes),
                           SLUICE_XDP_P6_BUCKETS * sizeof(sluice_xdp_prefix6_bucket));
    const mapped_words pf(fd(blk6_pf), want_pf.size() * sizeof(std::uint64_t));
    if (!exact.ok() || !pfx.ok() || !pf.ok()) {
        return mmap_error(!exact.ok() ? "sl_blk6_exact"
                                      : (!pfx.ok() ? "sl_blk6_pfx" : "sl_blk6_pf"));
    }
    const std::span<sluice_xdp_prefix6_bucket> buckets(pfx.as<sluice_xdp_prefix6_bucket>(),
                                                       SLUICE_XDP_P6_BUCKETS);
    std::vector<std::uint32_t> trie = px.trie_buckets;
    std::vector<char> placed(px.listed.size(), 0);
    std::vector<std::pair<std::uint32_t, std::uint32_t>> stale;  // {bucket, slot}
    // 1. Slots stay while their prefix is listed (they are immutable: a prefix is listed or
    // not); the others are noted for step 4.
    for (std::uint32_t b = 0; b < buckets.size(); ++b) {
        for (std::uint32_t s = 0; s < SLUICE_XDP_P6_SLOTS; ++s) {
            const sluice_xdp_prefix6_slot& sl = buckets[b].slot[s];
            const std::uint32_t len = __atomic_load_n(&sl.len, __ATOMIC_RELAXED);
            if (len == 0) {
                continue;
            }
            const std::pair<std::uint32_t, std::uint64_t> k{len, sl.prefix};
            const auto it = std::lower_bound(px.listed.begin(), px.listed.end(), k);
            if (it == px.listed.end() || *it != k ||
                sluice_xdp_prefix6_bucket_of(k.second, len) != b ||
                placed[it - px.listed.begin()] != 0) {
                stale.emplace_back(b, s);
                continue;
            }
            placed[it - px.listed.begin()] = 1;
        }
    }
    // 2. New prefixes: prefix first, then len (release), which publishes the slot. A prefix
    // without a free slot sends its bucket to the trie.
    for (std::size_t i = 0; i < px.listed.size(); ++i) {
        if (placed[i] != 0) {
            continue;
        }
        const auto [len, prefix] = px.listed[i];
        sluice_xdp_prefix6_bucket& bk = buckets[sluice_xdp_prefix6_bucket_of(prefix, len)];
        bool ok = false;
        for (auto& sl : bk.slot) {
            if (__atomic_load_n(&sl.len, __ATOMIC_RELAXED) == 0) {
                __atomic_store_n(&sl.prefix, static_cast<__u64>(prefix), __ATOMIC_RELAXED);
                __atomic_store_n(&sl.len, len, __ATOMIC_RELEASE);
                ok = true;
                break;
            }
        }
        if (!ok) {
            trie.push_back(pf6_bucket_of(len, prefix));
        }
    }
    // 3. The exact switch (set buckets whose every entry is listed), then the pre-filter.
    std::vector<std::uint64_t> want_exact = want_pf;
    if (px.all_trie) {
        std::fill(want_exact.begin(), want_exact.end(), 0);
    }
    for (const std::uint32_t b : trie) {
        want_exact[b >> 6] &= ~(1ULL << (b & 63u));
    }
    for (std::size_t i = 0; i < want_pf.size(); ++i) {
        store_if_changed(&exact.as<std::uint64_t>()[i], want_exact[i]);
    }
    for (std::size_t i = 0; i < want_pf.size(); ++i) {
        store_if_changed(&pf.as<std::uint64_t>()[i], want_pf[i]);
    }
    // 4. Slots of prefixes no longer listed: len 0 unpublishes them.
    for (const auto& [b, s] : stale) {
        __atomic_store_n(&buckets[b].slot[s].len, 0u, __ATOMIC_RELEASE);
    }
    return {};
}

status xdp_maps::sync_prefilter(bool v6) {
    auto entries = blocked();
    if (!entries) {
        return error{entries.message()};
    }
    const std::vector<std::uint64_t> want = detail::prefilter_words(entries.value(), v6);
    const char* name = "sl_blk4_pf";
    if (v6) {
        return sync_prefix6(want, entries.value());
    }
    const mapped_words pf(fd(blk4_pf), want.size() * sizeof(std::uint64_t));
    if (!pf.ok()) {
        return mmap_error(name);
    }

    // IPv4: the host table around the pre-filter write, in the order the header explains.
    const host_sets4 hosts = detail::partial_hosts4(entries.value());
    const mapped_words table(fd(blk4_hosts),
                             SLUICE_XDP_HOSTS4_BUCKETS * sizeof(sluice_xdp_hosts4_bucket));
    if (!table.ok()) {
        return mmap_error("sl_blk4_hosts");
    }
    const std::span<sluice_xdp_hosts4_bucket> buckets(table.as<sluice_xdp_hosts4_bucket>(),
                                                      SLUICE_XDP_HOSTS4_BUCKETS);
    std::vector<std::pair<std::uint32_t, std::uint32_t>> stale;  // {bucket, slot}
    std::vector<std::uint32_t> placed;
    // 1. Update /24s already in the table; note slots nobody needs any more.
    for (std::uint32_t b = 0; b < buckets.size(); ++b) {
        for (std::uint32_t s = 0; s < SLUICE_XDP_HOSTS4_SLOTS; ++s) {
            const std::uint32_t key = __atomic_load_n(&buckets[b].key[s], __ATOMIC_RELAXED);
            if (key == 0) {
                continue;
            }
            const auto it = hosts.find(key - 1);
            if (it == hosts.end() || sluice_xdp_hosts4_bucket_of(key - 1) != b) {
                stale.emplace_back(b, s);
                continue;
            }
            for (std::size_t i = 0; i < 4; ++i) {
                store_if_changed(&buckets[b].bits[s][i], it->second[i]);
            }
            placed.push_back(key - 1);
        }
    }
    std::sort(placed.begin(), placed.end());
    // 2. New /24s: a free slot in their bucket, bits before key. Slots in `stale` still hold
    // their old key, so they are not free yet.
    for (const auto& [idx, hs] : hosts) {
        if (std::binary_search(placed.begin(), placed.end(), idx)) {
            continue;
        }
        sluice_xdp_hosts4_bucket& bk = buckets[sluice_xdp_hosts4_bucket_of(idx)];
        for (std::uint32_t s = 0; s < SLUICE_XDP_HOSTS4_SLOTS; ++s) {
            if (__atomic_load_n(&bk.key[s], __ATOMIC_RELAXED) != 0) {
                continue;
            }
            for (std::size_t i = 0; i < 4; ++i) {
                __atomic_store_n(&bk.bits[s][i], static_cast<__u64>(hs[i]), __ATOMIC_RELAXED);
            }
            __atomic_store_n(&bk.key[s], idx + 1, __ATOMIC_RELEASE);
            break;
        }
        // No free slot: the /24 stays out of the table and the program asks the trie.
    }
    // 3. The pre-filter.
    for (std::size_t i = 0; i < want.size(); ++i) {
        store_if_changed(&pf.as<std::uint64_t>()[i], want[i]);
    }
    // 4. Slots of /24s that are no longer PART: key first, then the bits.
    for (const auto& [b, s] : stale) {
        __atomic_store_n(&buckets[b].key[s], 0u, __ATOMIC_RELEASE);
        for (std::size_t i = 0; i < 4; ++i) {
            __atomic_store_n(&buckets[b].bits[s][i], __u64{0}, __ATOMIC_RELAXED);
        }
    }
    return {};
}

}  // namespace sluice::ebpf
