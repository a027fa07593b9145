// Building blocks of the route table's index (route_table.cc only): a prefix hasher that hashes
// every prefix length of a path in one pass, SWAR lower-casing, the u64 open-addressing map, and
// a huge-page allocator for the big arrays. Lookups run on worker lcores (no allocation, no
// exceptions); building runs on the config builder thread.
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <string_view>
#include <vector>

namespace sluice::dp::cfg::detail {

inline constexpr std::uint64_t fmix64(std::uint64_t k) noexcept {  // MurmurHash3 finalizer
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    k *= 0xc4ceb9fe1a85ec53ULL;
    k ^= k >> 33;
    return k;
}

inline constexpr std::uint64_t mul1 = 0x9e3779b97f4a7c15ULL;  // 2^64 / golden ratio
inline constexpr std::uint64_t mul2 = 0xc2b2ae3d27d4eb4fULL;  // xxHash prime 2

// Allocator for the big lookup arrays (hash slots, routes, string arena, candidate pool): from
// 2 MiB up it asks for transparent huge pages. A lookup touches three or four random cache lines
// of tables that reach megabytes at 100k routes, and on 4 KiB pages each can also be a TLB miss.
// (On the loaded dev VM the gain was within noise: bench/cfg/route_bench.cc's working-set sweep
// is cache-bound either way.) Config builder thread only (allocation, madvise).
template <typename T>
struct huge_allocator {
    using value_type = T;
    static constexpr std::size_t huge = std::size_t{2} << 20;  // x86-64 PMD page

    huge_allocator() = default;
    template <typename U>
    explicit huge_allocator(const huge_allocator<U>&) noexcept {}

    T* allocate(std::size_t n) {
        std::size_t bytes = n * sizeof(T);
        if (bytes < huge) {
            return std::allocator<T>().allocate(n);
        }
        bytes = (bytes + huge - 1) / huge * huge;
        void* p = std::aligned_alloc(huge, bytes);
        if (p == nullptr) {
            throw std::bad_alloc();
        }
        ::madvise(p, bytes, MADV_HUGEPAGE);  // a hint: without THP the table still works
        return static_cast<T*>(p);
    }
    void deallocate(T* p, std::size_t n) noexcept {
        if (n * sizeof(T) < huge) {
            std::allocator<T>().deallocate(p, n);
        } else {
            std::free(p);
        }
    }
    template <typename U>
    bool operator==(const huge_allocator<U>&) const noexcept {
        return true;
    }
};
template <typename T>
using huge_vector = std::vector<T, huge_allocator<T>>;

// The n (1..7) bytes at p as a little-endian integer, without reading past p + n: two
// overlapping loads whose shared bytes agree.
inline std::uint64_t load_short(const char* p, std::size_t n) noexcept {
    if (n >= 4) {
        std::uint32_t lo, hi;
        std::memcpy(&lo, p, 4);
        std::memcpy(&hi, p + n - 4, 4);
        return std::uint64_t{lo} | (std::uint64_t{hi} << (8 * (n - 4)));
    }
    auto b = [p](std::size_t i) { return std::uint64_t{static_cast<unsigned char>(p[i])}; };
    return b(0) | (b(n / 2) << (8 * (n / 2))) | (b(n - 1) << (8 * (n - 1)));
}

// ASCII lower case of 8 bytes at once: 0x20 added to exactly the bytes in 'A'..'Z' (bytes with
// the high bit set are left alone).
inline std::uint64_t lower8(std::uint64_t w) noexcept {
    constexpr std::uint64_t ones = 0x0101010101010101ULL;
    const std::uint64_t low7 = w & (0x7f * ones);
    const std::uint64_t ge_a = low7 + (0x80 - 'A') * ones;  // high bit set when byte >= 'A'
    const std::uint64_t gt_z = low7 + (0x7f - 'Z') * ones;  // high bit set when byte > 'Z'
    const std::uint64_t upper = (ge_a ^ gt_z) & ~w & (0x80 * ones);
    return w | (upper >> 2);
}

// Hashes of the prefixes of one string, 8 bytes per step, for non-decreasing lengths: the state
// after whole words is kept, so hashing the prefixes of lengths L1 < L2 < ... costs one pass.
// Not collision resistant, and need not be: route_table verifies every hash hit.
class prefix_hasher {
public:
    explicit prefix_hasher(std::string_view s) noexcept : p_(s.data()), n_(s.size()) {}

    // Precondition: l <= size, and l not smaller than in the previous call.
    std::uint64_t at(std::size_t l) noexcept {
        while ((words_ + 1) * 8 <= l) {
            std::uint64_t w;
            std::memcpy(&w, p_ + words_ * 8, 8);
            state_ = (state_ ^ w) * mul1;
            state_ ^= state_ >> 29;
            ++words_;
        }
        std::uint64_t t = state_;
        if (std::size_t r = l - words_ * 8; r != 0) {
            std::uint64_t w = 0;
            if (l >= 8) {  // the last 8 bytes, shifted so only the r new ones remain
                std::memcpy(&w, p_ + l - 8, 8);
                w >>= 8 * (8 - r);
            } else {
                w = load_short(p_, r);
            }
            t = (t ^ w) * mul1;
        }
        return fmix64(t ^ l);
    }
    [[nodiscard]] std::size_t size() const noexcept { return n_; }

private:
    const char* p_;
    std::size_t n_;
    std::size_t words_ = 0;
    std::uint64_t state_ = 0x243f6a8885a308d3ULL;  // pi's fraction: any non-zero seed
};

inline std::uint64_t hash_str(std::string_view s) noexcept { return prefix_hasher(s).at(s.size()); }

enum class key_kind : std::uint64_t { exact_path = 1, prefix_path, command, exact_host, suffix };

// `h` is already a finalized hash; mixing in the group and kind by xor with an odd multiple keeps
// it uniform and distinct per (group, kind) without a second finalizer.
inline std::uint64_t make_key(std::uint32_t group, key_kind kind, std::uint64_t h) noexcept {
    std::uint64_t k = h ^ (((std::uint64_t{group} << 3) | static_cast<std::uint64_t>(kind)) * mul2);
    return k == 0 ? 1 : k;  // 0 marks an empty slot
}

// Open addressing, linear probing, load <= 1/2; u64 key (never 0) → two u32 values. Immutable
// after build.
struct map_slot {
    std::uint64_t key;
    std::uint32_t val;
    std::uint32_t aux;
};

class u64_map {
public:
    void build(const std::vector<map_slot>& kv) {
        std::size_t cap = 16;
        while (cap < kv.size() * 2) {
            cap *= 2;
        }
        slots_.assign(cap, map_slot{0, 0, 0});
        mask_ = cap - 1;
        for (const auto& e : kv) {
            std::size_t i = e.key & mask_;
            while (slots_[i].key != 0) {
                i = (i + 1) & mask_;
            }
            slots_[i] = e;
        }
    }
    [[nodiscard]] const map_slot* find(std::uint64_t k) const noexcept {
        for (std::size_t i = k & mask_;; i = (i + 1) & mask_) {
            const map_slot& s = slots_[i];
            if (s.key == k) {
                return &s;
            }
            if (s.key == 0) {
                return nullptr;
            }
        }
    }
    [[nodiscard]] bool empty() const noexcept { return slots_.empty(); }

private:
    huge_vector<map_slot> slots_;
    std::size_t mask_ = 0;
};

}  // namespace sluice::dp::cfg::detail
