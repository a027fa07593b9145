// Publication stress: one writer publishes 10,000 generations while reader threads, acting as
// lcores with their own stats slots, check that every snapshot they see is internally consistent,
// that generations only move forward, and that no snapshot changes while they still use it (the
// writer reusing a slot under a reader). Built without DPDK so the TSan build checks the real
// protocol; registered in suites `unit` and `tsan`.
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <thread>
#include <vector>

#include "ctrlplane/shm/config_reader.hh"
#include "ctrlplane/shm/config_writer.hh"
#include "ctrlplane/shm/stats_writer.hh"
#include "tests/ctrlplane/shm_fixture.hh"

namespace sluice::cp::shm {
namespace {

using test::instance_guard;
using test::mono_ns;

constexpr std::uint64_t generations = 10'000;
constexpr unsigned reader_count = 2;

std::uint64_t mix(std::uint64_t x) {  // splitmix64 finaliser
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

// Payload: [gen, word count, words...] with words derived from (gen, index). The size varies so
// a reader that mixed two snapshots would also disagree on length.
std::vector<std::uint64_t> make_payload(std::uint64_t gen) {
    std::uint64_t n = 8 + gen % 200;
    std::vector<std::uint64_t> p(2 + n);
    p[0] = gen;
    p[1] = n;
    for (std::uint64_t i = 0; i < n; ++i) {
        p[2 + i] = mix(gen * 1'000'003 + i);
    }
    return p;
}

// Returns an empty string if the snapshot is consistent with generation `gen`.
std::string check_payload(std::span<const std::byte> s, std::uint64_t gen) {
    if (s.size() < 16 || s.size() % 8 != 0) {
        return fmt::format("gen {}: bad size {}", gen, s.size());
    }
    std::vector<std::uint64_t> w(s.size() / 8);
    std::memcpy(w.data(), s.data(), s.size());
    if (w[0] != gen) {
        return fmt::format("cursor says gen {} but payload says {}", gen, w[0]);
    }
    if (w[1] != w.size() - 2) {
        return fmt::format("gen {}: word count {} vs size {}", gen, w[1], w.size() - 2);
    }
    for (std::uint64_t i = 0; i < w[1]; ++i) {
        if (w[2 + i] != mix(gen * 1'000'003 + i)) {
            return fmt::format("gen {}: word {} differs", gen, i);
        }
    }
    return {};
}

TEST(shm_publication_stress, readers_see_only_whole_snapshots_moving_forward) {
    instance_guard g;
    liveness_policy p;
    // This test is about publication, not liveness: a reader descheduled for a long time on a
    // loaded 2-core machine must not be declared dead here (shm_reclaim covers that).
    p.heartbeat_timeout_ns = 600ULL * 1'000'000'000;
    auto writer = config_writer::open(g.opts(), p);
    ASSERT_TRUE(writer) << writer.message();
    auto reader = config_reader::attach(g.opts());
    ASSERT_TRUE(reader) << reader.message();
    auto stats = stats_segment::attach(g.opts());
    ASSERT_TRUE(stats) << stats.message();

    std::vector<lcore_stats_writer> slots;
    for (unsigned i = 0; i < reader_count; ++i) {
        auto w = stats->register_lcore(i, mono_ns());
        ASSERT_TRUE(w) << w.message();
        slots.push_back(w.value());
    }

    std::atomic<bool> failed{false};
    std::vector<std::string> failures(reader_count);
    std::vector<std::uint64_t> switches(reader_count, 0);
    std::vector<std::thread> threads;
    for (unsigned id = 0; id < reader_count; ++id) {
        threads.emplace_back([&, id] {
            config_cursor cur(reader.value());
            lcore_stats_writer st = slots[id];
            std::uint64_t last = 0;
            while (!failed.load(std::memory_order_relaxed)) {
                st.heartbeat(mono_ns());
                // Counters under the seqcount keep an invariant the writer thread checks.
                st.begin();
                st.add(counter::polls);
                st.add(counter::rx_packets, 2);
                st.commit();
                if (cur.changed() && cur.refresh()) {
                    std::uint64_t gen = cur.generation();
                    std::string why = gen > last ? check_payload(cur.snapshot(), gen)
                                                 : fmt::format("went from {} to {}", last, gen);
                    if (why.empty() && !cur.verify_checksum()) {
                        why = fmt::format("gen {}: checksum mismatch", gen);
                    }
                    if (!why.empty()) {
                        failures[id] = why;
                        failed = true;
                        break;
                    }
                    last = gen;
                    ++switches[id];
                    st.report_applied(gen);
                }
                if (cur.has_snapshot()) {
                    // The "burst": use the snapshot, give the CPU away mid-burst (as a preempted
                    // lcore would; the writer races ahead meanwhile), and use it again. Neither
                    // use may see it changed.
                    for (int use = 0; use < 2; ++use) {
                        std::string why = check_payload(cur.snapshot(), cur.generation());
                        if (!why.empty() || !cur.still_valid()) {
                            failures[id] = "snapshot changed while in use: " + why;
                            failed = true;
                            break;
                        }
                        if (use == 0) {
                            std::this_thread::yield();
                        }
                    }
                    if (failed) {
                        break;
                    }
                }
                if (last == generations) {
                    break;
                }
            }
        });
    }

    std::uint64_t busy_rounds = 0;
    std::atomic<std::uint64_t> torn_reads{0};
    std::uint64_t consistent_reads = 0;
    for (std::uint64_t gen = 1; gen <= generations && !failed; ++gen) {
        auto words = make_payload(gen);
        std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(words.data()),
                                         words.size() * 8);
        for (;;) {
            auto r = writer->publish(bytes, mono_ns());
            if (r) {
                ASSERT_EQ(r.value(), gen);
                break;
            }
            ASSERT_EQ(r.kind(), error_kind::busy) << r.message();
            if (failed) {
                break;
            }
            ++busy_rounds;
            // While waiting for lcores to advance (not a timing assumption), take consistent
            // copies of their counters: a torn copy would break rx_packets == 2 * polls.
            for (unsigned id = 0; id < reader_count; ++id) {
                lcore_counters c;
                if (writer->stats().read_counters(id, c) &&
                    c.get(counter::rx_packets) != 2 * c.get(counter::polls)) {
                    torn_reads.fetch_add(1);
                }
                ++consistent_reads;
            }
            std::this_thread::yield();
        }
    }
    for (auto& t : threads) {
        t.join();
    }
    for (unsigned id = 0; id < reader_count; ++id) {
        EXPECT_TRUE(failures[id].empty()) << "reader " << id << ": " << failures[id];
        EXPECT_GT(switches[id], 0u);
    }
    EXPECT_EQ(torn_reads.load(), 0u) << "of " << consistent_reads << " counter reads";
    EXPECT_EQ(writer->generation(), generations);
    EXPECT_TRUE(writer->stats().all_applied(generations, mono_ns(), p));
    RecordProperty("busy_rounds", std::to_string(busy_rounds));
}

}  // namespace
}  // namespace sluice::cp::shm
