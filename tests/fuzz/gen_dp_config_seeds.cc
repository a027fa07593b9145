// Seeds for fuzz_dp_config: port specs and config files, valid and broken.
#include <cstdio>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
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
    for (const auto& [name, text] : seeds) {
        std::ofstream f(std::string(argv[1]) + "/" + name, std::ios::binary);
        f << text;
        if (!f) {
            return 1;
        }
    }
    return 0;
}
