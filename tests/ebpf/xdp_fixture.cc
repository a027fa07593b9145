// See xdp_fixture.hh.
#include "xdp_fixture.hh"

#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>

namespace sluice::ebpf::test {

void xdp_fixture::SetUp() {
    if (geteuid() != 0) {
        GTEST_SKIP() << "needs root: BPF_PROG_LOAD, BPF_PROG_TEST_RUN and bpffs pins";
    }
    struct statfs fs {};
    if (statfs("/sys/fs/bpf", &fs) != 0 || fs.f_type != BPF_FS_MAGIC) {
        GTEST_SKIP() << "bpffs is not mounted at /sys/fs/bpf (scripts/setup mounts it: "
                        "mount -t bpf bpf /sys/fs/bpf)";
    }
    static std::atomic<int> seq{0};
    pin_root_ = "/sys/fs/bpf/sluice-test-" + std::to_string(getpid()) + "-" +
                std::to_string(seq++);
    auto p = xdp_program::load(load_options{pin_root_});
    if (!p.ok()) {
        // A failed load (verifier) may already have pinned the maps: leave nothing behind.
        for (const char* name : xdp_maps::map_names()) {
            unlink((pin_root_ + "/" + name).c_str());
        }
        rmdir(pin_root_.c_str());
    }
    ASSERT_TRUE(p.ok()) << p.message();
    prog_ = std::move(p).value();
    auto st = apply_fixture(prog_->maps());
    ASSERT_TRUE(st.ok()) << st.message();
}

void xdp_fixture::TearDown() {
    if (prog_) {
        auto st = prog_->unpin_maps();
        EXPECT_TRUE(st.ok()) << st.message();
        prog_.reset();
        rmdir(pin_root_.c_str());
    }
}

outcome xdp_fixture::run(const bytes& frame, std::uint32_t repeat) {
    outcome o;
    auto before = maps().read_stats();
    auto r = test_run(prog_->prog_fd(), frame, repeat);
    auto after = maps().read_stats();
    EXPECT_TRUE(before.ok() && after.ok()) << "reading sl_stats failed";
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.message());
    if (!r.ok() || !before.ok() || !after.ok()) {
        return o;
    }
    o.action = r->action;
    for (std::size_t i = 0; i < o.delta.counters.size(); ++i) {
        o.delta.counters[i] = after->counters[i] - before->counters[i];
    }
    return o;
}

void expect_moved(const xdp_stats& delta, const std::vector<sluice_xdp_counter>& moved,
                  std::uint64_t times) {
    for (std::uint32_t i = 0; i < SLUICE_CNT_MAX; ++i) {
        const auto c = static_cast<sluice_xdp_counter>(i);
        const bool expected = std::find(moved.begin(), moved.end(), c) != moved.end();
        EXPECT_EQ(delta[c], expected ? times : 0) << "counter " << xdp_stats::name(c);
    }
}

}  // namespace sluice::ebpf::test
