// Test helpers for the shm tests: a unique instance per test whose segments are unlinked when
// the guard goes out of scope, whether the test passed or failed (gtest assertions return early
// but still run destructors). Segments left by killed test processes are swept on first use.
#pragma once

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>  // NOLINT(modernize-deprecated-headers): POSIX kill(2)
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <string>

#include "ctrlplane/shm/segment.hh"

namespace sluice::cp::shm::test {

// Segments of test processes that were killed (timeout, SIGKILL) and so never ran their
// destructors: "sluice-t<pid>-..." whose pid is gone. Removed once per test process.
inline void remove_stale_test_segments(const std::string& dir) {
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
        const std::string name = e.path().filename().string();
        if (!name.starts_with("sluice-t")) {
            continue;
        }
        int pid = std::atoi(name.c_str() + 8);
        if (pid > 0 && pid != ::getpid() && ::kill(pid, 0) != 0 && errno == ESRCH) {
            std::filesystem::remove(e.path(), ec);
        }
    }
}

class instance_guard {
public:
    explicit instance_guard(std::uint64_t slot_capacity = 64 * 1024, std::uint32_t lcores = 8) {
        static const bool swept = (remove_stale_test_segments(opts_.dir), true);
        (void)swept;
        static std::atomic<unsigned> n{0};
        const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
        opts_.instance =
            fmt::format("t{}-{}-{}", ::getpid(), n.fetch_add(1),
                        info != nullptr ? std::string(info->name()).substr(0, 40) : "x");
        opts_.slot_capacity = slot_capacity;
        opts_.lcore_count = lcores;
        unlink_instance(opts_);
    }
    ~instance_guard() { unlink_instance(opts_); }
    instance_guard(const instance_guard&) = delete;
    instance_guard& operator=(const instance_guard&) = delete;

    [[nodiscard]] const segment_options& opts() const { return opts_; }

private:
    segment_options opts_;
};

inline std::uint64_t mono_ns() {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u +
           static_cast<std::uint64_t>(ts.tv_nsec);
}

}  // namespace sluice::cp::shm::test
