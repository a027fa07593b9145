// libFuzzer target for what the daemon parses from its sockets: the metrics request line, the
// control-socket framing, YAML → JSON → YAML, and edit requests applied to a config. The first
// byte picks the parser. Any input must be refused or handled, never crash or hang. (The exact
// YAML round trip is checked on real documents in daemon_doc_test.cc; odd scalars such as
// invalid UTF-8 need not survive it, only not crash it.) Edits may throw json::exception on
// ill-typed requests: the daemon catches those per request, so the target does too.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "ctrlplane/daemon/config_doc.hh"
#include "ctrlplane/daemon/net.hh"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace sluice::cp::daemon;  // NOLINT: a fuzz entry point, not a header
    using json = nlohmann::ordered_json;
    if (size < 1 || size > 64 * 1024) {
        return -1;
    }
    std::string in(reinterpret_cast<const char*>(data) + 1, size - 1);
    switch (data[0] % 4) {
        case 0: {
            auto r = parse_request_line(in);
            if (r && (r->target.empty() || r->target[0] != '/' || r->method.empty())) {
                std::abort();
            }
            break;
        }
        case 1: {
            for (int i = 0; i < 64; ++i) {
                const std::size_t before = in.size();
                auto f = unframe(in);
                if (!f || !f.value().has_value()) {
                    break;
                }
                if (in.size() != before - 4 - f.value()->size()) {
                    std::abort();
                }
            }
            break;
        }
        case 2: {
            auto j = yaml_to_json(in);
            if (j) {
                (void)yaml_to_json(json_to_yaml(j.value()));
                (void)j.value().dump(-1, ' ', false, json::error_handler_t::replace);
            }
            break;
        }
        default: {
            json req = json::parse(in, nullptr, false);
            if (req.is_discarded() || !req.is_object()) {
                break;
            }
            const json base = {{"clusters", {{{"name", "a"},
                                              {"endpoints", {{{"address", "10.0.0.1"},
                                                              {"port", 80}}}}}}},
                               {"routes", {{{"name", "r"}, {"action", {{"cluster", "a"}}}}}}};
            try {
                auto r = apply_edit(base, req);
                if (r) {
                    (void)diff(base, r.value());
                    (void)json_to_yaml(r.value());
                } else if (r.message().empty()) {
                    std::abort();
                }
            } catch (const json::exception&) {
                // ill-typed field: the daemon answers "malformed request"
            }
            break;
        }
    }
    return 0;
}
