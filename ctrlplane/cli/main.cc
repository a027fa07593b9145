// sluicectl: the operator CLI of sluice-ctrlplane, object-verb grammar like `ip` and `kubectl`:
//   sluicectl [-i INSTANCE] [--socket PATH] [-o table|json] OBJECT VERB [ARGS]
// Every edit is sent to the daemon, which validates the whole resulting config, publishes and
// persists it, or refuses and changes nothing. The `xdp` verbs are the exception: they edit the
// XDP program's maps pinned under bpffs on this host directly (xdp.cc). Exit codes: see client.hh and docs/cli.md.
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>
#include <sstream>

#include "ctrlplane/cli/client.hh"
#include "ctrlplane/cli/common.hh"
#include "ctrlplane/cli/output.hh"
#include "ctrlplane/daemon/config_doc.hh"

namespace {
using namespace sluice::cp::cli;  // NOLINT(google-build-using-namespace): main only
}  // namespace

int main(int argc, char** argv) {
    ctx c;
    if (const char* inst = std::getenv("SLUICE_INSTANCE"); inst != nullptr && *inst != '\0') {
        c.g.instance = inst;
    }
    CLI::App app{"sluicectl: control a running sluice-ctrlplane (routes, clusters, endpoints, "
                 "limits, breakers, listeners, config, status, stats) and the XDP program on this "
                 "host (xdp ...). Examples: docs/cli.md."};
    app.fallthrough();
    app.require_subcommand(1);
    app.add_option("-i,--instance", c.g.instance, "instance name (env SLUICE_INSTANCE)")
        ->capture_default_str();
    app.add_option("--socket", c.g.socket, "control socket (default /run/sluice/INSTANCE.sock)");
    app.add_option("-o,--output", c.g.output, "output format")
        ->check(CLI::IsMember({"table", "json"}))
        ->capture_default_str();

    add_object_commands(app, c);
    add_xdp_commands(app, c);

    // ---- config
    auto* config = app.add_subcommand("config", "the whole config document");
    config->require_subcommand(1);
    config->add_subcommand("get", "print the config in force (YAML; -o json for JSON)")
        ->callback([&c] {
            c.action = [&c] {
                reply r = call(c.g.socket_path(), {{"op", "get"}});
                if (r.code != exit_ok) {
                    return report_error(c.g, r);
                }
                if (c.g.json_out()) {
                    std::cout << json{{"generation", r.body["generation"]},
                                      {"config", r.body["config"]}}.dump(2)
                              << "\n";
                } else {
                    std::cout << r.body.value("yaml", std::string());
                }
                return int{exit_ok};
            };
        });
    {
        auto file = std::make_shared<std::string>();
        auto dry = std::make_shared<bool>(false);
        auto* apply = config->add_subcommand(
            "apply", "validate and apply a whole YAML file; prints what changes");
        apply->add_option("-f,--file", *file, "YAML config file")->required();
        apply->add_flag("--dry-run", *dry, "validate and show the diff, change nothing");
        apply->callback([&c, file, dry] {
            c.action = [&c, file, dry] {
                bool ok = false;
                const std::string text = read_file(*file, ok);
                if (!ok) {
                    return refuse_locally(c.g, fmt::format("cannot read {}", *file), exit_usage);
                }
                reply r = call(c.g.socket_path(),
                               {{"op", "apply"}, {"yaml", text}, {"file", *file},
                                {"dry_run", *dry}});
                if (r.code != exit_ok) {
                    return report_error(c.g, r);
                }
                if (c.g.json_out()) {
                    std::cout << r.body.dump(2) << "\n";
                } else {
                    print_diff(r.body.value("diff", json::object()));
                    if (*dry) {
                        fmt::print("dry run: nothing applied (generation {} stays)\n",
                                   scalar_text(r.body["generation"]));
                    } else {
                        fmt::print("applied: generation {}\n", scalar_text(r.body["generation"]));
                    }
                }
                return int{exit_ok};
            };
        });
    }

    // ---- status, stats
    app.add_subcommand("status", "daemon, dataplane liveness, applied generation per lcore")
        ->callback([&c] {
            c.action = [&c] {
                reply r = call(c.g.socket_path(), {{"op", "status"}});
                if (r.code != exit_ok) {
                    return report_error(c.g, r);
                }
                if (c.g.json_out()) {
                    std::cout << r.body.dump(2) << "\n";
                } else {
                    print_status(r.body);
                }
                return int{exit_ok};
            };
        });
    {
        auto watch = std::make_shared<bool>(false);
        auto count = std::make_shared<unsigned>(0);
        auto interval = std::make_shared<double>(1.0);
        auto* stats = app.add_subcommand("stats", "counters summed over lcores, and rates");
        stats->add_flag("-w,--watch", *watch, "print again every --interval seconds");
        stats->add_option("--interval", *interval, "seconds between --watch prints")
            ->check(CLI::Range(0.1, 3600.0))
            ->capture_default_str();
        stats->add_option("--count", *count, "with --watch: stop after this many prints");
        stats->callback([&c, watch, count, interval] {
            c.action = [&c, watch, count, interval] {
                for (unsigned i = 0;; ++i) {
                    reply r = call(c.g.socket_path(), {{"op", "stats"}});
                    if (r.code != exit_ok) {
                        return report_error(c.g, r);
                    }
                    if (c.g.json_out()) {
                        std::cout << r.body.dump(*watch ? -1 : 2) << std::endl;
                    } else {
                        print_stats(r.body);
                        std::cout << std::flush;
                    }
                    if (!*watch || (*count != 0 && i + 1 >= *count)) {
                        return int{exit_ok};
                    }
                    ::usleep(static_cast<useconds_t>(*interval * 1e6));  // pacing, not sync
                }
            };
        });
    }

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        const int r = app.exit(e);
        return r == 0 ? exit_ok : exit_usage;
    }
    try {
        return c.action ? c.action() : exit_usage;
    } catch (const json::exception& e) {  // e.g. an argument that is not UTF-8
        std::cerr << "sluicectl: error: cannot encode the request: " << e.what() << "\n";
        return exit_usage;
    }
}
