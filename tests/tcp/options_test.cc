// TCP option parser and builders, driven by the case table in option_cases.hh.
#include "net/tcp/options.hh"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "option_cases.hh"

namespace sluice::dp::net::tcp {
namespace {

using test::option_case;

void expect_same(const tcp_options& got, const tcp_options& want) {
    EXPECT_EQ(got.has_mss, want.has_mss);
    EXPECT_EQ(got.mss, want.mss);
    EXPECT_EQ(got.has_window_scale, want.has_window_scale);
    EXPECT_EQ(got.window_shift, want.window_shift);
    EXPECT_EQ(got.sack_permitted, want.sack_permitted);
    EXPECT_EQ(got.has_timestamps, want.has_timestamps);
    EXPECT_EQ(got.ts_val, want.ts_val);
    EXPECT_EQ(got.ts_ecr, want.ts_ecr);
    ASSERT_EQ(got.sack_count, want.sack_count);
    for (std::size_t i = 0; i < got.sack_count; ++i) {
        EXPECT_EQ(got.sack[i], want.sack[i]) << "block " << i;
    }
}

class tcp_options_cases : public ::testing::TestWithParam<option_case> {};

TEST_P(tcp_options_cases, parses_to_expected_fields_and_status) {
    const auto& c = GetParam();
    tcp_options got;
    got.mss = 999;  // parse must overwrite stale state
    const auto r = parse_options(c.bytes, got);
    EXPECT_EQ(r.status, c.status);
    EXPECT_EQ(r.unknown, c.unknown);
    expect_same(got, c.expect);
}

TEST_P(tcp_options_cases, every_truncation_is_safe_and_keeps_a_prefix_of_the_fields) {
    const auto& c = GetParam();
    for (std::size_t n = 0; n <= c.bytes.size(); ++n) {
        // Copy into an exact-size heap buffer so ASan flags any read past the end.
        std::vector<std::uint8_t> cut(c.bytes.begin(), c.bytes.begin() + static_cast<long>(n));
        tcp_options got;
        parse_options(cut, got);
        EXPECT_LE(got.sack_count, max_sack_blocks);
        EXPECT_LE(got.window_shift, max_window_shift);
        if (got.has_mss) {
            EXPECT_EQ(got.mss, c.expect.mss) << c.name << " cut at " << n;
        }
    }
}

INSTANTIATE_TEST_SUITE_P(table, tcp_options_cases, ::testing::ValuesIn(test::option_cases()),
                         [](const auto& tp) { return std::string(tp.param.name); });

struct syn_case {
    const char* name;
    syn_option_spec spec;
    std::size_t len;
    std::vector<std::uint8_t> bytes;
};

TEST(tcp_options, syn_builder_writes_linux_layouts) {
    const syn_case cases[] = {
        {"mss_only", {1460}, 4, {2, 4, 0x05, 0xb4}},
        {"full", {1460, true, 7, true, true, 0x01020304, 0}, 20, {2,  4, 0x05, 0xb4, 4, 2, 8,
                                                                  10, 1, 2,    3,    4, 0, 0,
                                                                  0,  0, 1,    3,    3, 7}},
        {"no_timestamps",
         {1460, true, 9, true, false},
         12,
         {2, 4, 0x05, 0xb4, 1, 1, 4, 2, 1, 3, 3, 9}},
        {"timestamps_no_sack",
         {8960, false, 0, false, true, 5, 6},
         16,
         {2, 4, 0x23, 0x00, 1, 1, 8, 10, 0, 0, 0, 5, 0, 0, 0, 6}},
        {"sack_only", {536, false, 0, true, false}, 8, {2, 4, 0x02, 0x18, 1, 1, 4, 2}},
        {"shift_clamped", {1460, true, 20, false, false}, 8, {2, 4, 0x05, 0xb4, 1, 3, 3, 14}},
    };
    for (const auto& c : cases) {
        std::array<std::uint8_t, max_option_bytes> buf{};
        const std::size_t n = build_syn_options(buf, c.spec);
        ASSERT_EQ(n, c.len) << c.name;
        EXPECT_EQ(n % 4, 0U) << c.name;
        EXPECT_EQ(std::vector<std::uint8_t>(buf.begin(), buf.begin() + static_cast<long>(n)),
                  c.bytes)
            << c.name;
        tcp_options back;
        EXPECT_EQ(parse_options(std::span(buf.data(), n), back).status, option_status::ok)
            << c.name;
        EXPECT_EQ(back.mss, c.spec.mss) << c.name;
        EXPECT_EQ(back.has_window_scale, c.spec.window_scale) << c.name;
        EXPECT_EQ(back.sack_permitted, c.spec.sack_permitted) << c.name;
        EXPECT_EQ(back.has_timestamps, c.spec.timestamps) << c.name;
    }
}

TEST(tcp_options, segment_builder_fits_three_sack_blocks_with_timestamps_four_without) {
    const sack_block blocks[] = {{10, 20}, {30, 40}, {50, 60}, {70, 80}, {90, 100}};
    struct {
        bool ts;
        std::size_t given, fit, len;
    } cases[] = {
        {true, 0, 0, 12}, {true, 1, 1, 24},  {true, 3, 3, 40},  {true, 5, 3, 40},
        {false, 0, 0, 0}, {false, 1, 1, 12}, {false, 4, 4, 36}, {false, 5, 4, 36},
    };
    for (const auto& c : cases) {
        std::array<std::uint8_t, max_option_bytes> buf{};
        std::size_t written = 99;
        const std::size_t n =
            build_segment_options(buf, c.ts, 7, 8, std::span(blocks, c.given), &written);
        EXPECT_EQ(n, c.len) << c.ts << " " << c.given;
        EXPECT_EQ(n % 4, 0U);
        EXPECT_EQ(written, c.fit);
        tcp_options back;
        EXPECT_EQ(parse_options(std::span(buf.data(), n), back).status, option_status::ok);
        EXPECT_EQ(back.has_timestamps, c.ts);
        if (c.ts) {
            EXPECT_EQ(back.ts_val, 7U);
            EXPECT_EQ(back.ts_ecr, 8U);
        }
        ASSERT_EQ(back.sack_count, c.fit);
        for (std::size_t i = 0; i < c.fit; ++i) {
            EXPECT_EQ(back.sack[i], blocks[i]);  // most recent block first, order kept
        }
    }
}

}  // namespace
}  // namespace sluice::dp::net::tcp
