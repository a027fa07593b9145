// Segment creation, attach, permissions, ABI refusal and the single-writer lock.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctrlplane/shm/config_reader.hh"
#include "ctrlplane/shm/config_writer.hh"
#include "ctrlplane/shm/stats_reader.hh"
#include "ctrlplane/shm/stats_writer.hh"
#include "tests/ctrlplane/shm_fixture.hh"

namespace sluice::cp::shm {
namespace {

using test::instance_guard;

mode_t file_mode(const std::string& path) {
    struct stat st {};
    EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
    return st.st_mode & 07777;
}

// Rewrites one 32-bit header field of a segment in place, as a binary from another build would.
void poke_u32(const std::string& path, std::size_t off, std::uint32_t v) {
    int fd = ::open(path.c_str(), O_RDWR);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::pwrite(fd, &v, sizeof v, static_cast<off_t>(off)), static_cast<ssize_t>(sizeof v));
    ::close(fd);
}

TEST(shm_segment, segments_are_created_with_mode_0600_despite_umask) {
    instance_guard g;
    mode_t old = ::umask(0);
    auto w = config_writer::open(g.opts());
    ::umask(old);
    ASSERT_TRUE(w) << w.message();
    EXPECT_EQ(file_mode(config_path(g.opts())), 0600u);
    EXPECT_EQ(file_mode(stats_path(g.opts())), 0600u);
}

TEST(shm_segment, instance_guard_unlinks_both_segments_on_scope_exit) {
    std::string cfg, stats;
    {
        instance_guard g;
        cfg = config_path(g.opts());
        stats = stats_path(g.opts());
        auto w = config_writer::open(g.opts());
        ASSERT_TRUE(w) << w.message();
        ASSERT_EQ(::access(cfg.c_str(), F_OK), 0);
        ASSERT_EQ(::access(stats.c_str(), F_OK), 0);
    }
    EXPECT_NE(::access(cfg.c_str(), F_OK), 0);
    EXPECT_NE(::access(stats.c_str(), F_OK), 0);
}

TEST(shm_segment, group_option_gives_mode_0660) {
    instance_guard g;
    segment_options o = g.opts();
    o.group = ::getgid();
    auto s = stats_segment::attach(o);
    ASSERT_TRUE(s) << s.message();
    EXPECT_EQ(file_mode(stats_path(o)), 0660u);
}

TEST(shm_segment, dataplane_may_create_first_and_control_plane_attaches) {
    instance_guard g;
    auto r = config_reader::attach(g.opts());
    ASSERT_TRUE(r) << r.message();
    auto s = stats_segment::attach(g.opts());
    ASSERT_TRUE(s) << s.message();
    config_cursor c(r.value());
    EXPECT_FALSE(c.refresh());  // nothing published yet
    EXPECT_FALSE(c.has_snapshot());

    auto w = config_writer::open(g.opts());
    ASSERT_TRUE(w) << w.message();
    std::byte payload[3] = {std::byte{1}, std::byte{2}, std::byte{3}};
    auto gen = w->publish(payload, test::mono_ns());
    ASSERT_TRUE(gen) << gen.message();
    EXPECT_EQ(gen.value(), 1u);
    EXPECT_TRUE(c.changed());
    EXPECT_TRUE(c.refresh());
    EXPECT_EQ(c.generation(), 1u);
    ASSERT_EQ(c.snapshot().size(), 3u);
    EXPECT_EQ(c.snapshot()[2], std::byte{3});
    EXPECT_TRUE(c.verify_checksum());
}

TEST(shm_segment, abi_version_mismatch_is_refused_naming_both_versions) {
    instance_guard g;
    { ASSERT_TRUE(config_writer::open(g.opts())); }
    poke_u32(config_path(g.opts()), offsetof(config_header, abi_version), abi_version + 6);
    auto r = config_reader::attach(g.opts());
    ASSERT_FALSE(r);
    EXPECT_EQ(r.kind(), error_kind::abi);
    EXPECT_NE(r.message().find(fmt::format("segment has version {}", abi_version + 6)),
              std::string::npos)
        << r.message();
    EXPECT_NE(r.message().find(fmt::format("this build expects version {}", abi_version)),
              std::string::npos)
        << r.message();
    auto w = config_writer::open(g.opts());
    ASSERT_FALSE(w);
    EXPECT_EQ(w.kind(), error_kind::abi);
}

TEST(shm_segment, stats_abi_mismatch_is_refused) {
    instance_guard g;
    { ASSERT_TRUE(stats_segment::attach(g.opts())); }
    poke_u32(stats_path(g.opts()), offsetof(stats_header, abi_version), 0);
    auto s = stats_segment::attach(g.opts());
    ASSERT_FALSE(s);
    EXPECT_NE(s.message().find(fmt::format("segment has version 0, this build expects version {}",
                                           abi_version)),
              std::string::npos)
        << s.message();
}

TEST(shm_segment, foreign_file_with_wrong_magic_is_refused) {
    instance_guard g;
    { ASSERT_TRUE(config_reader::attach(g.opts())); }
    poke_u32(config_path(g.opts()), 0, 0xdeadbeef);
    auto r = config_reader::attach(g.opts());
    ASSERT_FALSE(r);
    EXPECT_NE(r.message().find("bad magic"), std::string::npos) << r.message();
    EXPECT_NE(r.message().find("not a Sluice config segment"), std::string::npos);
}

TEST(shm_segment, layout_size_mismatch_is_refused) {
    instance_guard g;
    { ASSERT_TRUE(config_reader::attach(g.opts())); }
    poke_u32(config_path(g.opts()), offsetof(config_header, header_size), 4096);
    auto r = config_reader::attach(g.opts());
    ASSERT_FALSE(r);
    EXPECT_NE(r.message().find("layout mismatch"), std::string::npos) << r.message();
}

TEST(shm_segment, truncated_file_is_refused) {
    instance_guard g;
    { ASSERT_TRUE(config_reader::attach(g.opts())); }
    ASSERT_EQ(::truncate(config_path(g.opts()).c_str(), 8192), 0);
    auto r = config_reader::attach(g.opts());
    ASSERT_FALSE(r);
    EXPECT_NE(r.message().find("but the file has 8192"), std::string::npos) << r.message();
}

TEST(shm_segment, invalid_instance_name_is_refused) {
    segment_options o;
    o.instance = "../etc";
    auto r = config_reader::attach(o);
    ASSERT_FALSE(r);
    EXPECT_NE(r.message().find("invalid instance name '../etc'"), std::string::npos);
}

TEST(shm_segment, second_writer_is_refused_until_first_closes) {
    instance_guard g;
    {
        auto w1 = config_writer::open(g.opts());
        ASSERT_TRUE(w1) << w1.message();
        auto w2 = config_writer::open(g.opts());
        ASSERT_FALSE(w2);
        EXPECT_EQ(w2.kind(), error_kind::busy);
        EXPECT_NE(w2.message().find("holds the writer lock"), std::string::npos) << w2.message();
    }
    auto w3 = config_writer::open(g.opts());
    EXPECT_TRUE(w3) << w3.message();
}

TEST(shm_segment, crashed_control_plane_releases_writer_lock_and_lcores_keep_snapshot) {
    instance_guard g;
    auto r = config_reader::attach(g.opts());
    ASSERT_TRUE(r) << r.message();
    pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        // A control plane that publishes and dies without running any destructor.
        auto w = config_writer::open(g.opts());
        std::byte b[4] = {std::byte{4}, std::byte{3}, std::byte{2}, std::byte{1}};
        ::_exit(w && w->publish(b, test::mono_ns()) ? 0 : 1);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);

    config_cursor c(r.value());
    ASSERT_TRUE(c.refresh());
    EXPECT_EQ(c.generation(), 1u);
    EXPECT_TRUE(c.verify_checksum());
    EXPECT_EQ(c.snapshot()[0], std::byte{4});

    auto w = config_writer::open(g.opts());  // the kernel dropped the dead writer's flock
    ASSERT_TRUE(w) << w.message();
    std::byte b[1] = {std::byte{9}};
    auto gen = w->publish(b, test::mono_ns());
    ASSERT_TRUE(gen) << gen.message();
    EXPECT_EQ(gen.value(), 2u);
    EXPECT_TRUE(c.still_valid());  // generation 1 stays readable until we move on
    ASSERT_TRUE(c.refresh());
    EXPECT_EQ(c.snapshot()[0], std::byte{9});
}

TEST(shm_segment, restarted_writer_continues_the_generation_sequence) {
    instance_guard g;
    std::byte b[1] = {std::byte{7}};
    {
        auto w = config_writer::open(g.opts());
        ASSERT_TRUE(w);
        ASSERT_TRUE(w->publish(b, test::mono_ns()));
        ASSERT_TRUE(w->publish(b, test::mono_ns()));
    }
    auto w = config_writer::open(g.opts());
    ASSERT_TRUE(w) << w.message();
    EXPECT_EQ(w->generation(), 2u);
    auto gen = w->publish(b, test::mono_ns());
    ASSERT_TRUE(gen);
    EXPECT_EQ(gen.value(), 3u);
}

TEST(shm_segment, oversized_snapshot_is_refused_and_previous_stays) {
    instance_guard g(4096);
    auto w = config_writer::open(g.opts());
    ASSERT_TRUE(w);
    std::vector<std::byte> small(10), big(4097);
    ASSERT_TRUE(w->publish(small, test::mono_ns()));
    auto r = w->publish(big, test::mono_ns());
    ASSERT_FALSE(r);
    EXPECT_NE(r.message().find("does not fit a 4096 byte slot"), std::string::npos) << r.message();
    EXPECT_NE(r.message().find("generation 1 stays in force"), std::string::npos);
    EXPECT_EQ(w->generation(), 1u);
}

}  // namespace
}  // namespace sluice::cp::shm
