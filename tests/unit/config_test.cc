// Dataplane options and config file: every malformed input gets a precise message naming where
// it is, and valid input yields the expected values.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "../../dataplane/core/config.hh"

namespace sluice::dp::core {
namespace {

struct spec_case {
    const char* spec;
    const char* message;  // substring the error must contain
};

class port_spec_errors : public ::testing::TestWithParam<spec_case> {};

TEST_P(port_spec_errors, are_rejected_with_a_precise_message) {
    auto r = parse_port_spec(GetParam().spec, "--port #1");
    ASSERT_FALSE(r.ok()) << GetParam().spec;
    EXPECT_NE(r.message().find(GetParam().message), std::string::npos) << r.message();
    EXPECT_EQ(r.message().rfind("--port #1: ", 0), 0U) << r.message();
}

INSTANTIATE_TEST_SUITE_P(
    table, port_spec_errors,
    ::testing::Values(
        spec_case{"", "dev= is required"},
        spec_case{"addr=1.2.3.4/24", "dev= is required"},
        spec_case{"dev=net_ring0", "addr= is required"},
        spec_case{"dev=x,addr=1.2.3.4", "needs a prefix length"},
        spec_case{"dev=x,addr=1.2.3/24", "not an IPv4 address"},
        spec_case{"dev=x,addr=1.2.3.256/24", "not an IPv4 address"},
        spec_case{"dev=x,addr=1.2.3.4/33", "prefix length"},
        spec_case{"dev=x,addr=1.2.3.4/0", "prefix length"},
        spec_case{"dev=x,addr=1.2.3.4/24,gw=9.9.9.9", "is not inside"},
        spec_case{"dev=x,addr=1.2.3.4/24,gw=banana", "not an IPv4 address"},
        spec_case{"dev=x,addr=1.2.3.4/24,mtu=67", "mtu"},
        spec_case{"dev=x,addr=1.2.3.4/24,mtu=9001", "mtu"},
        spec_case{"dev=x,addr=1.2.3.4/24,mtu=15OO", "mtu"},
        spec_case{"dev=x,addr=1.2.3.4/24,rxd=10", "rxd"},
        spec_case{"dev=x,addr=1.2.3.4/24,lcores=", "lcores"},
        spec_case{"dev=x,addr=1.2.3.4/24,lcores=1:1", "listed twice"},
        spec_case{"dev=x,addr=1.2.3.4/24,lcores=3-1", "lcores"},
        spec_case{"dev=x,addr=1.2.3.4/24,speed=10G", "unknown key 'speed'"},
        spec_case{"dev=x,addr", "is not key=value"},
        spec_case{"dev=,addr=1.2.3.4/24", "dev= is empty"},
        spec_case{"dev=afxdp:,addr=1.2.3.4/24", "is not an interface name"},
        spec_case{"dev=auto:a/b,addr=1.2.3.4/24", "is not an interface name"},
        spec_case{"dev=afxdp:abcdefghijklmnop,addr=1.2.3.4/24", "is not an interface name"},
        spec_case{"dev=afxdp:eth1,addr=1.2.3.4/24,services=", "services: empty list"},
        spec_case{"dev=afxdp:eth1,addr=1.2.3.4/24,services=0", "services: port"},
        spec_case{"dev=afxdp:eth1,addr=1.2.3.4/24,services=65536", "services: port"},
        spec_case{"dev=afxdp:eth1,addr=1.2.3.4/24,services=80/sctp", "tcp or udp"},
        spec_case{"dev=afxdp:eth1,addr=1.2.3.4/24,services=80:80/tcp", "listed twice"},
        spec_case{"dev=net_af_xdp0,addr=1.2.3.4/24,services=80", "services= applies only"}));

TEST(port_spec, afxdp_and_auto_modes_name_an_interface_and_services) {
    auto r = parse_port_spec("dev=afxdp:eth1,addr=198.18.0.2/24,services=80:443:53/udp:53",
                             "--port #1");
    ASSERT_TRUE(r.ok()) << r.message();
    EXPECT_EQ(r->kind, port_kind::afxdp);
    EXPECT_EQ(r->iface, "eth1");
    ASSERT_EQ(r->services.size(), 4U);
    EXPECT_EQ(r->services[0].port, 80);
    EXPECT_EQ(r->services[0].proto, 6);
    EXPECT_EQ(r->services[2].port, 53);
    EXPECT_EQ(r->services[2].proto, 17);
    EXPECT_EQ(r->services[3].proto, 6);
    auto a = parse_port_spec("dev=auto:0000:00:04.0,addr=198.18.0.2/24", "--port #1");
    ASSERT_TRUE(a.ok()) << a.message();
    EXPECT_EQ(a->kind, port_kind::automatic);
    EXPECT_EQ(a->iface, "0000:00:04.0");
    auto d = parse_port_spec("dev=net_af_packet0,addr=198.18.0.2/24", "--port #1");
    ASSERT_TRUE(d.ok()) << d.message();
    EXPECT_EQ(d->kind, port_kind::dpdk);
}


TEST(port_spec, full_spec_is_parsed) {
    auto r = parse_port_spec("dev=net_af_packet0,addr=198.18.0.2/24,gw=198.18.0.1,mtu=9000,"
                             "rxd=512,txd=256,lcores=1-2:5",
                             "--port #1");
    ASSERT_TRUE(r.ok()) << r.message();
    EXPECT_EQ(r->dev, "net_af_packet0");
    EXPECT_EQ(format_ipv4(r->addr), "198.18.0.2");
    EXPECT_EQ(format_ipv4(r->netmask), "255.255.255.0");
    EXPECT_EQ(format_ipv4(r->gateway), "198.18.0.1");
    EXPECT_EQ(r->mtu, 9000);
    EXPECT_EQ(r->rxd, 512);
    EXPECT_EQ(r->txd, 256);
    EXPECT_EQ(r->lcores, (std::vector<unsigned>{1, 2, 5}));
}

class temp_file {
public:
    explicit temp_file(const std::string& text) {
        char tmpl[] = "/tmp/sluice-config-test-XXXXXX";
        const int fd = mkstemp(tmpl);
        path_ = tmpl;
        const auto n = write(fd, text.data(), text.size());
        (void)n;
        close(fd);
    }
    ~temp_file() { std::remove(path_.c_str()); }
    temp_file(const temp_file&) = delete;
    temp_file& operator=(const temp_file&) = delete;
    [[nodiscard]] const std::string& path() const { return path_; }

private:
    std::string path_;
};

struct file_case {
    const char* name;
    const char* yaml;
    const char* message;  // expected substring, after "<file>:"
};

class config_file_errors : public ::testing::TestWithParam<file_case> {};

TEST_P(config_file_errors, name_file_line_and_field) {
    temp_file f(GetParam().yaml);
    auto r = load_config_file(f.path(), {});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.message().rfind(f.path() + ":", 0), 0U) << r.message();
    EXPECT_NE(r.message().find(GetParam().message), std::string::npos) << r.message();
}

INSTANTIATE_TEST_SUITE_P(
    table, config_file_errors,
    ::testing::Values(
        file_case{"not_yaml", "ports: [", "not valid YAML"},
        file_case{"top_level_list", "- a\n- b\n", "expected a mapping at the top level"},
        file_case{"unknown_top_key", "ports: []\nspeed: 10\n", ":2: speed: unknown field"},
        file_case{"ports_not_list", "ports: 3\n", "ports: expected a list"},
        file_case{"port_missing_dev", "ports:\n  - address: 1.2.3.4/24\n", "ports[0].dev: required"},
        file_case{"port_missing_address", "ports:\n  - dev: x\n", "ports[0].address: required"},
        file_case{"port_unknown_key", "ports:\n  - dev: x\n    address: 1.2.3.4/24\n    vlan: 3\n",
                  ":4: ports[0].vlan: unknown field"},
        file_case{"port_bad_address", "ports:\n  - dev: x\n    address: 1.2.3.4\n",
                  "needs a prefix length"},
        file_case{"port_mtu_string", "ports:\n  - dev: x\n    address: 1.2.3.4/24\n    mtu: big\n",
                  ":4: ports[0].mtu: expected an integer"},
        file_case{"port_mtu_negative", "ports:\n  - dev: x\n    address: 1.2.3.4/24\n    mtu: -1\n",
                  "ports[0].mtu: expected an integer"},
        file_case{"port_lcores_empty", "ports:\n  - dev: x\n    address: 1.2.3.4/24\n    lcores: []\n",
                  "ports[0].lcores: expected a non-empty list"},
        file_case{"arp_pending_too_big", "arp:\n  pending: 9\n", ":2: arp.pending: 9 is outside 1..8"},
        file_case{"arp_unknown", "arp:\n  colour: red\n", "arp.colour: unknown field"},
        file_case{"ttl_zero", "ttl: 0\n", "ttl: 0 is outside 1..255"},
        file_case{"stats_file_list", "stats:\n  file: [a]\n", "stats.file: expected a string"},
        // Found by fuzz_dp_config: a complex key used to escape as a yaml-cpp exception.
        file_case{"complex_key", "? [a, b]\n: 1\n", "keys must be plain names"},
        file_case{"complex_port_key", "ports:\n  - ? {x: 1}\n    : 2\n",
                  "ports[0]: keys must be plain names"},
        file_case{"services_not_list",
                  "ports:\n  - dev: afxdp:e\n    address: 1.2.3.4/24\n    services: 80\n",
                  ":4: ports[0].services: expected a non-empty list"}),
    [](const auto& p) { return std::string(p.param.name); });

TEST(config_file, missing_file_is_reported) {
    auto r = load_config_file("/nonexistent/sluice.yaml", {});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.message(), "/nonexistent/sluice.yaml: cannot read the file");
}

TEST(config_file, valid_file_and_command_line_combine) {
    temp_file f(
        "ports:\n"
        "  - dev: net_ring0\n"
        "    address: 198.18.0.2/24\n"
        "    gateway: 198.18.0.1\n"
        "    mtu: 1400\n"
        "    lcores: [1, 2]\n"
        "mbufs: 4096\n"
        "ttl: 32\n"
        "arp: {timeout: 60, entries: 256, pending: 2, retry_ms: 500, retries: 5}\n"
        "stats: {file: /tmp/x.json, interval: 10}\n");
    std::string cfg = "--config=" + f.path();
    const char* argv[] = {"sluice-dataplane", cfg.c_str(), "--ttl", "99", "--port",
                          "dev=net_ring1,addr=198.19.0.2/16"};
    auto r = parse_options(6, const_cast<char**>(argv));
    ASSERT_TRUE(r.ok()) << r.message();
    const auto& c = r->config;
    ASSERT_EQ(c.ports.size(), 2U);
    EXPECT_EQ(c.ports[0].dev, "net_ring0");
    EXPECT_EQ(c.ports[0].mtu, 1400);
    EXPECT_EQ(c.ports[0].lcores, (std::vector<unsigned>{1, 2}));
    EXPECT_EQ(c.ports[1].dev, "net_ring1");
    EXPECT_EQ(c.mbufs, 4096U);
    EXPECT_EQ(c.ttl, 99);  // the command line wins
    EXPECT_EQ(c.arp_timeout_s, 60U);
    EXPECT_EQ(c.arp_entries, 256U);
    EXPECT_EQ(c.arp_pending, 2U);
    EXPECT_EQ(c.arp_retry_ms, 500U);
    EXPECT_EQ(c.arp_retries, 5U);
    EXPECT_EQ(c.stats_file, "/tmp/x.json");
    EXPECT_EQ(c.stats_interval_s, 10U);
}

TEST(options, no_port_is_an_error) {
    const char* argv[] = {"sluice-dataplane"};
    auto r = parse_options(1, const_cast<char**>(argv));
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.message().find("no port to serve"), std::string::npos);
}

TEST(options, unknown_option_is_an_error) {
    const char* argv[] = {"sluice-dataplane", "--port", "dev=x,addr=1.2.3.4/24", "--colour"};
    auto r = parse_options(4, const_cast<char**>(argv));
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.message().find("--colour"), std::string::npos) << r.message();
}

TEST(options, instance_name_is_checked) {
    const char* argv[] = {"sluice-dataplane", "--port", "dev=x,addr=1.2.3.4/24", "--instance",
                          "bad/name"};
    auto r = parse_options(5, const_cast<char**>(argv));
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.message().find("instance names are 1-64 of [A-Za-z0-9_.-]"), std::string::npos)
        << r.message();
    const char* good[] = {"sluice-dataplane", "--port", "dev=x,addr=1.2.3.4/24", "--instance",
                          "edge-1", "--shm-dir", "/tmp/x"};
    auto g = parse_options(7, const_cast<char**>(good));
    ASSERT_TRUE(g.ok()) << g.message();
    EXPECT_EQ(g->config.instance, "edge-1");
    EXPECT_EQ(g->config.shm_dir, "/tmp/x");
}

TEST(options, help_is_not_an_error) {
    const char* argv[] = {"sluice-dataplane", "--help"};
    auto r = parse_options(2, const_cast<char**>(argv));
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(r->help);
    EXPECT_NE(r->help_text.find("--port"), std::string::npos);
}

TEST(config_file, services_and_xdp_prog_are_read) {
    temp_file f(
        "xdp_prog: /opt/sluice/sluice_xdp.bpf.o\n"
        "ports:\n"
        "  - dev: afxdp:eth1\n"
        "    address: 198.18.0.2/24\n"
        "    services: [80, \"53/udp\"]\n");
    auto r = load_config_file(f.path(), {});
    ASSERT_TRUE(r.ok()) << r.message();
    EXPECT_EQ(r->xdp_prog, "/opt/sluice/sluice_xdp.bpf.o");
    ASSERT_EQ(r->ports.size(), 1U);
    ASSERT_EQ(r->ports[0].services.size(), 2U);
    EXPECT_EQ(r->ports[0].services[1].proto, 17);
}

}  // namespace
}  // namespace sluice::dp::core
