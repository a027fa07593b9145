// libFuzzer target for the dataplane's own configuration parsers: the --port spec and the YAML
// config file. Any input must yield a value or a precise error, never a crash or an exception.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "../../dataplane/core/config.hh"

namespace {
std::string yaml_path;
}

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    yaml_path = "/tmp/sluice-fuzz-dp-config-" + std::to_string(getpid()) + ".yaml";
    std::atexit([] { std::remove(yaml_path.c_str()); });
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    auto spec = sluice::dp::core::parse_port_spec(text, "--port #1");
    if (!spec.ok() && spec.message().rfind("--port #1: ", 0) != 0) {
        std::abort();  // every error names where it came from
    }
    if (FILE* f = std::fopen(yaml_path.c_str(), "wb")) {
        std::fwrite(data, 1, size, f);
        std::fclose(f);
        auto cfg = sluice::dp::core::load_config_file(yaml_path, {});
        if (!cfg.ok() && cfg.message().rfind(yaml_path, 0) != 0) {
            std::abort();  // every error names the file
        }
    }
    return 0;
}
