// Snapshot publication and quiescent-state slot reclamation (control-plane thread).
#include "ctrlplane/shm/config_writer.hh"

#include <fmt/format.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <string>

#include "ctrlplane/errno_text.hh"

namespace sluice::cp::shm {

result<config_writer> config_writer::open(const segment_options& o, liveness_policy p) {
    auto cfg = open_config(o, access::read_write);
    if (!cfg) {
        return cfg.err();
    }
    // Creates the stats segment if the dataplane has not yet; the writer needs it to reclaim.
    auto stats = stats_reader::attach(o);
    if (!stats) {
        return stats.err();
    }
    if (::flock(cfg->fd(), LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        const auto* h = static_cast<const config_header*>(cfg->data());
        if (e == EWOULDBLOCK) {
            return error{fmt::format("{}: another control plane (last publisher pid {}) holds the "
                                     "writer lock; only one writer per instance",
                                     config_path(o), h->writer_pid.load()),
                         error_kind::busy};
        }
        return error{fmt::format("{}: cannot lock: {}", config_path(o), errno_text(e)),
                     error_kind::io};
    }
    return config_writer(std::move(cfg.value()), std::move(stats.value()), p, config_path(o),
                         stats_path(o));
}

config_writer::config_writer(mapping cfg, stats_reader stats, liveness_policy p,
                             std::string cfg_path, std::string stats_path) noexcept
    : cfg_(std::move(cfg)),
      cfg_path_(std::move(cfg_path)),
      stats_path_(std::move(stats_path)),
      hdr_(static_cast<config_header*>(cfg_.data())),
      stats_(std::move(stats)),
      policy_(p) {}

std::uint64_t config_writer::generation() const noexcept {
    return published_generation(hdr_->published.load(std::memory_order_acquire));
}

std::span<const std::byte> config_writer::published_payload() const noexcept {
    const std::uint64_t word = hdr_->published.load(std::memory_order_acquire);
    const std::uint32_t slot = published_slot(word);
    if (published_generation(word) == 0 || slot >= config_slot_count) {
        return {};
    }
    const slot_meta& m = hdr_->slots[slot];
    const std::uint64_t size = std::min(m.size.load(std::memory_order_relaxed), m.capacity);
    return {static_cast<const std::byte*>(cfg_.data()) + m.offset, static_cast<std::size_t>(size)};
}

namespace {
bool same_file(int fd, const std::string& path) noexcept {
    struct stat a {};
    struct stat b {};
    return ::fstat(fd, &a) == 0 && ::stat(path.c_str(), &b) == 0 && a.st_dev == b.st_dev &&
           a.st_ino == b.st_ino;
}
}  // namespace

bool config_writer::segments_replaced() const noexcept {
    return !same_file(cfg_.fd(), cfg_path_) || !same_file(stats_.fd(), stats_path_);
}

result<std::uint64_t> config_writer::publish(std::span<const std::byte> payload,
                                             std::uint64_t now_ns) {
    if (payload.size() > hdr_->slot_capacity) {
        return error{
            fmt::format("snapshot of {} bytes does not fit a {} byte slot; nothing "
                        "published, generation {} stays in force",
                        payload.size(), hdr_->slot_capacity, generation())};
    }
    const std::uint64_t word = hdr_->published.load(std::memory_order_acquire);
    const std::uint64_t cur_gen = published_generation(word);
    const std::uint32_t cur_slot = published_slot(word);

    // Oldest generation any alive lcore may still read: an lcore that reported g has let go of
    // everything older than g, and may hold g itself or anything published after it.
    std::uint64_t min_applied = std::numeric_limits<std::uint64_t>::max();
    std::uint32_t pinning_lcore = 0;
    for (std::uint32_t i = 0; i < stats_.lcore_count(); ++i) {
        lcore_status st = read_status(stats_.slot(i), i, now_ns, policy_);
        if (st.alive && st.applied_generation < min_applied) {
            min_applied = st.applied_generation;
            pinning_lcore = i;
        }
    }

    std::uint32_t chosen = config_slot_count;
    std::uint64_t chosen_gen = std::numeric_limits<std::uint64_t>::max();
    for (std::uint32_t i = 0; i < config_slot_count; ++i) {
        if (cur_gen != 0 && i == cur_slot) {
            continue;  // the published slot: an lcore may be loading the word right now
        }
        std::uint64_t g = hdr_->slots[i].generation.load(std::memory_order_relaxed);
        bool reusable = g == 0 || g < min_applied;
        if (reusable && g < chosen_gen) {
            chosen = i;
            chosen_gen = g;
        }
    }
    if (chosen == config_slot_count) {
        return error{fmt::format("no free snapshot slot: lcore {} still reports generation {} "
                                 "(published: {}); retry once it advances or its heartbeat "
                                 "expires",
                                 pinning_lcore, min_applied, cur_gen),
                     error_kind::busy};
    }

    slot_meta& s = hdr_->slots[chosen];
    auto* dst = static_cast<std::byte*>(cfg_.data()) + s.offset;
    if (!payload.empty()) {
        std::memcpy(dst, payload.data(), payload.size());
    }
    const std::uint64_t gen = cur_gen + 1;
    s.size.store(payload.size(), std::memory_order_relaxed);
    s.checksum.store(fnv1a64(payload.data(), payload.size()), std::memory_order_relaxed);
    s.generation.store(gen, std::memory_order_relaxed);
    hdr_->writer_pid.store(::getpid(), std::memory_order_relaxed);
    // The one publication point: everything above happens-before an lcore's acquire of the word.
    hdr_->published.store(pack_published(gen, chosen), std::memory_order_release);
    return gen;
}

}  // namespace sluice::cp::shm
