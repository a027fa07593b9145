// The TCP option case table, shared by options_test.cc (expected results), the fuzz seed
// generator (each case's bytes become one seed file) and bench/tcp.
#pragma once

#include <cstdint>
#include <vector>

#include "net/tcp/options.hh"

namespace sluice::dp::net::tcp::test {

struct option_case {
    const char* name;
    std::vector<std::uint8_t> bytes;
    option_status status;
    tcp_options expect;
    std::uint8_t unknown = 0;
};

inline tcp_options opts_mss(std::uint16_t mss) {
    tcp_options o;
    o.has_mss = true;
    o.mss = mss;
    return o;
}

inline tcp_options opts_linux_syn() {
    tcp_options o = opts_mss(1460);
    o.sack_permitted = true;
    o.has_timestamps = true;
    o.ts_val = 0x01020304;
    o.ts_ecr = 0;
    o.has_window_scale = true;
    o.window_shift = 7;
    return o;
}

inline tcp_options opts_ts_sack(std::uint8_t n) {
    tcp_options o;
    o.has_timestamps = true;
    o.ts_val = 100;
    o.ts_ecr = 200;
    o.sack_count = n;
    for (std::uint8_t i = 0; i < n; ++i) {
        o.sack[i] = {1000U + 100U * i, 1050U + 100U * i};
    }
    return o;
}

inline tcp_options opts_ws(std::uint8_t shift) {
    tcp_options o;
    o.has_window_scale = true;
    o.window_shift = shift;
    return o;
}

inline tcp_options opts_none() { return tcp_options{}; }

// Big-endian append with push_back: GCC 12 misreports -Warray-bounds on vector::insert of
// initializer lists.
inline void append32(std::vector<std::uint8_t>& b, std::uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) {
        b.push_back(static_cast<std::uint8_t>(v >> shift));
    }
}

// TS 100/200 followed by n SACK blocks {1000+100i, 1050+100i}, with NOP padding.
inline std::vector<std::uint8_t> bytes_ts_sack(std::uint8_t n) {
    std::vector<std::uint8_t> b = {1, 1, 8, 10};
    append32(b, 100);
    append32(b, 200);
    append32(b, 0x01010500U | static_cast<std::uint32_t>(2 + 8 * n));  // NOP, NOP, SACK, len
    for (std::uint8_t i = 0; i < n; ++i) {
        append32(b, 1000U + 100U * i);
        append32(b, 1050U + 100U * i);
    }
    return b;
}

inline std::vector<option_case> option_cases() {
    std::vector<option_case> c;
    c.push_back({"empty", {}, option_status::ok, opts_none()});
    c.push_back({"mss_only", {2, 4, 0x05, 0xb4}, option_status::ok, opts_mss(1460)});
    c.push_back({"linux_syn",
                 {2, 4, 0x05, 0xb4, 4, 2, 8, 10, 1, 2, 3, 4, 0, 0, 0, 0, 1, 3, 3, 7},
                 option_status::ok,
                 opts_linux_syn()});
    c.push_back({"eol_stops_parsing", {0, 2, 4, 0x05, 0xb4}, option_status::ok, opts_none()});
    c.push_back(
        {"nop_padding_then_mss", {1, 1, 1, 1, 2, 4, 0x02, 0x18}, option_status::ok, opts_mss(536)});
    c.push_back({"mss_then_eol_then_garbage",
                 {2, 4, 0x05, 0xb4, 0, 0xff, 0, 7},
                 option_status::ok,
                 opts_mss(1460)});
    c.push_back({"ts_one_sack_block", bytes_ts_sack(1), option_status::ok, opts_ts_sack(1)});
    c.push_back({"ts_three_sack_blocks", bytes_ts_sack(3), option_status::ok, opts_ts_sack(3)});
    // RFC 7323 Appendix A layout (NOP, NOP, TS): parse_options' fast path; the same option
    // in another order goes through the general loop and must give the same fields.
    c.push_back({"aligned_timestamps",
                 {1, 1, 8, 10, 0, 0, 0, 100, 0, 0, 0, 200},
                 option_status::ok,
                 opts_ts_sack(0)});
    c.push_back({"timestamps_then_nops",
                 {8, 10, 0, 0, 0, 100, 0, 0, 0, 200, 1, 1},
                 option_status::ok,
                 opts_ts_sack(0)});
    c.push_back({"aligned_layout_with_bad_timestamp_length",
                 {1, 1, 8, 9, 0, 0, 0, 100, 0, 0, 0, 200},
                 option_status::bad_known_length,
                 opts_none()});
    c.push_back({"window_shift_14", {1, 3, 3, 14}, option_status::ok, opts_ws(14)});
    c.push_back({"window_shift_15_clamped",
                 {1, 3, 3, 15},
                 option_status::window_shift_clamped,
                 opts_ws(14)});
    c.push_back({"window_shift_255_clamped",
                 {3, 3, 255, 0},
                 option_status::window_shift_clamped,
                 opts_ws(14)});
    c.push_back({"unknown_kind_skipped",
                 {30, 6, 1, 2, 3, 4, 2, 4, 0x05, 0xb4},
                 option_status::ok,
                 opts_mss(1460),
                 1});
    c.push_back({"length_zero_stops",
                 {2, 4, 0x05, 0xb4, 30, 0, 3, 3, 7},
                 option_status::stopped_bad_length,
                 opts_mss(1460)});
    c.push_back({"length_one_stops",
                 {2, 4, 0x05, 0xb4, 8, 1, 0, 0},
                 option_status::stopped_bad_length,
                 opts_mss(1460)});
    c.push_back({"kind_without_length_byte",
                 {2, 4, 0x05, 0xb4, 3},
                 option_status::stopped_truncated,
                 opts_mss(1460)});
    c.push_back({"length_past_end",
                 {2, 4, 0x05, 0xb4, 8, 10, 0, 0, 0, 1},
                 option_status::stopped_truncated,
                 opts_mss(1460)});
    c.push_back({"mss_wrong_length_skipped",
                 {2, 3, 5, 3, 3, 7, 0, 0},
                 option_status::bad_known_length,
                 opts_ws(7)});
    c.push_back({"ts_wrong_length_skipped",
                 {8, 6, 0, 0, 0, 1, 2, 4, 0x05, 0xb4},
                 option_status::bad_known_length,
                 opts_mss(1460)});
    c.push_back({"sack_permitted_wrong_length",
                 {4, 3, 0, 2, 4, 1, 0},
                 option_status::bad_known_length,
                 opts_mss(256)});
    c.push_back({"sack_not_multiple_of_8",
                 {5, 6, 0, 0, 0, 1, 2, 4, 0x05, 0xb4},
                 option_status::bad_known_length,
                 opts_mss(1460)});
    c.push_back(
        {"sack_empty", {5, 2, 2, 4, 0x05, 0xb4}, option_status::bad_known_length, opts_mss(1460)});
    c.push_back({"duplicate_mss_first_wins",
                 {2, 4, 0x05, 0xb4, 2, 4, 0x00, 0x40},
                 option_status::duplicate,
                 opts_mss(1460)});
    {
        tcp_options o = opts_ws(3);
        c.push_back(
            {"duplicate_ws_first_wins", {3, 3, 3, 3, 3, 9, 0, 0}, option_status::duplicate, o});
    }
    c.push_back({"all_nops", std::vector<std::uint8_t>(40, 1), option_status::ok, opts_none()});
    c.push_back({"mss_zero_kept_raw", {2, 4, 0, 0}, option_status::ok, opts_mss(0)});
    {
        // Four SACK blocks without timestamps: 2 + 2 + 32 = 36 bytes.
        std::vector<std::uint8_t> b = {1, 1, 5, 34};
        tcp_options o;
        o.sack_count = 4;
        for (std::uint32_t i = 0; i < 4; ++i) {
            const std::uint32_t l = 0xfffffff0U + 0x20U * i;  // wraps across 2^32
            o.sack[i] = {l, l + 8};
            append32(b, l);
            append32(b, l + 8);
        }
        c.push_back({"four_sack_blocks_wrapping", b, option_status::ok, o});
    }
    return c;
}

}  // namespace sluice::dp::net::tcp::test
