// Writes every case of the option table to DIR/<name>, the seed corpus of fuzz_tcp_options.
// Usage: gen_option_seeds DIR   (DIR is created if missing)
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "option_cases.hh"

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    const std::filesystem::path dir(argv[1]);
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) {
        std::fprintf(stderr, "gen_option_seeds: cannot create %s: %s\n", dir.c_str(),
                     ec.message().c_str());
        return 1;
    }
    int n = 0;
    for (const auto& c : sluice::dp::net::tcp::test::option_cases()) {
        std::ofstream out(dir / c.name, std::ios::binary | std::ios::trunc);
        out.write(reinterpret_cast<const char*>(c.bytes.data()),
                  static_cast<std::streamsize>(c.bytes.size()));
        if (!out) {
            std::fprintf(stderr, "gen_option_seeds: cannot write %s/%s\n", dir.c_str(), c.name);
            return 1;
        }
        ++n;
    }
    std::printf("gen_option_seeds: %d seeds in %s\n", n, dir.c_str());
    return 0;
}
