// Writes the L2/L3 case table (tests/packet/l2l3_cases.hh) as fuzz seeds: one file per case.
// Usage: gen_l2l3_seeds DIR   (DIR is created if missing)
#include "l2l3_seed_mac.hh"
#include "seed_dir.hh"

int main(int argc, char** argv) {
    auto dir = sluice::test::seed_dir::open(argc, argv);
    if (!dir) {
        return 2;
    }
    bool ok = true;
    for (const auto& c : sluice::test::l2l3_cases(sluice::test::fuzz_mac)) {
        ok &= dir->write(c.name, c.frame.data(), c.frame.size());
    }
    return dir->finish(ok);
}
