// Thread-safe text for an errno value (strerror is not: clang-tidy concurrency-mt-unsafe).
// Setup and control-plane paths only.
#pragma once

#include <string.h>  // NOLINT(modernize-deprecated-headers): GNU strerror_r is not in <cstring>

#include <string>

namespace sluice::cp {

[[nodiscard]] inline std::string errno_text(int e) {
    char buf[128];
    // GNU strerror_r returns a pointer to the message (in buf or static storage).
    return ::strerror_r(e, buf, sizeof buf);
}

}  // namespace sluice::cp
