// Segment creation and attach (setup path; control plane and dataplane main thread).
#include "ctrlplane/shm/segment.hh"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <functional>
#include <new>

#include "ctrlplane/errno_text.hh"

namespace sluice::cp::shm {
namespace {

// A creator that died between link(2) and nothing else cannot leave a half-built segment, so
// attach races only with "not there yet"; a few retries cover create/attach from both sides.
constexpr int open_attempts = 8;

bool valid_instance(const std::string& s) {
    if (s.empty() || s.size() > 64) {
        return false;
    }
    for (char c : s) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-' || c == '.';
        if (!ok) {
            return false;
        }
    }
    return s != "." && s != "..";
}

std::uint64_t round_up(std::uint64_t v, std::uint64_t a) { return (v + a - 1) / a * a; }

using init_fn = std::function<void(void*, std::size_t)>;
using check_fn = std::function<result<void>(const void*, std::size_t, const std::string&)>;

// Builds the segment in a private file and links it to `path`. Returns true if we created it,
// false if someone else got there first (then the caller attaches to theirs).
result<bool> create_linked(const segment_options& o, const std::string& path, std::size_t size,
                           const init_fn& init) {
    static std::atomic<unsigned> tmp_counter{0};
    std::string tmp = fmt::format("{}/.sluice-tmp-{}-{}-{}", o.dir, o.instance, ::getpid(),
                                  tmp_counter.fetch_add(1));
    mode_t mode = o.group ? 0660 : 0600;
    int fd = ::open(tmp.c_str(), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, mode);
    if (fd < 0) {
        return error{fmt::format("cannot create {}: {}", tmp, errno_text(errno)), error_kind::io};
    }
    auto fail = [&](const char* what) -> result<bool> {
        int e = errno;
        ::close(fd);
        ::unlink(tmp.c_str());
        return error{fmt::format("cannot {} {}: {}", what, tmp, errno_text(e)), error_kind::io};
    };
    // umask may have narrowed the mode; the contract says exactly 0600 / 0660.
    if (::fchmod(fd, mode) != 0) {
        return fail("chmod");
    }
    if (o.group && ::fchown(fd, static_cast<uid_t>(-1), *o.group) != 0) {
        return fail("chown");
    }
    if (::ftruncate(fd, static_cast<off_t>(size)) != 0) {
        return fail("size");
    }
    void* addr = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (addr == MAP_FAILED) {
        return fail("map");
    }
    init(addr, size);
    ::munmap(addr, size);
    ::close(fd);
    int rc = ::link(tmp.c_str(), path.c_str());
    int e = errno;
    ::unlink(tmp.c_str());
    if (rc == 0) {
        return true;
    }
    if (e == EEXIST) {
        return false;
    }
    return error{fmt::format("cannot link {} to {}: {}", tmp, path, errno_text(e)), error_kind::io};
}

result<mapping> open_segment(const segment_options& o, const std::string& path, access a,
                             std::size_t create_size, const init_fn& init, const check_fn& check) {
    if (!valid_instance(o.instance)) {
        return error{
            fmt::format("invalid instance name '{}': expected 1-64 characters from "
                        "[A-Za-z0-9_.-]",
                        o.instance)};
    }
    for (int attempt = 0; attempt < open_attempts; ++attempt) {
        int flags = (a == access::read_write ? O_RDWR : O_RDONLY) | O_CLOEXEC;
        int fd = ::open(path.c_str(), flags);
        if (fd < 0) {
            if (errno != ENOENT) {
                return error{fmt::format("cannot open {}: {}", path, errno_text(errno)),
                             error_kind::io};
            }
            auto created = create_linked(o, path, create_size, init);
            if (!created) {
                return created.err();
            }
            continue;  // attach to whichever segment now has the name
        }
        struct stat st {};
        if (::fstat(fd, &st) != 0) {
            int e = errno;
            ::close(fd);
            return error{fmt::format("cannot stat {}: {}", path, errno_text(e)), error_kind::io};
        }
        auto size = static_cast<std::size_t>(st.st_size);
        if (size < 64) {
            ::close(fd);
            return error{fmt::format("shm segment {} is {} bytes, too small for a Sluice header "
                                     "(not created by Sluice?)",
                                     path, size),
                         error_kind::abi};
        }
        int prot = a == access::read_write ? PROT_READ | PROT_WRITE : PROT_READ;
        void* addr = ::mmap(nullptr, size, prot, MAP_SHARED, fd, 0);
        if (addr == MAP_FAILED) {
            int e = errno;
            ::close(fd);
            return error{fmt::format("cannot map {}: {}", path, errno_text(e)), error_kind::io};
        }
        mapping m(fd, addr, size);
        if (auto ok = check(addr, size, path); !ok) {
            return ok.err();
        }
        return m;
    }
    return error{fmt::format("cannot open {}: it kept disappearing while attaching", path),
                 error_kind::io};
}

}  // namespace

mapping::mapping(mapping&& o) noexcept : fd_(o.fd_), addr_(o.addr_), size_(o.size_) {
    o.fd_ = -1;
    o.addr_ = nullptr;
    o.size_ = 0;
}

mapping& mapping::operator=(mapping&& o) noexcept {
    if (this != &o) {
        reset();
        fd_ = o.fd_;
        addr_ = o.addr_;
        size_ = o.size_;
        o.fd_ = -1;
        o.addr_ = nullptr;
        o.size_ = 0;
    }
    return *this;
}

mapping::~mapping() { reset(); }

void mapping::reset() noexcept {
    if (addr_ != nullptr) {
        ::munmap(addr_, size_);
    }
    if (fd_ >= 0) {
        ::close(fd_);
    }
    fd_ = -1;
    addr_ = nullptr;
    size_ = 0;
}

std::string config_path(const segment_options& o) {
    return fmt::format("{}/sluice-{}-config", o.dir, o.instance);
}

std::string stats_path(const segment_options& o) {
    return fmt::format("{}/sluice-{}-stats", o.dir, o.instance);
}

namespace {
// The checks both segment kinds share: are these our bytes, and of our ABI version?
result<void> check_identity(std::uint64_t magic, std::uint64_t expected_magic,
                            std::uint32_t version, const char* kind, const std::string& path) {
    if (magic != expected_magic) {
        return error{fmt::format("shm segment {}: bad magic {:#018x}, expected {:#018x} (not a "
                                 "Sluice {} segment)",
                                 path, magic, expected_magic, kind),
                     error_kind::abi};
    }
    if (version != abi_version) {
        return error{fmt::format("shm segment {}: ABI version mismatch: segment has version {}, "
                                 "this build expects version {}; refusing to attach (stop both "
                                 "planes and remove the segment, or run matching binaries)",
                                 path, version, abi_version),
                     error_kind::abi};
    }
    return {};
}
}  // namespace

result<void> check_config_header(const config_header& h, std::size_t file_size,
                                 const std::string& path) {
    if (auto r = check_identity(h.magic, config_magic, h.abi_version, "config", path); !r) {
        return r;
    }
    if (h.header_size != sizeof(config_header) || h.slot_meta_size != sizeof(slot_meta) ||
        h.slot_count != config_slot_count) {
        return error{fmt::format("shm segment {}: layout mismatch at ABI version {}: header {} "
                                 "bytes, slot meta {} bytes, {} slots; this build expects {}, {}, "
                                 "{}",
                                 path, h.abi_version, h.header_size, h.slot_meta_size, h.slot_count,
                                 sizeof(config_header), sizeof(slot_meta), config_slot_count),
                     error_kind::abi};
    }
    if (h.segment_size != file_size) {
        return error{fmt::format("shm segment {}: header says {} bytes but the file has {}", path,
                                 h.segment_size, file_size),
                     error_kind::abi};
    }
    for (std::uint32_t i = 0; i < config_slot_count; ++i) {
        const slot_meta& s = h.slots[i];
        if (s.offset < config_payload_offset || s.capacity > file_size ||
            s.offset > file_size - s.capacity) {
            return error{fmt::format("shm segment {}: slot {} [{}, +{}) lies outside the {} byte "
                                     "segment",
                                     path, i, s.offset, s.capacity, file_size),
                         error_kind::abi};
        }
    }
    return {};
}

result<void> check_stats_header(const stats_header& h, std::size_t file_size,
                                const std::string& path) {
    if (auto r = check_identity(h.magic, stats_magic, h.abi_version, "stats", path); !r) {
        return r;
    }
    if (h.header_size != sizeof(stats_header) || h.lcore_slot_size != sizeof(lcore_stats) ||
        h.lcores_offset != stats_lcores_offset || h.lcore_count == 0 ||
        h.lcore_count > max_lcores) {
        return error{
            fmt::format("shm segment {}: layout mismatch at ABI version {}: header {} "
                        "bytes, lcore slot {} bytes, {} lcores; this build expects {}, "
                        "{}, 1..{}",
                        path, h.abi_version, h.header_size, h.lcore_slot_size, h.lcore_count,
                        sizeof(stats_header), sizeof(lcore_stats), max_lcores),
            error_kind::abi};
    }
    if (h.endpoints_offset != stats_endpoints_offset(h.lcore_count) ||
        h.endpoint_capacity != endpoint_table_capacity ||
        h.endpoint_entry_size != sizeof(endpoint_health)) {
        return error{fmt::format("shm segment {}: endpoint table layout mismatch at ABI version "
                                 "{}: offset {}, {} rows of {} bytes; this build expects {}, {}, {}",
                                 path, h.abi_version, h.endpoints_offset, h.endpoint_capacity,
                                 h.endpoint_entry_size, stats_endpoints_offset(h.lcore_count),
                                 endpoint_table_capacity, sizeof(endpoint_health)),
                     error_kind::abi};
    }
    if (h.segment_size != file_size || file_size < stats_segment_size(h.lcore_count)) {
        return error{fmt::format("shm segment {}: header says {} bytes for {} lcores but the file "
                                 "has {}",
                                 path, h.segment_size, h.lcore_count, file_size),
                     error_kind::abi};
    }
    return {};
}

result<mapping> open_config(const segment_options& o, access a) {
    if (o.slot_capacity == 0 || o.slot_capacity > (std::uint64_t{1} << 32)) {
        return error{fmt::format("slot_capacity {} out of range: expected 1 byte to 4 GiB",
                                 o.slot_capacity)};
    }
    const std::uint64_t cap = round_up(o.slot_capacity, page_size);
    const std::size_t size = config_payload_offset + cap * config_slot_count;
    auto init = [cap](void* addr, std::size_t sz) {
        auto* h = new (addr) config_header{};
        h->magic = config_magic;
        h->abi_version = abi_version;
        h->header_size = sizeof(config_header);
        h->segment_size = sz;
        h->slot_count = config_slot_count;
        h->slot_meta_size = sizeof(slot_meta);
        h->slot_capacity = cap;
        for (std::uint32_t i = 0; i < config_slot_count; ++i) {
            h->slots[i].offset = config_payload_offset + cap * i;
            h->slots[i].capacity = cap;
        }
    };
    auto check = [](const void* addr, std::size_t sz, const std::string& p) {
        if (sz < sizeof(config_header)) {
            return result<void>{error{fmt::format("shm segment {} is {} bytes, smaller than a "
                                                  "config header",
                                                  p, sz),
                                      error_kind::abi}};
        }
        return check_config_header(*static_cast<const config_header*>(addr), sz, p);
    };
    return open_segment(o, config_path(o), a, size, init, check);
}

result<mapping> open_stats(const segment_options& o, access a) {
    if (o.lcore_count == 0 || o.lcore_count > max_lcores) {
        return error{
            fmt::format("lcore_count {} out of range: expected 1..{}", o.lcore_count, max_lcores)};
    }
    const std::size_t size = stats_segment_size(o.lcore_count);
    const std::uint32_t n = o.lcore_count;
    auto init = [n](void* addr, std::size_t sz) {
        auto* h = new (addr) stats_header{};
        h->magic = stats_magic;
        h->abi_version = abi_version;
        h->header_size = sizeof(stats_header);
        h->segment_size = sz;
        h->lcore_count = n;
        h->lcore_slot_size = sizeof(lcore_stats);
        h->lcores_offset = stats_lcores_offset;
        auto* base = static_cast<std::byte*>(addr) + stats_lcores_offset;
        for (std::uint32_t i = 0; i < n; ++i) {
            new (base + i * sizeof(lcore_stats)) lcore_stats{};
        }
        h->endpoints_offset = stats_endpoints_offset(n);
        h->endpoint_capacity = endpoint_table_capacity;
        h->endpoint_entry_size = sizeof(endpoint_health);
        auto* tbl = static_cast<std::byte*>(addr) + h->endpoints_offset;
        auto* th = new (tbl) endpoint_table_header{};
        th->capacity = endpoint_table_capacity;
        for (std::uint32_t i = 0; i < endpoint_table_capacity; ++i) {
            new (tbl + sizeof(endpoint_table_header) + i * sizeof(endpoint_health))
                endpoint_health{};
        }
    };
    auto check = [](const void* addr, std::size_t sz, const std::string& p) {
        return check_stats_header(*static_cast<const stats_header*>(addr), sz, p);
    };
    return open_segment(o, stats_path(o), a, size, init, check);
}

void unlink_instance(const segment_options& o) noexcept {
    ::unlink(config_path(o).c_str());
    ::unlink(stats_path(o).c_str());
}

}  // namespace sluice::cp::shm
