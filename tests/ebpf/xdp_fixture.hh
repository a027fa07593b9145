// GoogleTest fixture that loads a private copy of the Sluice XDP program (maps pinned under
// its own bpffs directory, removed afterwards), applies the case-table fixture, and runs
// frames through BPF_PROG_TEST_RUN, returning the action and the counter deltas.
// Skips, saying why, when not root or when bpffs is not mounted.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "xdp_cases.hh"
#include "xdp_program.hh"

namespace sluice::ebpf::test {

struct outcome {
    int action = -1;
    xdp_stats delta;
};

class xdp_fixture : public ::testing::Test {
protected:
    void SetUp() override;
    void TearDown() override;

    // Runs frame repeat times; counter deltas cover all runs, action is the last one's.
    outcome run(const bytes& frame, std::uint32_t repeat = 1);
    xdp_maps& maps() { return prog_->maps(); }

    std::unique_ptr<xdp_program> prog_;
    std::string pin_root_;
};

// Fails the current test unless exactly the counters in moved moved by `times` each.
void expect_moved(const xdp_stats& delta, const std::vector<sluice_xdp_counter>& moved,
                  std::uint64_t times = 1);

}  // namespace sluice::ebpf::test
