// Writes the binary frame case table (tests/proxy/binary/frame_cases.hh) as fuzz seeds for
// fuzz_binary_frame: per case, a few piece sizes, with the case's max payload.
// Usage: gen_binary_frame_seeds DIR   (DIR is created if missing)
#include <string>

#include "../proxy/binary/frame_cases.hh"
#include "seed_dir.hh"

int main(int argc, char** argv) {
    auto dir = sluice::test::seed_dir::open(argc, argv);
    if (!dir) {
        return 2;
    }
    bool ok = true;
    for (const auto& c : sluice::test::binary::frame_cases()) {
        // Byte 1: 0 = default max; the table's small maxima are multiples of 4 (100 = 4·25).
        const auto max_sel = static_cast<std::uint8_t>(
            c.max_payload == sluice::dp::proxy::binary::default_max_payload ? 0
                                                                            : c.max_payload / 4);
        for (std::uint8_t piece : {0, 2, 12, 255}) {
            std::string seed{static_cast<char>(piece), static_cast<char>(max_sel)};
            seed.append(reinterpret_cast<const char*>(c.stream.data()), c.stream.size());
            ok &= dir->write(c.name + "_" + std::to_string(piece), seed.data(), seed.size());
        }
    }
    return dir->finish(ok);
}
