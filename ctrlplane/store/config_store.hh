// The control plane's single entry point for changing config: validate → encode → publish →
// persist. A config is applied whole or not at all; on any failure the previous config, its
// generation and the persisted file stay in force. The daemon (later) is a thin layer over this:
// it reads files or socket requests and calls apply(). Runs on one control-plane thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ctrlplane/model/config.hh"
#include "ctrlplane/model/diagnostic.hh"
#include "ctrlplane/model/loader.hh"
#include "ctrlplane/result.hh"
#include "ctrlplane/shm/config_writer.hh"

namespace sluice::cp::store {

struct store_options {
    shm::segment_options shm;
    shm::liveness_policy liveness;
    // Where the last applied YAML is kept (written with temp file + fsync + rename, mode 0600).
    // Empty: not persisted.
    std::string persist_path;
};

class config_store {
public:
    // Opens the instance's segments as their single writer.
    [[nodiscard]] static result<config_store> open(store_options o);

    // Applies a YAML document. Returns the new generation. Errors (nothing changed):
    //  invalid: the config failed validation; every problem is in last_errors() and the message;
    //  busy:    no snapshot slot free yet (an lcore lags); retry;
    //  io:      the persisted copy could not be written.
    // If publication succeeded but the final rename failed, the new config is live and the error
    // (kind io) says so.
    [[nodiscard]] result<std::uint64_t> apply(std::string_view yaml, std::string_view file_name,
                                              std::uint64_t now_ns);
    // Applies the persisted file, if there is one (daemon start). No file: returns generation().
    [[nodiscard]] result<std::uint64_t> restore(std::uint64_t now_ns);

    // Daemon start over a possibly running dataplane: like restore(), but when the published
    // snapshot already equals the persisted config (the control plane restarted, the segments
    // stayed), adopt it without publishing, so the generation and the lcores are undisturbed.
    // A persisted file that fails validation is an error (kind invalid) and nothing changes.
    [[nodiscard]] result<std::uint64_t> resume(std::uint64_t now_ns);
    // Publishes the config in force again as a new generation (a restarted dataplane). No config
    // in force: returns generation() and publishes nothing.
    [[nodiscard]] result<std::uint64_t> republish(std::uint64_t now_ns);
    // Checks a YAML document exactly as apply() would, changing nothing (dry runs).
    [[nodiscard]] static model::load_result check(std::string_view yaml,
                                                  std::string_view file_name);

    [[nodiscard]] std::uint64_t generation() const noexcept { return writer_.generation(); }
    // The YAML text of the config in force (empty before the first apply or resume).
    [[nodiscard]] const std::string& current_yaml() const noexcept { return current_yaml_; }
    [[nodiscard]] const store_options& options() const noexcept { return opts_; }
    // The config in force (published by this store), if any.
    [[nodiscard]] const std::optional<model::config>& current() const noexcept { return current_; }
    [[nodiscard]] const std::vector<model::diagnostic>& last_errors() const noexcept {
        return last_errors_;
    }
    [[nodiscard]] const shm::config_writer& writer() const noexcept { return writer_; }

private:
    config_store(store_options o, shm::config_writer w) noexcept;
    store_options opts_;
    shm::config_writer writer_;
    std::optional<model::config> current_;
    std::string current_yaml_;
    std::vector<model::diagnostic> last_errors_;
};

}  // namespace sluice::cp::store
