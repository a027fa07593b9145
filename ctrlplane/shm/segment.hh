// Opening, creating and mapping the two shm segments of an instance. Setup path only: called by
// the control plane and by the dataplane's main thread before lcores start; never per packet.
// Either side may create a segment or attach to an existing one. Creation is atomic: the creator
// builds a complete header in a private file and link(2)s it to the public name, so an attacher
// sees either no segment or a fully initialised one (we use open(2) in /dev/shm directly, which is
// what glibc's shm_open does, because shm_open cannot create-then-link).
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "ctrlplane/result.hh"
#include "ctrlplane/shm/contract.hh"

namespace sluice::cp::shm {

struct segment_options {
    std::string instance;                    // [A-Za-z0-9_.-]{1,64}
    std::string dir = "/dev/shm";            // tests may point elsewhere; must be tmpfs-like
    std::uint64_t slot_capacity = 4u << 20;  // bytes per snapshot slot, used when creating
    std::uint32_t lcore_count = max_lcores;  // stats slots, used when creating
    std::optional<gid_t> group;              // set: mode 0660 and this group; else 0600
};

enum class access { read_only, read_write };

// An mmap'd segment. Move-only; unmaps and closes on destruction (never unlinks).
class mapping {
public:
    mapping() = default;
    mapping(int fd, void* addr, std::size_t size) noexcept : fd_(fd), addr_(addr), size_(size) {}
    mapping(mapping&& o) noexcept;
    mapping& operator=(mapping&& o) noexcept;
    mapping(const mapping&) = delete;
    mapping& operator=(const mapping&) = delete;
    ~mapping();

    [[nodiscard]] void* data() const noexcept { return addr_; }
    [[nodiscard]] std::size_t size() const noexcept { return size_; }
    [[nodiscard]] int fd() const noexcept { return fd_; }

private:
    void reset() noexcept;
    int fd_ = -1;
    void* addr_ = nullptr;
    std::size_t size_ = 0;
};

[[nodiscard]] std::string config_path(const segment_options& o);
[[nodiscard]] std::string stats_path(const segment_options& o);

// Creates the segment if absent (mode 0600, or 0660 + group), else attaches and checks magic,
// ABI version and sizes. A mismatch is refused with a message naming both versions.
[[nodiscard]] result<mapping> open_config(const segment_options& o, access a);
[[nodiscard]] result<mapping> open_stats(const segment_options& o, access a);

// Checks a mapped header; exposed so tests and tools can validate without reopening.
[[nodiscard]] result<void> check_config_header(const config_header& h, std::size_t file_size,
                                               const std::string& path);
[[nodiscard]] result<void> check_stats_header(const stats_header& h, std::size_t file_size,
                                              const std::string& path);

// Removes both segments of an instance (missing ones are not an error). Mappings stay valid.
void unlink_instance(const segment_options& o) noexcept;

}  // namespace sluice::cp::shm
