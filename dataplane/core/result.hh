// The dataplane's setup-path result types are the control plane's (ctrlplane/result.hh): one
// expected-style result for the whole project. The hot path never uses them: per-packet code
// reports through counters.
#pragma once

#include "../../ctrlplane/result.hh"

namespace sluice {

using cp::error;
using cp::result;
using status = cp::result<void>;
inline status ok_status() { return {}; }

}  // namespace sluice
