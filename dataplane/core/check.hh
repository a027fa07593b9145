// Invariant checks shared by every dataplane and control-plane unit.
// SLUICE_CHECK is always fatal; SLUICE_ASSERT only in debug builds; SLUICE_BUG is fatal in
// debug builds and counted and logged in release builds, for states that must never happen
// but must not take a production dataplane down.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

namespace sluice::detail {
[[noreturn]] inline void check_failed(const char* expr, const char* file, int line) noexcept {
    std::fprintf(stderr, "sluice: fatal: check '%s' failed at %s:%d\n", expr, file, line);
    std::abort();
}
// Process-wide count of SLUICE_BUG hits in release builds; read by the stats dump.
inline std::atomic<std::uint64_t> bug_count{0};
inline void bug_hit(const char* expr, const char* file, int line) noexcept {
    if (bug_count.fetch_add(1, std::memory_order_relaxed) < 16) {
        std::fprintf(stderr, "sluice: BUG '%s' at %s:%d (counted, continuing)\n", expr, file, line);
    }
}
}  // namespace sluice::detail

#define SLUICE_CHECK(expr)                                                   \
    do {                                                                     \
        if (!(expr)) [[unlikely]] {                                          \
            ::sluice::detail::check_failed(#expr, __FILE__, __LINE__);       \
        }                                                                    \
    } while (0)

#ifdef NDEBUG
#define SLUICE_ASSERT(expr) \
    do {                    \
    } while (0)
#define SLUICE_BUG(expr)                                           \
    do {                                                           \
        if (!(expr)) [[unlikely]] {                                \
            ::sluice::detail::bug_hit(#expr, __FILE__, __LINE__);  \
        }                                                          \
    } while (0)
#else
#define SLUICE_ASSERT(expr) SLUICE_CHECK(expr)
#define SLUICE_BUG(expr) SLUICE_CHECK(expr)
#endif
