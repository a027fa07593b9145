// The --app specs of the dataplane's TCP test applications (dataplane/apps/tcp_apps.hh).
#include <gtest/gtest.h>

#include "../../dataplane/apps/tcp_apps.hh"

namespace sluice::dp::apps {
namespace {

TEST(tcp_apps, specs_parse_kind_port_and_bytes) {
    auto e = parse_tcp_app("tcp-echo:7");
    ASSERT_TRUE(e);
    EXPECT_EQ(e->kind, tcp_app_kind::echo);
    EXPECT_EQ(e->port, 7);
    auto s = parse_tcp_app("tcp-source:5001:4000000");
    ASSERT_TRUE(s);
    EXPECT_EQ(s->kind, tcp_app_kind::source);
    EXPECT_EQ(s->port, 5001);
    EXPECT_EQ(s->bytes, 4000000U);
    auto k = parse_tcp_app("tcp-sink:9");
    ASSERT_TRUE(k);
    EXPECT_EQ(k->kind, tcp_app_kind::sink);
    auto c = parse_tcp_app("tcp-client:198.18.0.1:7000:123");
    ASSERT_TRUE(c);
    EXPECT_EQ(c->kind, tcp_app_kind::client);
    EXPECT_EQ(c->addr, rte_cpu_to_be_32(0xc6120001U));
    EXPECT_EQ(c->port, 7000);
    EXPECT_EQ(c->bytes, 123U);
}

TEST(tcp_apps, http_specs_parse) {
    auto s = parse_tcp_app("tcp-http-source:8080:104857600");
    ASSERT_TRUE(s);
    EXPECT_EQ(s->kind, tcp_app_kind::http_source);
    EXPECT_EQ(s->port, 8080);
    EXPECT_EQ(s->bytes, 104857600U);
    auto k = parse_tcp_app("tcp-http-sink:8081");
    ASSERT_TRUE(k);
    EXPECT_EQ(k->kind, tcp_app_kind::http_sink);
    EXPECT_EQ(k->port, 8081);
}

// The HTTP sink's request framing: Content-Length (RFC 9110 §8.6), chunked bodies refused,
// curl's "Expect: 100-continue" (RFC 9110 §10.1.1).
TEST(tcp_apps, http_request_heads_give_length_chunked_and_expect) {
    struct row {
        const char* head;
        std::int64_t length;
        bool chunked;
        bool expect;
    };
    const row rows[] = {
        {"PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 104857600\r\n\r\n", 104857600, false,
         false},
        {"PUT / HTTP/1.1\r\ncontent-length:5\r\n\r\n", 5, false, false},
        {"POST / HTTP/1.1\r\nCONTENT-LENGTH:  0 \r\n\r\n", 0, false, false},
        {"PUT / HTTP/1.1\r\nContent-Length: 12x\r\n\r\n", -1, false, false},
        {"PUT / HTTP/1.1\r\nContent-Length: -3\r\n\r\n", -1, false, false},
        {"PUT / HTTP/1.1\r\nHost: a\r\n\r\n", -1, false, false},
        {"PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", -1, true, false},
        {"PUT / HTTP/1.1\r\nContent-Length: 9\r\nExpect: 100-continue\r\n\r\n", 9, false,
         true},
        // The request line is never a header, whatever it contains.
        {"Content-Length: 7\r\nHost: a\r\n\r\n", -1, false, false},
    };
    for (const row& r : rows) {
        const http_request_head h = parse_http_head(r.head);
        EXPECT_EQ(h.length, r.length) << r.head;
        EXPECT_EQ(h.chunked, r.chunked) << r.head;
        EXPECT_EQ(h.expect_continue, r.expect) << r.head;
    }
}

TEST(tcp_apps, bad_specs_say_what_was_wrong) {
    for (const char* bad : {"tcp-echo", "tcp-echo:0", "tcp-echo:70000", "tcp-source:80",
                            "tcp-source:80:lots", "udp-echo:7", "tcp-sink:",
                            "tcp-client:198.18.0.1:7000", "tcp-client:nowhere:7000:1",
                            "tcp-http-source:80", "tcp-http-sink:x"}) {
        auto r = parse_tcp_app(bad);
        ASSERT_FALSE(r) << bad;
        EXPECT_NE(r.message().find(bad), std::string::npos) << r.message();
    }
}

TEST(tcp_apps, fnv1a64_matches_reference_vectors) {
    // Reference values from the FNV specification (draft-eastlake-fnv).
    EXPECT_EQ(fnv1a64(fnv1a64_init, nullptr, 0), 0xcbf29ce484222325ULL);
    const std::uint8_t a[] = {'a'};
    EXPECT_EQ(fnv1a64(fnv1a64_init, a, 1), 0xaf63dc4c8601ec8cULL);
}

}  // namespace
}  // namespace sluice::dp::apps
