// verdict_writer, the gateway's path to XDP drops: a source it blocks gets XDP_DROP from the
// real program (BPF_PROG_TEST_RUN over the fixture's private pins) until the TTL runs out,
// then passes again (the program deletes the expired entry). Root; skips otherwise.
#include <arpa/inet.h>
#include <linux/bpf.h>

#include <chrono>
#include <cstring>
#include <thread>

#include "verdict_writer.hh"
#include "xdp_admin.hh"
#include "xdp_fixture.hh"

namespace sluice::ebpf::test {
namespace {

std::uint32_t be(v4 a) {
    std::uint32_t x = 0;
    std::memcpy(&x, a.data(), 4);
    return x;
}

const std::vector<sluice_xdp_counter> steered = {SLUICE_CNT_STEER_SERVICE, SLUICE_CNT_PASS,
                                                 SLUICE_CNT_PASS_NO_XSK};

class verdict_writer_test : public xdp_fixture {
protected:
    verdict_writer open_writer() {
        auto w = verdict_writer::open(pin_root_);
        EXPECT_TRUE(w.ok()) << w.message();
        return std::move(w).value();
    }
};

TEST_F(verdict_writer_test, blocked_source_is_dropped_until_expiry_then_passes) {
    verdict_writer w = open_writer();
    const bytes syn = tcp4(client4, svc4, 80, tcp_syn);
    // 1 s: long enough that a loaded machine still runs the first packet before expiry.
    const auto ttl = std::chrono::milliseconds(1000);
    ASSERT_TRUE(w.block(be(client4), ttl.count(), gateway_reason::rate_limited))
        << w.last_error();
    const auto set_at = std::chrono::steady_clock::now();

    const outcome dropped = run(syn, 5);
    EXPECT_EQ(dropped.action, XDP_DROP);
    expect_moved(dropped.delta, {SLUICE_CNT_DROP_GATEWAY_VERDICT}, 5);
    // Another client of the same service, and the blocked client's non-service traffic, pass.
    expect_moved(run(tcp4(client4_b, svc4, 80, tcp_syn)).delta, steered);
    expect_moved(run(tcp4(client4, svc4, 22, tcp_syn)).delta,
                 {SLUICE_CNT_PASS, SLUICE_CNT_PASS_NOT_SERVICE});

    auto listed = live_gateway_verdicts(maps());
    ASSERT_TRUE(listed.ok()) << listed.message();
    ASSERT_EQ(listed->size(), 1u);
    EXPECT_EQ(listed->front().src, ip_addr::from_v4(client4));
    EXPECT_EQ(listed->front().reason, gateway_reason::rate_limited);
    EXPECT_GT(listed->front().remaining_ms, 0u);
    EXPECT_LE(listed->front().remaining_ms, 1000u);

    std::this_thread::sleep_until(set_at + ttl + std::chrono::milliseconds(50));
    const outcome expired = run(syn);
    EXPECT_EQ(expired.action, XDP_PASS);
    expect_moved(expired.delta, {SLUICE_CNT_GATEWAY_EXPIRED, SLUICE_CNT_STEER_SERVICE,
                                 SLUICE_CNT_PASS, SLUICE_CNT_PASS_NO_XSK});
    expect_moved(run(syn).delta, steered);
    EXPECT_TRUE(live_gateway_verdicts(maps())->empty());
}

TEST_F(verdict_writer_test, unblock_lifts_at_once_and_is_idempotent) {
    verdict_writer w = open_writer();
    const bytes syn = tcp4(client4, svc4, 80, tcp_syn);
    ASSERT_TRUE(w.block(be(client4), verdict_writer::max_ttl_ms, gateway_reason::blocked));
    expect_moved(run(syn).delta, {SLUICE_CNT_DROP_GATEWAY_VERDICT});
    EXPECT_TRUE(w.unblock(be(client4)));
    expect_moved(run(syn).delta, steered);
    EXPECT_TRUE(w.unblock(be(client4))) << "no verdict left: still 'not blocked'";
    EXPECT_EQ(w.last_error(), 0);
}

TEST_F(verdict_writer_test, a_new_verdict_replaces_the_deadline_of_the_old_one) {
    verdict_writer w = open_writer();
    ASSERT_TRUE(w.block(be(client4), verdict_writer::max_ttl_ms, gateway_reason::blocked));
    ASSERT_TRUE(w.block(be(client4), 1, gateway_reason::rate_limited));
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    expect_moved(run(tcp4(client4, svc4, 80, tcp_syn)).delta,
                 {SLUICE_CNT_GATEWAY_EXPIRED, SLUICE_CNT_STEER_SERVICE, SLUICE_CNT_PASS,
                  SLUICE_CNT_PASS_NO_XSK});
}

TEST_F(verdict_writer_test, rejects_zero_and_oversized_ttl_and_writes_nothing) {
    verdict_writer w = open_writer();
    EXPECT_FALSE(w.block(be(client4), 0, gateway_reason::blocked));
    EXPECT_EQ(w.last_error(), EINVAL);
    EXPECT_FALSE(w.block(be(client4), verdict_writer::max_ttl_ms + 1, gateway_reason::blocked));
    auto all = maps().gateway_verdicts();
    ASSERT_TRUE(all.ok());
    EXPECT_TRUE(all->empty());
    expect_moved(run(tcp4(client4, svc4, 80, tcp_syn)).delta, steered);
}

TEST_F(verdict_writer_test, works_after_the_flag_was_cleared_by_a_resync) {
    // sync_flags() clears SLUICE_XDP_F_GW_VERDICTS while the map is empty (a reload); the
    // writer must set it again with its first verdict, or the program would not look.
    ASSERT_TRUE(maps().sync_flags().ok());
    ASSERT_EQ(maps().read_config()->flags & SLUICE_XDP_F_GW_VERDICTS, 0u);
    verdict_writer w = open_writer();
    ASSERT_TRUE(w.block(be(client4), 60'000, gateway_reason::blocked));
    EXPECT_NE(maps().read_config()->flags & SLUICE_XDP_F_GW_VERDICTS, 0u);
    expect_moved(run(tcp4(client4, svc4, 80, tcp_syn)).delta,
                 {SLUICE_CNT_DROP_GATEWAY_VERDICT});
}

TEST(verdict_writer_open, says_no_program_is_loaded_when_nothing_is_pinned) {
    auto w = verdict_writer::open("/sys/fs/bpf/sluice-nothing-pinned-here");
    ASSERT_FALSE(w.ok());
    EXPECT_NE(w.message().find("no Sluice XDP program is loaded"), std::string::npos)
        << w.message();
}

}  // namespace
}  // namespace sluice::ebpf::test
