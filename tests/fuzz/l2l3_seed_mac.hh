// The MAC address the L2/L3 fuzz target gives its interface, so that generated seeds hit it.
#pragma once

#include "../packet/l2l3_cases.hh"

namespace sluice::test {
inline constexpr mac fuzz_mac = {0x02, 0x53, 0x4c, 0x00, 0x00, 0x02};
}  // namespace sluice::test
