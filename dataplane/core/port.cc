// Port set-up and tear-down over rte_ethdev; see port.hh. Main lcore only.
#include "port.hh"

#include <rte_dev.h>
#include <rte_ethdev.h>
#include <unistd.h>

#include <charconv>
#include <climits>
#include <filesystem>

#include "afxdp_port.hh"
#include "log.hh"
#include "net/tcp/ephemeral.hh"
#include "port_mode.hh"

namespace sluice::dp::core {

result<std::uint16_t> port_lookup(const std::string& dev) {
    std::uint16_t id = 0;
    auto [p, ec] = std::from_chars(dev.data(), dev.data() + dev.size(), id);
    if (ec == std::errc{} && p == dev.data() + dev.size()) {
        if (!rte_eth_dev_is_valid_port(id)) {
            return error{"port id " + dev + " does not exist (" +
                         std::to_string(rte_eth_dev_count_avail()) + " ports available)"};
        }
        return id;
    }
    if (rte_eth_dev_get_port_by_name(dev.c_str(), &id) != 0) {
        std::string names;
        std::uint16_t pid = 0;
        RTE_ETH_FOREACH_DEV(pid) {
            char name[RTE_ETH_NAME_MAX_LEN] = {};
            rte_eth_dev_get_name_by_port(pid, name);
            names += (names.empty() ? "" : ", ") + std::string(name);
        }
        return error{"no DPDK port named '" + dev + "' (ports: " +
                     (names.empty() ? "none; add --vdev=... or an allow-listed PCI device" : names) +
                     ")"};
    }
    return id;
}

std::string port_driver(std::uint16_t port_id) {
    rte_eth_dev_info dev_info{};
    if (rte_eth_dev_info_get(port_id, &dev_info) != 0 || dev_info.driver_name == nullptr) {
        return "";
    }
    return dev_info.driver_name;
}

namespace {
result<port_info> configure_and_start(const port_config& cfg, std::uint16_t port_id,
                                      const std::vector<rte_mempool*>& rx_pools, std::uint8_t ttl,
                                      net::iface& ifc);
}  // namespace

result<port_info> port_open(const port_config& cfg, std::uint16_t port_id,
                            const std::vector<rte_mempool*>& rx_pools, std::uint8_t ttl,
                            net::iface& ifc) {
    auto r = configure_and_start(cfg, port_id, rx_pools, ttl, ifc);
    if (!r) {
        (void)rte_eth_dev_stop(port_id);
        (void)rte_eth_dev_close(port_id);
    }
    return r;
}

namespace {
result<port_info> configure_and_start(const port_config& cfg, std::uint16_t port_id,
                                      const std::vector<rte_mempool*>& rx_pools, std::uint8_t ttl,
                                      net::iface& ifc) {
    const auto queues = static_cast<std::uint16_t>(rx_pools.size());
    port_info info;
    info.port_id = port_id;
    info.queues = queues;
    char name[RTE_ETH_NAME_MAX_LEN] = {};
    rte_eth_dev_get_name_by_port(port_id, name);
    info.name = name;
    const std::string who = "port " + info.name + " (" + cfg.where + ")";

    rte_eth_dev_info dev_info{};
    if (int rc = rte_eth_dev_info_get(port_id, &dev_info); rc != 0) {
        return error{who + ": rte_eth_dev_info_get: " + rte_strerror(-rc)};
    }
    info.driver = dev_info.driver_name != nullptr ? dev_info.driver_name : "?";
    if (queues > dev_info.max_rx_queues || queues > dev_info.max_tx_queues) {
        return error{who + ": " + std::to_string(queues) + " workers serve it but driver " +
                     info.driver + " has at most " +
                     std::to_string(std::min(dev_info.max_rx_queues, dev_info.max_tx_queues)) +
                     " queue pairs (set lcores= on the port, or for af_packet add qpairs=N, for "
                     "af_xdp queue_count=N to the vdev)"};
    }

    rte_eth_conf conf{};
    conf.rxmode.mtu = cfg.mtu;
    if (queues > 1) {
        const std::uint64_t want = RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP;
        const std::uint64_t hf = want & dev_info.flow_type_rss_offloads;
        if (hf != 0) {
            conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
            conf.rx_adv_conf.rss_conf.rss_hf = hf;
            info.rss = true;
        } else {
            log::warn("{}: driver {} offers no RSS; {} queues are filled by the driver's own "
                      "spreading (af_packet fanout, af_xdp's NIC queues) or not at all",
                      who, info.driver, queues);
        }
    }
    if (dev_info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM) {
        conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_IPV4_CKSUM;
        ifc.tx_ipv4_cksum = true;
    }
    if (dev_info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_IPV4_CKSUM) {
        conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_IPV4_CKSUM;
        ifc.rx_ipv4_cksum = true;
    }
    if (int rc = rte_eth_dev_configure(port_id, queues, queues, &conf); rc != 0) {
        return error{who + ": rte_eth_dev_configure(" + std::to_string(queues) +
                     " queues, mtu " + std::to_string(cfg.mtu) + "): " + rte_strerror(-rc)};
    }
    std::uint16_t rxd = cfg.rxd;
    std::uint16_t txd = cfg.txd;
    if (int rc = rte_eth_dev_adjust_nb_rx_tx_desc(port_id, &rxd, &txd); rc != 0) {
        return error{who + ": rte_eth_dev_adjust_nb_rx_tx_desc: " + rte_strerror(-rc)};
    }
    info.socket_id = rte_eth_dev_socket_id(port_id);
    if (info.socket_id < 0) {
        info.socket_id = 0;
    }
    for (std::uint16_t q = 0; q < queues; ++q) {
        rte_eth_rxconf rxc = dev_info.default_rxconf;
        rxc.offloads = conf.rxmode.offloads;
        if (int rc = rte_eth_rx_queue_setup(port_id, q, rxd, static_cast<unsigned>(info.socket_id),
                                            &rxc, rx_pools[q]);
            rc != 0) {
            return error{who + ": RX queue " + std::to_string(q) + ": " + rte_strerror(-rc)};
        }
        rte_eth_txconf txc = dev_info.default_txconf;
        txc.offloads = conf.txmode.offloads;
        if (int rc = rte_eth_tx_queue_setup(port_id, q, txd, static_cast<unsigned>(info.socket_id),
                                            &txc);
            rc != 0) {
            return error{who + ": TX queue " + std::to_string(q) + ": " + rte_strerror(-rc)};
        }
    }
    if (int rc = rte_eth_dev_start(port_id); rc != 0) {
        return error{who + ": rte_eth_dev_start: " + rte_strerror(-rc)};
    }
    rte_ether_addr mac{};
    if (int rc = rte_eth_macaddr_get(port_id, &mac); rc != 0) {
        return error{who + ": no MAC address: " + rte_strerror(-rc)};
    }
    std::uint16_t mtu = 0;
    if (rte_eth_dev_get_mtu(port_id, &mtu) == 0 && mtu != cfg.mtu) {
        log::warn("{}: MTU is {} although {} was asked for; using {}", who, mtu, cfg.mtu, mtu);
    } else {
        mtu = cfg.mtu;
    }

    ifc.port_id = port_id;
    ifc.mac = mac;
    ifc.addr = cfg.addr;
    ifc.netmask = cfg.netmask;
    ifc.gateway = cfg.gateway;
    ifc.mtu = mtu;
    ifc.ttl = ttl;

    char macs[RTE_ETHER_ADDR_FMT_SIZE] = {};
    rte_ether_format_addr(macs, sizeof(macs), &mac);
    log::info("{}: driver {}, mac {}, {} queue pair(s){}, mtu {}, rxd {}, txd {}, ipv4 checksum "
              "offload rx {} tx {}, address {}",
              who, info.driver, macs, queues,
              queues > 1 ? (info.rss ? " with RSS" : " without RSS") : "", mtu, rxd, txd,
              ifc.rx_ipv4_cksum ? "on" : "software", ifc.tx_ipv4_cksum ? "on" : "software",
              format_ipv4(cfg.addr));
    return info;
}
}  // namespace

void port_close(std::uint16_t port_id) {
    if (int rc = rte_eth_dev_stop(port_id); rc != 0) {
        log::warn("port {}: stop: {}", port_id, rte_strerror(-rc));
    }
    if (int rc = rte_eth_dev_close(port_id); rc != 0) {
        log::warn("port {}: close: {}", port_id, rte_strerror(-rc));
    }
}

}  // namespace sluice::dp::core

namespace sluice::dp::core {

namespace afxdp = ebpf::afxdp;

std::string default_xdp_prog() {
    char exe[PATH_MAX] = {};
    const ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    const std::string self = n > 0 ? std::string(exe, static_cast<std::size_t>(n)) : "";
    const std::string build_root = SLUICE_BUILD_ROOT;
    if (self.starts_with(build_root + "/")) {
        return SLUICE_XDP_OBJ_BUILD;
    }
    return SLUICE_XDP_OBJ_INSTALLED;
}

result<created_device> port_create_device(port_config& cfg, std::uint16_t queues,
                                          const std::string& xdp_prog) {
    const std::string who = cfg.where + " (dev=" + cfg.dev + ")";
    afxdp::choice ch;
    if (cfg.kind == port_kind::automatic) {
        auto c = afxdp::choose(cfg.iface, afxdp::system_probes());
        if (!c) {
            return error{cfg.where + ": " + c.message()};
        }
        ch = std::move(c).value();
        log::info("{}: auto chose {}: {}", who, afxdp::backend_name(ch.how), ch.reason);
    } else {
        ch.how = afxdp::backend::af_xdp;
        ch.device = cfg.iface;
    }
    created_device dev;
    if (ch.how == afxdp::backend::pci_pmd) {
        dev.name = ch.device;
        if (int rc = rte_dev_probe(ch.device.c_str()); rc != 0) {
            return error{who + ": probe PCI device " + ch.device + ": " + rte_strerror(-rc) +
                         " (EAL must be allowed to use it: -a " + ch.device +
                         " instead of --no-pci)"};
        }
        cfg.dev = dev.name;
        return dev;
    }
    dev.iface = ch.device;
    std::string args = "iface=" + ch.device;
    if (ch.how == afxdp::backend::af_packet) {
        dev.name = "net_af_packet_" + ch.device;
        args += ",qpairs=" + std::to_string(queues);
    } else {
        std::string note;
        if (auto st = afxdp::ensure_bpffs(note); !st) {
            return error{who + ": " + st.message()};
        }
        log::info("{}: {}", who, note);
        if (auto st = afxdp::clear_stale_program(ch.device, note); !st) {
            return error{who + ": " + st.message()};
        }
        log::info("{}: {}", who, note);
        std::error_code ec;
        if (!std::filesystem::is_regular_file(xdp_prog, ec)) {
            return error{who + ": XDP program object " + xdp_prog +
                         " does not exist (build it, install it, or give --xdp-prog PATH)"};
        }
        dev.name = "net_af_xdp_" + ch.device;
        dev.xdp = true;
        args += ",start_queue=0,queue_count=" + std::to_string(queues) + ",xdp_prog=" + xdp_prog;
    }
    // rte_dev_probe() takes "name,args" and finds the vdev bus from the driver name prefix.
    if (int rc = rte_dev_probe((dev.name + "," + args).c_str()); rc != 0) {
        return error{who + ": create " + dev.name + " (" + args + "): " + rte_strerror(-rc) +
                     " (the PMD's log lines above say why)"};
    }
    log::info("{}: created {} ({})", who, dev.name, args);
    cfg.dev = dev.name;
    return dev;
}

status port_device_started(const port_config& cfg, created_device& dev,
                           std::set<int>& known_xsks) {
    if (!dev.xdp) {
        return ok_status();
    }
    const auto xsks = afxdp::list_xsks(known_xsks);
    for (const auto& x : xsks) {
        known_xsks.insert(x.fd);
    }
    log::info("{}: {}", cfg.where, afxdp::describe_mode(dev.iface, xsks));
    std::vector<std::pair<std::uint16_t, ebpf::l4_proto>> ports;
    for (const auto& sp : cfg.services) {
        ports.emplace_back(sp.port, sp.proto == 17 ? ebpf::l4_proto::udp : ebpf::l4_proto::tcp);
    }
    if (ports.empty()) {
        log::warn("{}: no services= given: the XDP program steers nothing to the dataplane, not "
                  "even ARP for {}",
                  cfg.where, format_ipv4(cfg.addr));
        return ok_status();
    }
    auto added = afxdp::install_services(cfg.addr, ports, 0);
    if (!added) {
        return error{cfg.where + ": service map: " + added.message()};
    }
    dev.services = std::move(added).value();
    // The answers to the gateway's upstream connections, which open from this address with a
    // source port from the stack's ephemeral range, must reach the dataplane too.
    if (auto st = afxdp::steer_return_ports(net::tcp::ephemeral_port_min,
                                            net::tcp::ephemeral_port_max);
        !st) {
        return error{cfg.where + ": return port range: " + st.message()};
    }
    std::string list;
    for (const auto& sp : cfg.services) {
        if (!list.empty()) {
            list += ' ';
        }
        list += std::to_string(sp.port);
        list += sp.proto == 17 ? "/udp" : "/tcp";
    }
    log::info("{}: XDP steers ARP for {}, services {} and TCP to ports {}-{} (answers to the "
              "dataplane's own connections) to the dataplane; everything else passes to the "
              "kernel",
              cfg.where, format_ipv4(cfg.addr), list, net::tcp::ephemeral_port_min,
              net::tcp::ephemeral_port_max);
    return ok_status();
}

void port_device_before_close(created_device& dev) {
    if (auto st = afxdp::remove_services(dev.services); !st) {
        log::warn("{}: removing our service map entries: {}", dev.name, st.message());
    }
    dev.services.clear();
}

void port_device_after_close(const created_device& dev) {
    if (!dev.xdp) {
        return;
    }
    std::string note;
    if (auto st = afxdp::verify_detached(dev.iface, note); !st) {
        log::warn("{}: {}", dev.name, st.message());
    } else {
        log::info("{}", note);
    }
}

}  // namespace sluice::dp::core
