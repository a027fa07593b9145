// Endpoint-health table: the writer (one dataplane thread) and the reader (control plane).
// The seqcount follows lcore_stats (stats_writer.hh): no fences, release stores for every word
// written inside the bracket and acquire loads for every word read, so a reader whose load saw
// a word written after begin() also sees the odd (or a later) seq on its closing load.
#include "ctrlplane/shm/endpoint_table.hh"

#include <unistd.h>

#include <algorithm>
#include <cstring>

namespace sluice::cp::shm {
namespace {

constexpr auto rel = std::memory_order_release;
constexpr auto acq = std::memory_order_acquire;
constexpr std::uint32_t name_words = endpoint_name_bytes / 8;

// A plain copy of one row, taken inside the read loop (no allocation there).
struct raw_row {
    std::uint64_t cluster[name_words];
    std::uint64_t address[2];
    std::uint64_t ejected_until_ns;
    std::uint32_t times_ejected;
    std::uint32_t consecutive_failures;
    std::uint32_t port;
    std::uint32_t family;
    std::uint32_t outlier_state;
    std::uint32_t active_health;
    std::uint32_t endpoint_index;
    std::uint32_t flags;
};

}  // namespace

void endpoint_table_writer::begin(std::uint64_t config_generation) noexcept {
    const std::uint64_t q = h_->seq.load(std::memory_order_relaxed);
    h_->seq.store(q | 1, std::memory_order_relaxed);  // odd; from odd (a dead writer) stays odd
    n_ = 0;
    dropped_ = 0;
    gen_ = config_generation;
}

bool endpoint_table_writer::add(std::string_view cluster, const endpoint_fields& f) noexcept {
    if (n_ >= endpoint_table_capacity) {
        ++dropped_;
        return false;
    }
    endpoint_health& r = rows_[n_++];
    char name[endpoint_name_bytes] = {};
    const std::size_t len = std::min<std::size_t>(cluster.size(), endpoint_name_bytes);
    std::memcpy(name, cluster.data(), len);
    for (std::uint32_t i = 0; i < name_words; ++i) {
        std::uint64_t w = 0;
        std::memcpy(&w, name + 8 * i, 8);
        r.cluster[i].store(w, rel);
    }
    for (std::uint32_t i = 0; i < 2; ++i) {
        std::uint64_t w = 0;
        std::memcpy(&w, f.address.data() + 8 * i, 8);
        r.address[i].store(w, rel);
    }
    r.ejected_until_ns.store(f.ejected_until_ns, rel);
    r.times_ejected.store(f.times_ejected, rel);
    r.consecutive_failures.store(f.consecutive_failures, rel);
    r.port.store(f.port, rel);
    r.family.store(f.family, rel);
    r.outlier_state.store(static_cast<std::uint32_t>(f.outlier), rel);
    r.active_health.store(static_cast<std::uint32_t>(f.active), rel);
    r.endpoint_index.store(f.endpoint_index, rel);
    r.flags.store(cluster.size() > endpoint_name_bytes ? endpoint_flag_name_truncated : 0, rel);
    return true;
}

void endpoint_table_writer::commit(std::uint64_t now_ns) noexcept {
    h_->count.store(n_, rel);
    h_->dropped.store(dropped_, rel);
    h_->config_generation.store(gen_, rel);
    h_->updated_ns.store(now_ns, rel);
    h_->writer_pid.store(::getpid(), rel);
    const std::uint64_t q = h_->seq.load(std::memory_order_relaxed);
    h_->seq.store(q + 1, rel);  // even: the rows above are complete
}

bool endpoint_table_reader::read(std::vector<endpoint_row>& out, endpoint_table_info& info,
                                 int max_tries) const {
    out.clear();
    info = {};
    std::vector<raw_row> raw(endpoint_table_capacity);
    for (int t = 0; t < max_tries; ++t) {
        const std::uint64_t s1 = h_->seq.load(acq);
        if ((s1 & 1) != 0) {
            continue;  // a rewrite is in progress
        }
        endpoint_table_info in;
        in.written = s1 != 0;
        in.writer_pid = h_->writer_pid.load(acq);
        in.updated_ns = h_->updated_ns.load(acq);
        in.config_generation = h_->config_generation.load(acq);
        in.dropped = h_->dropped.load(acq);
        const std::uint32_t n = std::min(h_->count.load(acq), endpoint_table_capacity);
        for (std::uint32_t i = 0; i < n; ++i) {
            const endpoint_health& r = rows_[i];
            raw_row& c = raw[i];
            for (std::uint32_t w = 0; w < name_words; ++w) {
                c.cluster[w] = r.cluster[w].load(acq);
            }
            c.address[0] = r.address[0].load(acq);
            c.address[1] = r.address[1].load(acq);
            c.ejected_until_ns = r.ejected_until_ns.load(acq);
            c.times_ejected = r.times_ejected.load(acq);
            c.consecutive_failures = r.consecutive_failures.load(acq);
            c.port = r.port.load(acq);
            c.family = r.family.load(acq);
            c.outlier_state = r.outlier_state.load(acq);
            c.active_health = r.active_health.load(acq);
            c.endpoint_index = r.endpoint_index.load(acq);
            c.flags = r.flags.load(acq);
        }
        // The acquire loads above pair with the writer's release stores: had any of them seen
        // a word of a later rewrite, this load sees that rewrite's odd (or a later) seq.
        const std::uint64_t s2 = h_->seq.load(std::memory_order_relaxed);
        if (s1 != s2) {
            continue;
        }
        out.reserve(n);
        for (std::uint32_t i = 0; i < n; ++i) {
            const raw_row& c = raw[i];
            endpoint_row r;
            char name[endpoint_name_bytes];
            std::memcpy(name, c.cluster, endpoint_name_bytes);
            r.cluster.assign(name, ::strnlen(name, endpoint_name_bytes));
            r.cluster_truncated = (c.flags & endpoint_flag_name_truncated) != 0;
            std::memcpy(r.address.data(), c.address, 16);
            r.family = static_cast<std::uint8_t>(c.family);
            r.port = static_cast<std::uint16_t>(c.port);
            r.endpoint_index = c.endpoint_index;
            r.outlier = static_cast<endpoint_outlier>(c.outlier_state);
            r.active = static_cast<endpoint_active>(c.active_health);
            r.times_ejected = c.times_ejected;
            r.consecutive_failures = c.consecutive_failures;
            r.ejected_until_ns = c.ejected_until_ns;
            out.push_back(std::move(r));
        }
        info = in;
        return true;
    }
    return false;
}

std::string_view to_string(endpoint_outlier s) noexcept {
    switch (s) {
        case endpoint_outlier::closed:
            return "closed";
        case endpoint_outlier::open:
            return "open";
        case endpoint_outlier::half_open:
            return "half_open";
    }
    return "unknown";
}

std::string_view to_string(endpoint_active s) noexcept {
    switch (s) {
        case endpoint_active::unknown:
            return "unknown";
        case endpoint_active::healthy:
            return "healthy";
        case endpoint_active::unhealthy:
            return "unhealthy";
    }
    return "unknown";
}

}  // namespace sluice::cp::shm
