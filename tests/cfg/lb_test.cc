// Load balancers: weight shares, spreading, unhealthy skipping, p2c load preference, Maglev
// shares and minimal disruption, and the per-cluster build from a snapshot.
#include "dataplane/cfg/lb.hh"

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <map>

#include "tests/cfg/cfg_fixture.hh"

namespace sluice::dp::cfg {
namespace {

namespace model = cp::model;

std::vector<maglev_endpoint> maglev_eps(std::size_t n, std::uint32_t weight = 1) {
    std::vector<maglev_endpoint> v;
    for (std::size_t i = 0; i < n; ++i) {
        v.push_back({0x1000 + i * 7919, weight});  // any distinct stable ids
    }
    return v;
}

TEST(smooth_wrr, ninety_ten_weights_give_exact_shares) {
    const std::uint32_t w[] = {9, 1};
    smooth_wrr rr(w);
    std::array<int, 2> n{};
    for (int i = 0; i < 10'000; ++i) {
        ++n[rr.pick()];
    }
    EXPECT_EQ(n[0], 9000);
    EXPECT_EQ(n[1], 1000);
}

TEST(smooth_wrr, spreads_picks_instead_of_runs) {
    const std::uint32_t w[] = {5, 1, 1};  // nginx's example: a a b a c a a
    smooth_wrr rr(w);
    std::string seq;
    for (int i = 0; i < 7; ++i) {
        seq += static_cast<char>('a' + rr.pick());
    }
    EXPECT_EQ(seq, "aabacaa");
}

TEST(smooth_wrr, equal_weights_are_round_robin) {
    const std::uint32_t w[] = {1, 1, 1};
    smooth_wrr rr(w);
    for (int i = 0; i < 9; ++i) {
        EXPECT_EQ(rr.pick(), static_cast<std::uint32_t>(i % 3));
    }
}

TEST(smooth_wrr, skips_unhealthy_and_reports_none_left) {
    const std::uint32_t w[] = {9, 1, 5};
    smooth_wrr rr(w);
    const bool h[] = {false, true, true};
    std::array<int, 3> n{};
    for (int i = 0; i < 6000; ++i) {
        ++n[rr.pick(h)];
    }
    EXPECT_EQ(n[0], 0);
    EXPECT_EQ(n[1], 1000);
    EXPECT_EQ(n[2], 5000);
    const bool none[] = {false, false, false};
    EXPECT_EQ(rr.pick(none), no_endpoint);
    smooth_wrr empty;
    EXPECT_EQ(empty.pick(), no_endpoint);
}

TEST(least_request, prefers_the_less_loaded_of_two) {
    const std::uint32_t w[] = {1, 1};
    least_request lr(w);
    xorshift64s rng(1);
    const std::uint32_t active[] = {10, 2};
    for (int i = 0; i < 100; ++i) {
        EXPECT_EQ(lr.pick(active, rng), 1u);  // two endpoints: both are always drawn
    }
}

TEST(least_request, most_loaded_endpoint_is_picked_least) {
    const std::uint32_t w[] = {1, 1, 1, 1};
    least_request lr(w);
    xorshift64s rng(7);
    const std::uint32_t active[] = {0, 5, 5, 50};
    std::array<int, 4> n{};
    for (int i = 0; i < 10'000; ++i) {
        ++n[lr.pick(active, rng)];
    }
    EXPECT_EQ(n[3], 0);            // loses every pair it is drawn in
    EXPECT_NEAR(n[0], 5000, 300);  // wins every pair it is in: 1 - (3/4)(2/3) = 1/2
}

TEST(least_request, weight_scales_the_load_it_accepts) {
    const std::uint32_t w[] = {3, 1};
    least_request lr(w);
    xorshift64s rng(3);
    const std::uint32_t a1[] = {5, 2};  // 6/3 = 2 < 3/1: weight 3 takes it despite more requests
    EXPECT_EQ(lr.pick(a1, rng), 0u);
    const std::uint32_t a2[] = {8, 2};  // 9/3 = 3 == 3/1: tie goes to the higher weight
    EXPECT_EQ(lr.pick(a2, rng), 0u);
    const std::uint32_t a3[] = {9, 2};  // 10/3 > 3
    EXPECT_EQ(lr.pick(a3, rng), 1u);
}

TEST(least_request, skips_unhealthy_endpoints) {
    const std::uint32_t w[] = {1, 1, 1, 1, 1};
    least_request lr(w);
    xorshift64s rng(11);
    const std::uint32_t active[] = {0, 0, 100, 100, 100};
    const bool h[] = {false, false, true, false, true};
    for (int i = 0; i < 1000; ++i) {
        auto p = lr.pick(active, rng, h);
        EXPECT_TRUE(p == 2 || p == 4) << p;
    }
    const bool one[] = {false, false, false, true, false};
    EXPECT_EQ(lr.pick(active, rng, one), 3u);
    const bool none[] = {false, false, false, false, false};
    EXPECT_EQ(lr.pick(active, rng, none), no_endpoint);
}

TEST(least_request, same_seed_same_picks) {
    const std::uint32_t w[] = {1, 2, 3, 4};
    least_request lr(w);
    const std::uint32_t active[] = {3, 3, 3, 3};
    xorshift64s a(99), b(99);
    for (int i = 0; i < 100; ++i) {
        EXPECT_EQ(lr.pick(active, a), lr.pick(active, b));
    }
}

TEST(maglev, table_shares_follow_weights) {
    auto eps = maglev_eps(2);
    eps[0].weight = 9;
    eps[1].weight = 1;
    auto t = maglev_table::build(eps);
    ASSERT_TRUE(t) << t.message();
    std::array<int, 2> entries{};
    for (auto e : t->entries()) {
        ASSERT_LT(e, 2u);
        ++entries[e];
    }
    EXPECT_NEAR(entries[0] / 65537.0, 0.9, 0.01);
    // And picks over random keys follow the table.
    xorshift64s rng(5);
    std::array<int, 2> n{};
    for (int i = 0; i < 10'000; ++i) {
        ++n[t->pick(rng.next())];
    }
    EXPECT_NEAR(n[0], 9000, 250);
}

TEST(maglev, equal_weights_are_balanced) {
    auto t = maglev_table::build(maglev_eps(10));
    ASSERT_TRUE(t);
    std::array<int, 10> entries{};
    for (auto e : t->entries()) {
        ++entries[e];
    }
    for (int c : entries) {
        EXPECT_NEAR(c, 6554, 2);  // each round fills one entry per endpoint
    }
}

TEST(maglev, removing_one_of_n_moves_about_one_nth_of_keys) {
    constexpr std::size_t n = 10;
    auto eps = maglev_eps(n);
    auto before = maglev_table::build(eps);
    auto removed = eps;
    removed.erase(removed.begin() + 4);
    auto after = maglev_table::build(removed);
    ASSERT_TRUE(before && after);
    auto id_of = [](const std::vector<maglev_endpoint>& v, std::uint32_t i) { return v[i].id; };
    xorshift64s rng(17);
    int moved = 0, moved_other = 0;
    const int keys = 100'000;
    for (int i = 0; i < keys; ++i) {
        std::uint64_t k = rng.next();
        std::uint64_t a = id_of(eps, before->pick(k));
        std::uint64_t b = id_of(removed, after->pick(k));
        if (a != b) {
            ++moved;
            moved_other += a != eps[4].id ? 1 : 0;
        }
    }
    double frac = static_cast<double>(moved) / keys;
    EXPECT_GE(frac, 1.0 / n - 0.01);         // the removed endpoint's keys must move
    EXPECT_LE(frac, 1.0 / n + 0.03);         // and little else (the paper measures ~1-2%)
    EXPECT_LE(moved_other, keys * 3 / 100);  // keys of surviving endpoints that moved
}

TEST(maglev, unhealthy_endpoint_falls_through_and_others_keep_their_keys) {
    auto t = maglev_table::build(maglev_eps(5));
    ASSERT_TRUE(t);
    const bool h[] = {true, true, false, true, true};
    xorshift64s rng(23);
    for (int i = 0; i < 20'000; ++i) {
        std::uint64_t k = rng.next();
        std::uint32_t all = t->pick(k);
        std::uint32_t got = t->pick(k, h);
        ASSERT_NE(got, 2u);
        if (all != 2) {
            ASSERT_EQ(got, all);
        }
    }
    const bool none[] = {false, false, false, false, false};
    EXPECT_EQ(t->pick(12345, none), no_endpoint);
}

TEST(maglev, refuses_bad_parameters) {
    EXPECT_FALSE(maglev_table::build({}));
    EXPECT_FALSE(maglev_table::build(maglev_eps(3), 65536));  // not prime
    EXPECT_FALSE(maglev_table::build(maglev_eps(20), 17));    // prime but too small
    EXPECT_EQ(maglev_table::build(maglev_eps(3, 0)).message(), "maglev: endpoint weight 0");
    maglev_table empty;
    EXPECT_EQ(empty.pick(1), no_endpoint);
}

TEST(cluster_lbs, built_from_a_snapshot_per_cluster_policy) {
    model::config c = test::base_config();
    c.clusters[0].lb = model::lb_policy::round_robin;
    c.clusters[0].endpoints = {{"10.0.0.1", 80, 3}, {"10.0.0.2", 80, 1}};
    model::cluster lr;
    lr.name = "lr";
    lr.lb = model::lb_policy::least_request;
    lr.endpoints = {{"10.0.1.1", 80, 1}, {"10.0.1.2", 80, 1}};
    c.clusters.push_back(lr);
    model::cluster mg;
    mg.name = "mg";
    mg.lb = model::lb_policy::maglev;
    mg.key = model::hash_key::client_ip;
    mg.endpoints = {{"10.0.2.1", 80, 1}, {"10.0.2.2", 80, 1}, {"2001:db8::1", 80, 1}};
    c.clusters.push_back(mg);
    auto snap = test::encode_or_die(c);
    auto lbs = build_cluster_lbs(snap.view, 1009);
    ASSERT_TRUE(lbs) << lbs.message();
    ASSERT_EQ(lbs->size(), 3u);
    auto rr = (*lbs)[0].make_wrr();
    EXPECT_EQ(rr.pick(), 0u);
    EXPECT_EQ((*lbs)[1].lr.size(), 2u);
    EXPECT_EQ((*lbs)[2].maglev.entries().size(), 1009u);
    EXPECT_EQ((*lbs)[2].maglev.endpoints(), 3u);
    // Same endpoints in a new snapshot: the same table (stable ids).
    auto again = build_cluster_lbs(test::encode_or_die(c).view, 1009);
    ASSERT_TRUE(again);
    EXPECT_TRUE(std::equal((*lbs)[2].maglev.entries().begin(), (*lbs)[2].maglev.entries().end(),
                           (*again)[2].maglev.entries().begin()));
}

}  // namespace
}  // namespace sluice::dp::cfg
