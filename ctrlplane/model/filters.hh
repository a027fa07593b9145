// The filters a listener or route may name, and the settings each accepts. The dataplane
// implements them (dataplane/filters/<name>/); validation here checks names, setting keys and
// setting values (validate.cc) so a typo is rejected before anything is applied. Adding a filter:
// append here (never reorder: filter_kind values are stored in snapshots), add its value checks
// to validate.cc, document it in docs/config.md, and bump snapshot_format_version.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace sluice::cp::model {

enum class filter_kind : std::uint16_t {
    rate_limit,
    request_headers,
    response_headers,
    cors,
    trace,
    auth,
    headers,
    breaker,
    accesslog,
};

// The most keys a fixed-key filter accepts (headers: six).
inline constexpr std::size_t max_filter_keys = 6;

struct filter_spec {
    std::string_view name;
    filter_kind kind;
    bool any_keys;  // settings are free-form (header name: value)
    std::array<std::string_view, max_filter_keys>
        keys;                   // allowed keys when !any_keys ("" = unused)
    std::string_view required;  // a key that must be present, or ""
};

inline constexpr std::array<filter_spec, 9> filter_registry{{
    {"rate_limit", filter_kind::rate_limit, false, {"limit", "xdp_block", "max_delay"}, "limit"},
    {"request_headers", filter_kind::request_headers, true, {}, ""},
    {"response_headers", filter_kind::response_headers, true, {}, ""},
    {"cors",
     filter_kind::cors,
     false,
     {"allow_origin", "allow_methods", "allow_headers", "max_age"},
     "allow_origin"},
    {"trace", filter_kind::trace, false, {"sample_percent"}, ""},
    {"auth", filter_kind::auth, false, {"mode", "keys", "header", "secret", "max_skew"}, "mode"},
    {"headers",
     filter_kind::headers,
     false,
     {"request_set", "request_add", "request_remove", "response_set", "response_add",
      "response_remove"},
     ""},
    {"breaker", filter_kind::breaker, false, {}, ""},
    {"accesslog", filter_kind::accesslog, false, {}, ""},
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
