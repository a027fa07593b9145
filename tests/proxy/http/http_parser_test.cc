// The request and response parsers over the case table (http_cases.hh): each case whole, cut in
// two at every byte, and fed one byte at a time must give the same outcome and the same fields.
#include <gtest/gtest.h>

#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "http_cases.hh"
#include "http_driver.hh"

namespace sluice::test::http {

void PrintTo(const request_case& c, std::ostream* os) { *os << c.name; }
void PrintTo(const response_case& c, std::ostream* os) { *os << c.name; }

namespace {

using h::body_kind;
using h::error;
using h::view_of;

// The fields a head yields, resolved to strings, so that two parses can be compared.
struct req_fields {
    std::string method, target, path, query, host;
    int minor = 0;
    body_kind body = body_kind::none;
    std::uint64_t cl = 0;
    bool keep_alive = false, expect = false, upgrade = false;
    std::uint32_t head_len = 0;
    std::vector<std::string> headers;
    std::vector<std::string> conn_tokens;
    bool operator==(const req_fields&) const = default;
};

req_fields fields_of(const h::request_head& hd, const std::string& raw) {
    req_fields f;
    f.method = view_of(raw.data(), hd.method_tok);
    f.target = view_of(raw.data(), hd.target);
    f.path = view_of(raw.data(), hd.path);
    f.query = view_of(raw.data(), hd.query);
    f.host = view_of(raw.data(), hd.host);
    f.minor = hd.version_minor;
    f.body = hd.body;
    f.cl = hd.content_length;
    f.keep_alive = hd.keep_alive;
    f.expect = hd.expect_continue;
    f.upgrade = hd.upgrade;
    f.head_len = hd.head_len;
    for (std::uint16_t i = 0; i < hd.header_count; ++i) {
        f.headers.push_back(std::string(view_of(raw.data(), hd.headers[i].name)) + "=" +
                            std::string(view_of(raw.data(), hd.headers[i].value)) + "#" +
                            std::to_string(static_cast<int>(hd.headers[i].id)));
    }
    for (std::uint8_t i = 0; i < hd.conn.token_count; ++i) {
        f.conn_tokens.emplace_back(view_of(raw.data(), hd.conn.tokens[i]));
    }
    return f;
}

struct parsed {
    outcome o;
    req_fields f;
};

parsed parse_request(const request_case& c, const std::vector<std::uint32_t>& cuts,
                     const h::limits& l = {}) {
    h::request_parser p(l);
    h::body_reader b(l);
    parsed r;
    r.o = drive(p, b, c.raw, cuts);
    if (r.o.head_done) {
        r.f = fields_of(p.head(), c.raw);
    }
    return r;
}

// Split points to try: all of them for ordinary cases, a sample for the huge limit cases.
std::vector<std::uint32_t> split_points(std::size_t n) {
    std::vector<std::uint32_t> v;
    for (std::uint32_t i = 1; i < n; i += (n > 4096 && i > 64 && i + 64 < n) ? 97 : 1) {
        v.push_back(i);
    }
    return v;
}

class request_table : public ::testing::TestWithParam<request_case> {};

TEST_P(request_table, whole_message_gives_expected_outcome) {
    const request_case& c = GetParam();
    const parsed r = parse_request(c, {});
    EXPECT_EQ(r.o.err, c.err) << h::to_string(r.o.err);
    if (c.err != error::none) {
        EXPECT_FALSE(r.o.complete);
        EXPECT_NE(h::status_for(c.err), 0);
        return;
    }
    ASSERT_TRUE(r.o.complete);
    EXPECT_EQ(r.o.consumed, c.msg_len != 0 ? c.msg_len : c.raw.size());
    EXPECT_EQ(r.f.target, c.target);
    EXPECT_EQ(r.f.path, c.path);
    EXPECT_EQ(r.f.query, c.query);
    EXPECT_EQ(r.f.host, c.host);
    EXPECT_EQ(r.f.minor, c.minor);
    EXPECT_EQ(r.f.body, c.body);
    EXPECT_EQ(r.o.payload, c.payload);
    EXPECT_EQ(r.f.keep_alive, c.keep_alive);
    if (c.headers >= 0) {
        EXPECT_EQ(r.f.headers.size(), static_cast<std::size_t>(c.headers));
    }
    h::request_parser p;
    p.feed_head(c.raw.data(), static_cast<std::uint32_t>(c.raw.size()));
    EXPECT_EQ(p.head().m, c.m);
}

TEST_P(request_table, every_two_span_split_parses_identically) {
    const request_case& c = GetParam();
    const parsed whole = parse_request(c, {});
    for (std::uint32_t cut : split_points(c.raw.size())) {
        const parsed r = parse_request(c, {cut});
        ASSERT_EQ(r.o, whole.o) << "cut at " << cut;
        ASSERT_EQ(r.f, whole.f) << "cut at " << cut;
    }
}

TEST_P(request_table, one_byte_at_a_time_parses_identically) {
    const request_case& c = GetParam();
    const parsed whole = parse_request(c, {});
    const parsed r = parse_request(c, every_byte(c.raw.size()));
    EXPECT_EQ(r.o, whole.o);
    EXPECT_EQ(r.f, whole.f);
}

INSTANTIATE_TEST_SUITE_P(cases, request_table, ::testing::ValuesIn(request_cases()),
                         [](const auto& tp) { return std::string(tp.param.name); });

class response_table : public ::testing::TestWithParam<response_case> {};

outcome parse_response(const response_case& c, const std::vector<std::uint32_t>& cuts,
                       h::response_head* out = nullptr) {
    h::response_parser p;
    p.reset(c.request_was_head);
    h::body_reader b;
    outcome o = drive(p, b, c.raw, cuts);
    if (out != nullptr) {
        out->status = p.head().status;
        out->body = p.head().body;
        out->keep_alive = p.head().keep_alive;
    }
    return o;
}

TEST_P(response_table, outcome_is_expected_and_split_invariant) {
    const response_case& c = GetParam();
    h::response_head hd;
    const outcome whole = parse_response(c, {}, &hd);
    EXPECT_EQ(whole.err, c.err) << h::to_string(whole.err);
    if (c.err == error::none) {
        EXPECT_TRUE(whole.complete);
        EXPECT_EQ(hd.status, c.status);
        EXPECT_EQ(hd.body, c.body);
        EXPECT_EQ(whole.payload, c.payload);
        EXPECT_EQ(hd.keep_alive, c.keep_alive);
    }
    for (std::uint32_t cut = 1; cut < c.raw.size(); ++cut) {
        ASSERT_EQ(parse_response(c, {cut}), whole) << "cut at " << cut;
    }
    EXPECT_EQ(parse_response(c, every_byte(c.raw.size())), whole);
}

INSTANTIATE_TEST_SUITE_P(cases, response_table, ::testing::ValuesIn(response_cases()),
                         [](const auto& tp) { return std::string(tp.param.name); });

TEST(http_request, every_error_reason_has_a_distinct_name_and_a_status) {
    std::set<std::string_view> names;
    for (std::size_t i = 1; i < h::error_count; ++i) {
        const auto e = static_cast<error>(i);
        EXPECT_TRUE(names.insert(h::to_string(e)).second) << h::to_string(e);
        EXPECT_GE(h::status_for(e), 400);
    }
    EXPECT_EQ(h::status_for(error::request_line_too_long), 414);
    EXPECT_EQ(h::status_for(error::headers_too_large), 431);
    EXPECT_EQ(h::status_for(error::too_many_headers), 431);
    EXPECT_EQ(h::status_for(error::unsupported_transfer_coding), 501);
    EXPECT_EQ(h::status_for(error::unsupported_version), 505);
    EXPECT_EQ(h::status_for(error::cl_and_te), 400);
}

TEST(http_request, every_refusal_reason_of_the_issue_has_a_case) {
    std::set<error> seen;
    for (const auto& c : request_cases()) {
        seen.insert(c.err);
    }
    for (const auto& c : response_cases()) {
        seen.insert(c.err);
    }
    for (std::size_t i = 1; i < h::error_count; ++i) {
        EXPECT_TRUE(seen.count(static_cast<error>(i)) != 0)
            << "no case for " << h::to_string(static_cast<error>(i));
    }
}

TEST(http_request, typical_get_fields_and_ids) {
    const std::string& raw = typical_get;
    h::request_parser p;
    ASSERT_EQ(p.feed_head(raw.data(), raw.size()), raw.size());
    ASSERT_EQ(p.head_state(), h::request_parser::state::done);
    const auto& hd = p.head();
    EXPECT_EQ(hd.m, h::method::get);
    ASSERT_EQ(hd.header_count, 5);
    EXPECT_EQ(view_of(raw.data(), hd.headers[0].name), "Host");
    EXPECT_EQ(hd.headers[0].id, h::header_id::host);
    EXPECT_EQ(view_of(raw.data(), hd.headers[3].value), "gzip, deflate");
    EXPECT_EQ(hd.headers[4].id, h::header_id::connection);
    EXPECT_TRUE(hd.conn.keep_alive);
    EXPECT_EQ(hd.head_len, raw.size());
}

TEST(http_request, connection_lists_hop_by_hop_options) {
    const std::string raw =
        "GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, X-Hop , ,TE\r\n"
        "Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n";
    h::request_parser p;
    p.feed_head(raw.data(), raw.size());
    ASSERT_EQ(p.head_state(), h::request_parser::state::done);
    const auto& c = p.head().conn;
    ASSERT_EQ(c.token_count, 4);
    EXPECT_EQ(view_of(raw.data(), c.tokens[1]), "X-Hop");
    EXPECT_EQ(view_of(raw.data(), c.tokens[2]), "TE");
    EXPECT_TRUE(c.keep_alive && c.upgrade && !c.close);
    EXPECT_TRUE(p.head().upgrade);
}

// Calls check(raw, line, at, sub) for each line + rest with byte `at` of the line replaced by
// each of subs, and once for the unchanged line (at == line.size()). For the fast-path tests:
// every single-byte change of a line must parse the same whole and a byte at a time.
template <std::size_t N, typename Check>
void for_each_single_byte_change(const std::vector<std::string>& lines, const std::string& rest,
                                 const char (&subs)[N], Check&& check) {
    for (const std::string& line : lines) {
        for (std::size_t at = 0; at <= line.size(); ++at) {
            for (const char sub : subs) {
                std::string raw = line + rest;
                if (at < line.size()) {
                    raw[at] = sub;
                } else if (sub != subs[0]) {
                    continue;  // the unchanged line, once
                }
                check(raw, line, at, sub);
            }
        }
    }
}

// The request line's fast path (request_parser::fast_line) against the byte loop: a head fed
// whole takes the fast path when its line has the common shape, one fed a byte at a time never
// does; both must give the same outcome, fields and method for the common shapes and for every
// byte of them replaced by each byte below (bad bytes, delimiters, version and method letters).
TEST(http_request_line_fast_path, agrees_with_byte_loop_under_every_single_byte_change) {
    const std::vector<std::string> lines = {
        "GET / HTTP/1.1\r\n",
        "GET /bench HTTP/1.1\r\n",
        "PUT /a/b/c?d=e&f=g HTTP/1.0\r\n",
        "POST /0123456789abcdefghij/klmnopqrstuv?w=x&y=z/0123456789 HTTP/1.1\r\n",
        "HEAD /x?y HTTP/1.1\r\n",
        "OPTIONS * HTTP/1.1\r\n",
        "GET http://h/p HTTP/1.1\r\n",
    };
    const std::string rest = "Host: h\r\nContent-Length: 0\r\n\r\n";
    const char subs[] = {'\0', '\t', ' ', '"', '#', '%', '/', '<',  '>',  '?',    '@',    '\\',
                         '^',  '`',  '{', '|', '}', '~', ':', '.',  '*',  'A',    'a',    '0',
                         '1',  '9',  'G', 'T', 'H', 'P', 'S', '\r', '\n', '\x7f', '\x80', '\xff'};
    int cases = 0;
    int accepted = 0;
    for_each_single_byte_change(
        lines, rest, subs,
        [&](const std::string& raw, const std::string& line, std::size_t at, char sub) {
            const request_case c{.name = "mutant", .raw = raw};
            const parsed whole = parse_request(c, {});
            const parsed bytes = parse_request(c, every_byte(raw.size()));
            ASSERT_EQ(whole.o, bytes.o)
                << "line " << line << " byte " << at << " = " << static_cast<int>(sub);
            ASSERT_EQ(whole.f, bytes.f) << "line " << line << " byte " << at;
            h::request_parser p1;
            h::request_parser p2;
            p1.feed_head(raw.data(), static_cast<std::uint32_t>(raw.size()));
            for (std::size_t k = 0;
                 k < raw.size() && p2.head_state() == h::request_parser::state::need_more; ++k) {
                p2.feed_head(raw.data() + k, 1);
            }
            ASSERT_EQ(p1.head().m, p2.head().m) << "line " << line << " byte " << at;
            ++cases;
            accepted += whole.o.complete ? 1 : 0;
        });
    ASSERT_FALSE(HasFatalFailure());
    // Sanity: the unchanged lines and the harmless changes parse, the rest do not.
    EXPECT_GT(accepted, static_cast<int>(lines.size()));
    EXPECT_LT(accepted, cases);
}

// The status line's fast path (the fixed part and SP reason-phrase CRLF whole in the span)
// against the byte loop, as above: whole versus a byte at a time, every byte of the line
// replaced, comparing the outcome, status, version, reason phrase, head length and fields.
TEST(http_status_line_fast_path, agrees_with_byte_loop_under_every_single_byte_change) {
    const std::vector<std::string> lines = {
        "HTTP/1.1 200 OK\r\n",
        "HTTP/1.0 404 Not Found\r\n",
        "HTTP/1.1 503 Service Unavailable, try again \t later\r\n",
        "HTTP/1.1 204 \r\n",
        "HTTP/1.1 200\r\n",
    };
    const std::string rest = "Content-Length: 2\r\nX-A: b\r\n\r\nok";
    const char subs[] = {'\0', '\t', ' ', '\r', '\n', '\x7f', '\x80', '\xff', '\x1f', 'H',
                         'x',  '0',  '1', '2',  '9',  '.',    ':',    '/',    'P',    '\x08'};
    auto parse = [](const std::string& raw, bool bytewise, std::string& shape) {
        h::response_parser p;
        p.reset(false);
        if (bytewise) {
            for (std::size_t k = 0;
                 k < raw.size() && p.head_state() == h::response_parser::state::need_more; ++k) {
                p.feed_head(raw.data() + k, 1);
            }
        } else {
            p.feed_head(raw.data(), static_cast<std::uint32_t>(raw.size()));
        }
        const auto& hd = p.head();
        shape = std::to_string(static_cast<int>(p.head_state())) + "/" +
                std::to_string(static_cast<int>(p.err()));
        if (p.head_state() == h::response_parser::state::done) {
            shape += "/" + std::to_string(hd.status) + "/" + std::to_string(hd.version_minor) +
                     "/" + std::string(view_of(raw.data(), hd.reason)) + "/" +
                     std::to_string(hd.head_len) + "/" + std::to_string(hd.header_count);
            for (std::uint16_t i = 0; i < hd.header_count; ++i) {
                shape += "/" + std::string(view_of(raw.data(), hd.headers[i].name)) + "=" +
                         std::string(view_of(raw.data(), hd.headers[i].value));
            }
        }
        return p.head_state() == h::response_parser::state::done;
    };
    int cases = 0;
    int accepted = 0;
    for_each_single_byte_change(
        lines, rest, subs,
        [&](const std::string& raw, const std::string& line, std::size_t at, char) {
            std::string whole;
            std::string bytes;
            accepted += parse(raw, false, whole) ? 1 : 0;
            parse(raw, true, bytes);
            ASSERT_EQ(whole, bytes) << "line " << line << " byte " << at;
            ++cases;
        });
    ASSERT_FALSE(HasFatalFailure());
    EXPECT_GT(accepted, static_cast<int>(lines.size()));
    EXPECT_LT(accepted, cases);
}

TEST(http_request, pipelined_requests_parse_after_reset) {
    const std::string raw = "GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: b\r\n\r\n";
    h::request_parser p;
    const auto k = p.feed_head(raw.data(), raw.size());
    ASSERT_EQ(p.head_state(), h::request_parser::state::done);
    EXPECT_EQ(view_of(raw.data(), p.head().path), "/1");
    p.reset();
    EXPECT_EQ(p.feed_head(raw.data() + k, raw.size() - k), raw.size() - k);
    ASSERT_EQ(p.head_state(), h::request_parser::state::done);
    EXPECT_EQ(view_of(raw.data() + k, p.head().host), "b");
    EXPECT_EQ(p.feed_head("x", 1), 0U);  // nothing more until reset
}

TEST(http_request, connect_authority_form_when_allowed) {
    h::limits l;
    l.allow_connect = true;
    const std::string ok = "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n";
    h::request_parser p(l);
    p.feed_head(ok.data(), ok.size());
    ASSERT_EQ(p.head_state(), h::request_parser::state::done);
    EXPECT_EQ(p.head().m, h::method::connect);
    EXPECT_EQ(view_of(ok.data(), p.head().host), "example.com:443");
    for (const char* bad :
         {"CONNECT example.com HTTP/1.1\r\nHost: a\r\n\r\n",
          "CONNECT / HTTP/1.1\r\nHost: a\r\n\r\n", "CONNECT h:44x HTTP/1.1\r\nHost: a\r\n\r\n"}) {
        p.reset();
        p.feed_head(bad, std::strlen(bad));
        EXPECT_EQ(p.err(), error::bad_target) << bad;
    }
}

TEST(http_request, limits_are_configurable) {
    h::limits l;
    l.max_request_line = 16;
    l.max_header_bytes = 32;
    l.max_headers = 2;
    const std::string line = "GET /0123456789 HTTP/1.1\r\nHost: a\r\n\r\n";
    h::request_parser p(l);
    p.feed_head(line.data(), line.size());
    EXPECT_EQ(p.err(), error::request_line_too_long);
    const std::string exact = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";  // request line: 16 bytes
    p.reset();
    p.feed_head(exact.data(), exact.size());
    EXPECT_EQ(p.head_state(), h::request_parser::state::done);
    const std::string big = "GET / HTTP/1.1\r\nHost: a\r\nX-Long: 0123456789abcdef\r\n\r\n";
    p.reset();
    p.feed_head(big.data(), big.size());
    EXPECT_EQ(p.err(), error::headers_too_large);
    const std::string many = "GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\n\r\n";
    p.reset();
    p.feed_head(many.data(), many.size());
    EXPECT_EQ(p.err(), error::too_many_headers);
}

TEST(http_body, content_length_stops_at_message_end) {
    h::body_reader b;
    b.start(body_kind::length, 4);
    const auto s = b.feed("abcdefgh", 8);
    EXPECT_EQ(s.consumed, 4U);
    EXPECT_EQ(s.payload_off, 0U);
    EXPECT_EQ(s.payload_len, 4U);
    EXPECT_TRUE(s.done);
    EXPECT_EQ(b.payload_total(), 4U);
}

TEST(http_body, chunked_reports_one_payload_run_per_call) {
    const std::string in = "3;x=y\r\nabc\r\n2\r\nde\r\n0\r\n\r\nNEXT";
    h::body_reader b;
    b.start(body_kind::chunked, 0);
    std::string got;
    std::uint32_t at = 0;
    int calls = 0;
    for (;;) {
        const auto s = b.feed(in.data() + at, in.size() - at);
        ASSERT_EQ(s.err, error::none);
        got.append(in.data() + at + s.payload_off, s.payload_len);
        at += s.consumed;
        ++calls;
        if (s.done) {
            break;
        }
    }
    EXPECT_EQ(got, "abcde");
    EXPECT_EQ(in.substr(at), "NEXT");
    EXPECT_EQ(calls, 3);
    EXPECT_EQ(b.payload_total(), 5U);
}

TEST(http_body, chunk_line_limit_is_configurable) {
    h::limits l;
    l.max_chunk_line = 8;
    h::body_reader b(l);
    b.start(body_kind::chunked, 0);
    EXPECT_EQ(b.feed("5;abc\r\n", 7).err, error::none);
    b.start(body_kind::chunked, 0);
    EXPECT_EQ(b.feed("5;abcdefg\r\n", 11).err, error::chunk_ext_too_long);
}

TEST(http_headers, classifier_and_case_insensitive_compare) {
    EXPECT_EQ(h::classify_header("CONTENT-length"), h::header_id::content_length);
    EXPECT_EQ(h::classify_header("Transfer-Encoding"), h::header_id::transfer_encoding);
    EXPECT_EQ(h::classify_header("x-forwarded-for"), h::header_id::x_forwarded_for);
    EXPECT_EQ(h::classify_header("TraceParent"), h::header_id::traceparent);
    EXPECT_EQ(h::classify_header("Content-Type"), h::header_id::other);
    // The word compares: case only on letters, every length and word position.
    EXPECT_EQ(h::classify_header("TE"), h::header_id::te);
    EXPECT_EQ(h::classify_header("hOsT"), h::header_id::host);
    EXPECT_EQ(h::classify_header("X-FORWARDED-PROTO"), h::header_id::x_forwarded_proto);
    EXPECT_EQ(h::classify_header("content\rlength"), h::header_id::other);  // CR | 0x20 is '-'
    EXPECT_EQ(h::classify_header("content_length"), h::header_id::other);
    EXPECT_EQ(h::classify_header("content-lengtH"), h::header_id::content_length);
    EXPECT_EQ(h::classify_header("content-lengti"), h::header_id::other);
    EXPECT_EQ(h::classify_header("x-forwarded-prota"), h::header_id::other);  // 17th byte
    EXPECT_EQ(h::classify_header("x-forwardeD-proto"), h::header_id::x_forwarded_proto);
    EXPECT_EQ(h::classify_header("x-forwarde_-proto"), h::header_id::other);  // middle word
    EXPECT_EQ(h::classify_header("t\x85"), h::header_id::other);
    EXPECT_EQ(h::classify_header("hos"), h::header_id::other);
    EXPECT_EQ(h::classify_header("x-request-iD"), h::header_id::x_request_id);
    EXPECT_EQ(h::classify_header("x-request-i\x04"), h::header_id::other);
    EXPECT_TRUE(h::iequals("Keep-Alive", "keep-ALIVE"));
    EXPECT_FALSE(h::iequals("Keep-Alive", "keep-alive2"));
}

}  // namespace
}  // namespace sluice::test::http

namespace sluice::test::http {
namespace {

TEST(http_response, continue_head_then_final_response) {
    const std::string raw =
        "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok";
    h::response_parser p;
    const auto k = p.feed_head(raw.data(), raw.size());
    ASSERT_EQ(p.head_state(), h::response_parser::state::done);
    EXPECT_EQ(p.head().status, 100);
    EXPECT_EQ(p.head().body, h::body_kind::none);
    p.reset();
    const auto k2 = p.feed_head(raw.data() + k, raw.size() - k);
    ASSERT_EQ(p.head_state(), h::response_parser::state::done);
    EXPECT_EQ(p.head().status, 201);
    EXPECT_EQ(p.head().body, h::body_kind::length);
    EXPECT_EQ(raw.substr(k + k2), "ok");
    EXPECT_EQ(h::view_of(raw.data() + k, p.head().reason), "Created");
}

TEST(http_body, until_close_takes_everything_and_never_ends) {
    h::body_reader b;
    b.start(h::body_kind::until_close, 0);
    const auto s = b.feed("abc", 3);
    EXPECT_EQ(s.consumed, 3U);
    EXPECT_EQ(s.payload_len, 3U);
    EXPECT_FALSE(s.done);
    EXPECT_EQ(b.payload_total(), 3U);
}

TEST(http_body, nothing_is_consumed_after_the_end) {
    h::body_reader b;
    b.start(h::body_kind::none, 0);
    const auto s = b.feed("GET", 3);
    EXPECT_TRUE(s.done);
    EXPECT_EQ(s.consumed, 0U);
}

TEST(http_body, chunk_size_bound_is_two_to_the_63) {
    h::body_reader b;
    b.start(h::body_kind::chunked, 0);
    EXPECT_EQ(b.feed("7fffffffffffffff\r\n", 18).err, h::error::none);
    b.start(h::body_kind::chunked, 0);
    EXPECT_EQ(b.feed("8000000000000000\r\n", 18).err, h::error::bad_chunk_size);
}

}  // namespace
}  // namespace sluice::test::http
