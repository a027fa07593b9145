// Dataplane side of the config segment. config_reader::attach runs once on the dataplane main
// thread and maps the segment read-only; each lcore then owns one config_cursor and drives it
// from its poll loop:
//
//     if (cursor.changed()) {            // once per poll iteration: one acquire load + compare
//         cursor.refresh();              // between bursts, never inside one
//         stats.report_applied(cursor.generation());
//     }
//     handle_burst(cursor.snapshot());   // a whole request runs under one snapshot
//
// The cursor methods are noexcept, allocation-free and never block.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "ctrlplane/result.hh"
#include "ctrlplane/shm/contract.hh"
#include "ctrlplane/shm/segment.hh"

namespace sluice::cp::shm {

class config_reader {
public:
    [[nodiscard]] static result<config_reader> attach(const segment_options& o);

    [[nodiscard]] const config_header& header() const noexcept { return *hdr_; }
    [[nodiscard]] const std::byte* base() const noexcept {
        return static_cast<const std::byte*>(map_.data());
    }

private:
    explicit config_reader(mapping m) noexcept;
    mapping map_;
    const config_header* hdr_ = nullptr;
};

// One per lcore; lives in the lcore's own context. Must not outlive its config_reader.
class alignas(64) config_cursor {
public:
    config_cursor() = default;
    explicit config_cursor(const config_reader& r) noexcept : hdr_(&r.header()), base_(r.base()) {}

    // The per-iteration check. Acquire (a plain load on x86) so that refresh() may read the slot
    // without another fence.
    [[nodiscard]] bool changed() const noexcept {
        return hdr_->published.load(std::memory_order_acquire) != word_;
    }

    // Adopts the newest published snapshot. Returns true if it switched. Call only between
    // bursts: the previous snapshot must no longer be referenced afterwards, and the caller then
    // reports generation() through lcore_stats_writer::report_applied.
    bool refresh() noexcept {
        const std::uint64_t w = hdr_->published.load(std::memory_order_acquire);
        if (w == word_) {
            return false;
        }
        const std::uint32_t slot = published_slot(w);
        if (published_generation(w) == 0 || slot >= config_slot_count) {
            return false;  // nothing published yet (or a corrupt word): keep what we have
        }
        const slot_meta& m = hdr_->slots[slot];
        std::uint64_t size = m.size.load(std::memory_order_relaxed);
        if (size > m.capacity) {
            size = m.capacity;
        }
        word_ = w;
        data_ = base_ + m.offset;
        size_ = size;
        return true;
    }

    [[nodiscard]] bool has_snapshot() const noexcept { return data_ != nullptr; }
    [[nodiscard]] std::uint64_t generation() const noexcept { return published_generation(word_); }
    // Bytes of the current snapshot; empty before the first refresh() that found one.
    [[nodiscard]] std::span<const std::byte> snapshot() const noexcept {
        return {data_, static_cast<std::size_t>(size_)};
    }
    // False if the writer reused our slot under us, which happens only if this lcore stopped
    // heartbeating past the liveness timeout while holding it. Count it as snapshot_overruns
    // and refresh; the work done under the overwritten snapshot may have seen mixed config.
    [[nodiscard]] bool still_valid() const noexcept {
        return data_ == nullptr || hdr_->slots[published_slot(word_)].generation.load(
                                       std::memory_order_acquire) == generation();
    }
    // Recomputes the payload checksum (O(size)); for tests and the first attach, not per burst.
    [[nodiscard]] bool verify_checksum() const noexcept {
        return data_ != nullptr && hdr_->slots[published_slot(word_)].checksum.load(
                                       std::memory_order_relaxed) == fnv1a64(data_, size_);
    }

private:
    const config_header* hdr_ = nullptr;
    const std::byte* base_ = nullptr;
    std::uint64_t word_ = 0;
    const std::byte* data_ = nullptr;
    std::uint64_t size_ = 0;
};

}  // namespace sluice::cp::shm
