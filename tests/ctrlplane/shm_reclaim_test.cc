// Quiescent-state reclamation and liveness: live lcores pin the slots they may read; dead,
// stale or deregistered ones do not pin anything forever. Clocks are injected.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <vector>

#include "ctrlplane/shm/config_reader.hh"
#include "ctrlplane/shm/config_writer.hh"
#include "ctrlplane/shm/stats_writer.hh"
#include "tests/ctrlplane/shm_fixture.hh"

namespace sluice::cp::shm {
namespace {

using test::instance_guard;

constexpr std::uint64_t t0 = 1'000'000'000'000;  // an arbitrary injected "now"
constexpr std::uint64_t sec = 1'000'000'000;

struct rig {
    explicit rig(const segment_options& o)
        : writer(config_writer::open(o)),
          reader(config_reader::attach(o)),
          stats(stats_segment::attach(o)) {}
    result<config_writer> writer;
    result<config_reader> reader;
    result<stats_segment> stats;

    result<std::uint64_t> publish(std::uint64_t now) {
        std::vector<std::byte> p(16, std::byte{0x5a});
        return writer->publish(p, now);
    }
};

// One simulated lcore: a cursor plus its stats slot, doing what the poll loop does.
struct lcore {
    config_cursor cursor;
    lcore_stats_writer stats;
    void poll(std::uint64_t now) {
        stats.heartbeat(now);
        if (cursor.changed()) {
            cursor.refresh();
            stats.report_applied(cursor.generation());
        }
    }
};

lcore make_lcore(rig& r, std::uint32_t id, std::uint64_t now) {
    auto w = r.stats->register_lcore(id, now);
    EXPECT_TRUE(w) << w.message();
    return lcore{config_cursor(r.reader.value()), w.value()};
}

TEST(shm_reclaim, lagging_live_lcore_pins_slots_until_it_advances) {
    instance_guard g;
    rig r(g.opts());
    ASSERT_TRUE(r.writer && r.reader && r.stats);
    lcore fast = make_lcore(r, 0, t0);
    lcore slow = make_lcore(r, 1, t0);
    ASSERT_TRUE(r.publish(t0));
    fast.poll(t0);
    slow.poll(t0);  // slow now holds generation 1
    // Three more slots are free; then the writer must wait for `slow`.
    for (int i = 0; i < 3; ++i) {
        ASSERT_TRUE(r.publish(t0)) << i;
        fast.poll(t0);
    }
    auto busy = r.publish(t0);
    ASSERT_FALSE(busy);
    EXPECT_EQ(busy.kind(), error_kind::busy);
    EXPECT_NE(busy.message().find("lcore 1 still reports generation 1"), std::string::npos)
        << busy.message();
    EXPECT_EQ(r.writer->generation(), 4u);
    slow.poll(t0);
    EXPECT_EQ(slow.cursor.generation(), 4u);
    auto ok = r.publish(t0);
    ASSERT_TRUE(ok) << ok.message();
    EXPECT_EQ(ok.value(), 5u);
}

TEST(shm_reclaim, newly_registered_lcore_pins_everything_until_first_report) {
    instance_guard g;
    rig r(g.opts());
    ASSERT_TRUE(r.writer && r.reader && r.stats);
    ASSERT_TRUE(r.publish(t0));
    lcore l = make_lcore(r, 0, t0);  // applied 0: may be reading any slot it finds published
    for (int i = 0; i < 3; ++i) {
        ASSERT_TRUE(r.publish(t0));
    }
    EXPECT_FALSE(r.publish(t0));
    l.poll(t0);
    EXPECT_TRUE(r.publish(t0));
}

TEST(shm_reclaim, stale_heartbeat_stops_pinning_after_timeout) {
    instance_guard g;
    rig r(g.opts());
    ASSERT_TRUE(r.writer && r.reader && r.stats);
    lcore live = make_lcore(r, 0, t0);
    lcore hung = make_lcore(r, 1, t0);
    ASSERT_TRUE(r.publish(t0));
    live.poll(t0);
    hung.poll(t0);
    // `hung` never polls again. Within the timeout it blocks reuse of its slot...
    std::uint64_t now = t0;
    for (int i = 0; i < 3; ++i) {
        now += sec / 10;
        ASSERT_TRUE(r.publish(now));
        live.poll(now);
    }
    now = t0 + r.writer->policy().heartbeat_timeout_ns;  // exactly at the limit: still alive
    live.poll(now);
    EXPECT_FALSE(r.publish(now));
    // ...and past it, it no longer does, while the live lcore keeps everything consistent.
    now += 1;
    live.poll(now);
    for (int i = 0; i < 20; ++i) {
        auto ok = r.publish(now);
        ASSERT_TRUE(ok) << ok.message();
        live.poll(now);
        EXPECT_EQ(live.cursor.generation(), ok.value());
    }
    // The hung lcore can tell, once it runs again, that its snapshot was taken from under it.
    EXPECT_FALSE(hung.cursor.still_valid());
    EXPECT_TRUE(live.cursor.still_valid());
    EXPECT_FALSE(r.writer->stats().status(1, now).alive);
    EXPECT_TRUE(r.writer->stats().status(0, now).alive);
}

TEST(shm_reclaim, deregistered_lcore_does_not_pin) {
    instance_guard g;
    rig r(g.opts());
    ASSERT_TRUE(r.writer && r.reader && r.stats);
    lcore l = make_lcore(r, 0, t0);
    ASSERT_TRUE(r.publish(t0));
    l.poll(t0);
    l.stats.deregister();
    for (int i = 0; i < 10; ++i) {
        ASSERT_TRUE(r.publish(t0)) << i;
    }
}

TEST(shm_reclaim, lcore_of_a_dead_process_stops_pinning_at_once) {
    instance_guard g;
    rig r(g.opts());
    ASSERT_TRUE(r.writer && r.reader && r.stats);
    ASSERT_TRUE(r.publish(t0));
    pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        // A dataplane that registers, applies generation 1 and crashes with a fresh heartbeat.
        auto s = stats_segment::attach(g.opts());
        auto c = config_reader::attach(g.opts());
        if (!s || !c) {
            ::_exit(2);
        }
        auto w = s->register_lcore(3, t0);
        if (!w) {
            ::_exit(3);
        }
        config_cursor cur(c.value());
        cur.refresh();
        w->report_applied(cur.generation());
        ::_exit(0);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status));
    ASSERT_EQ(WEXITSTATUS(status), 0);
    auto st = r.writer->stats().status(3, t0);
    EXPECT_TRUE(st.registered);
    EXPECT_EQ(st.applied_generation, 1u);
    EXPECT_FALSE(st.alive);  // heartbeat is fresh, but the process is gone
    for (int i = 0; i < 10; ++i) {
        ASSERT_TRUE(r.publish(t0)) << i;
    }
    // Its slot can be taken over by a new process without waiting for the timeout.
    EXPECT_TRUE(r.stats->register_lcore(3, t0));
}

TEST(shm_reclaim, slot_held_by_a_live_process_cannot_be_registered_twice) {
    instance_guard g;
    rig r(g.opts());
    ASSERT_TRUE(r.stats);
    int ready[2], release[2];
    ASSERT_EQ(::pipe(ready), 0);
    ASSERT_EQ(::pipe(release), 0);
    pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        ::close(release[1]);
        ::close(ready[0]);
        auto s = stats_segment::attach(g.opts());
        char c = s && s->register_lcore(2, t0) ? 'y' : 'n';
        (void)!::write(ready[1], &c, 1);
        (void)!::read(release[0], &c, 1);  // returns when the parent closes its end
        ::_exit(0);
    }
    ::close(ready[1]);
    ::close(release[0]);
    char c = 0;
    ASSERT_EQ(::read(ready[0], &c, 1), 1);
    ASSERT_EQ(c, 'y');
    auto dup = r.stats->register_lcore(2, t0);
    EXPECT_FALSE(dup);
    if (!dup) {
        EXPECT_NE(dup.message().find("lcore 2 is already registered by live process"),
                  std::string::npos)
            << dup.message();
    }
    ::close(release[1]);
    ::close(ready[0]);
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    EXPECT_TRUE(r.stats->register_lcore(2, t0));
}

TEST(shm_reclaim, one_slot_cannot_be_registered_twice_in_one_process) {
    instance_guard g;
    auto seg = stats_segment::attach(g.opts());
    ASSERT_TRUE(seg);
    auto first = seg->register_lcore(4, t0);
    ASSERT_TRUE(first);
    auto second = seg->register_lcore(4, t0);
    ASSERT_FALSE(second);
    EXPECT_EQ(second.message(),
              "lcore 4 is already registered through this handle; deregister it first");
    first->deregister();
    EXPECT_TRUE(seg->register_lcore(4, t0));  // a relaunched lcore
    // A fresh handle in the same process models a restarted dataplane that got the same pid.
    auto again = stats_segment::attach(g.opts());
    ASSERT_TRUE(again);
    EXPECT_TRUE(again->register_lcore(4, t0));
}

TEST(shm_reclaim, all_applied_tracks_every_alive_lcore) {
    instance_guard g;
    rig r(g.opts());
    ASSERT_TRUE(r.writer && r.reader && r.stats);
    lcore a = make_lcore(r, 0, t0);
    lcore b = make_lcore(r, 5, t0);
    auto gen = r.publish(t0);
    ASSERT_TRUE(gen);
    EXPECT_FALSE(r.writer->stats().all_applied(gen.value(), t0));
    a.poll(t0);
    EXPECT_FALSE(r.writer->stats().all_applied(gen.value(), t0));
    b.poll(t0);
    EXPECT_TRUE(r.writer->stats().all_applied(gen.value(), t0));
}

TEST(shm_stats, counters_and_histogram_read_back_consistently) {
    instance_guard g;
    auto seg = stats_segment::attach(g.opts());
    ASSERT_TRUE(seg);
    auto w = seg->register_lcore(1, t0);
    ASSERT_TRUE(w);
    w->begin();
    w->add(counter::rx_packets, 32);
    w->add(counter::rx_packets, 8);
    w->add(counter::drops);
    w->record_latency(0);
    w->record_latency(1500);   // bucket 10: [1024, 2048)
    w->record_latency(~0ULL);  // clamps into the last bucket
    w->commit();
    auto rd = stats_reader::attach(g.opts());
    ASSERT_TRUE(rd);
    lcore_counters c;
    ASSERT_TRUE(rd->read_counters(1, c));
    EXPECT_EQ(c.get(counter::rx_packets), 40u);
    EXPECT_EQ(c.get(counter::drops), 1u);
    EXPECT_EQ(c.latency[0], 1u);
    EXPECT_EQ(c.latency[10], 1u);
    EXPECT_EQ(c.latency[latency_buckets - 1], 1u);
    w->begin();  // mid-update: a consistent read is refused rather than torn
    EXPECT_FALSE(rd->read_counters(1, c, 4));
    w->commit();
    EXPECT_TRUE(rd->read_counters(1, c));
}

}  // namespace
}  // namespace sluice::cp::shm
