// head_writer: the hand-written number and IPv4 formatting that replaced snprintf in the
// upstream request head (issue 6), checked against snprintf over a case table, plus overflow.
#include "proxy/head_writer.hh"

#include <gtest/gtest.h>
#include <rte_byteorder.h>

#include <cstdio>
#include <string>

namespace sluice::dp::proxy {
namespace {

std::string written(const head_writer& w) { return {w.data(), w.size()}; }

TEST(head_writer, append_ipv4_matches_dotted_quad_printf) {
    const std::uint32_t cases[] = {0x00000000, 0x0a4e0001, 0x7f000001, 0xc0a80a64, 0xffffffff,
                                   0x01020304, 0x09630a63, 0x640a0109, 0xac10fe01, 0x00ff00ff};
    for (std::uint32_t host : cases) {
        char buf[64];
        head_writer w(buf, sizeof(buf));
        w.append_ipv4(rte_cpu_to_be_32(host));
        char want[32];
        const int n = std::snprintf(want, sizeof(want), "%u.%u.%u.%u", host >> 24,
                                    (host >> 16) & 0xff, (host >> 8) & 0xff, host & 0xff);
        EXPECT_EQ(written(w), std::string(want, static_cast<std::size_t>(n))) << std::hex << host;
        EXPECT_FALSE(w.overflow());
    }
}

TEST(head_writer, append_num_matches_printf) {
    const std::uint64_t cases[] = {
        0, 1, 9, 10, 99, 100, 65535, 4294967295ULL, 18446744073709551615ULL};
    for (std::uint64_t v : cases) {
        char buf[64];
        head_writer w(buf, sizeof(buf));
        w.append_num(v);
        EXPECT_EQ(written(w), std::to_string(v));
    }
}

TEST(head_writer, too_small_buffer_reports_overflow_and_keeps_what_fit) {
    char buf[10];
    head_writer w(buf, sizeof(buf));
    w.append("host: ");
    w.append_ipv4(rte_cpu_to_be_32(0xc0a80a64));  // 14 bytes: does not fit
    EXPECT_TRUE(w.overflow());
    EXPECT_EQ(written(w), "host: ");
}

}  // namespace
}  // namespace sluice::dp::proxy
