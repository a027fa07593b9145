// The stats segment's endpoint-health table: layout checks, writer → reader round trips, a full
// table, a writer that died mid-rewrite, and a reader racing a writer never seeing a torn table
// (also run under TSan: suite tsan, ctrlplane_shm_tsan).
#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "ctrlplane/shm/endpoint_table.hh"
#include "ctrlplane/shm/stats_reader.hh"
#include "ctrlplane/shm/stats_writer.hh"
#include "tests/ctrlplane/shm_fixture.hh"

namespace sluice::cp::shm {
namespace {

using test::instance_guard;

endpoint_fields v4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d,
                   std::uint16_t port) {
    endpoint_fields f;
    f.family = 4;
    f.address = {a, b, c, d};
    f.port = port;
    return f;
}

struct both {
    stats_segment dp;
    stats_reader cp;
};

both open_both(const instance_guard& g) {
    auto dp = stats_segment::attach(g.opts());
    EXPECT_TRUE(dp) << dp.message();
    auto cp = stats_reader::attach(g.opts());
    EXPECT_TRUE(cp) << cp.message();
    return {std::move(dp).value(), std::move(cp).value()};
}

TEST(shm_endpoint_table, header_describes_the_table_after_the_lcore_slots) {
    instance_guard g(64 * 1024, 3);
    auto dp = stats_segment::attach(g.opts());
    ASSERT_TRUE(dp) << dp.message();
    int fd = ::open(stats_path(g.opts()).c_str(), O_RDONLY);
    ASSERT_GE(fd, 0);
    stats_header h{};
    ASSERT_EQ(::pread(fd, &h, sizeof h, 0), static_cast<ssize_t>(sizeof h));
    EXPECT_EQ(h.abi_version, abi_version);
    EXPECT_EQ(h.endpoints_offset, 64u + 3u * sizeof(lcore_stats));
    EXPECT_EQ(h.endpoint_capacity, endpoint_table_capacity);
    EXPECT_EQ(h.endpoint_entry_size, 128u);
    EXPECT_EQ(h.segment_size, h.endpoints_offset + 64u + 1024u * 128u);
    EXPECT_EQ(::lseek(fd, 0, SEEK_END), static_cast<off_t>(h.segment_size));
    ::close(fd);
}

TEST(shm_endpoint_table, tampered_table_capacity_is_refused_as_an_abi_mismatch) {
    instance_guard g;
    { ASSERT_TRUE(stats_segment::attach(g.opts())); }
    int fd = ::open(stats_path(g.opts()).c_str(), O_RDWR);
    ASSERT_GE(fd, 0);
    const std::uint32_t v = 7;
    ASSERT_EQ(::pwrite(fd, &v, sizeof v, offsetof(stats_header, endpoint_capacity)), 4);
    ::close(fd);
    auto r = stats_reader::attach(g.opts());
    ASSERT_FALSE(r);
    EXPECT_EQ(r.kind(), error_kind::abi);
    EXPECT_NE(r.message().find("endpoint table layout mismatch"), std::string::npos)
        << r.message();
}

TEST(shm_endpoint_table, never_written_reads_as_empty_and_unwritten) {
    instance_guard g;
    auto s = open_both(g);
    std::vector<endpoint_row> rows;
    endpoint_table_info info;
    ASSERT_TRUE(s.cp.endpoint_table().read(rows, info));
    EXPECT_FALSE(info.written);
    EXPECT_EQ(info.writer_pid, 0);
    EXPECT_TRUE(rows.empty());
}

TEST(shm_endpoint_table, rows_round_trip_with_every_field) {
    instance_guard g;
    auto s = open_both(g);
    auto w = s.dp.endpoint_table();
    ASSERT_TRUE(w.valid());

    endpoint_fields a = v4(10, 0, 1, 2, 8080);
    a.endpoint_index = 0;
    a.outlier = endpoint_outlier::open;
    a.times_ejected = 3;
    a.consecutive_failures = 5;
    a.ejected_until_ns = 123'456'789'000;
    endpoint_fields b;
    b.family = 6;
    b.address = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    b.port = 443;
    b.endpoint_index = 1;
    b.outlier = endpoint_outlier::half_open;
    b.active = endpoint_active::healthy;
    b.times_ejected = 1;
    const std::string long_name(100, 'x');

    w.begin(42);
    EXPECT_TRUE(w.add("api", a));
    EXPECT_TRUE(w.add("api", b));
    EXPECT_TRUE(w.add(long_name, v4(192, 168, 0, 1, 80)));
    w.commit(777);

    std::vector<endpoint_row> rows;
    endpoint_table_info info;
    ASSERT_TRUE(s.cp.endpoint_table().read(rows, info));
    EXPECT_TRUE(info.written);
    EXPECT_EQ(info.writer_pid, ::getpid());
    EXPECT_EQ(info.updated_ns, 777u);
    EXPECT_EQ(info.config_generation, 42u);
    EXPECT_EQ(info.dropped, 0u);
    ASSERT_EQ(rows.size(), 3u);

    EXPECT_EQ(rows[0].cluster, "api");
    EXPECT_FALSE(rows[0].cluster_truncated);
    EXPECT_EQ(rows[0].family, 4);
    EXPECT_EQ(rows[0].address, a.address);
    EXPECT_EQ(rows[0].port, 8080);
    EXPECT_EQ(rows[0].outlier, endpoint_outlier::open);
    EXPECT_EQ(rows[0].active, endpoint_active::unknown);
    EXPECT_EQ(rows[0].times_ejected, 3u);
    EXPECT_EQ(rows[0].consecutive_failures, 5u);
    EXPECT_EQ(rows[0].ejected_until_ns, 123'456'789'000u);

    EXPECT_EQ(rows[1].family, 6);
    EXPECT_EQ(rows[1].address, b.address);
    EXPECT_EQ(rows[1].port, 443);
    EXPECT_EQ(rows[1].endpoint_index, 1u);
    EXPECT_EQ(rows[1].outlier, endpoint_outlier::half_open);
    EXPECT_EQ(rows[1].active, endpoint_active::healthy);

    EXPECT_EQ(rows[2].cluster, long_name.substr(0, endpoint_name_bytes));
    EXPECT_TRUE(rows[2].cluster_truncated);

    // A later rewrite replaces the table as a whole, rows and header alike.
    w.begin(43);
    EXPECT_TRUE(w.add("web", v4(10, 0, 0, 9, 81)));
    w.commit(888);
    ASSERT_TRUE(s.cp.endpoint_table().read(rows, info));
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0].cluster, "web");
    EXPECT_EQ(rows[0].outlier, endpoint_outlier::closed);
    EXPECT_EQ(info.config_generation, 43u);
}

TEST(shm_endpoint_table, a_full_table_keeps_the_first_rows_and_counts_the_rest) {
    instance_guard g;
    auto s = open_both(g);
    auto w = s.dp.endpoint_table();
    w.begin(1);
    for (std::uint32_t i = 0; i < endpoint_table_capacity + 5; ++i) {
        endpoint_fields f = v4(10, 0, 0, 1, static_cast<std::uint16_t>(i));
        EXPECT_EQ(w.add("c", f), i < endpoint_table_capacity) << i;
    }
    w.commit(1);
    std::vector<endpoint_row> rows;
    endpoint_table_info info;
    ASSERT_TRUE(s.cp.endpoint_table().read(rows, info));
    EXPECT_EQ(rows.size(), endpoint_table_capacity);
    EXPECT_EQ(info.dropped, 5u);
    EXPECT_EQ(rows.back().port, endpoint_table_capacity - 1);
}

TEST(shm_endpoint_table, a_writer_that_died_mid_rewrite_is_never_read_and_a_new_one_recovers) {
    instance_guard g;
    auto s = open_both(g);
    auto w = s.dp.endpoint_table();
    w.begin(1);
    ASSERT_TRUE(w.add("a", v4(10, 0, 0, 1, 80)));
    w.commit(1);
    w.begin(2);  // ... and the writer "dies" here: seq stays odd
    ASSERT_TRUE(w.add("half", v4(10, 0, 0, 2, 80)));
    std::vector<endpoint_row> rows;
    endpoint_table_info info;
    EXPECT_FALSE(s.cp.endpoint_table().read(rows, info, 16));
    EXPECT_TRUE(rows.empty());
    EXPECT_FALSE(info.written);

    auto w2 = s.dp.endpoint_table();  // a restarted dataplane
    w2.begin(3);
    ASSERT_TRUE(w2.add("b", v4(10, 0, 0, 3, 80)));
    w2.commit(3);
    ASSERT_TRUE(s.cp.endpoint_table().read(rows, info));
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0].cluster, "b");
    EXPECT_EQ(info.config_generation, 3u);
}

// Every rewrite k fills 1 + k % 97 rows whose every field encodes k; a consistent copy has all
// rows and the header agreeing on one k. A torn copy would mix two rewrites. The writer runs
// until the reader has taken enough copies (bounded by time, for slow TSan runs).
TEST(shm_endpoint_table, a_reader_racing_the_writer_never_sees_a_torn_table) {
    instance_guard g;
    auto s = open_both(g);
    std::atomic<bool> stop{false};
    std::atomic<std::uint64_t> written{0};
    std::atomic<std::uint64_t> reads{0};  // consistent reads so far (the reader's progress)
    std::thread writer([&] {
        auto w = s.dp.endpoint_table();
        for (std::uint64_t k = 1; !stop.load(std::memory_order_relaxed); ++k) {
            w.begin(k);
            const std::uint32_t n = 1 + static_cast<std::uint32_t>(k % 97);
            for (std::uint32_t i = 0; i < n; ++i) {
                endpoint_fields f = v4(static_cast<std::uint8_t>(k), static_cast<std::uint8_t>(k >> 8),
                                       static_cast<std::uint8_t>(k >> 16), 1,
                                       static_cast<std::uint16_t>(k));
                f.endpoint_index = i;
                f.times_ejected = static_cast<std::uint32_t>(k);
                f.consecutive_failures = static_cast<std::uint32_t>(k);
                f.ejected_until_ns = k;
                f.outlier = static_cast<endpoint_outlier>(k % 3);
                (void)w.add(fmt::format("c{}", k), f);
            }
            w.commit(k);
            written.store(k, std::memory_order_relaxed);
            // Every 16 rewrites, leave the table alone until the reader got one consistent
            // copy: a reader that only ever overlaps rewrites (TSan makes each one slow) is
            // refused, never torn, but then this test would check nothing.
            if (k % 16 == 0) {
                const std::uint64_t seen = reads.load();
                while (reads.load() == seen && !stop.load(std::memory_order_relaxed)) {
                    std::this_thread::yield();
                }
            }
        }
    });
    std::uint64_t consistent = 0;
    std::uint64_t last_k = 0;
    std::vector<endpoint_row> rows;
    endpoint_table_info info;
    auto r = s.cp.endpoint_table();
    const std::uint64_t deadline = test::mono_ns() + 3'000'000'000u;
    while ((consistent < 5'000 || written.load() < 5'000) && test::mono_ns() < deadline) {
        if (!r.read(rows, info) || !info.written) {
            continue;  // the writer kept it busy: refused, not torn
        }
        const std::uint64_t k = info.config_generation;
        ASSERT_GE(k, last_k) << "rewrites only move forward";
        last_k = k;
        ASSERT_EQ(info.updated_ns, k);
        ASSERT_EQ(rows.size(), 1 + k % 97) << "rewrite " << k;
        for (std::uint32_t i = 0; i < rows.size(); ++i) {
            const endpoint_row& e = rows[i];
            ASSERT_EQ(e.cluster, fmt::format("c{}", k)) << "rewrite " << k << " row " << i;
            ASSERT_EQ(e.endpoint_index, i);
            ASSERT_EQ(e.times_ejected, k);
            ASSERT_EQ(e.consecutive_failures, k);
            ASSERT_EQ(e.ejected_until_ns, k);
            ASSERT_EQ(e.port, static_cast<std::uint16_t>(k));
            ASSERT_EQ(e.address[0], static_cast<std::uint8_t>(k));
            ASSERT_EQ(e.address[1], static_cast<std::uint8_t>(k >> 8));
            ASSERT_EQ(static_cast<std::uint32_t>(e.outlier), k % 3);
        }
        ++consistent;
        reads.store(consistent);
    }
    stop.store(true);
    writer.join();
    EXPECT_GT(consistent, 0u);
    ASSERT_TRUE(r.read(rows, info));
    EXPECT_EQ(info.config_generation, written.load());
}

TEST(shm_endpoint_table, states_have_the_names_sluicectl_prints) {
    EXPECT_EQ(to_string(endpoint_outlier::closed), "closed");
    EXPECT_EQ(to_string(endpoint_outlier::open), "open");
    EXPECT_EQ(to_string(endpoint_outlier::half_open), "half_open");
    EXPECT_EQ(to_string(endpoint_active::unknown), "unknown");
}

}  // namespace
}  // namespace sluice::cp::shm
