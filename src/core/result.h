// Errors as values. A result<T> holds either a T or an error whose message a user can act on
// ("train.jsonl:42: messages[2].role: expected ..."). Assertions are for bugs; this is for inputs.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace smelt {

struct error {
  std::string message;
};

inline error make_error(std::string message) {
  return error{std::move(message)};
}

template <class T>
class [[nodiscard]] result {
 public:
  result(T value) : state_(std::move(value)) {}
  result(error e) : state_(std::move(e)) {}

  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & {
    assert(ok());
    return std::get<0>(state_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<0>(state_);
  }
  T&& value() && {
    assert(ok());
    return std::get<0>(std::move(state_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const error& err() const {
    assert(!ok());
    return std::get<1>(state_);
  }
  const std::string& message() const { return err().message; }

 private:
  std::variant<T, error> state_;
};

template <>
class [[nodiscard]] result<void> {
 public:
  result() = default;
  result(error e) : error_(std::move(e)), failed_(true) {}

  bool ok() const { return !failed_; }
  explicit operator bool() const { return ok(); }
  const error& err() const {
    assert(failed_);
    return error_;
  }
  const std::string& message() const { return err().message; }

 private:
  error error_;
  bool failed_ = false;
};

using status = result<void>;

}  // namespace smelt
