// gtest main for tests that need mbufs: initializes a minimal EAL once (no hugepages, no PCI,
// one lcore, no shared runtime files) and creates the `test_pool` the tests draw from.
// DPDK 22.11 refuses --in-memory together with --no-huge (--no-huge implies legacy memory,
// which --in-memory rejects), so we use --no-shconf and a per-process prefix, and remove the
// runtime directory at exit.
#include <gtest/gtest.h>
#include <rte_eal.h>
#include <rte_mbuf.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <system_error>

#include "eal_env.hh"

namespace sluice::dp::test {
rte_mempool* test_pool = nullptr;
}

int main(int argc, char** argv) {
    ::testing::InitGoogleTest(&argc, argv);
    // A per-process file prefix keeps concurrent test runs (other builds on the machine) apart.
    std::array<char, 64> prefix{};
    std::snprintf(prefix.data(), prefix.size(), "--file-prefix=sluice-tcp-%d",
                  static_cast<int>(getpid()));
    std::array<const char*, 8> eal = {"tcp_mbuf_test",
                                      "--no-huge",
                                      "--no-shconf",
                                      "--no-pci",
                                      "-l",
                                      "0",
                                      prefix.data(),
                                      "--log-level=lib.eal:error"};
    if (rte_eal_init(static_cast<int>(eal.size()), const_cast<char**>(eal.data())) < 0) {
        std::fprintf(stderr,
                     "eal_main: rte_eal_init failed (--no-huge --no-shconf --no-pci -l 0)\n");
        return 1;
    }
    // No per-lcore cache, so rte_mempool_avail_count() is exact for leak checks.
    sluice::dp::test::test_pool =
        rte_pktmbuf_pool_create("tcp_test_pool", sluice::dp::test::test_pool_size, 0, 0,
                                RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    if (sluice::dp::test::test_pool == nullptr) {
        std::fprintf(stderr, "eal_main: cannot create the test mbuf pool\n");
        return 1;
    }
    const int rc = RUN_ALL_TESTS();
    rte_mempool_free(sluice::dp::test::test_pool);
    // EAL leaves its runtime directory (only the multi-process socket, thanks to --no-shconf)
    // behind; the prefix is ours alone, so remove it.
    const std::filesystem::path run_dir(rte_eal_get_runtime_dir());
    rte_eal_cleanup();
    std::error_code ec;
    std::filesystem::remove_all(run_dir, ec);
    return rc;
}
