// Writes every frame of the XDP case table to DIR as a seed for fuzz_xdp_packet.
// Usage: xdp_fuzz_seeds DIR
#include <cstdio>
#include <fstream>
#include <string>

#include "xdp_cases.hh"

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: xdp_fuzz_seeds DIR\n");
        return 2;
    }
    for (const auto& c : sluice::ebpf::test::xdp_cases()) {
        const std::string path = std::string(argv[1]) + "/" + c.name;
        std::ofstream out(path, std::ios::binary);
        out.write(reinterpret_cast<const char*>(c.frame.data()),
                  static_cast<std::streamsize>(c.frame.size()));
        if (!out) {
            std::fprintf(stderr, "xdp_fuzz_seeds: cannot write %s\n", path.c_str());
            return 1;
        }
    }
    return 0;
}
