// Round trip YAML → model → snapshot → view, defaults, rate-limit identity across snapshots,
// and the view's refusal of corrupted snapshots.
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "ctrlplane/model/encode.hh"
#include "ctrlplane/model/filters.hh"
#include "ctrlplane/model/loader.hh"
#include "ctrlplane/model/snapshot_view.hh"
#include "ctrlplane/shm/config_reader.hh"
#include "ctrlplane/shm/config_writer.hh"
#include "tests/ctrlplane/shm_fixture.hh"

namespace sluice::cp::model {
namespace {

config load_file(const char* name) {
    auto r = load_config_file(std::string(SLUICE_CONFIG_DIR) + "/" + name);
    EXPECT_TRUE(r.ok()) << format_all(r.errors);
    return r.ok() ? *r.cfg : config{};
}

std::vector<std::byte> encoded(const config& c) {
    auto e = encode(c);
    EXPECT_TRUE(e) << e.message();
    return e ? e.value() : std::vector<std::byte>{};
}

std::string addr_text(const snap_addr& a) {
    char buf[INET6_ADDRSTRLEN] = {};
    ::inet_ntop(a.family == 6 ? AF_INET6 : AF_INET, a.bytes, buf, sizeof buf);
    return buf;
}

// Compares everything the view exposes with the model it came from.
void expect_same_filters(const snapshot_view& v, std::span<const snap_filter> fs,
                         const std::vector<filter>& m) {
    ASSERT_EQ(fs.size(), m.size());
    for (std::size_t f = 0; f < fs.size(); ++f) {
        EXPECT_EQ(v.str(fs[f].name), m[f].name);
        ASSERT_NE(find_filter(m[f].name), nullptr);
        EXPECT_EQ(fs[f].kind, static_cast<std::uint16_t>(find_filter(m[f].name)->kind));
        auto st = v.settings(fs[f]);
        ASSERT_EQ(st.size(), m[f].settings.size());
        for (std::size_t k = 0; k < st.size(); ++k) {
            EXPECT_EQ(v.str(st[k].key), m[f].settings[k].first);
            EXPECT_EQ(v.str(st[k].value), m[f].settings[k].second);
        }
    }
}

void expect_same(const config& c, const snapshot_view& v) {
    ASSERT_EQ(v.listeners().size(), c.listeners.size());
    for (std::size_t i = 0; i < c.listeners.size(); ++i) {
        const auto& s = v.listeners()[i];
        const auto& m = c.listeners[i];
        EXPECT_EQ(v.str(s.name), m.name);
        EXPECT_EQ(addr_text(s.addr), m.address);
        EXPECT_EQ(s.port, m.port);
        EXPECT_EQ(s.protocol, static_cast<std::uint8_t>(m.proto));
        EXPECT_EQ(s.max_request_line, m.limits.max_request_line);
        EXPECT_EQ(s.max_header_bytes, m.limits.max_header_bytes);
        EXPECT_EQ(s.max_headers, m.limits.max_headers);
        EXPECT_EQ(s.max_frame_payload, m.limits.max_frame_payload);
        expect_same_filters(v, v.filters(s), m.filters);
    }
    ASSERT_EQ(v.clusters().size(), c.clusters.size());
    for (std::size_t i = 0; i < c.clusters.size(); ++i) {
        const auto& s = v.clusters()[i];
        const auto& m = c.clusters[i];
        EXPECT_EQ(v.str(s.name), m.name);
        EXPECT_EQ(s.lb, static_cast<std::uint8_t>(m.lb));
        EXPECT_EQ(s.hash_key, static_cast<std::uint8_t>(m.key));
        EXPECT_EQ(v.str(s.hash_header), m.hash_header);
        auto eps = v.endpoints(s);
        ASSERT_EQ(eps.size(), m.endpoints.size());
        std::uint32_t total = 0;
        for (std::size_t e = 0; e < eps.size(); ++e) {
            EXPECT_EQ(addr_text(eps[e].addr), m.endpoints[e].address);
            EXPECT_EQ(eps[e].port, m.endpoints[e].port);
            EXPECT_EQ(eps[e].weight, m.endpoints[e].weight);
            total += m.endpoints[e].weight;
        }
        EXPECT_EQ(s.total_weight, total);
        EXPECT_EQ(s.connect_timeout_ms, m.connect_timeout_ms);
        EXPECT_EQ(s.idle_timeout_ms, m.idle_timeout_ms);
        EXPECT_EQ(s.request_timeout_ms, m.request_timeout_ms);
        EXPECT_EQ(s.stream_idle_ms, m.stream_idle_ms);
        EXPECT_EQ(s.max_connections_per_endpoint, m.pool.max_connections_per_endpoint);
        EXPECT_EQ(s.max_idle_per_endpoint, m.pool.max_idle_per_endpoint);
        EXPECT_EQ(s.health_enabled != 0, m.health.enabled);
        EXPECT_EQ(v.str(s.health_path), m.health.path);
        EXPECT_EQ(s.health_interval_ms, m.health.interval_ms);
        EXPECT_EQ(s.health_timeout_ms, m.health.timeout_ms);
        EXPECT_EQ(s.healthy_threshold, m.health.healthy_threshold);
        EXPECT_EQ(s.unhealthy_threshold, m.health.unhealthy_threshold);
        EXPECT_EQ(s.cb_max_connections, m.breakers.max_connections);
        EXPECT_EQ(s.cb_max_pending_requests, m.breakers.max_pending_requests);
        EXPECT_EQ(s.cb_max_requests, m.breakers.max_requests);
        EXPECT_EQ(s.cb_max_retries, m.breakers.max_retries);
        EXPECT_EQ(s.od_consecutive_failures, m.outlier.consecutive_failures);
        EXPECT_EQ(s.od_base_ejection_ms, m.outlier.base_ejection_ms);
        EXPECT_EQ(s.od_max_ejection_ms, m.outlier.max_ejection_ms);
        EXPECT_EQ(s.od_successes_to_close, m.outlier.successes_to_close);
        EXPECT_EQ(s.od_max_ejection_percent, m.outlier.max_ejection_percent);
    }
    ASSERT_EQ(v.rate_limits().size(), c.rate_limits.size());
    for (std::size_t i = 0; i < c.rate_limits.size(); ++i) {
        const auto& s = v.rate_limits()[i];
        const auto& m = c.rate_limits[i];
        EXPECT_EQ(v.str(s.name), m.name);
        EXPECT_EQ(s.identity, rate_limit_identity(m));
        EXPECT_EQ(s.rate_milli, static_cast<std::uint64_t>(m.rate * 1000));
        EXPECT_EQ(s.burst, m.burst);
        EXPECT_EQ(s.key, static_cast<std::uint8_t>(m.key));
        EXPECT_EQ(v.str(s.key_header), m.key_header);
        EXPECT_EQ(s.mode, static_cast<std::uint8_t>(m.mode));
    }
    ASSERT_EQ(v.routes().size(), c.routes.size());
    for (std::size_t i = 0; i < c.routes.size(); ++i) {
        const auto& s = v.routes()[i];
        const auto& m = c.routes[i];
        EXPECT_EQ(v.str(s.name), m.name);
        EXPECT_EQ(s.host_kind, static_cast<std::uint8_t>(m.match.host_kind));
        EXPECT_EQ(v.str(s.host), m.match.host);
        EXPECT_EQ(s.path_kind, static_cast<std::uint8_t>(m.match.path_kind));
        EXPECT_EQ(v.str(s.path), m.match.path);
        EXPECT_EQ(v.str(s.method), m.match.method);
        auto hs = v.headers(s);
        ASSERT_EQ(hs.size(), m.match.headers.size());
        for (std::size_t h = 0; h < hs.size(); ++h) {
            EXPECT_EQ(v.str(hs[h].name), m.match.headers[h].name);
            EXPECT_EQ(v.str(hs[h].value), m.match.headers[h].value);
            EXPECT_EQ(hs[h].op, static_cast<std::uint8_t>(m.match.headers[h].op));
        }
        auto cs = v.cidrs(s);
        ASSERT_EQ(cs.size(), m.match.client_cidrs.size());
        for (std::size_t k = 0; k < cs.size(); ++k) {
            EXPECT_EQ(addr_text(cs[k]) + "/" + std::to_string(cs[k].prefix_len),
                      m.match.client_cidrs[k]);
        }
        auto wc = v.clusters(s);
        ASSERT_EQ(wc.size(), m.action.clusters.size());
        for (std::size_t w = 0; w < wc.size(); ++w) {
            EXPECT_EQ(v.str(v.clusters()[wc[w].cluster].name), m.action.clusters[w].cluster);
            EXPECT_EQ(wc[w].weight, m.action.clusters[w].weight);
        }
        EXPECT_EQ(s.weighted != 0, m.action.weighted);
        EXPECT_EQ(v.str(s.prefix_rewrite), m.action.prefix_rewrite);
        EXPECT_EQ(s.timeout_ms, m.action.timeout_ms);
        EXPECT_EQ(s.stream_idle_ms, m.action.stream_idle_ms);
        EXPECT_EQ(s.retry_attempts, m.action.retry.attempts);
        EXPECT_EQ(s.retry_on, m.action.retry.on);
        EXPECT_EQ(s.per_try_timeout_ms, m.action.retry.per_try_timeout_ms);
        expect_same_filters(v, v.filters(s), m.action.filters);
        if (m.match.listener.empty()) {
            EXPECT_EQ(s.listener, no_index);
        } else {
            ASSERT_LT(s.listener, v.listeners().size());
            EXPECT_EQ(v.str(v.listeners()[s.listener].name), m.match.listener);
        }
        EXPECT_EQ(s.command,
                  m.match.command < 0 ? no_command : static_cast<std::uint16_t>(m.match.command));
    }
}

TEST(snapshot_round_trip, full_config_reads_back_identically) {
    config c = load_file("full.yaml");
    auto bytes = encoded(c);
    snapshot_view v;
    ASSERT_EQ(snapshot_view::open(bytes, v), view_status::ok);
    expect_same(c, v);

    // Spot checks against the YAML text itself, so a loader bug cannot cancel out.
    EXPECT_EQ(v.str(v.routes()[0].host), ".example.com");
    EXPECT_EQ(v.routes()[0].host_kind, static_cast<std::uint8_t>(host_match::suffix));
    EXPECT_EQ(v.str(v.headers(v.routes()[0])[0].name), "x-env");  // lower-cased
    EXPECT_EQ(v.routes()[0].retry_on, retry_5xx | retry_connect_failure);
    EXPECT_EQ(v.routes()[0].total_weight, 100u);
    EXPECT_EQ(v.clusters()[0].idle_timeout_ms, 600'000u);
    EXPECT_EQ(v.clusters()[0].stream_idle_ms, 60'000u);
    EXPECT_EQ(v.routes()[0].stream_idle_ms, 30'000u);
    EXPECT_EQ(v.routes()[1].stream_idle_ms, 0u);  // inherits the cluster's
    EXPECT_EQ(v.rate_limits()[1].rate_milli, 500u);
    EXPECT_EQ(v.rate_limits()[1].burst, 1u);  // default max(1, ceil(rate))
    const auto& rl = v.filters(v.routes()[0])[0];
    EXPECT_EQ(rl.kind, static_cast<std::uint16_t>(filter_kind::rate_limit));
    ASSERT_NE(rl.rate_limit, no_index);
    EXPECT_EQ(v.str(v.rate_limits()[rl.rate_limit].name), "per_client");
    EXPECT_EQ(v.filters(v.routes()[0])[1].rate_limit, no_index);
    ASSERT_NE(v.find_cluster("static"), nullptr);
    EXPECT_EQ(v.find_cluster("nope"), nullptr);

    // Listener limits and filters, route listener and command (format version 2).
    const auto& web = v.listeners()[0];
    EXPECT_EQ(web.max_request_line, 4096u);
    EXPECT_EQ(web.max_headers, 64u);
    EXPECT_EQ(web.max_frame_payload, 1u << 20);  // default: not a binary listener
    ASSERT_EQ(v.filters(web).size(), 2u);
    EXPECT_EQ(v.filters(web)[0].kind, static_cast<std::uint16_t>(filter_kind::trace));
    EXPECT_EQ(v.filters(web)[1].kind, static_cast<std::uint16_t>(filter_kind::accesslog));
    EXPECT_EQ(v.listeners()[1].max_frame_payload, 4u << 20);
    EXPECT_EQ(v.listeners()[1].max_request_line, 8192u);  // default
    EXPECT_EQ(v.filters(v.listeners()[1])[0].kind, static_cast<std::uint16_t>(filter_kind::auth));
    EXPECT_TRUE(v.filters(v.listeners()[2]).empty());
    EXPECT_EQ(v.routes()[0].listener, no_index);
    EXPECT_EQ(v.routes()[0].command, no_command);
    EXPECT_EQ(v.str(v.routes()[1].name), "frames");
    EXPECT_EQ(v.routes()[1].listener, 1u);
    EXPECT_EQ(v.routes()[1].command, 7u);
    EXPECT_EQ(v.routes()[2].listener, 2u);
    EXPECT_EQ(v.filters(v.routes()[0])[3].kind, static_cast<std::uint16_t>(filter_kind::headers));
}

TEST(snapshot_round_trip, defaults_match_the_documented_values) {
    config c = load_file("minimal.yaml");
    auto bytes = encoded(c);
    snapshot_view v;
    ASSERT_EQ(snapshot_view::open(bytes, v), view_status::ok);
    expect_same(c, v);
    const auto& cl = v.clusters()[0];
    EXPECT_EQ(cl.lb, static_cast<std::uint8_t>(lb_policy::round_robin));
    EXPECT_EQ(cl.connect_timeout_ms, 5'000u);
    EXPECT_EQ(cl.idle_timeout_ms, 3'600'000u);
    EXPECT_EQ(cl.request_timeout_ms, 15'000u);
    EXPECT_EQ(cl.stream_idle_ms, 300'000u);  // Envoy's stream_idle_timeout
    EXPECT_EQ(cl.cb_max_connections, 1024u);
    EXPECT_EQ(cl.cb_max_pending_requests, 1024u);
    EXPECT_EQ(cl.cb_max_requests, 1024u);
    EXPECT_EQ(cl.cb_max_retries, 3u);
    EXPECT_EQ(cl.od_consecutive_failures, 5u);
    EXPECT_EQ(cl.od_base_ejection_ms, 30'000u);
    EXPECT_EQ(cl.od_max_ejection_ms, 300'000u);
    EXPECT_EQ(cl.od_successes_to_close, 3u);
    EXPECT_EQ(cl.od_max_ejection_percent, 10u);
    EXPECT_EQ(cl.health_enabled, 0);
    EXPECT_EQ(v.listeners()[0].protocol, static_cast<std::uint8_t>(protocol::http));
    EXPECT_EQ(v.listeners()[0].max_request_line, 8192u);
    EXPECT_EQ(v.listeners()[0].max_header_bytes, 65536u);
    EXPECT_EQ(v.listeners()[0].max_headers, 100u);
    EXPECT_EQ(v.listeners()[0].max_frame_payload, 1u << 20);
    EXPECT_EQ(v.routes()[0].listener, no_index);
    EXPECT_EQ(v.routes()[0].command, no_command);
    EXPECT_EQ(v.routes()[0].path_kind, static_cast<std::uint8_t>(path_match::any));
}

TEST(snapshot_round_trip, through_shared_memory) {
    shm::test::instance_guard g(1 << 20);
    config c = load_file("full.yaml");
    auto bytes = encoded(c);
    auto w = shm::config_writer::open(g.opts());
    ASSERT_TRUE(w) << w.message();
    ASSERT_TRUE(w->publish(bytes, shm::test::mono_ns()));
    auto r = shm::config_reader::attach(g.opts());
    ASSERT_TRUE(r);
    shm::config_cursor cur(r.value());
    ASSERT_TRUE(cur.refresh());
    snapshot_view v;
    ASSERT_EQ(snapshot_view::open(cur.snapshot(), v), view_status::ok);
    expect_same(c, v);
}

TEST(rate_limit_identity, unchanged_limit_keeps_its_identity_across_snapshots) {
    config a = load_file("full.yaml");
    config b = a;
    b.routes.erase(b.routes.begin());  // unrelated changes...
    b.clusters[0].endpoints[0].weight = 9;
    std::swap(b.rate_limits[0], b.rate_limits[1]);  // ...and a different position
    snapshot_view va, vb;
    auto ba = encoded(a), bb = encoded(b);
    ASSERT_EQ(snapshot_view::open(ba, va), view_status::ok);
    ASSERT_EQ(snapshot_view::open(bb, vb), view_status::ok);
    for (const auto& l : va.rate_limits()) {
        const snap_rate_limit* same = vb.find_rate_limit(l.identity);
        ASSERT_NE(same, nullptr) << va.str(l.name);
        EXPECT_EQ(vb.str(same->name), va.str(l.name));
    }
    config c = a;
    c.rate_limits[0].rate = 101;  // a changed limit gets a new identity: fresh buckets
    EXPECT_NE(rate_limit_identity(c.rate_limits[0]), rate_limit_identity(a.rate_limits[0]));
    c = a;
    c.rate_limits[0].mode = limit_mode::shadow;
    EXPECT_NE(rate_limit_identity(c.rate_limits[0]), rate_limit_identity(a.rate_limits[0]));
    c = a;
    c.rate_limits[0].name = "renamed";
    EXPECT_NE(rate_limit_identity(c.rate_limits[0]), rate_limit_identity(a.rate_limits[0]));
    EXPECT_NE(rate_limit_identity(a.rate_limits[0]), 0u);
}

TEST(snapshot_view_checks, corrupted_snapshots_are_refused) {
    config c = load_file("full.yaml");
    const auto good = encoded(c);
    snapshot_view v;
    auto hdr = [](std::vector<std::byte>& b) {
        return reinterpret_cast<snapshot_header*>(b.data());
    };

    auto b = good;
    EXPECT_EQ(snapshot_view::open(std::span(b).first(64), v), view_status::too_small);
    EXPECT_EQ(snapshot_view::open(std::span(b).first(b.size() - 1), v), view_status::bad_size);
    hdr(b)->magic ^= 1;
    EXPECT_EQ(snapshot_view::open(b, v), view_status::bad_magic);
    b = good;
    hdr(b)->format_version = snapshot_format_version + 1;
    EXPECT_EQ(snapshot_view::open(b, v), view_status::bad_version);
    b = good;
    hdr(b)->tables[static_cast<int>(table_id::routes)].count = 1'000'000;
    EXPECT_EQ(snapshot_view::open(b, v), view_status::bad_table);
    b = good;
    hdr(b)->tables[static_cast<int>(table_id::routes)].offset += 4;
    EXPECT_EQ(snapshot_view::open(b, v), view_status::bad_table);

    auto route0 = [&](std::vector<std::byte>& x) {
        return reinterpret_cast<snap_route*>(
            x.data() + hdr(x)->tables[static_cast<int>(table_id::routes)].offset);
    };
    b = good;
    route0(b)->name.len = 1'000'000;
    EXPECT_EQ(snapshot_view::open(b, v), view_status::bad_string);
    b = good;
    route0(b)->filters.count = 1'000;
    EXPECT_EQ(snapshot_view::open(b, v), view_status::bad_range);
    b = good;
    auto* wc = reinterpret_cast<snap_weighted_cluster*>(
        b.data() + hdr(b)->tables[static_cast<int>(table_id::weighted_clusters)].offset);
    wc->cluster = 99;
    EXPECT_EQ(snapshot_view::open(b, v), view_status::bad_range);
    b = good;
    route0(b)->listener = 3;  // three listeners: 0..2
    EXPECT_EQ(snapshot_view::open(b, v), view_status::bad_range);
    b = good;
    reinterpret_cast<snap_listener*>(b.data() +
                                     hdr(b)->tables[static_cast<int>(table_id::listeners)].offset)
        ->filters.count = 1'000;
    EXPECT_EQ(snapshot_view::open(b, v), view_status::bad_range);
    EXPECT_FALSE(v.valid());  // never opened on failure
    EXPECT_EQ(snapshot_view::open(good, v), view_status::ok);
    EXPECT_TRUE(v.valid());
}

TEST(encode, refuses_unvalidated_references) {
    config c = load_file("minimal.yaml");
    c.routes[0].action.clusters[0].cluster = "ghost";
    auto e = encode(c);
    ASSERT_FALSE(e);
    EXPECT_EQ(e.message(), "route 'all': unknown cluster 'ghost'");
}

}  // namespace
}  // namespace sluice::cp::model
