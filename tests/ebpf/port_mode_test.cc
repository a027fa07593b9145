// The dev=auto: decision (ebpf/afxdp/port_mode) over injected probes: no NIC, no root needed.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>

#include "port_mode.hh"

namespace sluice::ebpf::afxdp {
namespace {

// A host described by tables; every probe answers from them.
struct fake_host {
    std::map<std::string, std::string> pci_drivers;  // PCI address -> driver
    std::map<std::string, std::string> pci_netdevs;  // PCI address -> netdev
    std::set<std::string> netdevs;
    bool af_xdp = true;
    int native = 1;

    probes make() const {
        probes p;
        p.pci_driver = [this](const std::string& a) {
            auto it = pci_drivers.find(a);
            return it == pci_drivers.end() ? std::string{} : it->second;
        };
        p.pci_netdev = [this](const std::string& a) {
            auto it = pci_netdevs.find(a);
            return it == pci_netdevs.end() ? std::string{} : it->second;
        };
        p.netdev_exists = [this](const std::string& n) { return netdevs.contains(n); };
        p.af_xdp_sockets = [this] { return af_xdp; };
        p.xdp_native = [this](const std::string&) { return native; };
        return p;
    }
};

TEST(port_mode, nic_bound_to_vfio_pci_uses_its_dpdk_pmd) {
    fake_host h;
    h.pci_drivers["0000:00:04.0"] = "vfio-pci";
    auto c = choose("0000:00:04.0", h.make());
    ASSERT_TRUE(c.ok()) << c.message();
    EXPECT_EQ(c->how, backend::pci_pmd);
    EXPECT_EQ(c->device, "0000:00:04.0");
    EXPECT_NE(c->reason.find("vfio-pci"), std::string::npos) << c->reason;
}

TEST(port_mode, uio_drivers_count_as_bound_and_short_pci_form_gets_a_domain) {
    for (const char* drv : {"uio_pci_generic", "igb_uio"}) {
        fake_host h;
        h.pci_drivers["0000:00:05.0"] = drv;
        auto c = choose("00:05.0", h.make());
        ASSERT_TRUE(c.ok()) << c.message();
        EXPECT_EQ(c->how, backend::pci_pmd) << drv;
        EXPECT_EQ(c->device, "0000:00:05.0");
    }
}

TEST(port_mode, pci_address_with_a_kernel_driver_goes_af_xdp_on_its_netdev) {
    fake_host h;
    h.pci_drivers["0000:00:04.0"] = "virtio-pci";
    h.pci_netdevs["0000:00:04.0"] = "ens4";
    auto c = choose("0000:00:04.0", h.make());
    ASSERT_TRUE(c.ok()) << c.message();
    EXPECT_EQ(c->how, backend::af_xdp);
    EXPECT_EQ(c->device, "ens4");
}

TEST(port_mode, kernel_netdev_with_native_xdp_goes_af_xdp_native) {
    fake_host h;
    h.netdevs = {"eth1"};
    auto c = choose("eth1", h.make());
    ASSERT_TRUE(c.ok()) << c.message();
    EXPECT_EQ(c->how, backend::af_xdp);
    EXPECT_EQ(c->native, 1);
    EXPECT_NE(c->reason.find("native"), std::string::npos) << c->reason;
}

TEST(port_mode, kernel_netdev_without_native_xdp_still_prefers_af_xdp_in_skb_mode) {
    fake_host h;
    h.netdevs = {"eth1"};
    h.native = 0;
    auto c = choose("eth1", h.make());
    ASSERT_TRUE(c.ok()) << c.message();
    EXPECT_EQ(c->how, backend::af_xdp);
    EXPECT_EQ(c->native, 0);
    EXPECT_NE(c->reason.find("skb"), std::string::npos) << c->reason;
}

TEST(port_mode, driver_refusing_native_xdp_falls_back_to_af_packet) {
    // The 22.11 PMD attaches without a mode flag: the kernel would try native and fail.
    fake_host h;
    h.netdevs = {"eth0"};
    h.native = -2;
    auto c = choose("eth0", h.make());
    ASSERT_TRUE(c.ok()) << c.message();
    EXPECT_EQ(c->how, backend::af_packet);
    EXPECT_NE(c->reason.find("refused"), std::string::npos) << c->reason;
}

TEST(port_mode, unknown_native_support_still_goes_af_xdp) {
    fake_host h;
    h.netdevs = {"eth1"};
    h.native = -1;
    auto c = choose("eth1", h.make());
    ASSERT_TRUE(c.ok()) << c.message();
    EXPECT_EQ(c->how, backend::af_xdp);
    EXPECT_NE(c->reason.find("unknown"), std::string::npos) << c->reason;
}

TEST(port_mode, kernel_without_af_xdp_sockets_falls_back_to_af_packet) {
    fake_host h;
    h.netdevs = {"eth1"};
    h.af_xdp = false;
    auto c = choose("eth1", h.make());
    ASSERT_TRUE(c.ok()) << c.message();
    EXPECT_EQ(c->how, backend::af_packet);
    EXPECT_EQ(c->device, "eth1");
    EXPECT_NE(c->reason.find("af_packet"), std::string::npos) << c->reason;
}

TEST(port_mode, unknown_interface_is_an_error_that_suggests_the_pci_form) {
    fake_host h;
    auto c = choose("eth9", h.make());
    ASSERT_FALSE(c.ok());
    EXPECT_NE(c.message().find("auto:0000:"), std::string::npos) << c.message();
}

TEST(port_mode, unknown_pci_device_and_driverless_device_are_errors) {
    fake_host h;
    EXPECT_FALSE(choose("0000:00:09.0", h.make()).ok());
    h.pci_drivers["0000:00:09.0"] = "(none)";
    auto c = choose("0000:00:09.0", h.make());
    ASSERT_FALSE(c.ok());
    EXPECT_NE(c.message().find("neither a DPDK driver"), std::string::npos) << c.message();
}

TEST(port_mode, pci_address_syntax) {
    EXPECT_TRUE(looks_like_pci("0000:00:04.0"));
    EXPECT_TRUE(looks_like_pci("00:1f.7"));
    EXPECT_FALSE(looks_like_pci("eth0"));
    EXPECT_FALSE(looks_like_pci("0000:00:04.8"));
    EXPECT_FALSE(looks_like_pci("sl12d0"));
}

}  // namespace
}  // namespace sluice::ebpf::afxdp
