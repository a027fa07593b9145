// The output side of every seed generator (gen_*_seeds DIR): checks the command line, creates
// DIR, writes one file per seed and counts them, with one error message format for all.
//
// Threading: single-threaded (a small command-line tool).
#pragma once

#include <cstddef>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

namespace sluice::test {

class seed_dir {
public:
    // From `tool DIR`: the directory, created if missing; nullopt after printing why.
    static std::optional<seed_dir> open(int argc, char** argv) {
        if (argc != 2) {
            std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
            return std::nullopt;
        }
        std::error_code ec;
        std::filesystem::create_directories(argv[1], ec);
        if (ec) {
            std::fprintf(stderr, "%s: cannot create %s: %s\n", argv[0], argv[1],
                         ec.message().c_str());
            return std::nullopt;
        }
        return seed_dir(argv[0], argv[1]);
    }

    // Writes DIR/name; false (after printing why) if it could not.
    bool write(const std::string& name, const void* data, std::size_t len) {
        std::ofstream out(dir_ / name, std::ios::binary | std::ios::trunc);
        out.write(static_cast<const char*>(data), static_cast<std::streamsize>(len));
        if (!out) {
            std::fprintf(stderr, "%s: cannot write %s/%s\n", tool_.c_str(), dir_.c_str(),
                         name.c_str());
            return false;
        }
        ++count_;
        return true;
    }

    // The closing line; 0 for main() when every write succeeded.
    int finish(bool ok) const {
        std::printf("%s: %d seeds in %s\n", tool_.c_str(), count_, dir_.c_str());
        return ok ? 0 : 1;
    }

private:
    seed_dir(std::string tool, std::filesystem::path dir)
        : tool_(std::move(tool)), dir_(std::move(dir)) {}
    std::string tool_;
    std::filesystem::path dir_;
    int count_ = 0;
};

}  // namespace sluice::test
