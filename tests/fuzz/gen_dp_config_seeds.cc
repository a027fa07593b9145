// Seeds for fuzz_dp_config: port specs and config files, valid and broken.
// Usage: gen_dp_config_seeds DIR   (DIR is created if missing)
#include <cstring>
#include <utility>
#include <vector>

#include "seed_dir.hh"

int main(int argc, char** argv) {
    auto dir = sluice::test::seed_dir::open(argc, argv);
    if (!dir) {
        return 2;
    }
    const std::vector<std::pair<const char*, const char*>> seeds = {
        {"spec_full", "dev=net_af_packet0,addr=198.18.0.2/24,gw=198.18.0.1,mtu=1500,rxd=512,"
                      "txd=512,lcores=1-2:5"},
        {"spec_afxdp", "dev=afxdp:eth1,addr=198.18.0.2/24,services=80:443:53/udp"},
        {"spec_bad", "dev=x,addr=1.2.3.4/33,mtu=15OO"},
        {"yaml_full", "ports:\n  - dev: net_ring0\n    address: 198.18.0.2/24\n"
                      "    gateway: 198.18.0.1\n    mtu: 1400\n    lcores: [1, 2]\n"
                      "mbufs: 4096\nttl: 32\narp: {timeout: 60, entries: 256, pending: 2}\n"
                      "stats: {file: /tmp/x.json, interval: 10}\n"},
        {"yaml_bad", "ports:\n  - dev: x\n    address: 1.2.3.4/24\n    vlan: 3\n"},
    };
    bool ok = true;
    for (const auto& [name, text] : seeds) {
        ok &= dir->write(name, text, std::strlen(text));
    }
    return dir->finish(ok);
}
