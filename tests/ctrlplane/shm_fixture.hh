// Test helpers for the shm tests: a unique instance per test whose segments are unlinked when
// the guard goes out of scope, whether the test passed or failed (gtest assertions return early
// but still run destructors).
#pragma once

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <ctime>
#include <string>

#include "ctrlplane/shm/segment.hh"

namespace sluice::cp::shm::test {

class instance_guard {
public:
    explicit instance_guard(std::uint64_t slot_capacity = 64 * 1024, std::uint32_t lcores = 8) {
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
