#pragma once
// The first bytes of every connection, after TLS and before any Cap'n Proto: the client
// presents its credential in one small frame and the coordinator answers ok or refused. An
// unauthenticated peer never reaches the Cap'n Proto parser.
//
//   hello (client -> coordinator), integers little-endian:
//     "GNTY" | protocol version u32 | credential kind u8 | token length u16 | token
//   answer (coordinator -> client):
//     "GNTY" | protocol version u32 | status code u8 | message length u16 | message
//
// The status code is a wire::Status::Code (ok, unauthenticated, permissionDenied,
// versionMismatch, invalidArgument). On ok the message names the identity ("alice (admin)",
// "node gpu-01"); otherwise it says what is wrong and what to do. A frame is at most
// kMaxFrameBytes; the reader stops at that many bytes whatever the length fields say.
#include <cstdint>
#include <string>
#include <string_view>

#include <kj/async-io.h>

#include "core/identity.hpp"
#include "core/result.hpp"

namespace gantry {

inline constexpr size_t kMaxFrameBytes = 4096;
inline constexpr std::string_view kFrameMagic = "GNTY";

struct hello_frame {
  uint32_t version = 0;
  credential_kind kind = credential_kind::none;
  std::string token;  // empty for kind none
};

struct answer_frame {
  uint32_t version = 0;
  errc code = errc::ok;
  std::string message;
};

// REQUIRES: the token and message fit (longer ones are cut to fit kMaxFrameBytes).
std::string encode(const hello_frame& f);
std::string encode(const answer_frame& f);

// Writes an encoded frame (the bytes are copied: NULs included).
kj::Promise<void> write_frame(kj::AsyncIoStream& stream, const std::string& frame);

// Reads one frame from `stream`. errc::invalid_argument: not a gantry frame (wrong magic, an
// unknown kind, a length past the limit); errc::unavailable: the stream ended first. Reads
// nothing past the frame. The caller bounds the time (the promise never resolves while a
// peer trickles bytes).
kj::Promise<result<hello_frame>> read_hello(kj::AsyncIoStream& stream);
kj::Promise<result<answer_frame>> read_answer(kj::AsyncIoStream& stream);

}  // namespace gantry
