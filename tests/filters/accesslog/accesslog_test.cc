// Access log: JSON line format (escaping, truncation, null upstream), records written and read
// back, ring-full drops counted without blocking, clean stop draining the ring, reopen after a
// logrotate-style rename, and concurrent producers. Uses the test EAL (tests/unit/dpdk_env.hh).
#include "filters/accesslog/accesslog.hh"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "../../unit/dpdk_env.hh"

namespace sluice::dp::filters {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

std::uint32_t ip(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) {
    const std::uint8_t bytes[4] = {a, b, c, d};
    std::uint32_t v;
    std::memcpy(&v, bytes, 4);
    return v;
}

access_record sample(std::uint32_t i) {
    access_record r;
    r.unix_ns = 1'764'193'208'123'456'789ULL + i;  // 2025-11-26T21:40:08.123456Z
    r.client_ip_be = ip(192, 0, 2, 10);
    r.client_port = 40'000;
    r.upstream_ip_be = ip(10, 0, 0, 7);
    r.upstream_port = 8080;
    r.status = 200;
    r.bytes_in = 512;
    r.bytes_out = 1'000 + i;
    r.latency_us = 250;
    r.set_method("GET");
    r.set_path("/api/items/" + std::to_string(i));
    r.set_trace_id("4bf92f3577b34da6a3ce929d0e0e4736");
    r.set_request_id("req-" + std::to_string(i));
    r.set_route("api");
    return r;
}

json parse_line(const access_record& r) {
    char buf[max_line_bytes];
    const std::size_t n = format_record(r, buf);
    EXPECT_GT(n, 0U);
    EXPECT_EQ(buf[n - 1], '\n');
    return json::parse(std::string(buf, n - 1));
}

TEST(accesslog_format, fields_round_trip_through_json) {
    json j = parse_line(sample(3));
    EXPECT_EQ(j["ts"], "2025-11-26T21:40:08.123456Z");
    EXPECT_EQ(j["client"], "192.0.2.10:40000");
    EXPECT_EQ(j["method"], "GET");
    EXPECT_EQ(j["path"], "/api/items/3");
    EXPECT_EQ(j["status"], 200);
    EXPECT_EQ(j["bytes_in"], 512);
    EXPECT_EQ(j["bytes_out"], 1003);
    EXPECT_EQ(j["upstream"], "10.0.0.7:8080");
    EXPECT_EQ(j["latency_us"], 250);
    EXPECT_EQ(j["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736");
    EXPECT_EQ(j["request_id"], "req-3");
    EXPECT_EQ(j["route"], "api");
    EXPECT_FALSE(j.contains("truncated"));
}

TEST(accesslog_format, escapes_and_truncation_and_no_upstream) {
    struct c {
        const char* name;
        std::string path;
        std::string want_path;
    };
    for (const c& tc : {c{"quote_backslash", "/a\"b\\c", "/a\"b\\c"},
                        c{"control_bytes", std::string("/x\r\n\x01\x7f", 6), "/x\r\n\x01\x7f"},
                        c{"utf8_passes", "/caf\xc3\xa9", "/caf\xc3\xa9"}}) {
        SCOPED_TRACE(tc.name);
        access_record r = sample(0);
        r.set_path(tc.path);
        EXPECT_EQ(parse_line(r)["path"], tc.want_path);
    }
    access_record r = sample(0);
    r.upstream_ip_be = 0;
    r.upstream_port = 0;
    r.status = 429;
    r.set_path(std::string(500, 'p'));
    r.set_request_id(std::string(60, 'r'));
    json j = parse_line(r);
    EXPECT_TRUE(j["upstream"].is_null());
    EXPECT_EQ(j["path"].get<std::string>().size(), sizeof(r.path));
    EXPECT_EQ(j["request_id"].get<std::string>().size(), sizeof(r.request_id));
    EXPECT_EQ(j["truncated"], json::array({"path", "request_id"}));
    // Worst case: every text byte escaped still fits in max_line_bytes.
    access_record worst = sample(0);
    worst.set_method(std::string(100, '\x01'));
    worst.set_path(std::string(500, '\x01'));
    worst.set_trace_id(std::string(100, '\x01'));
    worst.set_request_id(std::string(100, '\x01'));
    worst.set_route(std::string(100, '\x01'));
    worst.bytes_in = worst.bytes_out = UINT64_MAX;
    EXPECT_EQ(parse_line(worst)["path"].get<std::string>().size(), sizeof(worst.path));
    char small[100];
    EXPECT_EQ(format_record(worst, small), 0U);
}

class accesslog_file : public ::testing::Test {
protected:
    void SetUp() override {
        test::dpdk_env::get();
        dir_ = fs::temp_directory_path() /
               ("sluice-alog-" + std::to_string(::getpid()) + "-" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir_);
        fs::create_directories(dir_);
        path_ = (dir_ / "access.log").string();
    }
    void TearDown() override { fs::remove_all(dir_); }

    static std::vector<json> read_lines(const std::string& path) {
        std::vector<json> out;
        std::ifstream in(path);
        for (std::string line; std::getline(in, line);) {
            out.push_back(json::parse(line));
        }
        return out;
    }
    static bool wait_for(const std::function<bool()>& cond) {
        for (int i = 0; i < 5'000; ++i) {
            if (cond()) {
                return true;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        return cond();
    }

    fs::path dir_;
    std::string path_;
};

TEST_F(accesslog_file, records_are_written_in_order_and_read_back) {
    auto log = access_log::open(path_, 1024, -1);
    ASSERT_TRUE(log.ok()) << log.message();
    for (std::uint32_t i = 0; i < 3000; ++i) {
        while (!(*log)->submit(sample(i))) {
            std::this_thread::yield();  // the test wants all of them: retry a full ring
        }
    }
    (*log)->stop();
    std::vector<json> lines = read_lines(path_);
    ASSERT_EQ(lines.size(), 3000U);
    for (std::uint32_t i = 0; i < 3000; ++i) {
        EXPECT_EQ(lines[i]["request_id"], "req-" + std::to_string(i));
    }
    EXPECT_EQ((*log)->written(), 3000U);
    EXPECT_EQ((*log)->write_errors(), 0U);
}

TEST_F(accesslog_file, full_ring_drops_and_counts_without_blocking) {
    auto log = access_log::open(path_, 64, -1);
    ASSERT_TRUE(log.ok()) << log.message();
    (*log)->hold_writer(true);
    int accepted = 0;
    const auto t0 = std::chrono::steady_clock::now();
    for (std::uint32_t i = 0; i < 100; ++i) {
        accepted += (*log)->submit(sample(i)) ? 1 : 0;
    }
    const auto spent = std::chrono::steady_clock::now() - t0;
    EXPECT_LT(spent, std::chrono::milliseconds(50));  // 100 submits; nothing waited
    EXPECT_EQ(accepted, 64);
    EXPECT_EQ((*log)->dropped(), 36U);
    (*log)->hold_writer(false);
    ASSERT_TRUE(wait_for([&] { return (*log)->written() == 64; }));
    EXPECT_TRUE((*log)->submit(sample(100)));  // room again
    (*log)->stop();
    std::vector<json> lines = read_lines(path_);
    ASSERT_EQ(lines.size(), 65U);
    EXPECT_EQ(lines[63]["request_id"], "req-63");
    EXPECT_EQ(lines[64]["request_id"], "req-100");
}

TEST_F(accesslog_file, stop_drains_the_ring_even_when_held) {
    auto log = access_log::open(path_, 8192, -1);
    ASSERT_TRUE(log.ok()) << log.message();
    (*log)->hold_writer(true);
    for (std::uint32_t i = 0; i < 5000; ++i) {
        ASSERT_TRUE((*log)->submit(sample(i)));
    }
    (*log)->stop();
    EXPECT_EQ(read_lines(path_).size(), 5000U);
    EXPECT_FALSE((*log)->submit(sample(0)));  // after stop: refused and counted
    EXPECT_EQ((*log)->dropped(), 1U);
    (*log)->stop();  // idempotent
}

TEST_F(accesslog_file, reopen_follows_a_logrotate_rename) {
    auto log = access_log::open(path_, 256, -1);
    ASSERT_TRUE(log.ok()) << log.message();
    for (std::uint32_t i = 0; i < 10; ++i) {
        ASSERT_TRUE((*log)->submit(sample(i)));
    }
    ASSERT_TRUE(wait_for([&] { return (*log)->written() == 10; }));
    const std::string rotated = (dir_ / "access.log.1").string();
    fs::rename(path_, rotated);
    (*log)->reopen();
    ASSERT_TRUE(wait_for([&] { return (*log)->reopens() == 1; }));
    for (std::uint32_t i = 10; i < 15; ++i) {
        ASSERT_TRUE((*log)->submit(sample(i)));
    }
    (*log)->stop();
    EXPECT_EQ(read_lines(rotated).size(), 10U);
    std::vector<json> fresh = read_lines(path_);
    ASSERT_EQ(fresh.size(), 5U);
    EXPECT_EQ(fresh[0]["request_id"], "req-10");
}

TEST_F(accesslog_file, truncated_records_are_counted) {
    auto log = access_log::open(path_, 16, -1);
    ASSERT_TRUE(log.ok()) << log.message();
    access_record r = sample(0);
    r.set_path(std::string(1000, 'x'));
    ASSERT_TRUE((*log)->submit(r));
    ASSERT_TRUE((*log)->submit(sample(1)));
    (*log)->stop();
    EXPECT_EQ((*log)->truncated(), 1U);
}

TEST_F(accesslog_file, concurrent_producers_lose_nothing_they_were_told_was_queued) {
    auto log = access_log::open(path_, 512, -1);
    ASSERT_TRUE(log.ok()) << log.message();
    std::atomic<std::uint64_t> accepted{0};
    std::vector<std::thread> ts;
    for (int t = 0; t < 4; ++t) {
        ts.emplace_back([&, t] {
            std::uint64_t mine = 0;
            for (std::uint32_t i = 0; i < 5'000; ++i) {
                mine += (*log)->submit(sample(t * 100'000 + i)) ? 1 : 0;
            }
            accepted += mine;
        });
    }
    for (auto& t : ts) {
        t.join();
    }
    (*log)->stop();
    EXPECT_EQ(accepted.load() + (*log)->dropped(), 20'000U);
    EXPECT_EQ(read_lines(path_).size(), accepted.load());
}

TEST_F(accesslog_file, open_reports_a_bad_path_and_a_bad_size) {
    auto bad = access_log::open((dir_ / "no" / "such" / "dir.log").string(), 64, -1);
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.message().find("no/such/dir.log"), std::string::npos);
    auto zero = access_log::open(path_, 0, -1);
    EXPECT_FALSE(zero.ok());
}

}  // namespace
}  // namespace sluice::dp::filters
