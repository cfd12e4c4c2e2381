#include "protocol/auth_frame.hpp"

#include <algorithm>
#include <array>

#include "protocol/convert.hpp"

namespace gantry {
namespace {

constexpr size_t kHeaderBytes = 4 + 4 + 1 + 2;  // magic, version, kind or code, length

void put_u32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void put_u16(std::string& out, uint16_t v) {
  out.push_back(static_cast<char>(v & 0xff));
  out.push_back(static_cast<char>(v >> 8));
}
uint32_t get_u32(const kj::byte* p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}
uint16_t get_u16(const kj::byte* p) {
  return static_cast<uint16_t>(p[0] | p[1] << 8);
}

std::string frame(uint32_t version, uint8_t tag, std::string_view body) {
  body = body.substr(0, kMaxFrameBytes - kHeaderBytes);
  std::string out(kFrameMagic);
  put_u32(out, version);
  out.push_back(static_cast<char>(tag));
  put_u16(out, static_cast<uint16_t>(body.size()));
  out.append(body);
  return out;
}

struct raw_frame {
  uint32_t version = 0;
  uint8_t tag = 0;
  std::string body;
};

// Reads exactly `n` bytes into `buf`; false when the stream ends first.
kj::Promise<bool> read_exactly(kj::AsyncIoStream& stream, kj::byte* buf, size_t n) {
  if (n == 0) return true;
  return stream.tryRead(buf, n, n).then([n](size_t got) { return got == n; });
}

kj::Promise<result<raw_frame>> read_frame(kj::AsyncIoStream& stream) {
  auto header = kj::heapArray<kj::byte>(kHeaderBytes);
  auto* h = header.begin();
  return read_exactly(stream, h, kHeaderBytes)
      .then([&stream,
             header = kj::mv(header)](bool whole) mutable -> kj::Promise<result<raw_frame>> {
        if (!whole) return result<raw_frame>(fail(errc::unavailable, "the connection closed"));
        const kj::byte* h = header.begin();
        if (!std::equal(kFrameMagic.begin(), kFrameMagic.end(), h))
          return result<raw_frame>(fail(errc::invalid_argument, "not a gantry hello frame"));
        raw_frame f;
        f.version = get_u32(h + 4);
        f.tag = h[8];
        size_t length = get_u16(h + 9);
        if (length > kMaxFrameBytes - kHeaderBytes)
          return result<raw_frame>(
              fail(errc::invalid_argument,
                   "a hello frame over " + std::to_string(kMaxFrameBytes) + " bytes"));
        auto body = kj::heapArray<kj::byte>(length);
        auto* b = body.begin();
        return read_exactly(stream, b, length)
            .then([f = kj::mv(f), body = kj::mv(body)](bool whole) mutable -> result<raw_frame> {
              if (!whole) return fail(errc::unavailable, "the connection closed");
              f.body.assign(reinterpret_cast<const char*>(body.begin()), body.size());
              return f;
            });
      });
}

}  // namespace

std::string encode(const hello_frame& f) {
  return frame(f.version, static_cast<uint8_t>(f.kind), f.token);
}

std::string encode(const answer_frame& f) {
  return frame(f.version, static_cast<uint8_t>(wire_convert::to_code(f.code)), f.message);
}

kj::Promise<void> write_frame(kj::AsyncIoStream& stream, const std::string& frame) {
  auto bytes =
      kj::heapArray<kj::byte>(reinterpret_cast<const kj::byte*>(frame.data()), frame.size());
  auto* begin = bytes.begin();
  size_t size = bytes.size();
  return stream.write(begin, size).attach(kj::mv(bytes));
}

kj::Promise<result<hello_frame>> read_hello(kj::AsyncIoStream& stream) {
  return read_frame(stream).then([](result<raw_frame> r) -> result<hello_frame> {
    if (!r) return fail(r.error());
    if (r->tag > static_cast<uint8_t>(credential_kind::task))
      return fail(errc::invalid_argument, "unknown credential kind " + std::to_string(r->tag));
    return hello_frame{r->version, static_cast<credential_kind>(r->tag), std::move(r->body)};
  });
}

kj::Promise<result<answer_frame>> read_answer(kj::AsyncIoStream& stream) {
  return read_frame(stream).then([](result<raw_frame> r) -> result<answer_frame> {
    if (!r) return fail(r.error());
    auto code = wire_convert::to_errc(static_cast<wire::Status::Code>(r->tag));
    return answer_frame{r->version, code, std::move(r->body)};
  });
}

}  // namespace gantry
