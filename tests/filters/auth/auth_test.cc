// Unit tests for the auth filter's building blocks (filters/auth): HMAC-SHA256 against the
// RFC 4231 vectors, settings validation, api_key accept/deny/missing, and hmac signatures
// with the skew window's edges. The clock is injected (now_s).
#include "filters/auth/auth.hh"

#include <gtest/gtest.h>

#include <map>
#include <string>

namespace {

namespace f = sluice::dp::filters;

std::string hex(const f::sha256_digest& d) {
    static const char* x = "0123456789abcdef";
    std::string s;
    for (auto b : d) {
        s += x[b >> 4];
        s += x[b & 15];
    }
    return s;
}

struct rfc4231_case {
    const char* name;
    std::string key;
    std::string data;
    const char* mac;  // hex; TC5 compares only the first 128 bits
};

TEST(hmac_sha256, rfc4231_test_vectors) {
    std::string k4;
    for (int i = 1; i <= 25; ++i) {
        k4 += static_cast<char>(i);
    }
    const rfc4231_case cases[] = {
        {"tc1", std::string(20, '\x0b'), "Hi There",
         "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
        {"tc2", "Jefe", "what do ya want for nothing?",
         "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
        {"tc3", std::string(20, '\xaa'), std::string(50, '\xdd'),
         "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
        {"tc4", k4, std::string(50, '\xcd'),
         "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"},
        {"tc5", std::string(20, '\x0c'), "Test With Truncation",
         "a3b6167473100ee06e0c796c2955552b"},
        {"tc6", std::string(131, '\xaa'), "Test Using Larger Than Block-Size Key - Hash Key First",
         "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
        {"tc7", std::string(131, '\xaa'),
         "This is a test using a larger than block-size key and a larger than block-size data. "
         "The key needs to be hashed before being used by the HMAC algorithm.",
         "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"},
    };
    for (const auto& c : cases) {
        f::hmac_sha256 h(c.key);
        f::sha256_digest d;
        const std::string_view whole[] = {c.data};
        h.mac(whole, d);
        const std::string want = c.mac;
        EXPECT_EQ(hex(d).substr(0, want.size()), want) << c.name;
        // The same MAC when the message comes in pieces, and again (the key state is reused).
        const std::string_view a(c.data.data(), c.data.size() / 2);
        const std::string_view b(c.data.data() + a.size(), c.data.size() - a.size());
        const std::string_view parts[] = {a, "", b};
        f::sha256_digest d2;
        h.mac(parts, d2);
        EXPECT_EQ(d2, d) << c.name;
    }
}

TEST(hmac_sha256, digest_equal_is_plain_equality) {
    f::sha256_digest a{};
    f::sha256_digest b{};
    EXPECT_TRUE(f::digest_equal(a, b));
    b[31] = 1;
    EXPECT_FALSE(f::digest_equal(a, b));
    b[31] = 0;
    b[0] = 0x80;
    EXPECT_FALSE(f::digest_equal(a, b));
}

// A request with headers from a map (lower-case names).
struct fake_request {
    std::map<std::string, std::string, std::less<>> headers;
    static std::string_view lookup(const void* ctx, std::string_view name) noexcept {
        const auto* r = static_cast<const fake_request*>(ctx);
        const auto it = r->headers.find(name);
        return it == r->headers.end() ? std::string_view() : std::string_view(it->second);
    }
    f::auth_request view(std::string_view method = "GET",
                         std::string_view path = "/v1/items?id=7") const {
        return {method, path, &lookup, this};
    }
};

f::auth_policy must_build(const f::auth_settings& s) {
    auto p = f::auth_policy::build(s);
    EXPECT_TRUE(p.ok()) << (p.ok() ? "" : p.message());
    return std::move(p).value();
}

TEST(auth_settings, invalid_settings_say_what_is_wrong) {
    EXPECT_FALSE(f::parse_auth_mode("basic").ok());
    EXPECT_EQ(f::parse_auth_mode("hmac").value(), f::auth_mode::hmac);
    f::auth_settings s;
    s.keys = " , ";
    auto p = f::auth_policy::build(s);
    ASSERT_FALSE(p.ok());
    EXPECT_NE(p.message().find("at least one key"), std::string::npos);
    s.keys = "k";
    s.header = "x api key";
    EXPECT_FALSE(f::auth_policy::build(s).ok());
    f::auth_settings h;
    h.mode = f::auth_mode::hmac;
    EXPECT_FALSE(f::auth_policy::build(h).ok());  // no secret
    h.secret = "s";
    h.header = "X-Timestamp";
    EXPECT_FALSE(f::auth_policy::build(h).ok());
}

TEST(auth_api_key, accept_deny_missing) {
    f::auth_settings s;
    s.keys = "alpha-key, beta-key-which-is-longer ,gamma";
    const auto p = must_build(s);
    EXPECT_EQ(p.header(), "x-api-key");
    EXPECT_EQ(p.challenge(), "ApiKey header=\"x-api-key\"");
    f::auth_counters c;
    struct row {
        const char* key;  // nullptr: header absent
        f::auth_result want;
    };
    const row rows[] = {
        {"alpha-key", f::auth_result::ok},
        {"beta-key-which-is-longer", f::auth_result::ok},
        {"gamma", f::auth_result::ok},
        {nullptr, f::auth_result::missing},
        {"", f::auth_result::missing},
        {"alpha-ke", f::auth_result::denied},    // prefix of a key
        {"alpha-key2", f::auth_result::denied},  // extension of a key
        {"Alpha-key", f::auth_result::denied},
        {" alpha-key", f::auth_result::denied},  // the codec trims OWS; we compare exactly
        {"alpha-key,gamma", f::auth_result::denied},
    };
    for (const auto& r : rows) {
        fake_request req;
        if (r.key != nullptr) {
            req.headers["x-api-key"] = r.key;
        }
        EXPECT_EQ(f::check(p, req.view(), 0, c), r.want) << (r.key ? r.key : "(absent)");
    }
    EXPECT_EQ(c.ok, 3U);
    EXPECT_EQ(c.missing, 2U);
    EXPECT_EQ(c.denied_key, 5U);
}

TEST(auth_api_key, custom_header_is_lower_cased) {
    f::auth_settings s;
    s.keys = "k1";
    s.header = "X-Token";
    const auto p = must_build(s);
    EXPECT_EQ(p.header(), "x-token");
    fake_request req;
    req.headers["x-token"] = "k1";
    f::auth_counters c;
    EXPECT_EQ(f::check(p, req.view(), 0, c), f::auth_result::ok);
}

// Client side of the hmac scheme, as documented.
std::string sign(std::string_view secret, std::string_view method, std::string_view path,
                 std::string_view ts) {
    f::hmac_sha256 h(secret);
    const std::string_view msg[] = {method, "\n", path, "\n", ts};
    f::sha256_digest d;
    h.mac(msg, d);
    return hex(d);
}

TEST(auth_hmac, documented_example_signature) {
    // docs/filters.md
    EXPECT_EQ(sign("topsecret", "GET", "/v1/items?id=7", "1700000000"),
              "5eb151d9f266a00d12e45eb8e1d6e02812e3cf9d7e32fe7eff3ed19d2d053fb1");
}

TEST(auth_hmac, signature_and_skew_window_edges) {
    f::auth_settings s;
    s.mode = f::auth_mode::hmac;
    s.secret = "topsecret";
    s.max_skew_s = 300;
    const auto p = must_build(s);
    EXPECT_EQ(p.header(), "x-signature");
    const std::uint64_t ts = 1'700'000'000;
    const std::string good = sign("topsecret", "GET", "/v1/items?id=7", std::to_string(ts));
    std::string upper = good;
    for (auto& ch : upper) {
        ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    }
    std::string flipped = good;
    flipped[10] = flipped[10] == '0' ? '1' : '0';
    struct row {
        const char* name;
        std::string sig;  // empty: absent
        std::string ts;   // empty: absent
        std::uint64_t now;
        f::auth_result want;
    };
    const std::string t = std::to_string(ts);
    const row rows[] = {
        {"exact", good, t, ts, f::auth_result::ok},
        {"upper_case_hex", upper, t, ts, f::auth_result::ok},
        {"now_plus_skew", good, t, ts + 300, f::auth_result::ok},
        {"now_minus_skew", good, t, ts - 300, f::auth_result::ok},
        {"now_plus_skew_plus_1", good, t, ts + 301, f::auth_result::denied},
        {"now_minus_skew_minus_1", good, t, ts - 301, f::auth_result::denied},
        {"no_signature", "", t, ts, f::auth_result::missing},
        {"no_timestamp", good, "", ts, f::auth_result::missing},
        {"flipped_nibble", flipped, t, ts, f::auth_result::denied},
        {"short_signature", good.substr(0, 63), t, ts, f::auth_result::denied},
        {"non_hex_signature", std::string(64, 'g'), t, ts, f::auth_result::denied},
        {"timestamp_not_decimal", good, t + "x", ts, f::auth_result::denied},
        {"timestamp_overflow", good, "99999999999999999999", ts, f::auth_result::denied},
        {"other_timestamp_signed", good, std::to_string(ts + 1), ts, f::auth_result::denied},
    };
    f::auth_counters c;
    for (const auto& r : rows) {
        fake_request req;
        if (!r.sig.empty()) {
            req.headers["x-signature"] = r.sig;
        }
        if (!r.ts.empty()) {
            req.headers["x-timestamp"] = r.ts;
        }
        EXPECT_EQ(f::check(p, req.view(), r.now, c), r.want) << r.name;
    }
    EXPECT_EQ(c.ok, 4U);
    EXPECT_EQ(c.missing, 2U);
    EXPECT_EQ(c.denied_expired, 2U);
    EXPECT_EQ(c.denied_malformed, 4U);
    EXPECT_EQ(c.denied_signature, 2U);
}

TEST(auth_hmac, method_and_path_are_signed) {
    f::auth_settings s;
    s.mode = f::auth_mode::hmac;
    s.secret = "k";
    const auto p = must_build(s);
    fake_request req;
    req.headers["x-timestamp"] = "100";
    req.headers["x-signature"] = sign("k", "GET", "/a?b=1", "100");
    f::auth_counters c;
    EXPECT_EQ(f::check(p, req.view("GET", "/a?b=1"), 100, c), f::auth_result::ok);
    EXPECT_EQ(f::check(p, req.view("POST", "/a?b=1"), 100, c), f::auth_result::denied);
    EXPECT_EQ(f::check(p, req.view("GET", "/a?b=2"), 100, c), f::auth_result::denied);
    EXPECT_EQ(f::check(p, req.view("GET", "/a"), 100, c), f::auth_result::denied);
}

}  // namespace
