// Fuzz target for the XDP program's parser and verdict logic: any frame runs through
// BPF_PROG_TEST_RUN against the case-table fixture, and the counters must stay coherent:
// exactly one verdict counter moves, the returned action matches it, and steering (which
// has no socket in test_run) always falls back to PASS with pass_no_xsk. The verifier already
// rules out out-of-bounds reads; this checks the logic. Without root it does nothing.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "xdp_cases.hh"
#include "xdp_program.hh"

namespace {

using namespace sluice::ebpf;        // NOLINT: a fuzz target
using namespace sluice::ebpf::test;  // NOLINT

// BPF_PROG_TEST_RUN refuses XDP input below ETH_HLEN and above a page minus head/tailroom.
constexpr std::size_t min_frame = 14;
constexpr std::size_t max_frame = 3000;

std::unique_ptr<xdp_program> prog;
std::string pin_root;

void cleanup() {
    if (prog) {
        (void)prog->unpin_maps();
        prog.reset();
        rmdir(pin_root.c_str());
    }
}

[[noreturn]] void fail(const char* what, const bytes& frame) {
    std::fprintf(stderr, "fuzz_xdp_packet: %s (frame of %zu bytes)\n", what, frame.size());
    std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    if (geteuid() != 0) {
        std::fprintf(stderr, "fuzz_xdp_packet: not root, inputs are not run\n");
        return 0;
    }
    pin_root = "/sys/fs/bpf/sluice-fuzz-" + std::to_string(getpid());
    auto p = xdp_program::load(load_options{pin_root});
    if (!p) {
        std::fprintf(stderr, "fuzz_xdp_packet: %s\n", p.message().c_str());
        std::abort();
    }
    prog = std::move(p).value();
    if (auto st = apply_fixture(prog->maps()); !st) {
        std::fprintf(stderr, "fuzz_xdp_packet: %s\n", st.message().c_str());
        cleanup();
        std::abort();
    }
    std::atexit(cleanup);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (!prog || size < min_frame || size > max_frame) {
        return 0;
    }
    const bytes frame(data, data + size);
    auto before = prog->maps().read_stats();
    auto r = test_run(prog->prog_fd(), frame);
    auto after = prog->maps().read_stats();
    if (!before || !after || !r) {
        fail("BPF_PROG_TEST_RUN or stats read failed", frame);
    }
    std::uint64_t verdicts = 0;
    bool dropped = false;
    for (std::uint32_t i = 0; i < SLUICE_CNT_VERDICTS_END; ++i) {
        const std::uint64_t d = after->counters[i] - before->counters[i];
        verdicts += d;
        dropped |= d != 0 && i >= SLUICE_CNT_DROP_BLOCKLIST;
    }
    if (verdicts != 1) {
        fail("not exactly one verdict counter moved", frame);
    }
    if (r->action != (dropped ? 1 /* XDP_DROP */ : 2 /* XDP_PASS */)) {
        fail("action does not match the verdict counter", frame);
    }
    const auto delta = [&](sluice_xdp_counter c) { return after.value()[c] - before.value()[c]; };
    if (delta(SLUICE_CNT_STEER_SERVICE) + delta(SLUICE_CNT_STEER_ARP) +
            delta(SLUICE_CNT_STEER_RETURN) !=
        delta(SLUICE_CNT_PASS_NO_XSK)) {
        fail("steered without the no-socket fallback", frame);
    }
    return 0;
}
