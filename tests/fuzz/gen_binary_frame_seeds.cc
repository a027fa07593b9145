// Writes the binary frame case table (tests/proxy/binary/frame_cases.hh) as fuzz seeds for
// fuzz_binary_frame: per case, a few piece sizes, with the case's max payload.
#include <cstdio>
#include <fstream>
#include <string>

#include "../proxy/binary/frame_cases.hh"

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    int n = 0;
    for (const auto& c : sluice::test::binary::frame_cases()) {
        // Byte 1: 0 = default max; the table's small maxima are multiples of 4 (100 = 4·25).
        const auto max_sel = static_cast<std::uint8_t>(
            c.max_payload == sluice::dp::proxy::binary::default_max_payload ? 0
                                                                            : c.max_payload / 4);
        for (std::uint8_t piece : {0, 2, 12, 255}) {
            std::ofstream f(std::string(argv[1]) + "/" + c.name + "_" + std::to_string(piece),
                            std::ios::binary);
            f.put(static_cast<char>(piece));
            f.put(static_cast<char>(max_sel));
            f.write(reinterpret_cast<const char*>(c.stream.data()),
                    static_cast<std::streamsize>(c.stream.size()));
            if (!f) {
                std::fprintf(stderr, "cannot write %s/%s\n", argv[1], c.name.c_str());
                return 1;
            }
            ++n;
        }
    }
    std::printf("wrote %d seeds\n", n);
    return 0;
}
