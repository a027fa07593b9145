// Port set-up and tear-down over rte_ethdev; see port.hh. Main lcore only.
#include "port.hh"

#include <rte_ethdev.h>

#include <charconv>

#include "log.hh"

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
