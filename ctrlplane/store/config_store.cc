// validate → encode → persist (temp + fsync) → publish → rename (control-plane thread).
#include "ctrlplane/store/config_store.hh"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>

#include "ctrlplane/errno_text.hh"
#include "ctrlplane/model/encode.hh"
#include "ctrlplane/model/loader.hh"

namespace sluice::cp::store {
namespace {

std::string dir_of(const std::string& path) {
    auto slash = path.rfind('/');
    return slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
}

// Writes `text` to a fresh temp file next to `path` and fsyncs it. Returns the temp path.
result<std::string> write_temp(const std::string& path, std::string_view text) {
    std::string tmp = fmt::format("{}.tmp.{}", path, ::getpid());
    int fd = ::open(tmp.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0600);
    if (fd < 0) {
        return error{fmt::format("cannot create {}: {}", tmp, errno_text(errno)), error_kind::io};
    }
    std::size_t done = 0;
    while (done < text.size()) {
        ssize_t n = ::write(fd, text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            int e = errno;
            ::close(fd);
            ::unlink(tmp.c_str());
            return error{fmt::format("cannot write {}: {}", tmp, errno_text(e)), error_kind::io};
        }
        done += static_cast<std::size_t>(n);
    }
    if (::fsync(fd) != 0) {
        int e = errno;
        ::close(fd);
        ::unlink(tmp.c_str());
        return error{fmt::format("cannot fsync {}: {}", tmp, errno_text(e)), error_kind::io};
    }
    ::close(fd);
    return tmp;
}

// rename + fsync of the directory, so the new name survives a crash.
result<void> commit_temp(const std::string& tmp, const std::string& path) {
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        int e = errno;
        ::unlink(tmp.c_str());
        return error{fmt::format("cannot rename {} to {}: {}", tmp, path, errno_text(e)),
                     error_kind::io};
    }
    int dfd = ::open(dir_of(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        ::fsync(dfd);
        ::close(dfd);
    }
    return {};
}

}  // namespace

result<config_store> config_store::open(store_options o) {
    auto w = shm::config_writer::open(o.shm, o.liveness);
    if (!w) {
        return w.err();
    }
    return config_store(std::move(o), std::move(w.value()));
}

config_store::config_store(store_options o, shm::config_writer w) noexcept
    : opts_(std::move(o)), writer_(std::move(w)) {}

result<std::uint64_t> config_store::apply(std::string_view yaml, std::string_view file_name,
                                          std::uint64_t now_ns) {
    last_errors_.clear();
    const std::uint64_t kept = generation();
    model::load_result loaded = model::load_config(yaml, file_name);
    if (!loaded.ok()) {
        last_errors_ = std::move(loaded.errors);
        return error{fmt::format("config rejected with {} error{}; generation {} stays in "
                                 "force\n{}",
                                 last_errors_.size(), last_errors_.size() == 1 ? "" : "s", kept,
                                 model::format_all(last_errors_)),
                     error_kind::invalid};
    }
    auto bytes = model::encode(*loaded.cfg);
    if (!bytes) {
        return error{fmt::format("{}; generation {} stays in force", bytes.message(), kept)};
    }
    std::string tmp;
    if (!opts_.persist_path.empty()) {
        auto t = write_temp(opts_.persist_path, yaml);
        if (!t) {
            return error{fmt::format("{}; generation {} stays in force", t.message(), kept),
                         error_kind::io};
        }
        tmp = std::move(t.value());
    }
    auto gen = writer_.publish(bytes.value(), now_ns);
    if (!gen) {
        if (!tmp.empty()) {
            ::unlink(tmp.c_str());
        }
        return gen.err();
    }
    current_ = std::move(loaded.cfg);
    current_yaml_ = std::string(yaml);
    if (!tmp.empty()) {
        if (auto c = commit_temp(tmp, opts_.persist_path); !c) {
            return error{fmt::format("generation {} is live but was not persisted: {}", gen.value(),
                                     c.message()),
                         error_kind::io};
        }
    }
    return gen;
}

namespace {
// The persisted file's text; nullopt when persistence is off or nothing was saved yet.
result<std::optional<std::string>> read_persisted(const std::string& path) {
    if (path.empty()) {
        return std::optional<std::string>{};
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        if (errno == ENOENT) {
            return std::optional<std::string>{};
        }
        return error{fmt::format("cannot read {}: {}", path, errno_text(errno)), error_kind::io};
    }
    std::stringstream ss;
    ss << in.rdbuf();
    return std::optional<std::string>{ss.str()};
}
}  // namespace

result<std::uint64_t> config_store::restore(std::uint64_t now_ns) {
    auto text = read_persisted(opts_.persist_path);
    if (!text) {
        return text.err();
    }
    if (!text.value()) {
        return generation();  // nothing persisted yet
    }
    return apply(*text.value(), opts_.persist_path, now_ns);
}

model::load_result config_store::check(std::string_view yaml, std::string_view file_name) {
    return model::load_config(yaml, file_name);
}

result<std::uint64_t> config_store::resume(std::uint64_t now_ns) {
    auto text = read_persisted(opts_.persist_path);
    if (!text) {
        return text.err();
    }
    if (!text.value()) {
        return generation();  // nothing persisted yet
    }
    const std::string yaml = std::move(*text.value());
    model::load_result loaded = model::load_config(yaml, opts_.persist_path);
    if (!loaded.ok()) {
        last_errors_ = std::move(loaded.errors);
        return error{fmt::format("persisted config {} is invalid ({} error{}); nothing was "
                                 "applied\n{}",
                                 opts_.persist_path, last_errors_.size(),
                                 last_errors_.size() == 1 ? "" : "s",
                                 model::format_all(last_errors_)),
                     error_kind::invalid};
    }
    auto bytes = model::encode(*loaded.cfg);
    if (!bytes) {
        return bytes.err();
    }
    const auto live = writer_.published_payload();
    if (!live.empty() && live.size() == bytes->size() &&
        std::memcmp(live.data(), bytes->data(), live.size()) == 0) {
        current_ = std::move(loaded.cfg);
        current_yaml_ = yaml;
        return generation();
    }
    return apply(yaml, opts_.persist_path, now_ns);
}

result<std::uint64_t> config_store::republish(std::uint64_t now_ns) {
    if (!current_) {
        return generation();
    }
    auto bytes = model::encode(*current_);
    if (!bytes) {
        return bytes.err();
    }
    return writer_.publish(bytes.value(), now_ns);
}

}  // namespace sluice::cp::store
