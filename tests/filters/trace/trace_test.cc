// Unit tests for W3C trace context (filters/trace): the traceparent case table, generation,
// formatting round trips, tracestate, x-request-id and UUID v4.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "filters/trace/trace_context.hh"
#include "traceparent_cases.hh"

namespace {

namespace f = sluice::dp::filters;
using sluice::test::trace::traceparent_cases;

TEST(traceparent, case_table) {
    for (const auto& c : traceparent_cases()) {
        f::traceparent tp;
        EXPECT_EQ(f::parse_traceparent(c.value, tp), c.want)
            << c.name << ": got " << f::to_string(f::parse_traceparent(c.value, tp));
    }
}

TEST(traceparent, spec_example_fields) {
    f::traceparent tp;
    ASSERT_EQ(f::parse_traceparent(sluice::test::trace::spec_example, tp),
              f::traceparent_status::ok);
    EXPECT_EQ(tp.version, 0);
    EXPECT_EQ(tp.trace_id[0], 0x4b);
    EXPECT_EQ(tp.trace_id[15], 0x36);
    EXPECT_EQ(tp.parent_id[0], 0x00);
    EXPECT_EQ(tp.parent_id[7], 0xb7);
    EXPECT_EQ(tp.flags, 0x01);
}

TEST(traceparent, format_round_trips) {
    for (const auto& c : traceparent_cases()) {
        f::traceparent tp;
        if (f::parse_traceparent(c.value, tp) != f::traceparent_status::ok) {
            continue;
        }
        char buf[f::traceparent_len];
        f::format_traceparent(tp, buf);
        const std::string s(buf, sizeof(buf));
        // Version 00 comes back exactly; a future version comes back as its 00 prefix.
        EXPECT_EQ(s, "00" + c.value.substr(2, 53)) << c.name;
        f::traceparent again;
        ASSERT_EQ(f::parse_traceparent(s, again), f::traceparent_status::ok);
        EXPECT_EQ(again.trace_id, tp.trace_id);
        EXPECT_EQ(again.parent_id, tp.parent_id);
        EXPECT_EQ(again.flags, tp.flags);
    }
}

TEST(traceparent, generated_ids_are_never_zero_and_do_not_repeat) {
    f::fast_rng rng(0);  // seed 0 must still work (splitmix64 spreads it)
    std::set<std::array<std::uint8_t, 16>> seen;
    for (int i = 0; i < 10000; ++i) {
        std::array<std::uint8_t, 16> t{};
        std::array<std::uint8_t, 8> s{};
        f::new_trace_id(rng, t);
        f::new_span_id(rng, s);
        EXPECT_NE(t, (std::array<std::uint8_t, 16>{}));
        EXPECT_NE(s, (std::array<std::uint8_t, 8>{}));
        EXPECT_TRUE(seen.insert(t).second);
    }
}

TEST(traceparent, propagate_keeps_trace_id_and_flags_with_a_new_parent) {
    f::fast_rng rng(42);
    f::traceparent in;
    ASSERT_EQ(f::parse_traceparent(sluice::test::trace::spec_example, in),
              f::traceparent_status::ok);
    f::traceparent out;
    EXPECT_EQ(f::propagate(sluice::test::trace::spec_example, rng, out), f::traceparent_status::ok);
    EXPECT_EQ(out.trace_id, in.trace_id);
    EXPECT_NE(out.parent_id, in.parent_id);
    EXPECT_EQ(out.flags, 0x01);
    EXPECT_EQ(out.version, 0);
}

TEST(traceparent, propagate_starts_a_new_trace_on_invalid_or_absent) {
    f::fast_rng rng(42);
    for (const char* bad : {"", "00-00000000000000000000000000000000-00f067aa0ba902b7-01"}) {
        f::traceparent out;
        EXPECT_NE(f::propagate(bad, rng, out, 0x01), f::traceparent_status::ok);
        EXPECT_NE(out.trace_id, (std::array<std::uint8_t, 16>{}));
        EXPECT_EQ(out.flags, 0x01);
    }
}

TEST(traceparent, propagate_clears_flags_level_1_does_not_define) {
    f::fast_rng rng(1);
    f::traceparent out;
    ASSERT_EQ(f::propagate("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-ff", rng, out),
              f::traceparent_status::ok);
    EXPECT_EQ(out.flags, 0x01);
}

TEST(tracestate, valid_values_are_forwarded_whole) {
    for (const char* v : {"congo=t61rcWkgMzE", "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE",
                          "a=1 , b=2", "tenant@vendor=x", "1tenant@sys=v", "k=v,,x=y"}) {
        EXPECT_EQ(f::tracestate_to_forward(v), std::string_view(v)) << v;
    }
    EXPECT_EQ(f::tracestate_to_forward("  a=1  "), "a=1");
}

TEST(tracestate, invalid_values_are_dropped) {
    for (const char* v :
         {"novalue", "=v", "Upper=v", "k=", "k=a=b", "_k=v", "k@=v", "a@b@c=v", "k=\x01"}) {
        EXPECT_EQ(f::tracestate_to_forward(v), "") << v;
    }
    std::string many;
    for (int i = 0; i < 33; ++i) {
        many += (i ? "," : "") + std::string("k") + std::to_string(i) + "=v";
    }
    EXPECT_EQ(f::tracestate_to_forward(many), "");  // 33 members: §3.3.1.1 allows 32
}

TEST(tracestate, longer_than_512_keeps_whole_members_from_the_front) {
    std::string s;
    std::string want;
    for (int i = 0; s.size() < 600; ++i) {
        const std::string m = "k" + std::to_string(i) + "=" + std::string(40, 'v');
        if (s.size() + (s.empty() ? 0 : 1) + m.size() <= 512) {
            want = s + (s.empty() ? "" : ",") + m;
        }
        s += (s.empty() ? "" : ",") + m;
    }
    EXPECT_EQ(f::tracestate_to_forward(s), want);
    EXPECT_LE(f::tracestate_to_forward(s).size(), 512U);
}

TEST(request_id, accepted_charset_and_length) {
    EXPECT_TRUE(f::request_id_valid("abc-123"));
    EXPECT_TRUE(f::request_id_valid(std::string(128, 'x')));
    EXPECT_FALSE(f::request_id_valid(std::string(129, 'x')));
    EXPECT_FALSE(f::request_id_valid(""));
    EXPECT_FALSE(f::request_id_valid("a b"));
    EXPECT_FALSE(f::request_id_valid("a\r\nb"));
    EXPECT_FALSE(f::request_id_valid("caf\xC3\xA9"));
}

TEST(request_id, uuid_v4_shape) {
    f::fast_rng rng(9);
    std::set<std::string> seen;
    for (int i = 0; i < 1000; ++i) {
        char u[f::uuid_len];
        f::format_uuid_v4(rng, u);
        const std::string s(u, sizeof(u));
        ASSERT_EQ(s[8], '-');
        ASSERT_EQ(s[13], '-');
        ASSERT_EQ(s[18], '-');
        ASSERT_EQ(s[23], '-');
        ASSERT_EQ(s[14], '4');
        ASSERT_NE(std::string_view("89ab").find(s[19]), std::string_view::npos) << s;
        for (std::size_t k = 0; k < s.size(); ++k) {
            if (k != 8 && k != 13 && k != 18 && k != 23) {
                ASSERT_NE(std::string_view("0123456789abcdef").find(s[k]), std::string_view::npos);
            }
        }
        EXPECT_TRUE(f::request_id_valid(s));
        EXPECT_TRUE(seen.insert(s).second);
    }
}

TEST(fast_rng, is_xoshiro256starstar_deterministic_per_seed) {
    f::fast_rng a(123);
    f::fast_rng b(123);
    f::fast_rng c(124);
    for (int i = 0; i < 100; ++i) {
        const auto x = a.next();
        EXPECT_EQ(x, b.next());
        EXPECT_NE(x, c.next());
    }
}

}  // namespace
