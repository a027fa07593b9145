// The operator logic shared by sluice-xdp and sluicectl xdp (ebpf/loader/xdp_admin): why pins
// cannot be opened, stale pins of another ABI, listings, argument parsing. Root for the map
// cases (they load the program through xdp_fixture); the parsing table needs nothing.
#include <bpf/bpf.h>
#include <unistd.h>

#include <cstdint>
#include <string>

#include "xdp_admin.hh"
#include "xdp_fixture.hh"

namespace sluice::ebpf::test {
namespace {

struct uint_case {
    const char* text;
    std::uint64_t lo, hi;
    bool ok;
    std::uint64_t value;
};

TEST(parse_uint, accepts_whole_decimals_in_range_and_names_the_argument_otherwise) {
    const uint_case cases[] = {
        {"0", 0, 10, true, 0},       {"10", 0, 10, true, 10},   {"11", 0, 10, false, 0},
        {"", 0, 10, false, 0},       {"ten", 0, 10, false, 0},  {"5x", 0, 10, false, 0},
        {"-1", 0, 10, false, 0},     {"0", 1, 10, false, 0},    {" 5", 0, 10, false, 0},
        {"99999999999999999999", 0, UINT64_MAX, false, 0},
    };
    for (const auto& c : cases) {
        auto r = parse_uint("RATE", c.text, c.lo, c.hi);
        EXPECT_EQ(r.ok(), c.ok) << "'" << c.text << "'";
        if (r.ok()) {
            EXPECT_EQ(r.value(), c.value);
        } else {
            EXPECT_NE(r.message().find(std::string("RATE '") + c.text + "'"), std::string::npos)
                << r.message();
        }
    }
}

TEST(gateway_reason_names, round_trip_and_accept_the_dashed_spelling) {
    for (const auto r : {gateway_reason::rate_limited, gateway_reason::blocked}) {
        EXPECT_EQ(parse_reason(reason_name(r)), r);
    }
    EXPECT_EQ(parse_reason("rate-limited"), gateway_reason::rate_limited);
    EXPECT_FALSE(parse_reason("banned").has_value());
}

TEST(open_admin_maps, a_directory_that_is_not_bpffs_means_not_loaded) {
    const auto m = open_admin_maps("/tmp");
    EXPECT_FALSE(m.maps.has_value());
    EXPECT_EQ(m.failure, open_failure::not_loaded);
    EXPECT_NE(m.message.find("is not a bpffs mount"), std::string::npos) << m.message;
}

using xdp_admin = xdp_fixture;

TEST_F(xdp_admin, a_missing_pin_root_means_not_loaded) {
    const auto m = open_admin_maps(pin_root_ + "-absent");
    EXPECT_EQ(m.failure, open_failure::not_loaded);
    EXPECT_NE(m.message.find("no Sluice XDP program is loaded"), std::string::npos) << m.message;
}

TEST_F(xdp_admin, opens_the_fixtures_pins_and_lists_services_and_config) {
    auto m = open_admin_maps(pin_root_);
    ASSERT_TRUE(m.maps.has_value()) << m.message;
    ASSERT_TRUE(m.maps->set_syn_limit(50, 70).ok());
    auto ov = read_overview(*m.maps);
    ASSERT_TRUE(ov.ok()) << ov.message();
    EXPECT_EQ(ov->config.syn_rate, 50u);
    EXPECT_EQ(ov->config.syn_burst, 70u);
    EXPECT_EQ(ov->config.abi_version, static_cast<unsigned>(SLUICE_XDP_ABI_VERSION));
    EXPECT_EQ(ov->config.return_port_min, return_min);
    EXPECT_EQ(ov->config.return_port_max, return_max);
    ASSERT_EQ(ov->services.size(), 3u);  // the fixture's tcp/80, udp/53, tcp6/443
    bool found = false;
    for (const auto& e : ov->services) {
        found |= e.svc.to_string() == "udp 10.0.0.1:53";
    }
    EXPECT_TRUE(found);
    EXPECT_EQ(ov->blocks.size(), 3u);  // 192.0.2.0/24, 203.0.113.128/25, 2001:db8:bad::/48
    EXPECT_EQ(ov->gateway_verdicts_live, 0u);
}

TEST_F(xdp_admin, partial_pins_are_reported_with_the_missing_map) {
    const std::string path = pin_root_ + "/sl_gw_verdict";
    const int fd = bpf_obj_get(path.c_str());
    ASSERT_GE(fd, 0);
    ASSERT_EQ(unlink(path.c_str()), 0);
    const auto m = open_admin_maps(pin_root_);
    EXPECT_EQ(m.failure, open_failure::other);
    EXPECT_NE(m.message.find("sl_gw_verdict"), std::string::npos) << m.message;
    // Put it back so that TearDown's unpin finds every pin.
    EXPECT_EQ(bpf_obj_pin(fd, path.c_str()), 0);
    close(fd);
}

TEST_F(xdp_admin, a_stale_pin_of_another_abi_is_refused_with_both_sizes) {
    // Replace the sl_config pin with a map whose value is 8 bytes instead of 24, as an older
    // build might have left it: reading it into our 24-byte struct must not happen.
    const std::string path = pin_root_ + "/sl_config";
    ASSERT_EQ(unlink(path.c_str()), 0);
    const int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "sl_config", 4, 8, 1, nullptr);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(bpf_obj_pin(fd, path.c_str()), 0);
    close(fd);
    const auto m = open_admin_maps(pin_root_);
    EXPECT_EQ(m.failure, open_failure::other);
    EXPECT_NE(m.message.find("key/value size 4/8, this build expects 4/" +
                             std::to_string(sizeof(sluice_xdp_config))), std::string::npos)
        << m.message;
}

}  // namespace
}  // namespace sluice::ebpf::test
