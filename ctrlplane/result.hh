// A small expected-style result for setup and control-plane calls that can fail.
// std::expected is C++23 and not in gcc 12's C++20 mode, so we carry our own minimal one.
// Used on setup paths only; nothing here allocates on its own except the error string.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace sluice::cp {

// Lets a caller tell "try again later" from "this will never work" without parsing text.
enum class error_kind { invalid, busy, io, abi };

// The error side: one human-readable message that says what, where, and what was kept.
struct error {
    std::string message;
    error_kind kind = error_kind::invalid;
};

template <typename T>
class [[nodiscard]] result {
public:
    result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
    result(error e) : v_(std::in_place_index<1>, std::move(e)) {}      // NOLINT: implicit by design

    [[nodiscard]] bool ok() const noexcept { return v_.index() == 0; }
    explicit operator bool() const noexcept { return ok(); }

    // Preconditions: ok() for value(), !ok() for err().
    [[nodiscard]] T& value() & { return std::get<0>(v_); }
    [[nodiscard]] const T& value() const& { return std::get<0>(v_); }
    [[nodiscard]] T&& value() && { return std::get<0>(std::move(v_)); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }

    [[nodiscard]] const error& err() const& { return std::get<1>(v_); }
    [[nodiscard]] const std::string& message() const { return std::get<1>(v_).message; }
    [[nodiscard]] error_kind kind() const { return std::get<1>(v_).kind; }

private:
    std::variant<T, error> v_;
};

// result<void>: success carries nothing.
template <>
class [[nodiscard]] result<void> {
public:
    result() = default;
    result(error e) : err_(std::move(e)), ok_(false) {}  // NOLINT: implicit by design

    [[nodiscard]] bool ok() const noexcept { return ok_; }
    explicit operator bool() const noexcept { return ok_; }
    [[nodiscard]] const error& err() const& { return err_; }
    [[nodiscard]] const std::string& message() const { return err_.message; }
    [[nodiscard]] error_kind kind() const { return err_.kind; }

private:
    error err_;
    bool ok_ = true;
};

}  // namespace sluice::cp
