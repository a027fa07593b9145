// See rss.hh. Runs on the lcore that calls connect().
#include "net/tcp/rss.hh"

#include <rte_ethdev.h>
#include <rte_thash.h>

namespace sluice::dp::net::tcp {

rss_view rss_read(std::uint16_t port) noexcept {
    rss_view v;
    rte_eth_dev_info info{};
    if (rte_eth_dev_info_get(port, &info) != 0) {
        return v;
    }
    v.queues = info.nb_rx_queues;  // configured queues
    if (v.queues <= 1 || info.reta_size == 0 || info.reta_size > v.reta.size() ||
        info.hash_key_size > v.key.size()) {
        return v;
    }
    rte_eth_rss_conf conf{};
    conf.rss_key = v.key.data();
    conf.rss_key_len = info.hash_key_size;
    if (rte_eth_dev_rss_hash_conf_get(port, &conf) != 0 || conf.rss_hf == 0) {
        return v;
    }
    std::array<rte_eth_rss_reta_entry64, 512 / RTE_ETH_RETA_GROUP_SIZE> groups{};
    for (auto& g : groups) {
        g.mask = ~0ULL;
    }
    if (rte_eth_dev_rss_reta_query(port, groups.data(), info.reta_size) != 0) {
        return v;
    }
    v.reta_size = info.reta_size;
    for (std::uint16_t i = 0; i < v.reta_size; ++i) {
        v.reta[i] = groups[i / RTE_ETH_RETA_GROUP_SIZE].reta[i % RTE_ETH_RETA_GROUP_SIZE];
    }
    v.active = true;
    return v;
}

std::uint32_t rss_hash_v4(const std::uint8_t* key, rte_be32_t remote, rte_be32_t local,
                          std::uint16_t rport, std::uint16_t lport) noexcept {
    rte_ipv4_tuple t{};
    t.src_addr = rte_be_to_cpu_32(remote);
    t.dst_addr = rte_be_to_cpu_32(local);
    t.sport = rport;
    t.dport = lport;
    return rte_softrss(reinterpret_cast<std::uint32_t*>(&t), RTE_THASH_V4_L4_LEN, key);
}

}  // namespace sluice::dp::net::tcp
