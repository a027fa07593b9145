// Writes every case of the option table to DIR/<name>, the seed corpus of fuzz_tcp_options.
// Usage: gen_option_seeds DIR   (DIR is created if missing)
#include "../fuzz/seed_dir.hh"
#include "option_cases.hh"

int main(int argc, char** argv) {
    auto dir = sluice::test::seed_dir::open(argc, argv);
    if (!dir) {
        return 2;
    }
    bool ok = true;
    for (const auto& c : sluice::dp::net::tcp::test::option_cases()) {
        ok &= dir->write(c.name, c.bytes.data(), c.bytes.size());
    }
    return dir->finish(ok);
}
