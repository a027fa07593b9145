// Result types for the XDP loader's setup path. No exceptions leave ebpf/loader/:
// a call that can fail returns a `status` or a `result<T>` carrying a message that says
// what failed, on what (interface, map, address) and with which errno.
// Plain value types: any thread.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace sluice::ebpf {

struct error {
    std::string message;
};

// Success, or an error with a precise message.
class [[nodiscard]] status {
public:
    status() = default;
    status(error e) : error_(std::move(e.message)), failed_(true) {}  // NOLINT: implicit by design

    [[nodiscard]] bool ok() const noexcept { return !failed_; }
    explicit operator bool() const noexcept { return ok(); }
    // Empty when ok().
    [[nodiscard]] const std::string& message() const noexcept { return error_; }

private:
    std::string error_;
    bool failed_ = false;
};

// A value, or an error with a precise message.
template <typename T>
class [[nodiscard]] result {
public:
    result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
    result(error e) : v_(std::move(e)) {}      // NOLINT: implicit by design

    [[nodiscard]] bool ok() const noexcept { return v_.index() == 0; }
    explicit operator bool() const noexcept { return ok(); }
    // Precondition: ok().
    T& value() & { return std::get<0>(v_); }
    const T& value() const& { return std::get<0>(v_); }
    T&& value() && { return std::get<0>(std::move(v_)); }
    T* operator->() { return &std::get<0>(v_); }
    const T* operator->() const { return &std::get<0>(v_); }
    // Precondition: !ok().
    [[nodiscard]] const std::string& message() const { return std::get<1>(v_).message; }
    [[nodiscard]] status as_status() const {
        return ok() ? status{} : status{error{message()}};
    }

private:
    std::variant<T, error> v_;
};

// "what: strerror(err) (errno N)" for a negative or positive errno value.
std::string errno_message(const std::string& what, int err);

}  // namespace sluice::ebpf
