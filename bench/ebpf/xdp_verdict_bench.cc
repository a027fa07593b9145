// Cost per packet of each Sluice XDP verdict, measured by the kernel in BPF_PROG_TEST_RUN
// (bpf_test_run_opts.duration: mean ns per run over `repeat` runs, JIT on). Frames come from
// the shared case table (tests/ebpf/xdp_cases.hh). The ->Arg() is the repeat count per
// syscall; larger values amortise the timer overhead that the kernel's mean still includes.
// Iterations are fixed: with repeat > 1 every BPF_PROG_TEST_RUN of an XDP program swaps the
// XDP dispatcher and waits for an RCU grace period (bpf_prog_test_run_xdp ->
// bpf_prog_change_xdp), tens of ms of wall time that the kernel's duration excludes but
// Google Benchmark's iteration-count search would multiply. In test_run no AF_XDP socket is bound, so "redirect" measures the whole
// steering path up to bpf_redirect_map(), which then falls back to XDP_PASS.
// Needs root; not run in CI (suite 'bench'). Single-threaded.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

#include "xdp_cases.hh"
#include "xdp_program.hh"

namespace {

using namespace sluice::ebpf;        // NOLINT: a benchmark main file
using namespace sluice::ebpf::test;  // NOLINT

std::unique_ptr<xdp_program> prog;

// The fixture's block list, present or not: with it, every IP packet pays an LPM lookup;
// without it the program skips the trie (SLUICE_XDP_F_BLOCK_V4/V6).
bool set_block_list(bool present) {
    for (const char* text : {"192.0.2.0/24", "2001:db8:bad::/48"}) {
        const cidr c = cidr::parse(text).value();
        const auto listed = prog->maps().blocked();
        const bool has = listed.ok() && std::find(listed->begin(), listed->end(), c) != listed->end();
        if (present && !has && !prog->maps().block(c).ok()) {
            return false;
        }
        if (!present && has && !prog->maps().unblock(c).ok()) {
            return false;
        }
    }
    return true;
}

void bm_verdict(benchmark::State& state, const std::string& case_name, bool block_list) {
    if (!prog) {
        state.SkipWithError("needs root and bpffs (program not loaded)");
        return;
    }
    if (!set_block_list(block_list)) {
        state.SkipWithError("could not set up the block list");
        return;
    }
    const xdp_case& c = xdp_case_named(case_name);
    const auto repeat = static_cast<std::uint32_t>(state.range(0));
    double ns_sum = 0;
    for (auto _ : state) {
        auto r = test_run(prog->prog_fd(), c.frame, repeat);
        if (!r || r->action != c.action) {
            state.SkipWithError(r ? "unexpected action" : r.message().c_str());
            return;
        }
        benchmark::DoNotOptimize(r->action);
        ns_sum += r->duration_ns;
        state.SetIterationTime(static_cast<double>(r->duration_ns) * repeat / 1e9);
    }
    state.counters["ns_per_pkt"] = ns_sum / static_cast<double>(state.iterations());
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * repeat);
}

}  // namespace

int main(int argc, char** argv) {
    const std::string pin_root = "/sys/fs/bpf/sluice-bench-" + std::to_string(getpid());
    if (geteuid() == 0) {
        auto p = xdp_program::load(load_options{pin_root});
        if (!p) {
            std::fprintf(stderr, "xdp_verdict_bench: %s\n", p.message().c_str());
            return 1;
        }
        prog = std::move(p).value();
        if (auto st = apply_fixture(prog->maps()); !st) {
            std::fprintf(stderr, "xdp_verdict_bench: %s\n", st.message().c_str());
            return 1;
        }
    }
    // verdict label -> case-table row
    const std::pair<const char*, const char*> rows[] = {
        {"pass_not_service", "tcp4_service_addr_other_port"},
        {"pass_icmp", "icmp4_to_other_addr"},
        {"redirect_tcp4", "tcp4_syn_to_service"},
        {"redirect_tcp6", "tcp6_syn_to_service"},
        {"redirect_qinq", "tcp4_qinq_to_service"},
        {"redirect_arp", "arp_for_service_addr"},
        {"drop_blocklist_v4", "blocked_v4_to_service"},
        {"drop_blocklist_v6", "blocked_v6_to_service"},
        {"drop_malformed", "ipv4_ihl_below_5"},
    };
    for (const bool block_list : {true, false}) {
        for (const auto& [label, row] : rows) {
            const std::string name = std::string(label) + (block_list ? "" : "/no_block_list");
            if (!block_list && std::string_view(label).starts_with("drop_blocklist")) {
                continue;
            }
            benchmark::RegisterBenchmark(name.c_str(), bm_verdict, std::string(row), block_list)
                ->Arg(10000)
                ->Arg(1000000)
                ->Iterations(10)
                ->UseManualTime()
                ->Unit(benchmark::kNanosecond);
        }
    }
    benchmark::Initialize(&argc, argv);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    if (prog) {
        (void)prog->unpin_maps();
        prog.reset();
        rmdir(pin_root.c_str());
    }
    return 0;
}
