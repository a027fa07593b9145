// A stand-in for sluice-dataplane in the control-plane tests: a separate process that attaches
// to an instance's segments with the dataplane's real reader API (config_reader, config_cursor,
// stats_segment::register_lcore, report_applied, heartbeats, seqcount-bracketed counters) and
// runs N "lcores" from one loop every 2 ms. It writes what it sees to a JSON status file
// (temp + rename, so a reader never sees half a file) whenever it changes and every 50 ms:
//   {"pid", "generation", "snapshot_ok", "checksum_ok", "listeners", "routes", "loops"}
// Options: --instance NAME --shm-dir DIR --status FILE [--lcores N] [--recreate] [--health]
//   --recreate: unlink the instance's segments first (a dataplane that starts from scratch).
//   --health: every 50 ms, publish the endpoint-health table from the snapshot in use: every
//     endpoint of every cluster, the first of each cluster open (ejected twice, 5 failures,
//     30 s of ejection left), the others closed.
// SIGTERM/SIGINT: deregister the lcores and exit 0.
#include <fmt/format.h>
#include <signal.h>  // NOLINT(modernize-deprecated-headers): sigaction
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

#include "ctrlplane/model/snapshot_view.hh"
#include "ctrlplane/shm/config_reader.hh"
#include "ctrlplane/shm/endpoint_table.hh"
#include "ctrlplane/shm/stats_writer.hh"

namespace {

using namespace sluice::cp;  // NOLINT(google-build-using-namespace): test tool

volatile sig_atomic_t stop = 0;
void on_signal(int) { stop = 1; }

std::uint64_t now_ns() {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u +
           static_cast<std::uint64_t>(ts.tv_nsec);
}

void write_status(const std::string& path, const std::string& body) {
    const std::string tmp = path + ".tmp";
    std::FILE* f = std::fopen(tmp.c_str(), "w");
    if (f == nullptr) {
        return;
    }
    std::fwrite(body.data(), 1, body.size(), f);
    std::fclose(f);
    std::rename(tmp.c_str(), path.c_str());
}

void publish_health(shm::endpoint_table_writer& t, const shm::config_cursor& cur,
                    std::uint64_t now) {
    model::snapshot_view v;
    if (model::snapshot_view::open(cur.snapshot(), v) != model::view_status::ok) {
        return;
    }
    t.begin(cur.generation());
    for (const auto& c : v.clusters()) {
        std::uint32_t i = 0;
        for (const auto& e : v.endpoints(c)) {
            shm::endpoint_fields f;
            f.family = e.addr.family;
            std::memcpy(f.address.data(), e.addr.bytes, 16);
            f.port = e.port;
            f.endpoint_index = i;
            if (i == 0) {
                f.outlier = shm::endpoint_outlier::open;
                f.times_ejected = 2;
                f.consecutive_failures = 5;
                f.ejected_until_ns = now + 30'000'000'000u;
            }
            (void)t.add(v.str(c.name), f);
            ++i;
        }
    }
    t.commit(now);
}

}  // namespace

int main(int argc, char** argv) {
    shm::segment_options o;
    std::string status;
    std::uint32_t lcores = 2;
    bool recreate = false;
    bool health = false;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        const char* v = i + 1 < argc ? argv[i + 1] : "";
        if (a == "--instance") {
            o.instance = v, ++i;
        } else if (a == "--shm-dir") {
            o.dir = v, ++i;
        } else if (a == "--status") {
            status = v, ++i;
        } else if (a == "--lcores") {
            lcores = static_cast<std::uint32_t>(std::stoul(v)), ++i;
        } else if (a == "--recreate") {
            recreate = true;
        } else if (a == "--health") {
            health = true;
        } else {
            std::fprintf(stderr, "fake_dataplane: unknown argument %s\n", a.c_str());
            return 2;
        }
    }
    if (o.instance.empty() || status.empty()) {
        std::fprintf(stderr, "usage: fake_dataplane --instance NAME --status FILE [--shm-dir DIR] "
                             "[--lcores N] [--recreate]\n");
        return 2;
    }
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGINT, &sa, nullptr);
    if (recreate) {
        shm::unlink_instance(o);
    }
    auto cfg = shm::config_reader::attach(o);
    if (!cfg) {
        std::fprintf(stderr, "fake_dataplane: %s\n", cfg.message().c_str());
        return 1;
    }
    auto stats = shm::stats_segment::attach(o);
    if (!stats) {
        std::fprintf(stderr, "fake_dataplane: %s\n", stats.message().c_str());
        return 1;
    }
    std::vector<shm::config_cursor> cursors(lcores, shm::config_cursor(*cfg));
    std::vector<shm::lcore_stats_writer> st;
    for (std::uint32_t l = 0; l < lcores; ++l) {
        auto w = stats->register_lcore(l, now_ns());
        if (!w) {
            std::fprintf(stderr, "fake_dataplane: %s\n", w.message().c_str());
            return 1;
        }
        st.push_back(w.value());
    }
    shm::endpoint_table_writer table = stats->endpoint_table();
    std::uint64_t last_health = 0;
    std::string last;
    std::uint64_t loops = 0;
    std::uint64_t last_write = 0;
    bool snapshot_ok = false;
    bool checksum_ok = false;
    std::size_t listeners = 0;
    std::size_t routes = 0;
    while (stop == 0) {
        const std::uint64_t now = now_ns();
        for (std::uint32_t l = 0; l < lcores; ++l) {
            st[l].heartbeat(now);
            if (cursors[l].changed() && cursors[l].refresh()) {
                model::snapshot_view view;
                snapshot_ok = model::snapshot_view::open(cursors[l].snapshot(), view) ==
                              model::view_status::ok;
                checksum_ok = cursors[l].verify_checksum();
                if (snapshot_ok) {
                    listeners = view.listeners().size();
                    routes = view.routes().size();
                }
                st[l].report_applied(cursors[l].generation());
                st[l].begin();
                st[l].add(shm::counter::config_switches);
                st[l].commit();
            }
            st[l].begin();
            st[l].add(shm::counter::polls);
            st[l].add(shm::counter::requests, 10);
            st[l].add(shm::counter::drops, 1);
            st[l].commit();
        }
        if (health && now - last_health >= 50'000'000u && cursors[0].has_snapshot()) {
            publish_health(table, cursors[0], now);
            last_health = now;
        }
        ++loops;
        const std::string body = fmt::format(
            "{{\"pid\": {}, \"generation\": {}, \"snapshot_ok\": {}, \"checksum_ok\": {}, "
            "\"listeners\": {}, \"routes\": {}",
            ::getpid(), cursors[0].generation(), snapshot_ok, checksum_ok, listeners, routes);
        if (body != last || now - last_write > 50'000'000u) {
            write_status(status, fmt::format("{}, \"loops\": {}}}\n", body, loops));
            last = body;
            last_write = now;
        }
        ::usleep(2000);  // the poll loop's pace, not synchronisation
    }
    for (auto& w : st) {
        w.deregister();
    }
    return 0;
}
