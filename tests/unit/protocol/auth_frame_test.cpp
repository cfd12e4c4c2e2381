// The hello frame and its answer (protocol/auth_frame.hpp): what the coordinator reads before
// any Cap'n Proto, so a peer that sends anything else is refused after a few bytes.
#include <doctest/doctest.h>

#include "fakes.hpp"
#include "protocol/auth_frame.hpp"

using namespace gantry;
using namespace gantry::protocol_test;

namespace {

struct pipe_rig : loop {
  kj::TwoWayPipe pipe = io.provider->newTwoWayPipe();
  void send(const std::string& bytes) { wait(pipe.ends[0]->write(bytes.data(), bytes.size())); }
};

}  // namespace

TEST_CASE("auth frame: a hello and an answer arrive as sent, and nothing past them is read") {
  pipe_rig r;
  r.send(encode(hello_frame{3, credential_kind::node, "gty_token"}) + "capnp");
  auto hello = r.wait(read_hello(*r.pipe.ends[1]));
  REQUIRE(hello.has_value());
  CHECK(hello->version == 3);
  CHECK(hello->kind == credential_kind::node);
  CHECK(hello->token == "gty_token");
  char rest[5];
  CHECK(r.wait(r.pipe.ends[1]->tryRead(rest, 5, 5)) == 5);
  CHECK(std::string(rest, 5) == "capnp");

  r.send(encode(answer_frame{3, errc::permission_denied, "needs an admin token"}));
  auto answer = r.wait(read_answer(*r.pipe.ends[1]));
  REQUIRE(answer.has_value());
  CHECK(answer->code == errc::permission_denied);
  CHECK(answer->message == "needs an admin token");
}

TEST_CASE("auth frame: not a gantry frame, an unknown kind, or a closed stream is refused") {
  pipe_rig r;
  // What a Cap'n Proto client sends first: a segment table, no magic.
  r.send(std::string("\0\0\0\0\x10\0\0\0\0\0\0\0", 12));
  auto capnp = r.wait(read_hello(*r.pipe.ends[1]));
  REQUIRE_FALSE(capnp.has_value());
  CHECK(capnp.error().code == errc::invalid_argument);

  auto kind_pipe = r.io.provider->newTwoWayPipe();
  std::string frame = encode(hello_frame{3, credential_kind::user, "t"});
  frame[8] = 9;  // no such credential kind
  r.wait(write_frame(*kind_pipe.ends[0], frame));
  auto kind = r.wait(read_hello(*kind_pipe.ends[1]));
  REQUIRE_FALSE(kind.has_value());
  CHECK(kind.error().message.find("unknown credential kind 9") != std::string::npos);

  auto closed_pipe = r.io.provider->newTwoWayPipe();
  r.wait(write_frame(*closed_pipe.ends[0], "GNTY\3"));
  closed_pipe.ends[0]->shutdownWrite();
  auto closed = r.wait(read_hello(*closed_pipe.ends[1]));
  REQUIRE_FALSE(closed.has_value());
  CHECK(closed.error().code == errc::unavailable);
}

TEST_CASE("auth frame: a token too long for a frame is cut to fit, never more than 4 KiB") {
  std::string frame = encode(hello_frame{3, credential_kind::user, std::string(10000, 'x')});
  CHECK(frame.size() == kMaxFrameBytes);
}
