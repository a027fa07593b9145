// Snapshot validation at open and the few lookups that scan (lcore, at snapshot switch).
#include "ctrlplane/model/snapshot_view.hh"

#include <cstring>

namespace sluice::cp::model {
namespace {

struct table_layout {
    table_id id;
    std::size_t elem;
};
constexpr table_layout layouts[] = {
    {table_id::listeners, sizeof(snap_listener)},
    {table_id::routes, sizeof(snap_route)},
    {table_id::header_matchers, sizeof(snap_header_matcher)},
    {table_id::cidrs, sizeof(snap_addr)},
    {table_id::weighted_clusters, sizeof(snap_weighted_cluster)},
    {table_id::filters, sizeof(snap_filter)},
    {table_id::settings, sizeof(snap_setting)},
    {table_id::clusters, sizeof(snap_cluster)},
    {table_id::endpoints, sizeof(snap_endpoint)},
    {table_id::rate_limits, sizeof(snap_rate_limit)},
    {table_id::strings, 1},
};

class checker {
public:
    checker(const std::byte* b, const snapshot_header& h) : b_(b), h_(h) {}

    [[nodiscard]] std::uint32_t count(table_id id) const {
        return h_.tables[static_cast<std::uint32_t>(id)].count;
    }
    template <typename T>
    [[nodiscard]] const T* at(table_id id) const {
        return reinterpret_cast<const T*>(b_ + h_.tables[static_cast<std::uint32_t>(id)].offset);
    }
    [[nodiscard]] bool str(str_ref s) const {
        return std::uint64_t{s.off} + s.len <= count(table_id::strings);
    }
    [[nodiscard]] bool range(index_range r, table_id id) const {
        return std::uint64_t{r.first} + r.count <= count(id);
    }

private:
    const std::byte* b_;
    const snapshot_header& h_;
};

view_status check_refs(const checker& c) {
    for (std::uint32_t i = 0; i < c.count(table_id::listeners); ++i) {
        const auto& l = c.at<snap_listener>(table_id::listeners)[i];
        if (!c.str(l.name)) {
            return view_status::bad_string;
        }
        if (!c.range(l.filters, table_id::filters)) {
            return view_status::bad_range;
        }
    }
    for (std::uint32_t i = 0; i < c.count(table_id::header_matchers); ++i) {
        const auto& h = c.at<snap_header_matcher>(table_id::header_matchers)[i];
        if (!c.str(h.name) || !c.str(h.value)) {
            return view_status::bad_string;
        }
    }
    for (std::uint32_t i = 0; i < c.count(table_id::weighted_clusters); ++i) {
        if (c.at<snap_weighted_cluster>(table_id::weighted_clusters)[i].cluster >=
            c.count(table_id::clusters)) {
            return view_status::bad_range;
        }
    }
    for (std::uint32_t i = 0; i < c.count(table_id::filters); ++i) {
        const auto& f = c.at<snap_filter>(table_id::filters)[i];
        if (!c.str(f.name)) {
            return view_status::bad_string;
        }
        if (!c.range(f.settings, table_id::settings) ||
            (f.rate_limit != no_index && f.rate_limit >= c.count(table_id::rate_limits))) {
            return view_status::bad_range;
        }
    }
    for (std::uint32_t i = 0; i < c.count(table_id::settings); ++i) {
        const auto& s = c.at<snap_setting>(table_id::settings)[i];
        if (!c.str(s.key) || !c.str(s.value)) {
            return view_status::bad_string;
        }
    }
    for (std::uint32_t i = 0; i < c.count(table_id::clusters); ++i) {
        const auto& cl = c.at<snap_cluster>(table_id::clusters)[i];
        if (!c.str(cl.name) || !c.str(cl.hash_header) || !c.str(cl.health_path)) {
            return view_status::bad_string;
        }
        if (!c.range(cl.endpoints, table_id::endpoints)) {
            return view_status::bad_range;
        }
    }
    for (std::uint32_t i = 0; i < c.count(table_id::rate_limits); ++i) {
        const auto& l = c.at<snap_rate_limit>(table_id::rate_limits)[i];
        if (!c.str(l.name) || !c.str(l.key_header)) {
            return view_status::bad_string;
        }
    }
    for (std::uint32_t i = 0; i < c.count(table_id::routes); ++i) {
        const auto& r = c.at<snap_route>(table_id::routes)[i];
        if (!c.str(r.name) || !c.str(r.host) || !c.str(r.path) || !c.str(r.method) ||
            !c.str(r.prefix_rewrite)) {
            return view_status::bad_string;
        }
        if (!c.range(r.headers, table_id::header_matchers) || !c.range(r.cidrs, table_id::cidrs) ||
            !c.range(r.clusters, table_id::weighted_clusters) ||
            !c.range(r.filters, table_id::filters) ||
            (r.listener != no_index && r.listener >= c.count(table_id::listeners))) {
            return view_status::bad_range;
        }
    }
    return view_status::ok;
}

}  // namespace

std::string_view to_string(view_status s) noexcept {
    switch (s) {
        case view_status::ok:
            return "ok";
        case view_status::too_small:
            return "snapshot smaller than its header";
        case view_status::bad_magic:
            return "bad snapshot magic";
        case view_status::bad_version:
            return "unsupported snapshot format version";
        case view_status::bad_size:
            return "snapshot size disagrees with its header";
        case view_status::bad_table:
            return "table outside the snapshot or misaligned";
        case view_status::bad_range:
            return "range or index outside its table";
        case view_status::bad_string:
            return "string reference outside the string pool";
    }
    return "?";
}

view_status snapshot_view::open(std::span<const std::byte> bytes, snapshot_view& out) noexcept {
    if (bytes.size() < sizeof(snapshot_header)) {
        return view_status::too_small;
    }
    if (reinterpret_cast<std::uintptr_t>(bytes.data()) % alignof(snapshot_header) != 0) {
        return view_status::bad_table;  // shm slots are page-aligned; a copy must be 8-aligned
    }
    const auto& h = *reinterpret_cast<const snapshot_header*>(bytes.data());
    if (h.magic != snapshot_magic) {
        return view_status::bad_magic;
    }
    if (h.format_version != snapshot_format_version || h.table_count != table_slots) {
        return view_status::bad_version;
    }
    if (h.total_size > bytes.size() || h.total_size < sizeof(snapshot_header)) {
        return view_status::bad_size;
    }
    for (const auto& l : layouts) {
        const table_ref& t = h.tables[static_cast<std::uint32_t>(l.id)];
        std::uint64_t end = std::uint64_t{t.offset} + std::uint64_t{t.count} * l.elem;
        if (t.offset < sizeof(snapshot_header) || t.offset % 8 != 0 || end > h.total_size) {
            return view_status::bad_table;
        }
    }
    if (auto s = check_refs(checker(bytes.data(), h)); s != view_status::ok) {
        return s;
    }
    out.base_ = bytes.data();
    return view_status::ok;
}

const snap_rate_limit* snapshot_view::find_rate_limit(std::uint64_t identity) const noexcept {
    for (const auto& l : rate_limits()) {
        if (l.identity == identity) {
            return &l;
        }
    }
    return nullptr;
}

const snap_cluster* snapshot_view::find_cluster(std::string_view name) const noexcept {
    for (const auto& c : clusters()) {
        if (str(c.name) == name) {
            return &c;
        }
    }
    return nullptr;
}

}  // namespace sluice::cp::model
