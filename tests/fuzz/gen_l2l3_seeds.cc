// Writes the L2/L3 case table (tests/packet/l2l3_cases.hh) as fuzz seeds: one file per case.
#include <cstdio>
#include <fstream>
#include <string>

#include "l2l3_seed_mac.hh"

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    int n = 0;
    for (const auto& c : sluice::test::l2l3_cases(sluice::test::fuzz_mac)) {
        std::ofstream f(std::string(argv[1]) + "/" + c.name, std::ios::binary);
        f.write(reinterpret_cast<const char*>(c.frame.data()),
                static_cast<std::streamsize>(c.frame.size()));
        if (!f) {
            std::fprintf(stderr, "cannot write %s/%s\n", argv[1], c.name.c_str());
            return 1;
        }
        ++n;
    }
    std::printf("wrote %d seeds\n", n);
    return 0;
}
