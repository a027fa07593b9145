// Encodes a validated config into the flat snapshot format (snapshot_format.hh) that the
// control plane then publishes through shm::config_writer. Control plane only.
#pragma once

#include <cstddef>
#include <vector>

#include "ctrlplane/model/config.hh"
#include "ctrlplane/result.hh"

namespace sluice::cp::model {

// Precondition: `c` passed validate() (references resolve, addresses parse). A config that does
// not is refused with an error naming the first unresolved item, never encoded partially.
[[nodiscard]] result<std::vector<std::byte>> encode(const config& c);

}  // namespace sluice::cp::model
