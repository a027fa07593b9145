// Read-only view over an encoded snapshot, for lcores. open() checks every offset, index and
// string reference once (O(size), at snapshot switch, between bursts); after that every accessor
// is a bounds-free pointer computation. Nothing here allocates or throws. The bytes must stay
// mapped and unchanged while the view is used (the shm publication protocol guarantees that
// until the lcore reports a newer generation).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "ctrlplane/model/snapshot_format.hh"

namespace sluice::cp::model {

enum class view_status : std::uint8_t {
    ok,
    too_small,
    bad_magic,
    bad_version,
    bad_size,
    bad_table,   // a table lies outside the snapshot or is misaligned
    bad_range,   // a range or index points outside its table
    bad_string,  // a string reference points outside the pool
};
[[nodiscard]] std::string_view to_string(view_status s) noexcept;

class snapshot_view {
public:
    snapshot_view() = default;

    // Validates and, on ok, makes `out` view `bytes`. `out` is untouched on failure.
    [[nodiscard]] static view_status open(std::span<const std::byte> bytes,
                                          snapshot_view& out) noexcept;

    [[nodiscard]] bool valid() const noexcept { return base_ != nullptr; }
    [[nodiscard]] std::uint64_t content_hash() const noexcept { return header().content_hash; }

    [[nodiscard]] std::span<const snap_listener> listeners() const noexcept {
        return table<snap_listener>(table_id::listeners);
    }
    [[nodiscard]] std::span<const snap_route> routes() const noexcept {
        return table<snap_route>(table_id::routes);
    }
    [[nodiscard]] std::span<const snap_cluster> clusters() const noexcept {
        return table<snap_cluster>(table_id::clusters);
    }
    [[nodiscard]] std::span<const snap_rate_limit> rate_limits() const noexcept {
        return table<snap_rate_limit>(table_id::rate_limits);
    }

    [[nodiscard]] std::span<const snap_header_matcher> headers(const snap_route& r) const noexcept {
        return table<snap_header_matcher>(table_id::header_matchers)
            .subspan(r.headers.first, r.headers.count);
    }
    [[nodiscard]] std::span<const snap_addr> cidrs(const snap_route& r) const noexcept {
        return table<snap_addr>(table_id::cidrs).subspan(r.cidrs.first, r.cidrs.count);
    }
    [[nodiscard]] std::span<const snap_weighted_cluster> clusters(
        const snap_route& r) const noexcept {
        return table<snap_weighted_cluster>(table_id::weighted_clusters)
            .subspan(r.clusters.first, r.clusters.count);
    }
    [[nodiscard]] std::span<const snap_filter> filters(const snap_route& r) const noexcept {
        return table<snap_filter>(table_id::filters).subspan(r.filters.first, r.filters.count);
    }
    [[nodiscard]] std::span<const snap_filter> filters(const snap_listener& l) const noexcept {
        return table<snap_filter>(table_id::filters).subspan(l.filters.first, l.filters.count);
    }
    [[nodiscard]] std::span<const snap_setting> settings(const snap_filter& f) const noexcept {
        return table<snap_setting>(table_id::settings).subspan(f.settings.first, f.settings.count);
    }
    [[nodiscard]] std::span<const snap_endpoint> endpoints(const snap_cluster& c) const noexcept {
        return table<snap_endpoint>(table_id::endpoints)
            .subspan(c.endpoints.first, c.endpoints.count);
    }
    [[nodiscard]] std::string_view str(str_ref s) const noexcept {
        const auto& t = header().tables[static_cast<std::uint32_t>(table_id::strings)];
        return {reinterpret_cast<const char*>(base_ + t.offset + s.off), s.len};
    }
    // Linear scan; for carrying bucket state across a switch, not per request.
    [[nodiscard]] const snap_rate_limit* find_rate_limit(std::uint64_t identity) const noexcept;
    [[nodiscard]] const snap_cluster* find_cluster(std::string_view name) const noexcept;

private:
    [[nodiscard]] const snapshot_header& header() const noexcept {
        return *reinterpret_cast<const snapshot_header*>(base_);
    }
    template <typename T>
    [[nodiscard]] std::span<const T> table(table_id id) const noexcept {
        const table_ref& t = header().tables[static_cast<std::uint32_t>(id)];
        return {reinterpret_cast<const T*>(base_ + t.offset), t.count};
    }

    const std::byte* base_ = nullptr;
};

}  // namespace sluice::cp::model
