// The dataplane side of the control-plane shared memory: a worker's link adopts published
// snapshots, reports the generation it applied, heartbeats and publishes its counters, all read
// back through the control plane's own reader on real segments.
#include <gtest/gtest.h>
#include <rte_cycles.h>
#include <stdlib.h>

#include <cstddef>
#include <ctime>
#include <filesystem>
#include <vector>

#include "../../dataplane/core/shm_link.hh"
#include "../../dataplane/core/worker.hh"
#include "ctrlplane/shm/config_writer.hh"
#include "../packet/l2l3_cases.hh"
#include "dpdk_env.hh"

namespace sluice::test {
namespace {

std::uint64_t mono_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000ULL +
           static_cast<std::uint64_t>(ts.tv_nsec);
}

// Segments in a private directory under /dev/shm, removed whatever happens.
class shm_dir {
public:
    shm_dir() {
        char tmpl[] = "/dev/shm/sluice-link-test-XXXXXX";
        path_ = mkdtemp(tmpl);
    }
    ~shm_dir() { std::filesystem::remove_all(path_); }
    shm_dir(const shm_dir&) = delete;
    shm_dir& operator=(const shm_dir&) = delete;
    [[nodiscard]] cp::shm::segment_options opts() const {
        cp::shm::segment_options o;
        o.instance = "linktest";
        o.dir = path_;
        o.slot_capacity = 4096;
        return o;
    }
    [[nodiscard]] const std::string& path() const { return path_; }

private:
    std::string path_;
};

std::vector<std::byte> payload(std::uint8_t v) { return std::vector<std::byte>(64, std::byte{v}); }

TEST(shm_link, worker_adopts_each_published_generation_and_reports_it) {
    dpdk_env::get();
    shm_dir dir;
    auto writer = cp::shm::config_writer::open(dir.opts());
    ASSERT_TRUE(writer.ok()) << writer.message();
    auto link = dp::core::shm_link::attach("linktest", dir.path());
    ASSERT_TRUE(link.ok()) << link.message();
    auto l = link.value()->register_worker(3);
    ASSERT_TRUE(l.ok()) << l.message();
    dp::core::lcore_link& w = *l.value();

    EXPECT_FALSE(w.poll());  // nothing published yet
    for (std::uint8_t g = 1; g <= 10; ++g) {
        auto gen = writer.value().publish(payload(g), mono_ns());
        ASSERT_TRUE(gen.ok()) << "generation " << int(g) << ": " << gen.message();
        EXPECT_TRUE(w.poll());
        EXPECT_FALSE(w.poll());  // once per publication
        EXPECT_EQ(w.generation(), *gen);
        ASSERT_EQ(w.cursor().snapshot().size(), 64U);
        EXPECT_EQ(w.cursor().snapshot()[0], std::byte{g});
        const auto st = writer.value().stats().status(3, mono_ns());
        EXPECT_TRUE(st.registered);
        EXPECT_EQ(st.applied_generation, *gen);
    }
    // Every lcore has applied the newest generation: the control plane can tell.
    EXPECT_TRUE(writer.value().stats().all_applied(writer.value().generation(), mono_ns()));
}

TEST(shm_link, tick_heartbeats_and_publishes_stack_counters) {
    auto& env = dpdk_env::get();
    shm_dir dir;
    auto writer = cp::shm::config_writer::open(dir.opts());
    ASSERT_TRUE(writer.ok()) << writer.message();
    auto link = dp::core::shm_link::attach("linktest", dir.path());
    ASSERT_TRUE(link.ok()) << link.message();
    auto l = link.value()->register_worker(5);
    ASSERT_TRUE(l.ok());

    auto s = env.make_stack();
    env.add_peer(*s);
    for (int i = 0; i < 3; ++i) {
        rte_mbuf* m = env.mbuf_of(echo_frame(env.our_mac));
        s->input(env.port, &m, 1, 0);
    }
    (void)env.drain(*s);
    dp::core::lcore_stats ls;
    const std::uint64_t before = mono_ns();
    l.value()->tick(rte_rdtsc(), *s, ls);

    cp::shm::lcore_counters c;
    ASSERT_TRUE(writer.value().stats().read_counters(5, c));
    EXPECT_EQ(c.get(cp::shm::counter::rx_packets), 3U);
    EXPECT_EQ(c.get(cp::shm::counter::tx_packets), 3U);
    EXPECT_EQ(c.get(cp::shm::counter::drops), 0U);
    const auto st = writer.value().stats().status(5, mono_ns());
    EXPECT_TRUE(st.alive);
    // The TSC-derived heartbeat sits within a few ms of CLOCK_MONOTONIC.
    EXPECT_GE(st.heartbeat_ns + 5'000'000, before);

    // A second tick adds only what moved since the first.
    rte_mbuf* m = env.mbuf_of(echo_frame(env.our_mac));
    s->input(env.port, &m, 1, 0);
    (void)env.drain(*s);
    l.value()->tick(rte_rdtsc(), *s, ls);
    ASSERT_TRUE(writer.value().stats().read_counters(5, c));
    EXPECT_EQ(c.get(cp::shm::counter::rx_packets), 4U);
}

TEST(shm_link, deregistered_workers_no_longer_hold_back_the_writer) {
    dpdk_env::get();
    shm_dir dir;
    auto writer = cp::shm::config_writer::open(dir.opts());
    ASSERT_TRUE(writer.ok());
    auto link = dp::core::shm_link::attach("linktest", dir.path());
    ASSERT_TRUE(link.ok());
    ASSERT_TRUE(link.value()->register_worker(1).ok());  // registered, never polls
    EXPECT_TRUE(writer.value().stats().status(1, mono_ns()).registered);
    link.value()->deregister_all();
    EXPECT_FALSE(writer.value().stats().status(1, mono_ns()).registered);
    // With no lcore pinning old slots, publications never run out of free slots.
    for (std::uint8_t g = 1; g <= 10; ++g) {
        ASSERT_TRUE(writer.value().publish(payload(g), mono_ns()).ok());
    }
}

TEST(shm_link, bad_directory_is_a_clear_error) {
    dpdk_env::get();
    auto link = dp::core::shm_link::attach("linktest", "/nonexistent/sluice-shm");
    ASSERT_FALSE(link.ok());
    EXPECT_NE(link.message().find("control-plane config segment"), std::string::npos)
        << link.message();
}

}  // namespace
}  // namespace sluice::test
