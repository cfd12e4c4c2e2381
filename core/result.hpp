#pragma once
// Errors as values. Every subsystem returns `result<T>`; exceptions from libraries
// (yaml-cpp, rocksdb status, kj::Exception) are translated where they enter.
#include <expected>
#include <string>
#include <utility>

namespace gantry {

enum class errc {
  ok = 0,
  invalid_argument,  // the caller's input is wrong (manifest, flag, RPC field)
  not_found,         // unknown job, node, stage or rank
  already_exists,
  unavailable,  // a peer (coordinator, worker) cannot be reached
  io_error,     // disk or store failure
  timeout,
  internal,  // our bug
  version_mismatch,
  failed_precondition,  // the request does not fit the object's current state
  unauthenticated,      // no credential, or one that is unknown, expired or revoked
  permission_denied,    // a known caller that may not do this
};

const char* to_string(errc code);

struct error {
  errc code = errc::internal;
  std::string message;

  static error invalid(std::string m) { return {errc::invalid_argument, std::move(m)}; }
  static error not_found(std::string m) { return {errc::not_found, std::move(m)}; }
  static error io(std::string m) { return {errc::io_error, std::move(m)}; }
  static error unavailable(std::string m) { return {errc::unavailable, std::move(m)}; }
  static error internal(std::string m) { return {errc::internal, std::move(m)}; }
};

template <class T>
using result = std::expected<T, error>;

// Shorthand for returning an error from a function that returns result<T>.
inline std::unexpected<error> fail(errc code, std::string message) {
  return std::unexpected<error>(error{code, std::move(message)});
}
inline std::unexpected<error> fail(error e) {
  return std::unexpected<error>(std::move(e));
}

}  // namespace gantry
