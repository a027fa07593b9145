// sluice-dataplane: EAL arguments first, then `--`, then Sluice's own options, as in DPDK
// applications. The main lcore parses, sets up, keeps house and shuts down; workers poll.
//
// Exit codes: 0 clean, 1 set-up failed, 2 bad arguments or EAL failure, 3 mbufs leaked.
#include <rte_eal.h>
#include <rte_errno.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <exception>
#include <string_view>
#include <vector>

#include "core/config.hh"
#include "core/dataplane.hh"
#include "core/log.hh"

namespace {

std::atomic<bool> quit{false};
std::atomic<bool> dump{false};

void on_signal(int sig) {
    if (sig == SIGUSR1) {
        dump.store(true);
    } else {
        quit.store(true);
    }
}

void install_signals() {
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    for (int s : {SIGINT, SIGTERM, SIGUSR1}) {
        sigaction(s, &sa, nullptr);
    }
}

int run(int argc, char** argv) {
    namespace core = sluice::dp::core;
    namespace log = sluice::dp::log;

    // Split at "--": EAL's arguments before, ours after.
    int split = argc;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--") == 0) {
            split = i;
            break;
        }
    }
    std::vector<char*> ours{argv[0]};
    for (int i = split + 1; i < argc; ++i) {
        ours.push_back(argv[i]);
    }
    if (split == argc) {
        // No "--": only our --help makes sense without EAL arguments.
        for (int i = 1; i < argc; ++i) {
            if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) {
                ours.push_back(argv[i]);
            }
        }
    }
    auto parsed = core::parse_options(static_cast<int>(ours.size()), ours.data());
    if (!parsed) {
        log::error("{}", parsed.message());
        return 2;
    }
    if (parsed->help) {
        std::printf("%s\nEAL options come first, then --, for example:\n"
                    "  sluice-dataplane -l 0-1 --no-pci --vdev=net_af_packet0,iface=eth1 -- \\\n"
                    "      --port dev=net_af_packet0,addr=198.18.0.2/24,gw=198.18.0.1\n"
                    "or, with the device created by Sluice (AF_XDP and its XDP program):\n"
                    "  sluice-dataplane -l 0-1 --no-pci -- \\\n"
                    "      --port dev=afxdp:eth1,addr=198.18.0.2/24,services=80:443\n"
                    "EAL's own options: sluice-dataplane --help --\n",
                    parsed->help_text.c_str());
        return 0;
    }
    install_signals();

    // We never use DPDK multi-process (the control plane talks through our own shared memory),
    // so unless told otherwise EAL keeps no hugepage files or runtime directory behind.
    std::vector<char*> eal{argv[0]};
    bool memory_mode = false;
    for (int i = 1; i < split; ++i) {
        const std::string_view a = argv[i];
        memory_mode = memory_mode || a == "--in-memory" || a.starts_with("--file-prefix") ||
                      a == "--huge-unlink" || a.starts_with("--huge-unlink=");
        eal.push_back(argv[i]);
    }
    static char in_memory[] = "--in-memory";
    if (!memory_mode) {
        eal.push_back(in_memory);
    }
    if (rte_eal_init(static_cast<int>(eal.size()), eal.data()) < 0) {
        log::error("EAL initialisation failed: {} (check hugepages with scripts/setup, the -l "
                   "lcore list, and --vdev arguments)",
                   rte_strerror(rte_errno));
        return 2;
    }

    int rc = 0;
    {
        core::dataplane dp(std::move(parsed).value().config);
        if (auto s = dp.setup(); !s) {
            log::error("{}", s.message());
            rc = 1;
        } else {
            dp.run(quit, dump);
        }
        log::info("shutting down");
        if (dp.shutdown() != 0) {
            rc = 3;
        }
    }
    rte_eal_cleanup();
    return rc;
}

}  // namespace

// Exceptions end here at the latest (STYLE.md): set-up code may throw std::bad_alloc and the
// like; the dataplane's packet path does not throw.
int main(int argc, char** argv) {
    try {
        return run(argc, argv);
    } catch (const std::exception& e) {
        sluice::dp::log::error("unexpected exception: {}", e.what());
    } catch (...) {
        sluice::dp::log::error("unexpected exception");
    }
    return 1;
}
