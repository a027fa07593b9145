// A small expected-style result for setup paths (config parsing, port and pool creation).
// The hot path never uses it: per-packet code reports through counters.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace sluice {

struct error {
    std::string message;
};

template <typename T>
class [[nodiscard]] result {
public:
    result(T value) : v_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
    result(error e) : v_(std::move(e)) {}      // NOLINT(google-explicit-constructor)

    [[nodiscard]] bool ok() const noexcept { return v_.index() == 0; }
    explicit operator bool() const noexcept { return ok(); }
    T& value() & { return std::get<0>(v_); }
    T&& value() && { return std::get<0>(std::move(v_)); }
    const T& value() const& { return std::get<0>(v_); }
    T* operator->() { return &std::get<0>(v_); }
    const T* operator->() const { return &std::get<0>(v_); }
    T& operator*() & { return std::get<0>(v_); }
    [[nodiscard]] const std::string& message() const { return std::get<1>(v_).message; }

private:
    std::variant<T, error> v_;
};

struct ok_t {};
using status = result<ok_t>;
inline status ok_status() { return ok_t{}; }

}  // namespace sluice
