// config_store: a rejected or unpublishable config leaves the previous one in force, in shared
// memory and on disk; accepted ones are persisted atomically and restored on restart.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "ctrlplane/model/snapshot_view.hh"
#include "ctrlplane/shm/config_reader.hh"
#include "ctrlplane/shm/stats_writer.hh"
#include "ctrlplane/store/config_store.hh"
#include "tests/ctrlplane/shm_fixture.hh"

namespace sluice::cp::store {
namespace {

const char* good_a = R"(clusters:
  - name: a
    endpoints: [ { address: 10.0.0.1, port: 80 } ]
routes:
  - { name: r, action: { cluster: a } }
)";
const char* good_b = R"(clusters:
  - name: b
    endpoints: [ { address: 10.0.0.2, port: 80 } ]
routes:
  - { name: r, action: { cluster: b } }
)";
const char* bad = R"(clusters:
  - name: b
    endpoints: []
routes:
  - { name: r, action: { cluster: c } }
)";

std::string slurp(const std::string& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// A temp directory removed on scope exit, pass or fail.
struct temp_dir {
    temp_dir() {
        char tmpl[] = "/tmp/sluice-store-XXXXXX";
        path = ::mkdtemp(tmpl);
    }
    ~temp_dir() { std::filesystem::remove_all(path); }
    std::string path;
};

std::string first_cluster(const shm::config_cursor& c) {
    model::snapshot_view v;
    if (model::snapshot_view::open(c.snapshot(), v) != model::view_status::ok) {
        return "<bad snapshot>";
    }
    return std::string(v.str(v.clusters()[0].name));
}

TEST(config_store, rejected_config_leaves_previous_in_force) {
    shm::test::instance_guard g;
    temp_dir dir;
    store_options o{g.opts(), {}, dir.path + "/sluice.yaml"};
    auto s = config_store::open(o);
    ASSERT_TRUE(s) << s.message();
    auto gen = s->apply(good_a, "a.yaml", shm::test::mono_ns());
    ASSERT_TRUE(gen) << gen.message();
    EXPECT_EQ(gen.value(), 1u);

    auto r = shm::config_reader::attach(g.opts());
    ASSERT_TRUE(r);
    shm::config_cursor cur(r.value());
    ASSERT_TRUE(cur.refresh());
    EXPECT_EQ(first_cluster(cur), "a");

    auto rej = s->apply(bad, "bad.yaml", shm::test::mono_ns());
    ASSERT_FALSE(rej);
    EXPECT_EQ(rej.kind(), error_kind::invalid);
    EXPECT_NE(rej.message().find("config rejected with 2 errors; generation 1 stays in force"),
              std::string::npos)
        << rej.message();
    EXPECT_NE(rej.message().find("bad.yaml:3:16: clusters[0].endpoints: a cluster needs at least "
                                 "one endpoint"),
              std::string::npos)
        << rej.message();
    EXPECT_NE(rej.message().find("bad.yaml:5:26: routes[0].action.cluster: unknown cluster 'c'"),
              std::string::npos)
        << rej.message();
    ASSERT_EQ(s->last_errors().size(), 2u);

    EXPECT_EQ(s->generation(), 1u);
    EXPECT_FALSE(cur.changed());
    EXPECT_EQ(first_cluster(cur), "a");
    ASSERT_TRUE(s->current().has_value());
    EXPECT_EQ(s->current()->clusters[0].name, "a");
    EXPECT_EQ(slurp(o.persist_path), good_a);

    gen = s->apply(good_b, "b.yaml", shm::test::mono_ns());
    ASSERT_TRUE(gen) << gen.message();
    EXPECT_EQ(gen.value(), 2u);
    EXPECT_TRUE(s->last_errors().empty());
    ASSERT_TRUE(cur.refresh());
    EXPECT_EQ(first_cluster(cur), "b");
    EXPECT_EQ(slurp(o.persist_path), good_b);
}

TEST(config_store, persisted_file_is_private_and_restored_after_restart) {
    shm::test::instance_guard g;
    temp_dir dir;
    store_options o{g.opts(), {}, dir.path + "/sluice.yaml"};
    {
        auto s = config_store::open(o);
        ASSERT_TRUE(s);
        ASSERT_TRUE(s->apply(good_b, "b.yaml", shm::test::mono_ns()));
    }
    struct stat st {};
    ASSERT_EQ(::stat(o.persist_path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    // Only the final file remains: no temp files left behind.
    EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path),
                            std::filesystem::directory_iterator()),
              1);

    auto s = config_store::open(o);  // a restarted control plane
    ASSERT_TRUE(s) << s.message();
    EXPECT_FALSE(s->current().has_value());
    auto gen = s->restore(shm::test::mono_ns());
    ASSERT_TRUE(gen) << gen.message();
    EXPECT_EQ(gen.value(), 2u);  // generations continue from the segment
    ASSERT_TRUE(s->current().has_value());
    EXPECT_EQ(s->current()->clusters[0].name, "b");
}

TEST(config_store, resume_adopts_an_identical_live_snapshot_without_publishing) {
    shm::test::instance_guard g;
    temp_dir dir;
    store_options o{g.opts(), {}, dir.path + "/sluice.yaml"};
    {
        auto s = config_store::open(o);
        ASSERT_TRUE(s);
        ASSERT_TRUE(s->apply(good_a, "a.yaml", shm::test::mono_ns()));
    }
    auto r = shm::config_reader::attach(g.opts());
    ASSERT_TRUE(r);
    shm::config_cursor cur(r.value());
    ASSERT_TRUE(cur.refresh());

    auto s = config_store::open(o);  // the daemon restarted; the dataplane kept running
    ASSERT_TRUE(s);
    auto gen = s->resume(shm::test::mono_ns());
    ASSERT_TRUE(gen) << gen.message();
    EXPECT_EQ(gen.value(), 1u);
    EXPECT_FALSE(cur.changed());  // nothing was published
    EXPECT_EQ(s->current_yaml(), good_a);
    ASSERT_TRUE(s->current().has_value());

    // republish: the same config as the next generation, for a restarted dataplane.
    auto again = s->republish(shm::test::mono_ns());
    ASSERT_TRUE(again) << again.message();
    EXPECT_EQ(again.value(), 2u);
    ASSERT_TRUE(cur.refresh());
    EXPECT_EQ(first_cluster(cur), "a");
}

TEST(config_store, resume_publishes_a_persisted_config_that_differs_from_the_live_one) {
    shm::test::instance_guard g;
    temp_dir dir;
    store_options o{g.opts(), {}, dir.path + "/sluice.yaml"};
    {
        auto s = config_store::open(o);
        ASSERT_TRUE(s);
        ASSERT_TRUE(s->apply(good_a, "a.yaml", shm::test::mono_ns()));
    }
    std::ofstream(o.persist_path) << good_b;
    auto s = config_store::open(o);
    ASSERT_TRUE(s);
    auto gen = s->resume(shm::test::mono_ns());
    ASSERT_TRUE(gen) << gen.message();
    EXPECT_EQ(gen.value(), 2u);
    EXPECT_EQ(s->current()->clusters[0].name, "b");
}

TEST(config_store, resume_of_an_invalid_persisted_file_changes_nothing) {
    shm::test::instance_guard g;
    temp_dir dir;
    store_options o{g.opts(), {}, dir.path + "/sluice.yaml"};
    {
        auto s = config_store::open(o);
        ASSERT_TRUE(s);
        ASSERT_TRUE(s->apply(good_a, "a.yaml", shm::test::mono_ns()));
    }
    std::ofstream(o.persist_path) << bad;
    auto s = config_store::open(o);
    ASSERT_TRUE(s);
    auto gen = s->resume(shm::test::mono_ns());
    ASSERT_FALSE(gen);
    EXPECT_EQ(gen.kind(), error_kind::invalid);
    EXPECT_NE(gen.message().find("persisted config " + o.persist_path + " is invalid"),
              std::string::npos)
        << gen.message();
    EXPECT_NE(gen.message().find(o.persist_path + ":3:16: clusters[0].endpoints"),
              std::string::npos)
        << gen.message();
    EXPECT_EQ(s->generation(), 1u);
    EXPECT_FALSE(s->current().has_value());
    EXPECT_EQ(slurp(o.persist_path), bad);
}

TEST(config_store, recreated_segments_are_noticed) {
    shm::test::instance_guard g;
    store_options o{g.opts(), {}, ""};
    auto s = config_store::open(o);
    ASSERT_TRUE(s);
    EXPECT_FALSE(s->writer().segments_replaced());
    shm::unlink_instance(g.opts());
    EXPECT_TRUE(s->writer().segments_replaced());
    auto fresh = shm::stats_segment::attach(g.opts());  // a dataplane recreates them
    ASSERT_TRUE(fresh);
    EXPECT_TRUE(s->writer().segments_replaced());
}

TEST(config_store, restore_without_a_file_is_a_no_op) {
    shm::test::instance_guard g;
    temp_dir dir;
    auto s = config_store::open({g.opts(), {}, dir.path + "/missing.yaml"});
    ASSERT_TRUE(s);
    auto gen = s->restore(shm::test::mono_ns());
    ASSERT_TRUE(gen) << gen.message();
    EXPECT_EQ(gen.value(), 0u);
}

TEST(config_store, unwritable_persist_path_publishes_nothing) {
    shm::test::instance_guard g;
    auto s = config_store::open({g.opts(), {}, "/nonexistent-sluice-dir/sluice.yaml"});
    ASSERT_TRUE(s) << s.message();
    auto r = s->apply(good_a, "a.yaml", shm::test::mono_ns());
    ASSERT_FALSE(r);
    EXPECT_EQ(r.kind(), error_kind::io);
    EXPECT_NE(r.message().find("cannot create /nonexistent-sluice-dir/sluice.yaml.tmp."),
              std::string::npos)
        << r.message();
    EXPECT_NE(r.message().find("generation 0 stays in force"), std::string::npos) << r.message();
    EXPECT_EQ(s->generation(), 0u);
    EXPECT_FALSE(s->current().has_value());
}

TEST(config_store, busy_publication_changes_nothing_on_disk) {
    shm::test::instance_guard g;
    temp_dir dir;
    store_options o{g.opts(), {}, dir.path + "/sluice.yaml"};
    auto s = config_store::open(o);
    ASSERT_TRUE(s);
    auto stats = shm::stats_segment::attach(g.opts());
    ASSERT_TRUE(stats);
    const std::uint64_t now = shm::test::mono_ns();
    auto lc = stats->register_lcore(0, now);  // never reports: pins every used slot
    ASSERT_TRUE(lc);
    for (int i = 0; i < 4; ++i) {
        ASSERT_TRUE(s->apply(i % 2 ? good_a : good_b, "x.yaml", now)) << i;
    }
    auto busy = s->apply(good_b, "x.yaml", now);
    ASSERT_FALSE(busy);
    EXPECT_EQ(busy.kind(), error_kind::busy);
    EXPECT_EQ(s->generation(), 4u);
    EXPECT_EQ(slurp(o.persist_path), good_a);
    EXPECT_EQ(s->current()->clusters[0].name, "a");
    EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path),
                            std::filesystem::directory_iterator()),
              1);
}

}  // namespace
}  // namespace sluice::cp::store
