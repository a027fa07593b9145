// Replays libFuzzer inputs without libFuzzer, so that gcc and sanitizer builds run every
// fuzz target over its seed corpus as an ordinary unit test.
// Usage: <target> FILE|DIR...   (directories are read one level deep)
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);
extern "C" __attribute__((weak)) int LLVMFuzzerInitialize(int* argc, char*** argv);

namespace {
int run_file(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    if (!in) {
        std::fprintf(stderr, "replay: cannot read %s\n", p.c_str());
        return 1;
    }
    std::vector<std::uint8_t> buf((std::istreambuf_iterator<char>(in)), {});
    LLVMFuzzerTestOneInput(buf.data(), buf.size());
    return 0;
}
}  // namespace

int main(int argc, char** argv) {
    if (LLVMFuzzerInitialize != nullptr) {
        LLVMFuzzerInitialize(&argc, &argv);
    }
    std::size_t n = 0;
    int bad = 0;
    for (int i = 1; i < argc; ++i) {
        std::filesystem::path p(argv[i]);
        if (std::filesystem::is_directory(p)) {
            for (const auto& e : std::filesystem::directory_iterator(p)) {
                if (e.is_regular_file()) {
                    bad += run_file(e.path());
                    ++n;
                }
            }
        } else {
            bad += run_file(p);
            ++n;
        }
    }
    std::printf("replay: %zu inputs, %d unreadable\n", n, bad);
    return (bad != 0 || n == 0) ? 1 : 0;
}
