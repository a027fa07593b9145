// route_table: a case table of conditions and precedence, the index against the linear
// first-match reference on random configs, build errors, and the scale configs of the benchmark.
#include "dataplane/cfg/route_table.hh"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <random>

#include "tests/cfg/cfg_fixture.hh"

namespace sluice::dp::cfg {
namespace {

using namespace test;
namespace model = cp::model;

model::route_match host(std::string h) {
    model::route_match m;
    if (h.starts_with("*.")) {
        m.host_kind = model::host_match::suffix;
        m.host = h.substr(1);
    } else {
        m.host_kind = model::host_match::exact;
        m.host = std::move(h);
    }
    return m;
}
model::route_match path(model::path_match k, std::string p, model::route_match m = {}) {
    m.path_kind = k;
    m.path = std::move(p);
    return m;
}

// The case table's routes, in order (first match wins).
model::config case_config() {
    model::config c = base_config();
    using pm = model::path_match;
    c.routes.push_back(make_route("exact_login", path(pm::exact, "/login")));
    c.routes.push_back(
        make_route("api_host_v2", path(pm::prefix, "/v2/", host("api.example.com"))));
    c.routes.push_back(make_route("wild_v2", path(pm::prefix, "/v2/", host("*.example.com"))));
    auto post = path(pm::prefix, "/orders");
    post.method = "POST";
    c.routes.push_back(make_route("orders_post", post));
    auto hdr = path(pm::prefix, "/orders");
    hdr.headers.push_back({"x-env", model::header_op::exact, "canary"});
    hdr.headers.push_back({"x-user", model::header_op::prefix, "vip-"});
    c.routes.push_back(make_route("orders_canary_vip", hdr));
    auto present = path(pm::prefix, "/orders");
    present.headers.push_back({"x-debug", model::header_op::present, ""});
    c.routes.push_back(make_route("orders_debug", present));
    auto hre = path(pm::prefix, "/orders");
    hre.headers.push_back({"x-id", model::header_op::regex, "^[0-9]+$"});
    c.routes.push_back(make_route("orders_numeric_id", hre));
    c.routes.push_back(make_route("orders_any", path(pm::prefix, "/orders")));
    c.routes.push_back(make_route("assets_regex", path(pm::regex, "^/assets/.*\\.(css|js)$")));
    auto v4 = path(pm::prefix, "/internal/");
    v4.client_cidrs = {"10.0.0.0/8", "2001:db8::/32"};
    c.routes.push_back(make_route("internal_cidr", v4));
    auto on_raw = model::route_match{};
    on_raw.listener = "raw";
    on_raw.command = 7;
    c.routes.push_back(make_route("raw_cmd7", on_raw));
    auto any_cmd = model::route_match{};
    any_cmd.command = 9;
    c.routes.push_back(make_route("cmd9_any_listener", any_cmd));
    auto pg = model::route_match{};
    pg.listener = "pg";
    c.routes.push_back(make_route("pg_tcp", pg));
    c.routes.push_back(make_route("short_prefix", path(pm::prefix, "/s")));
    c.routes.push_back(make_route("longer_prefix_never", path(pm::prefix, "/static/")));
    auto web_only = path(pm::prefix, "/");
    web_only.listener = "web";
    c.routes.push_back(make_route("web_fallback", web_only));
    c.routes.push_back(make_route("catch_all"));
    return c;
}

struct route_case {
    const char* name;
    request req;
    const char* want;  // route name, or nullptr for no_route
};

request http(std::string h, std::string p, std::string method = "GET",
             std::vector<std::pair<std::string, std::string>> hdrs = {}) {
    request r;
    r.host = std::move(h);
    r.path = std::move(p);
    r.method = std::move(method);
    r.headers = std::move(hdrs);
    return r;
}
request from(request r, const char* addr) {
    if (::inet_pton(AF_INET, addr, r.addr) == 1) {
        r.family = 4;
    } else if (::inet_pton(AF_INET6, addr, r.addr) == 1) {
        r.family = 6;
    }
    return r;
}
request frame(std::uint32_t listener, std::int32_t cmd) {
    request r;
    r.listener = listener;
    r.method.clear();
    r.command = cmd;
    return r;
}
request on(std::uint32_t listener, request r) {
    r.listener = listener;
    return r;
}

const route_case cases[] = {
    {"exact_path", http("x.org", "/login"), "exact_login"},
    {"exact_path_is_not_a_prefix", http("x.org", "/login/more"), "web_fallback"},
    {"exact_host_before_wildcard", http("api.example.com", "/v2/users"), "api_host_v2"},
    {"host_is_case_insensitive_and_port_stripped", http("API.Example.COM:8443", "/v2/x"),
     "api_host_v2"},
    {"host_trailing_dot", http("api.example.com.", "/v2/x"), "api_host_v2"},
    {"wildcard_matches_a_subdomain", http("www.example.com", "/v2/x"), "wild_v2"},
    {"wildcard_matches_deeper_subdomains", http("a.b.example.com", "/v2/x"), "wild_v2"},
    {"upper_case_host_of_every_length_lowered", http("ZZ.AB-Q.Y.EXAMPLE.COM", "/v2/x"), "wild_v2"},
    {"non_ascii_host_bytes_are_not_lowered", http("\xc3\x80.example.com", "/v2/x"), "wild_v2"},
    {"non_ascii_host_never_equals_an_ascii_one", http("api.example.co\xcd", "/v2/x"),
     "web_fallback"},
    {"wildcard_does_not_match_the_bare_domain", http("example.com", "/v2/x"), "web_fallback"},
    {"wildcard_needs_a_dot_boundary", http("badexample.com", "/v2/x"), "web_fallback"},
    {"method_condition", http("x", "/orders/1", "POST"), "orders_post"},
    {"method_is_case_sensitive", http("x", "/orders/1", "post"), "orders_any"},
    {"all_headers_must_match",
     http("x", "/orders", "GET", {{"x-env", "canary"}, {"x-user", "vip-7"}}), "orders_canary_vip"},
    {"one_header_missing", http("x", "/orders", "GET", {{"x-env", "canary"}}), "orders_any"},
    {"header_prefix_mismatch",
     http("x", "/orders", "GET", {{"x-env", "canary"}, {"x-user", "basic-7"}}), "orders_any"},
    {"header_present_with_empty_value", http("x", "/orders", "GET", {{"x-debug", ""}}),
     "orders_debug"},
    {"header_regex", http("x", "/orders", "GET", {{"x-id", "12345"}}), "orders_numeric_id"},
    {"header_regex_mismatch", http("x", "/orders", "GET", {{"x-id", "12a45"}}), "orders_any"},
    {"path_regex", http("x", "/assets/site.css"), "assets_regex"},
    {"path_regex_anchored", http("x", "/assets/site.css.map"), "web_fallback"},
    {"cidr_v4_inside", from(http("x", "/internal/a"), "10.1.2.3"), "internal_cidr"},
    {"cidr_v4_outside", from(http("x", "/internal/a"), "11.1.2.3"), "web_fallback"},
    {"cidr_v6_inside", from(http("x", "/internal/a"), "2001:db8::5"), "internal_cidr"},
    {"cidr_v6_outside", from(http("x", "/internal/a"), "2001:db9::5"), "web_fallback"},
    {"cidr_without_client_address", http("x", "/internal/a"), "web_fallback"},
    {"binary_command_on_its_listener", frame(1, 7), "raw_cmd7"},
    {"binary_command_other_listener", frame(0, 7), "catch_all"},
    {"binary_command_any_listener", frame(1, 9), "cmd9_any_listener"},
    {"binary_unknown_command_takes_catch_all", frame(1, 8), "catch_all"},
    {"http_never_matches_a_command_route", on(1, http("x", "/nothing")), "catch_all"},
    {"tcp_listener_route", on(2, request{}), "pg_tcp"},
    {"first_match_wins_over_longer_prefix", http("x", "/static/app.js"), "short_prefix"},
    {"listener_condition", on(1, http("x", "/zzz")), "catch_all"},
};

class route_table_cases : public ::testing::TestWithParam<route_case> {};

TEST_P(route_table_cases, first_matching_route_wins) {
    static const snapshot snap = encode_or_die(case_config());
    static const route_table table = [] {
        auto t = route_table::build(snap.view);
        EXPECT_TRUE(t) << t.message();
        return std::move(t.value());
    }();
    const route_case& c = GetParam();
    request_key k = c.req.key();
    std::uint32_t got = table.match(k);
    std::string got_name =
        got == no_route ? "(none)" : std::string(snap.view.str(snap.view.routes()[got].name));
    EXPECT_EQ(got_name, c.want ? c.want : "(none)");
    EXPECT_EQ(got, table.match_linear(k));
}

INSTANTIATE_TEST_SUITE_P(cases, route_table_cases, ::testing::ValuesIn(cases),
                         [](const auto& p) { return std::string(p.param.name); });

TEST(route_table, empty_table_matches_nothing) {
    auto snap = encode_or_die(base_config());
    auto t = route_table::build(snap.view);
    ASSERT_TRUE(t);
    EXPECT_EQ(t->size(), 0u);
    EXPECT_EQ(t->match(http("x", "/").key()), no_route);
    route_table def;
    EXPECT_EQ(def.match(http("x", "/").key()), no_route);
}

TEST(route_table, regex_that_re2_rejects_fails_the_build_with_the_route_name) {
    model::config c = base_config();
    c.routes.push_back(make_route("backref", path(model::path_match::regex, "^/(a)\\1$")));
    auto snap = encode_or_die(c);
    auto t = route_table::build(snap.view);
    ASSERT_FALSE(t);
    EXPECT_NE(t.message().find("route 'backref': path regex '^/(a)\\1$' does not compile with RE2"),
              std::string::npos)
        << t.message();
}

TEST(route_table, owns_its_data_after_the_snapshot_is_gone) {
    route_table t;
    {
        auto snap = encode_or_die(case_config());
        auto b = route_table::build(snap.view);
        ASSERT_TRUE(b);
        t = std::move(b.value());
        std::fill(snap.bytes.begin(), snap.bytes.end(), std::byte{0xAA});
    }
    EXPECT_EQ(t.match(http("api.example.com", "/v2/x").key()), 1u);
}

// Random configs over a small vocabulary so conditions collide often; the index must agree with
// the linear scan on every request.
TEST(route_table, index_agrees_with_linear_first_match_on_random_configs) {
    std::mt19937_64 rng(42);
    auto pick = [&](auto const& v) { return v[rng() % v.size()]; };
    const std::vector<std::string> hosts = {"a.com", "b.a.com", "x.b.a.com", "c.org", "A.com"};
    const std::vector<std::string> paths = {"/", "/a", "/a/", "/a/b", "/a/bc", "/ab", "/b/c/d", ""};
    const std::vector<std::string> methods = {"GET", "POST", ""};
    for (int round = 0; round < 40; ++round) {
        model::config c = base_config();
        int n = 1 + static_cast<int>(rng() % 60);
        for (int i = 0; i < n; ++i) {
            model::route_match m;
            switch (rng() % 3) {
                case 0:
                    break;
                case 1:
                    m = host(pick(std::vector<std::string>{"a.com", "b.a.com", "c.org"}));
                    break;
                default:
                    m = host(pick(std::vector<std::string>{"*.a.com", "*.b.a.com", "*.org"}));
            }
            switch (rng() % 4) {
                case 0:
                    break;
                case 1:
                    m.path_kind = model::path_match::exact;
                    m.path = pick(paths);
                    break;
                case 2:
                    m.path_kind = model::path_match::prefix;
                    m.path = pick(paths);
                    break;
                default:
                    m.path_kind = model::path_match::regex;
                    m.path = pick(std::vector<std::string>{"^/a", "b$", "/a/b?c?$"});
            }
            if (m.path_kind != model::path_match::any && m.path_kind != model::path_match::regex &&
                m.path.empty()) {
                m.path = "/";
            }
            m.method = rng() % 3 == 0 ? pick(methods) : "";
            if (rng() % 5 == 0) {
                m.headers.push_back({"x-h", model::header_op::exact, "1"});
            }
            if (rng() % 6 == 0) {
                m.client_cidrs.push_back(rng() % 2 ? "10.0.0.0/8" : "10.1.0.0/16");
            }
            if (rng() % 6 == 0) {
                m.listener = pick(std::vector<std::string>{"web", "raw"});
            }
            if (rng() % 8 == 0) {
                m.command = static_cast<std::int32_t>(rng() % 3);
            }
            c.routes.push_back(make_route("r" + std::to_string(i), m));
        }
        auto snap = encode_or_die(c);
        auto t = route_table::build(snap.view);
        ASSERT_TRUE(t) << t.message();
        for (int q = 0; q < 300; ++q) {
            request r =
                http(pick(hosts) + (rng() % 4 == 0 ? ":80" : ""), pick(paths), pick(methods));
            r.listener = static_cast<std::uint32_t>(rng() % 2);
            if (rng() % 2) {
                r.headers.push_back({"x-h", rng() % 2 ? "1" : "2"});
            }
            if (rng() % 2) {
                r = from(r, rng() % 2 ? "10.1.2.3" : "10.2.2.3");
            }
            if (rng() % 4 == 0) {
                r.command = static_cast<std::int32_t>(rng() % 3);
            }
            auto k = r.key();
            ASSERT_EQ(t->match(k), t->match_linear(k))
                << "round " << round << " host " << r.host << " path " << r.path;
        }
    }
}

TEST(route_table, scale_configs_route_every_request_to_its_own_route) {
    for (auto kind : {scale_kind::exact_path, scale_kind::prefix_path, scale_kind::host_path}) {
        const std::size_t n = 5000;
        auto snap = encode_or_die(scaled_config(kind, n));
        auto t = route_table::build(snap.view);
        ASSERT_TRUE(t);
        ASSERT_EQ(t->size(), n);
        for (std::size_t i = 0; i < n; i += 7) {
            request r = scaled_request(kind, i);
            ASSERT_EQ(t->match(r.key()), i) << r.host << r.path;
        }
        request miss = http("api.example.com", "/nope/at/all");
        EXPECT_EQ(t->match(miss.key()), no_route);
    }
}

}  // namespace
}  // namespace sluice::dp::cfg
