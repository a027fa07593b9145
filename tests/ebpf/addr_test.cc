// Address and CIDR parsing of the XDP loader (no privileges needed).
#include <gtest/gtest.h>

#include "addr.hh"

namespace sluice::ebpf {
namespace {

TEST(cidr_parse, clears_host_bits_of_ipv4_prefix) {
    auto c = cidr::parse("192.0.2.77/24");
    ASSERT_TRUE(c.ok()) << c.message();
    EXPECT_EQ(c->to_string(), "192.0.2.0/24");
    EXPECT_TRUE(c->addr.is_v4);
}

TEST(cidr_parse, clears_host_bits_of_ipv6_prefix) {
    auto c = cidr::parse("2001:db8:bad:1::5/48");
    ASSERT_TRUE(c.ok()) << c.message();
    EXPECT_EQ(c->to_string(), "2001:db8:bad::/48");
}

TEST(cidr_parse, bare_address_is_a_host_route) {
    EXPECT_EQ(cidr::parse("10.1.2.3")->len, 32);
    EXPECT_EQ(cidr::parse("::1")->len, 128);
}

TEST(cidr_parse, rejects_prefix_too_long_for_family_naming_the_input) {
    auto c = cidr::parse("10.0.0.0/33");
    ASSERT_FALSE(c.ok());
    EXPECT_NE(c.message().find("10.0.0.0/33"), std::string::npos) << c.message();
    EXPECT_NE(c.message().find("0..32"), std::string::npos) << c.message();
    EXPECT_FALSE(cidr::parse("10.0.0.0/").ok());
    EXPECT_FALSE(cidr::parse("10.0.0.0/8x").ok());
}

TEST(ip_addr_parse, rejects_garbage_and_stores_ipv4_mapped) {
    EXPECT_FALSE(ip_addr::parse("10.0.0.256").ok());
    auto a = ip_addr::parse("10.0.0.1");
    ASSERT_TRUE(a.ok());
    EXPECT_EQ(a->bytes[10], 0xff);
    EXPECT_EQ(a->bytes[11], 0xff);
    EXPECT_EQ(a->bytes[15], 1);
    EXPECT_EQ(a->to_string(), "10.0.0.1");
}

}  // namespace
}  // namespace sluice::ebpf
