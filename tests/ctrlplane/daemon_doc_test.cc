// Unit tests of the daemon's pure parts: YAML ↔ JSON, object edits, diffs, control-socket
// framing and the strict HTTP request-line parser. No sockets, no shared memory.
#include <gtest/gtest.h>

#include <string>

#include "ctrlplane/daemon/config_doc.hh"
#include "ctrlplane/daemon/net.hh"

namespace sluice::cp::daemon {
namespace {

using json = nlohmann::ordered_json;

const char* const base_yaml = R"(listeners:
  - { name: web, address: "::", port: 8080 }
clusters:
  - name: backend
    endpoints: [ { address: 127.0.0.1, port: 9000 } ]
routes:
  - name: all
    action: { cluster: backend }
)";

json base() { return yaml_to_json(base_yaml).value(); }

TEST(config_doc, yaml_to_json_keeps_types_and_quoted_strings) {
    auto j = yaml_to_json("a: 1\nb: 0.5\nc: true\nd: \"42\"\ne: 10.0.0.1\nf: 5s\n");
    ASSERT_TRUE(j.ok());
    EXPECT_EQ(j.value()["a"], 1);
    EXPECT_EQ(j.value()["b"], 0.5);
    EXPECT_EQ(j.value()["c"], true);
    EXPECT_EQ(j.value()["d"], "42");
    EXPECT_EQ(j.value()["e"], "10.0.0.1");
    EXPECT_EQ(j.value()["f"], "5s");
}

TEST(config_doc, json_to_yaml_round_trips_strings_that_look_like_other_types) {
    json j = {{"name", "true"}, {"port", 80}, {"v", "42"}, {"addr", "::"}, {"e", ""}};
    auto back = yaml_to_json(json_to_yaml(j));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(back.value(), j);
}

TEST(config_doc, unparseable_yaml_is_an_error_not_an_exception) {
    auto j = yaml_to_json("routes: [ {name: x\n");
    EXPECT_FALSE(j.ok());
    EXPECT_NE(j.message().find("not YAML"), std::string::npos);
}

TEST(config_doc, route_add_before_keeps_order_and_refuses_duplicates) {
    json req = {{"section", "routes"}, {"verb", "add"}, {"before", "all"},
                {"object", {{"name", "api"}, {"action", {{"cluster", "backend"}}}}}};
    auto r = apply_edit(base(), req);
    ASSERT_TRUE(r.ok()) << r.message();
    EXPECT_EQ(r.value()["routes"][0]["name"], "api");
    EXPECT_EQ(r.value()["routes"][1]["name"], "all");
    auto again = apply_edit(r.value(), req);
    ASSERT_FALSE(again.ok());
    EXPECT_NE(again.message().find("already exists"), std::string::npos);
    req["before"] = "nope";
    req["object"]["name"] = "x";
    EXPECT_FALSE(apply_edit(base(), req).ok());
}

TEST(config_doc, del_and_set_of_a_missing_object_name_it) {
    auto r = apply_edit(base(), {{"section", "clusters"}, {"verb", "del"}, {"name", "nope"}});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.message(), "no cluster named 'nope'");
    r = apply_edit(base(), {{"section", "rate_limits"}, {"verb", "set"}, {"name", "x"},
                            {"object", json::object()}});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.message(), "no rate limit named 'x'");
}

TEST(config_doc, endpoints_and_breakers_edit_inside_their_cluster) {
    auto r = apply_edit(base(), {{"section", "endpoints"}, {"verb", "add"}, {"cluster", "backend"},
                                 {"object", {{"address", "10.0.0.2"}, {"port", 81}}}});
    ASSERT_TRUE(r.ok()) << r.message();
    EXPECT_EQ(r.value()["clusters"][0]["endpoints"].size(), 2u);
    r = apply_edit(r.value(), {{"section", "endpoints"}, {"verb", "del"}, {"cluster", "backend"},
                               {"endpoint", "127.0.0.1:9000"}});
    ASSERT_TRUE(r.ok()) << r.message();
    EXPECT_EQ(r.value()["clusters"][0]["endpoints"][0]["address"], "10.0.0.2");
    r = apply_edit(r.value(), {{"section", "breakers"}, {"verb", "set"}, {"name", "backend"},
                               {"object", {{"max_requests", 7}}}});
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.value()["clusters"][0]["circuit_breakers"]["max_requests"], 7);
    r = apply_edit(r.value(), {{"section", "breakers"}, {"verb", "del"}, {"name", "backend"}});
    ASSERT_TRUE(r.ok());
    EXPECT_FALSE(r.value()["clusters"][0].contains("circuit_breakers"));
    EXPECT_FALSE(apply_edit(base(), {{"section", "endpoints"}, {"verb", "add"},
                                     {"cluster", "nope"}, {"object", json::object()}})
                     .ok());
}

TEST(config_doc, unknown_section_or_verb_is_refused) {
    EXPECT_FALSE(apply_edit(base(), {{"section", "widgets"}, {"verb", "add"}}).ok());
    EXPECT_FALSE(apply_edit(base(), {{"section", "routes"}, {"verb", "frob"}, {"name", "all"}}).ok());
}

TEST(config_doc, diff_reports_added_removed_changed_by_name) {
    json after = base();
    after["clusters"].push_back({{"name", "new"}});
    after["listeners"][0]["port"] = 8081;
    after["routes"] = json::array();
    json d = diff(base(), after);
    EXPECT_EQ(d["clusters"]["added"], json::array({"new"}));
    EXPECT_EQ(d["listeners"]["changed"], json::array({"web"}));
    EXPECT_EQ(d["routes"]["removed"], json::array({"all"}));
    EXPECT_TRUE(diff(base(), base()).empty());
}

TEST(control_framing, frames_round_trip_and_partial_frames_wait) {
    std::string buf = frame("{\"op\":\"ping\"}") + frame("{}");
    std::string partial = buf.substr(0, 6);
    auto p = unframe(partial);
    ASSERT_TRUE(p.ok());
    EXPECT_FALSE(p.value().has_value());
    auto a = unframe(buf);
    ASSERT_TRUE(a.ok() && a.value().has_value());
    EXPECT_EQ(*a.value(), "{\"op\":\"ping\"}");
    auto b = unframe(buf);
    ASSERT_TRUE(b.ok() && b.value().has_value());
    EXPECT_EQ(*b.value(), "{}");
    EXPECT_TRUE(buf.empty());
}

TEST(control_framing, oversized_frame_is_refused_before_allocation) {
    std::string buf("\xff\xff\xff\xff", 4);
    EXPECT_FALSE(unframe(buf).ok());
}

TEST(http_request_line, accepts_only_strict_request_lines) {
    auto r = parse_request_line("GET /metrics HTTP/1.0\r\n\r\n");
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->method, "GET");
    EXPECT_EQ(r->target, "/metrics");
    EXPECT_TRUE(parse_request_line("HEAD /metrics HTTP/1.1\n\n").has_value());
    for (const char* bad : {"", "GET", "GET /metrics", "GET  /metrics HTTP/1.0\r\n",
                            "GET /metrics  HTTP/1.0\r\n", "GET /metrics HTTP/1.0 x\r\n",
                            "get /metrics HTTP/1.0\r\n", "GET metrics HTTP/1.0\r\n",
                            "GET /met\x01rics HTTP/1.0\r\n", "GET /metrics HTTP/2\r\n",
                            " GET /metrics HTTP/1.0\r\n", "GET /m\xc3\xa9 HTTP/1.0\r\n"}) {
        EXPECT_FALSE(parse_request_line(bad).has_value()) << bad;
    }
}

}  // namespace
}  // namespace sluice::cp::daemon
