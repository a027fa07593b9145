// Access log (sluice::dp::filters): one JSON line per request, written off the workers.
//
// Threading: worker lcores fill a fixed-size `access_record` on their stack and `submit()` it:
// a copy into an rte_ring of fixed-size elements (multi-producer, single-consumer), which never
// blocks, allocates or makes a syscall; when the ring is full the record is dropped and counted.
// One writer std::thread (not an lcore) dequeues in bursts of 32, formats JSON lines into a
// stdio buffer, writes them to the file (or stdout for "-"), flushes at least every
// `flush_ms`, reopens the file when asked (`reopen()`, for logrotate's SIGHUP-style rotation),
// and on `stop()` drains what is queued before it exits. open/stop/reopen/the destructor run on
// a control thread; submit and the counters on any thread.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <thread>

#include "core/result.hh"

struct rte_ring;

namespace sluice::dp::filters {

// Bits of access_record::truncated: which text fields did not fit.
enum truncated_field : std::uint8_t {
    trunc_method = 1,
    trunc_path = 2,
    trunc_trace_id = 4,
    trunc_request_id = 8,
    trunc_route = 16
};

// One request, as a worker reports it. Fixed size (no pointers), so it is copied into the ring;
// text fields are cut to their fixed lengths by the setters, which record what they cut.
struct access_record {
    std::uint64_t unix_ns = 0;  // request start, ns since the Unix epoch (UTC)
    std::uint64_t bytes_in = 0;
    std::uint64_t bytes_out = 0;
    std::uint32_t latency_us = 0;
    std::uint32_t client_ip_be = 0;    // network byte order
    std::uint32_t upstream_ip_be = 0;  // 0 with port 0: no upstream (answered locally)
    std::uint16_t client_port = 0;     // host order
    std::uint16_t upstream_port = 0;
    std::uint16_t status = 0;
    std::uint8_t method_len = 0, path_len = 0, trace_id_len = 0, request_id_len = 0;
    std::uint8_t route_len = 0;
    std::uint8_t truncated = 0;  // truncated_field bits
    char method[16];
    char path[192];
    char trace_id[48];
    char request_id[48];
    char route[48];

    void set_method(std::string_view v) noexcept { set(method, method_len, v, trunc_method); }
    void set_path(std::string_view v) noexcept { set(path, path_len, v, trunc_path); }
    void set_trace_id(std::string_view v) noexcept {
        set(trace_id, trace_id_len, v, trunc_trace_id);
    }
    void set_request_id(std::string_view v) noexcept {
        set(request_id, request_id_len, v, trunc_request_id);
    }
    void set_route(std::string_view v) noexcept { set(route, route_len, v, trunc_route); }

private:
    template <std::size_t N>
    void set(char (&dst)[N], std::uint8_t& len, std::string_view v, std::uint8_t bit) noexcept {
        static_assert(N < 256);
        len = copy_field(dst, N, v);
        if (len < v.size()) {
            truncated |= bit;
        }
    }
    // Out of line: copies min(v.size(), cap) bytes and returns that count.
    static std::uint8_t copy_field(char* dst, std::size_t cap, std::string_view v) noexcept;
};
static_assert(sizeof(access_record) % 8 == 0, "rte_ring elements are multiples of 4 bytes");

// Formats `r` as one JSON line, '\n' included, into `out`; returns its length, or 0 if `out` is
// smaller than max_line_bytes. Keys: ts (RFC 3339 UTC, µs), client, method, path, status,
// bytes_in, bytes_out, upstream (null when none), latency_us, trace_id, request_id, route,
// truncated (array of field names, present only when something was cut).
[[nodiscard]] std::size_t format_record(const access_record& r, std::span<char> out) noexcept;
inline constexpr std::size_t max_line_bytes = 2560;  // every text byte escaped as \u00XX

class access_log {
public:
    // Creates the ring (ring_size records exactly, on NUMA `socket`, SOCKET_ID_ANY = -1), opens
    // `path` for appending ("-": stdout) and starts the writer. Needs the EAL initialised.
    [[nodiscard]] static result<std::unique_ptr<access_log>> open(const std::string& path,
                                                                  std::uint32_t ring_size,
                                                                  int socket,
                                                                  unsigned flush_ms = 100);
    ~access_log();  // stop(), then frees the ring
    access_log(const access_log&) = delete;
    access_log& operator=(const access_log&) = delete;

    // Any thread (worker lcores): queues a copy of `r`, or drops it and counts the drop when
    // the ring is full. Lock-free and never blocks. Records submitted after stop() are dropped.
    bool submit(const access_record& r) noexcept;

    [[nodiscard]] std::uint64_t dropped() const noexcept;    // ring full, or after stop()
    [[nodiscard]] std::uint64_t truncated() const noexcept;  // records with a field cut
    [[nodiscard]] std::uint64_t written() const noexcept;    // lines handed to the file
    [[nodiscard]] std::uint64_t write_errors() const noexcept;
    [[nodiscard]] std::uint64_t reopens() const noexcept;  // completed reopen() requests

    // Asks the writer to close and reopen the path before its next write (after logrotate
    // renamed the file). Returns at once; reopens() counts when it is done.
    void reopen() noexcept;
    // Stops accepting, writes everything still queued, flushes, closes and joins the writer.
    // Idempotent.
    void stop();
    // Tests: holds the writer (it dequeues nothing) so the ring can be filled. stop() overrides.
    void hold_writer(bool hold) noexcept { hold_.store(hold, std::memory_order_release); }

private:
    access_log() = default;
    void run();
    bool open_file();

    std::string path_;
    rte_ring* ring_ = nullptr;
    std::FILE* file_ = nullptr;
    unsigned flush_ms_ = 100;
    std::thread writer_;
    std::atomic<bool> stopping_{false};
    std::atomic<bool> reopen_{false};
    std::atomic<bool> hold_{false};
    bool stopped_ = false;
    alignas(64) std::atomic<std::uint64_t> dropped_{0};
    std::atomic<std::uint64_t> truncated_{0};
    alignas(64) std::atomic<std::uint64_t> written_{0};
    std::atomic<std::uint64_t> write_errors_{0};
    std::atomic<std::uint64_t> reopens_{0};
};

}  // namespace sluice::dp::filters
