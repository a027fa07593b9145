// libFuzzer target for the YAML config loader: any input must either be rejected with
// diagnostics or load into a config that encodes and reopens through snapshot_view with the
// same shape. Never crash, hang, or accept-then-fail.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "ctrlplane/model/encode.hh"
#include "ctrlplane/model/loader.hh"
#include "ctrlplane/model/snapshot_view.hh"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace sluice::cp::model;  // NOLINT: a fuzz entry point, not a header
    if (size > 64 * 1024) {
        return -1;  // configs are small; big inputs only slow the fuzzer down
    }
    std::string_view text(reinterpret_cast<const char*>(data), size);
    load_result r = load_config(text, "fuzz.yaml");
    if (!r.ok()) {
        if (r.errors.empty()) {
            std::abort();  // rejected without saying why
        }
        for (const auto& d : r.errors) {
            if (d.message.empty()) {
                std::abort();
            }
        }
        return 0;
    }
    auto bytes = encode(*r.cfg);
    if (!bytes) {
        std::abort();  // validated configs must always encode
    }
    snapshot_view v;
    if (snapshot_view::open(bytes.value(), v) != view_status::ok ||
        v.routes().size() != r.cfg->routes.size() ||
        v.clusters().size() != r.cfg->clusters.size() ||
        v.listeners().size() != r.cfg->listeners.size() ||
        v.rate_limits().size() != r.cfg->rate_limits.size()) {
        std::abort();
    }
    for (std::size_t i = 0; i < r.cfg->routes.size(); ++i) {
        if (v.str(v.routes()[i].name) != r.cfg->routes[i].name) {
            std::abort();
        }
    }
    return 0;
}
