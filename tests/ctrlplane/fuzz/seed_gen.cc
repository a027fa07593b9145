// Seed generator for run_fuzz.sh: copies the checked-in corpus (valid and invalid configs) and
// the unit tests' config files into the directory given as argv[1].
#include <cstdio>
#include <filesystem>

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s OUT_DIR\n", argv[0]);
        return 2;
    }
    namespace fs = std::filesystem;
    int n = 0;
    for (const char* dir : {SLUICE_FUZZ_CORPUS, SLUICE_CONFIG_DIR}) {
        for (const auto& e : fs::directory_iterator(dir)) {
            if (e.is_regular_file()) {
                fs::copy_file(e.path(), fs::path(argv[1]) / e.path().filename(),
                              fs::copy_options::overwrite_existing);
                ++n;
            }
        }
    }
    std::printf("seed_gen: %d seeds\n", n);
    return n > 0 ? 0 : 1;
}
