// Shared by tests/cfg and bench/cfg: configs built in code, encoded with the real control-plane
// encoder, opened with snapshot_view; requests with a small header list. Test/bench threads only.
#pragma once

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ctrlplane/model/config.hh"
#include "ctrlplane/model/encode.hh"
#include "ctrlplane/model/snapshot_view.hh"
#include "dataplane/cfg/route_table.hh"

namespace sluice::dp::cfg::test {

namespace model = cp::model;

// An encoded snapshot and a view of it (the bytes live as long as this object).
struct snapshot {
    std::vector<std::byte> bytes;
    model::snapshot_view view;
};

inline snapshot encode_or_die(const model::config& c) {
    snapshot s;
    auto e = model::encode(c);
    if (!e) {
        std::fprintf(stderr, "encode failed: %s\n", e.message().c_str());
        std::abort();
    }
    s.bytes = std::move(e.value());
    if (model::snapshot_view::open(s.bytes, s.view) != model::view_status::ok) {
        std::fprintf(stderr, "snapshot_view::open failed\n");
        std::abort();
    }
    return s;
}

// Listeners web (0, http), raw (1, binary), pg (2, tcp); one cluster "c".
inline model::config base_config() {
    model::config c;
    c.listeners.push_back({"web", "0.0.0.0", 80, model::protocol::http, {}, {}});
    c.listeners.push_back({"raw", "0.0.0.0", 81, model::protocol::binary, {}, {}});
    c.listeners.push_back({"pg", "0.0.0.0", 82, model::protocol::tcp, {}, {}});
    model::cluster cl;
    cl.name = "c";
    cl.endpoints.push_back({"10.0.0.1", 80, 1});
    c.clusters.push_back(cl);
    return c;
}

inline model::route make_route(std::string name, model::route_match m = {}) {
    model::route r;
    r.name = std::move(name);
    r.match = std::move(m);
    r.action.clusters.push_back({"c", 1});
    return r;
}

// A request and the storage its key points into.
struct request {
    std::uint32_t listener = 0;
    std::string host, path, method = "GET";
    std::vector<std::pair<std::string, std::string>> headers;  // names lower case
    std::uint8_t addr[16] = {};
    std::uint8_t family = 0;
    std::int32_t command = -1;

    static std::string_view lookup(const void* ctx, std::string_view name) noexcept {
        const auto* r = static_cast<const request*>(ctx);
        for (const auto& [k, v] : r->headers) {
            if (k == name) {
                return v;
            }
        }
        return {};
    }
    [[nodiscard]] request_key key() const {
        request_key k;
        k.listener = listener;
        k.host = host;
        k.path = path;
        k.method = method;
        k.hdr_ctx = this;
        k.header = &request::lookup;
        k.client_addr = family != 0 ? addr : nullptr;
        k.client_family = family;
        k.command = command;
        return k;
    }
};

// Routes named by a printf pattern over i, for the benchmark and the scale test.
enum class scale_kind { exact_path, prefix_path, host_path };

inline model::config scaled_config(scale_kind kind, std::size_t n) {
    model::config c = base_config();
    c.routes.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
        model::route_match m;
        switch (kind) {
            case scale_kind::exact_path:
                m.path_kind = model::path_match::exact;
                m.path = fmt::format("/api/v1/svc{}/items", i);
                break;
            case scale_kind::prefix_path:
                m.path_kind = model::path_match::prefix;
                m.path = fmt::format("/p/svc{}/", i);
                break;
            case scale_kind::host_path:
                m.host_kind = model::host_match::exact;
                m.host = fmt::format("h{}.example.com", i % 1000);
                m.path_kind = model::path_match::prefix;
                m.path = fmt::format("/svc{}/", i / 1000);
                break;
        }
        c.routes.push_back(make_route(fmt::format("r{}", i), std::move(m)));
    }
    return c;
}

// A request that matches route i of scaled_config(kind, n) (and no earlier one).
inline request scaled_request(scale_kind kind, std::size_t i) {
    request r;
    switch (kind) {
        case scale_kind::exact_path:
            r.host = "api.example.com";
            r.path = fmt::format("/api/v1/svc{}/items", i);
            break;
        case scale_kind::prefix_path:
            r.host = "api.example.com";
            r.path = fmt::format("/p/svc{}/items/42", i);
            break;
        case scale_kind::host_path:
            r.host = fmt::format("H{}.example.com:8080", i % 1000);
            r.path = fmt::format("/svc{}/orders/7", i / 1000);
            break;
    }
    return r;
}

}  // namespace sluice::dp::cfg::test
