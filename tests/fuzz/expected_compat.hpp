#pragma once
// std::expected for the fuzz build only. libFuzzer needs clang, and Debian 12's clang 14
// cannot use libstdc++ 12's <expected> (it requires concepts that clang 14 lacks), so the
// fuzz build force-includes this header (-include). It defines the subset of C++23's
// std::expected that gantry uses, with the standard's names and semantics, and only when the
// standard library does not provide it; g++ builds never see it.
#include <version>

#if !defined(__cpp_lib_expected)
#define GANTRY_EXPECTED_COMPAT 1

#include <exception>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>
#include <variant>

namespace std {

template <class E>
class unexpected {
 public:
  template <class Err = E>
  requires(!is_same_v<remove_cvref_t<Err>, unexpected> &&
           is_constructible_v<E, Err>) constexpr explicit unexpected(Err&& e)
      : error_(std::forward<Err>(e)) {}
  constexpr const E& error() const& noexcept { return error_; }
  constexpr E& error() & noexcept { return error_; }
  constexpr E&& error() && noexcept { return std::move(error_); }

 private:
  E error_;
};
template <class E>
unexpected(E) -> unexpected<E>;

struct unexpect_t {
  explicit unexpect_t() = default;
};
inline constexpr unexpect_t unexpect{};

template <class E>
class bad_expected_access : public exception {
 public:
  explicit bad_expected_access(E e) : error_(std::move(e)) {}
  const char* what() const noexcept override {
    return "bad access to std::expected without expected value";
  }
  const E& error() const& noexcept { return error_; }

 private:
  E error_;
};

template <class T, class E>
class expected {
 public:
  using value_type = T;
  using error_type = E;

  constexpr expected() requires is_default_constructible_v<T> : v_(in_place_index<0>) {}
  template <class U = T>
  requires(!is_same_v<remove_cvref_t<U>, expected> && !is_same_v<remove_cvref_t<U>, in_place_t> &&
           is_constructible_v<T, U>) constexpr expected(U&& v)
      : v_(in_place_index<0>, std::forward<U>(v)) {}
  template <class G>
  constexpr expected(const unexpected<G>& u) : v_(in_place_index<1>, u.error()) {}
  template <class G>
  constexpr expected(unexpected<G>&& u) : v_(in_place_index<1>, std::move(u).error()) {}
  template <class... A>
  constexpr explicit expected(in_place_t, A&&... a)
      : v_(in_place_index<0>, std::forward<A>(a)...) {}
  template <class... A>
  constexpr explicit expected(unexpect_t, A&&... a)
      : v_(in_place_index<1>, std::forward<A>(a)...) {}

  constexpr bool has_value() const noexcept { return v_.index() == 0; }
  constexpr explicit operator bool() const noexcept { return has_value(); }

  constexpr T& value() & { return check(), *get_if<0>(&v_); }
  constexpr const T& value() const& { return check(), *get_if<0>(&v_); }
  constexpr T&& value() && { return check(), std::move(*get_if<0>(&v_)); }
  constexpr T& operator*() & noexcept { return *get_if<0>(&v_); }
  constexpr const T& operator*() const& noexcept { return *get_if<0>(&v_); }
  constexpr T&& operator*() && noexcept { return std::move(*get_if<0>(&v_)); }
  constexpr T* operator->() noexcept { return get_if<0>(&v_); }
  constexpr const T* operator->() const noexcept { return get_if<0>(&v_); }
  constexpr E& error() & noexcept { return *get_if<1>(&v_); }
  constexpr const E& error() const& noexcept { return *get_if<1>(&v_); }
  constexpr E&& error() && noexcept { return std::move(*get_if<1>(&v_)); }
  template <class U>
  constexpr T value_or(U&& d) const& {
    return has_value() ? **this : static_cast<T>(std::forward<U>(d));
  }
  template <class U>
  constexpr T value_or(U&& d) && {
    return has_value() ? std::move(**this) : static_cast<T>(std::forward<U>(d));
  }
  template <class... A>
  constexpr T& emplace(A&&... a) {
    return v_.template emplace<0>(std::forward<A>(a)...);
  }

 private:
  constexpr void check() const {
    if (!has_value()) throw bad_expected_access<E>(*get_if<1>(&v_));
  }
  variant<T, E> v_;
};

template <class E>
class expected<void, E> {
 public:
  using value_type = void;
  using error_type = E;

  constexpr expected() noexcept {}
  template <class G>
  constexpr expected(const unexpected<G>& u) : e_(in_place, u.error()) {}
  template <class G>
  constexpr expected(unexpected<G>&& u) : e_(in_place, std::move(u).error()) {}
  template <class... A>
  constexpr explicit expected(unexpect_t, A&&... a) : e_(in_place, std::forward<A>(a)...) {}

  constexpr bool has_value() const noexcept { return !e_.has_value(); }
  constexpr explicit operator bool() const noexcept { return has_value(); }
  constexpr void operator*() const noexcept {}
  constexpr void value() const {
    if (!has_value()) throw bad_expected_access<E>(*e_);
  }
  constexpr E& error() & noexcept { return *e_; }
  constexpr const E& error() const& noexcept { return *e_; }
  constexpr E&& error() && noexcept { return std::move(*e_); }

 private:
  optional<E> e_;
};

}  // namespace std

#endif
