// Cost per packet of each Sluice XDP verdict, measured by the kernel in BPF_PROG_TEST_RUN
// (bpf_test_run_opts.duration: mean ns per run over `repeat` runs, JIT on). Frames come from
// the shared case table (tests/ebpf/xdp_cases.hh). The ->Arg() is the repeat count per
// syscall; larger values amortise the timer overhead that the kernel's mean still includes.
//
// Harness floor: the same frame also runs through an empty XDP program (`return XDP_PASS`,
// loaded once here). Each benchmark iteration is one batch pair, the floor program and
// Sluice's program back to back, in alternating order (floor first on even iterations,
// Sluice first on odd ones: A B B A ..., so a load that drifts during the pair charges both
// sides alike). Counters over the batch pairs: gross_ns (Sluice program), floor_ns (empty
// program) and net_ns (gross - floor of the same pair): what our code adds on top of the
// kernel's per-run cost, which on kernels with SRSO "safe RET" is mostly call/return. Each
// is the median over the pairs; *_iqr is its spread (75th - 25th percentile), so a
// disturbed run shows itself instead of moving the median. On a noisy VM, read net_ns and
// compare the iqr between runs before comparing medians.
//
// Iterations are fixed (bench_pairs): with repeat > 1 every BPF_PROG_TEST_RUN of an XDP
// program swaps the XDP dispatcher and waits for an RCU grace period (bpf_prog_test_run_xdp ->
// bpf_prog_change_xdp), tens of ms of wall time that the kernel's duration excludes but
// Google Benchmark's iteration-count search would multiply. In test_run no AF_XDP socket is
// bound, so "redirect" measures the whole steering path up to bpf_redirect_map(), which then
// falls back to XDP_PASS.
//
// Block list: "populated" is the fixture's entries plus bench_hosts /32s and /64s (a block
// list the size a busy host collects: the /32s fill ten partly blocked /24s of the host
// table, the /64s one /48 of the IPv6 prefix table); the /no_block_list variants empty it.
// Needs root; not run in CI (suite 'bench'). Single-threaded.
#include <benchmark/benchmark.h>
#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "xdp_cases.hh"
#include "xdp_program.hh"

namespace {

using namespace sluice::ebpf;        // NOLINT: a benchmark main file
using namespace sluice::ebpf::test;  // NOLINT

std::unique_ptr<xdp_program> prog;
int floor_fd = -1;

// Extra block entries of the populated list: 100.64.(i/200).(i%200)/32 and
// 2001:db8:ffff:i::/64. None covers a case-table source.
constexpr int bench_hosts = 2000;

std::vector<cidr> block_list() {
    std::vector<cidr> out;
    for (const char* text : {"192.0.2.0/24", "203.0.113.128/25", "2001:db8:bad::/48"}) {
        out.push_back(cidr::parse(text).value());
    }
    for (int i = 0; i < bench_hosts; ++i) {
        out.push_back(
            cidr::parse("100.64." + std::to_string(i / 200) + "." + std::to_string(i % 200) + "/32")
                .value());
        char v6[64];
        std::snprintf(v6, sizeof(v6), "2001:db8:ffff:%x::/64", i);
        out.push_back(cidr::parse(v6).value());
    }
    return out;
}

// Adds or removes the whole list when its state changes (main() adds it at start).
bool set_block_list(bool present) {
    static bool is_present = true;
    if (present == is_present) {
        return true;
    }
    if (!(present ? prog->maps().block_all(block_list()) : prog->maps().unblock_all(block_list()))
             .ok()) {
        return false;
    }
    is_present = present;
    return true;
}

// An XDP program that only returns XDP_PASS: r0 = 2; exit.
int load_floor_program() {
    const bpf_insn insns[] = {
        {BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, XDP_PASS},
        {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
    };
    return bpf_prog_load(BPF_PROG_TYPE_XDP, "sl_floor", "GPL", insns, 2, nullptr);
}

// Batch pairs per benchmark: many short pairs rather than a few long ones, so one disturbed
// pair is an outlier the median ignores. Odd, so the median is one pair's value.
constexpr int bench_pairs = 31;

// The q-quantile of v (0 <= q <= 1), linear between the two nearest ranks.
double quantile(std::vector<double> v, double q) {
    if (v.empty()) {
        return 0;
    }
    std::sort(v.begin(), v.end());
    const double pos = q * static_cast<double>(v.size() - 1);
    const auto lo = static_cast<std::size_t>(pos);
    const std::size_t hi = std::min(lo + 1, v.size() - 1);
    return v[lo] + (v[hi] - v[lo]) * (pos - static_cast<double>(lo));
}

void set_summary(benchmark::State& state, const char* name, const std::vector<double>& v) {
    state.counters[name] = quantile(v, 0.5);
    state.counters[std::string(name, std::string_view(name).size() - 3) + "_iqr"] =
        quantile(v, 0.75) - quantile(v, 0.25);
}

void bm_verdict(benchmark::State& state, const std::string& case_name, bool block_list) {
    if (!prog || floor_fd < 0) {
        state.SkipWithError("needs root and bpffs (program not loaded)");
        return;
    }
    if (!set_block_list(block_list)) {
        state.SkipWithError("could not set up the block list");
        return;
    }
    const xdp_case& c = xdp_case_named(case_name);
    const auto repeat = static_cast<std::uint32_t>(state.range(0));
    std::vector<double> gross;
    std::vector<double> floor;
    std::vector<double> net;
    bool floor_first = true;
    for (auto _ : state) {
        // One batch pair, its order alternating with every iteration.
        auto first = test_run(floor_first ? floor_fd : prog->prog_fd(), c.frame, repeat);
        auto second = test_run(floor_first ? prog->prog_fd() : floor_fd, c.frame, repeat);
        auto& f = floor_first ? first : second;
        auto& r = floor_first ? second : first;
        floor_first = !floor_first;
        if (!f || !r || r->action != c.action) {
            state.SkipWithError(!f ? f.message().c_str()
                                   : (r ? "unexpected action" : r.message().c_str()));
            return;
        }
        benchmark::DoNotOptimize(r->action);
        gross.push_back(r->duration_ns);
        floor.push_back(f->duration_ns);
        net.push_back(static_cast<double>(r->duration_ns) - f->duration_ns);
        state.SetIterationTime(static_cast<double>(r->duration_ns) * repeat / 1e9);
    }
    set_summary(state, "gross_ns", gross);
    set_summary(state, "floor_ns", floor);
    set_summary(state, "net_ns", net);
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
        // The fixture's three entries are in; add the rest (block_all rewrites re-adds).
        if (auto st = prog->maps().block_all(block_list()); !st) {
            std::fprintf(stderr, "xdp_verdict_bench: %s\n", st.message().c_str());
            return 1;
        }
        floor_fd = load_floor_program();
        if (floor_fd < 0) {
            std::perror("xdp_verdict_bench: load the empty floor program");
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
        {"redirect_return_tcp4", "tcp4_return_synack_to_service_addr"},
        {"redirect_tcp4_partly_blocked_slash24", "tcp4_beside_blocked_slash25"},
        {"drop_blocklist_v4", "blocked_v4_to_service"},
        {"drop_blocklist_v4_lpm", "blocked_v4_inside_slash25"},
        {"drop_blocklist_v6", "blocked_v6_to_service"},
        {"drop_malformed", "ipv4_ihl_below_5"},
    };
    for (const bool block_list : {true, false}) {
        for (const auto& [label, row] : rows) {
            const std::string name = std::string(label) + (block_list ? "" : "/no_block_list");
            if (!block_list &&
                (std::string_view(label).starts_with("drop_blocklist") ||
                 std::string_view(label).find("blocked") != std::string_view::npos)) {
                continue;
            }
            benchmark::RegisterBenchmark(name.c_str(), bm_verdict, std::string(row), block_list)
                ->Arg(10000)
                ->Arg(1000000)
                ->Iterations(bench_pairs)
                ->UseManualTime()
                ->Unit(benchmark::kNanosecond);
        }
    }
    benchmark::Initialize(&argc, argv);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    if (floor_fd >= 0) {
        close(floor_fd);
    }
    if (prog) {
        (void)prog->unpin_maps();
        prog.reset();
        rmdir(pin_root.c_str());
    }
    return 0;
}
