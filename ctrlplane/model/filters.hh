// The filters a route may name, and the settings each accepts. The dataplane implements them
// (dataplane/filters/<name>/); validation here only checks names and settings so a typo is
// rejected before anything is applied. Adding a filter: append here and bump the snapshot format.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace sluice::cp::model {

enum class filter_kind : std::uint16_t { rate_limit, request_headers, response_headers, cors };

struct filter_spec {
    std::string_view name;
    filter_kind kind;
    bool any_keys;                         // settings are free-form (header name: value)
    std::array<std::string_view, 4> keys;  // allowed keys when !any_keys ("" = unused)
    std::string_view required;             // a key that must be present, or ""
};

inline constexpr std::array<filter_spec, 4> filter_registry{{
    {"rate_limit", filter_kind::rate_limit, false, {"limit", "", "", ""}, "limit"},
    {"request_headers", filter_kind::request_headers, true, {}, ""},
    {"response_headers", filter_kind::response_headers, true, {}, ""},
    {"cors",
     filter_kind::cors,
     false,
     {"allow_origin", "allow_methods", "allow_headers", "max_age"},
     "allow_origin"},
}};

[[nodiscard]] constexpr const filter_spec* find_filter(std::string_view name) noexcept {
    for (const auto& f : filter_registry) {
        if (f.name == name) {
            return &f;
        }
    }
    return nullptr;
}

}  // namespace sluice::cp::model
