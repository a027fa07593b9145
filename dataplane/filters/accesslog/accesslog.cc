// The access log's ring, writer thread and JSON line format (see accesslog.hh for threading).
#include "filters/accesslog/accesslog.hh"

#include <rte_errno.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <ctime>
#include <system_error>

namespace sluice::dp::filters {

namespace {

// Writer burst: the house burst size; 32 records are 12.5 KiB, one stdio buffer's worth.
constexpr unsigned writer_burst = 32;
// stdio buffer for the log file: a few bursts of lines per write(2).
constexpr std::size_t file_buffer_bytes = std::size_t{64} * 1024;
// How long the writer sleeps when the ring is empty: bounds the delay from submit to the file
// buffer, and costs one wake-up per millisecond on an idle gateway.
constexpr auto idle_sleep = std::chrono::milliseconds(1);

struct out_buf {
    char* p;
    char* end;
    bool ok = true;

    void put(std::string_view s) noexcept {
        if (!ok || end - p < static_cast<std::ptrdiff_t>(s.size())) {
            ok = false;
            return;
        }
        std::memcpy(p, s.data(), s.size());
        p += s.size();
    }
    void num(std::uint64_t v) noexcept {
        if (!ok) {
            return;
        }
        auto [q, ec] = std::to_chars(p, end, v);
        if (ec != std::errc{}) {
            ok = false;
            return;
        }
        p = q;
    }
    void num_pad(std::uint64_t v, int width) noexcept {
        char tmp[24];
        auto [q, ec] = std::to_chars(tmp, tmp + sizeof tmp, v);
        for (int pad = width - static_cast<int>(q - tmp); pad > 0; --pad) {
            put("0");
        }
        put(std::string_view(tmp, static_cast<std::size_t>(q - tmp)));
    }
    // A JSON string (RFC 8259 §7): quote, backslash and control bytes escaped. Other bytes pass
    // through as they came off the wire; a non-UTF-8 path stays non-UTF-8.
    void str(const char* s, std::size_t n) noexcept {
        put("\"");
        static constexpr char hex[] = "0123456789abcdef";
        for (std::size_t i = 0; i < n && ok; ++i) {
            const auto c = static_cast<unsigned char>(s[i]);
            if (c == '"') {
                put("\\\"");
            } else if (c == '\\') {
                put("\\\\");
            } else if (c < 0x20 || c == 0x7f) {
                const char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
                put(std::string_view(esc, 6));
            } else {
                put(std::string_view(reinterpret_cast<const char*>(&c), 1));
            }
        }
        put("\"");
    }
    void addr(std::uint32_t ip_be, std::uint16_t port) noexcept {
        unsigned char b[4];
        std::memcpy(b, &ip_be, 4);
        put("\"");
        for (int i = 0; i < 4; ++i) {
            num(b[i]);
            put(i < 3 ? "." : ":");
        }
        num(port);
        put("\"");
    }
};

}  // namespace

std::uint8_t access_record::copy_field(char* dst, std::size_t cap, std::string_view v) noexcept {
    const std::size_t n = v.size() < cap ? v.size() : cap;
    std::memcpy(dst, v.data(), n);
    return static_cast<std::uint8_t>(n);
}

std::size_t format_record(const access_record& r, std::span<char> out) noexcept {
    if (out.size() < max_line_bytes) {
        return 0;
    }
    out_buf o{out.data(), out.data() + out.size()};
    // RFC 3339 §5.6 date-time in UTC with microseconds.
    const auto secs = static_cast<std::time_t>(r.unix_ns / 1'000'000'000ULL);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    o.put("{\"ts\":\"");
    o.num_pad(static_cast<std::uint64_t>(tm.tm_year) + 1900, 4);
    o.put("-");
    o.num_pad(static_cast<std::uint64_t>(tm.tm_mon) + 1, 2);
    o.put("-");
    o.num_pad(static_cast<std::uint64_t>(tm.tm_mday), 2);
    o.put("T");
    o.num_pad(static_cast<std::uint64_t>(tm.tm_hour), 2);
    o.put(":");
    o.num_pad(static_cast<std::uint64_t>(tm.tm_min), 2);
    o.put(":");
    o.num_pad(static_cast<std::uint64_t>(tm.tm_sec), 2);
    o.put(".");
    o.num_pad((r.unix_ns / 1000) % 1'000'000, 6);
    o.put("Z\",\"client\":");
    o.addr(r.client_ip_be, r.client_port);
    o.put(",\"method\":");
    o.str(r.method, r.method_len);
    o.put(",\"path\":");
    o.str(r.path, r.path_len);
    o.put(",\"status\":");
    o.num(r.status);
    o.put(",\"bytes_in\":");
    o.num(r.bytes_in);
    o.put(",\"bytes_out\":");
    o.num(r.bytes_out);
    o.put(",\"upstream\":");
    if (r.upstream_ip_be == 0 && r.upstream_port == 0) {
        o.put("null");
    } else {
        o.addr(r.upstream_ip_be, r.upstream_port);
    }
    o.put(",\"latency_us\":");
    o.num(r.latency_us);
    o.put(",\"trace_id\":");
    o.str(r.trace_id, r.trace_id_len);
    o.put(",\"request_id\":");
    o.str(r.request_id, r.request_id_len);
    o.put(",\"route\":");
    o.str(r.route, r.route_len);
    if (r.truncated != 0) {
        static constexpr const char* names[] = {"method", "path", "trace_id", "request_id",
                                                "route"};
        o.put(",\"truncated\":[");
        bool first = true;
        for (int i = 0; i < 5; ++i) {
            if (r.truncated & (1U << i)) {
                o.put(first ? "\"" : ",\"");
                o.put(names[i]);
                o.put("\"");
                first = false;
            }
        }
        o.put("]");
    }
    o.put("}\n");
    return o.ok ? static_cast<std::size_t>(o.p - out.data()) : 0;
}

result<std::unique_ptr<access_log>> access_log::open(const std::string& path,
                                                     std::uint32_t ring_size, int socket,
                                                     unsigned flush_ms) {
    if (ring_size == 0 || ring_size > RTE_RING_SZ_MASK) {
        return error{"access log: ring_size " + std::to_string(ring_size) + " out of range (1.." +
                     std::to_string(RTE_RING_SZ_MASK) + ")"};
    }
    std::unique_ptr<access_log> log(new access_log());
    log->path_ = path;
    log->flush_ms_ = flush_ms == 0 ? 1 : flush_ms;
    if (!log->open_file()) {
        return error{"access log: cannot open '" + path + "' for appending: " +
                         std::error_code(errno, std::generic_category()).message(),
                     cp::error_kind::io};
    }
    // Ring names are process-wide memzone names: make each log's unique.
    static std::atomic<unsigned> seq{0};
    const std::string name = "sl_alog_" + std::to_string(seq.fetch_add(1));
    log->ring_ = rte_ring_create_elem(name.c_str(), sizeof(access_record), ring_size, socket,
                                      RING_F_SC_DEQ | RING_F_EXACT_SZ);
    if (log->ring_ == nullptr) {
        return error{"access log: rte_ring_create_elem(" + std::to_string(ring_size) +
                         " records) failed: " + rte_strerror(rte_errno),
                     cp::error_kind::io};
    }
    log->writer_ = std::thread([l = log.get()] { l->run(); });
    return log;
}

access_log::~access_log() {
    stop();
    if (ring_ != nullptr) {
        rte_ring_free(ring_);
    }
}

bool access_log::open_file() {
    if (path_ == "-") {
        file_ = stdout;
        return true;
    }
    file_ = std::fopen(path_.c_str(), "ae");
    if (file_ == nullptr) {
        return false;
    }
    std::setvbuf(file_, nullptr, _IOFBF, file_buffer_bytes);
    return true;
}

bool access_log::submit(const access_record& r) noexcept {
    if (stopping_.load(std::memory_order_relaxed)) [[unlikely]] {
        dropped_.fetch_add(1, std::memory_order_relaxed);
        return false;
    }
    if (r.truncated != 0) {
        truncated_.fetch_add(1, std::memory_order_relaxed);
    }
    if (rte_ring_mp_enqueue_elem(ring_, const_cast<access_record*>(&r), sizeof(r)) != 0) {
        dropped_.fetch_add(1, std::memory_order_relaxed);
        return false;
    }
    return true;
}

std::uint64_t access_log::dropped() const noexcept {
    return dropped_.load(std::memory_order_relaxed);
}
std::uint64_t access_log::truncated() const noexcept {
    return truncated_.load(std::memory_order_relaxed);
}
std::uint64_t access_log::written() const noexcept {
    return written_.load(std::memory_order_acquire);
}
std::uint64_t access_log::write_errors() const noexcept {
    return write_errors_.load(std::memory_order_relaxed);
}
std::uint64_t access_log::reopens() const noexcept {
    return reopens_.load(std::memory_order_acquire);
}

void access_log::reopen() noexcept { reopen_.store(true, std::memory_order_release); }

void access_log::stop() {
    if (stopped_) {
        return;
    }
    stopped_ = true;
    stopping_.store(true, std::memory_order_release);
    if (writer_.joinable()) {
        writer_.join();
    }
    if (ring_ != nullptr) {
        // A submit that raced with stop() may have landed after the final drain: count it.
        dropped_.fetch_add(rte_ring_count(ring_), std::memory_order_relaxed);
    }
    if (file_ != nullptr) {
        std::fflush(file_);
        if (file_ != stdout) {
            std::fclose(file_);
        }
        file_ = nullptr;
    }
}

void access_log::run() {
    access_record batch[writer_burst];
    char line[max_line_bytes];
    auto last_flush = std::chrono::steady_clock::now();
    bool dirty = false;
    const auto flush_every = std::chrono::milliseconds(flush_ms_);
    for (;;) {
        if (reopen_.exchange(false, std::memory_order_acq_rel)) {
            if (file_ != nullptr && file_ != stdout) {
                std::fclose(file_);
                file_ = nullptr;
            }
            if (file_ == nullptr && !open_file()) {
                write_errors_.fetch_add(1, std::memory_order_relaxed);  // retried on next reopen()
            }
            dirty = false;
            reopens_.fetch_add(1, std::memory_order_release);
        }
        const bool stopping = stopping_.load(std::memory_order_acquire);
        unsigned n = 0;
        if (stopping || !hold_.load(std::memory_order_acquire)) {
            n = rte_ring_sc_dequeue_burst_elem(ring_, batch, sizeof(access_record), writer_burst,
                                               nullptr);
        }
        for (unsigned i = 0; i < n; ++i) {
            const std::size_t len = format_record(batch[i], line);
            if (file_ == nullptr || std::fwrite(line, 1, len, file_) != len) {
                write_errors_.fetch_add(1, std::memory_order_relaxed);
            } else {
                dirty = true;
            }
        }
        if (n > 0) {
            written_.fetch_add(n, std::memory_order_release);
        }
        const auto now = std::chrono::steady_clock::now();
        if (dirty && file_ != nullptr && (n == 0 || now - last_flush >= flush_every)) {
            // Flush when idle, or at least every flush_ms under steady load.
            if (std::fflush(file_) != 0) {
                write_errors_.fetch_add(1, std::memory_order_relaxed);
            }
            dirty = false;
            last_flush = now;
        }
        if (n == 0) {
            if (stopping) {
                return;  // the ring is drained: submit() refuses new records once stopping
            }
            std::this_thread::sleep_for(idle_sleep);
        }
    }
}

}  // namespace sluice::dp::filters
