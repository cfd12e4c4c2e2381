// What TLS costs a gantry connection (security/tls.hpp): credential files on first and later
// starts, a handshake's CPU on each side, a connection over loopback with and without TLS, and
// a fresh client process (as `gantry submit` is) that loads the CA and handshakes once.
// Measurements, not a test. Usage: bench_tls [--handshakes N] [--cold-runs N] [--json F]
#include <spawn.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include <kj/async-io.h>

#include "bench/bench_figures.hpp"
#include "core/log.hpp"
#include "security/credential_files.hpp"
#include "security/server_names.hpp"
#include "security/tls.hpp"

extern char** environ;

namespace {

using namespace gantry;
using namespace gantry::bench;
using namespace gantry::security;
namespace fs = std::filesystem;

double wall_us() {
  return std::chrono::duration<double, std::micro>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

double thread_cpu_us() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "bench_tls: %s\n", what.c_str());
  std::exit(1);
}

fs::path make_temp_dir() {
  char tmpl[] = "/tmp/gantry-bench-tls-XXXXXX";
  if (!mkdtemp(tmpl)) die("mkdtemp failed");
  return tmpl;
}

// A server on its own thread and KJ loop: one plain and one TLS listener on 127.0.0.1. Every
// connection gets one byte once it is set up (after the handshake for TLS) and is dropped.
class loopback_server {
 public:
  // `tls_cpu_us` gets the server thread's CPU per TLS connection (wrap to the byte written);
  // read it after this server is destroyed.
  loopback_server(const coordinator_credentials& creds, std::vector<double>& tls_cpu_us)
      : tls_cpu_us_(tls_cpu_us) {
    std::promise<std::pair<uint, uint>> ports;
    auto ready = ports.get_future();
    thread_ = std::thread([&, this] { run(creds, ports); });
    std::tie(plain_port, tls_port) = ready.get();
  }
  ~loopback_server() {
    stop_->fulfill();
    thread_.join();
  }
  uint plain_port = 0, tls_port = 0;

 private:
  void run(const coordinator_credentials& creds, std::promise<std::pair<uint, uint>>& ports) {
    auto io = kj::setupAsyncIo();
    auto server = tls_server::create(creds.server_cert_pem, creds.server_key_pem);
    if (!server) die(server.error().message);
    auto& net = io.provider->getNetwork();
    auto plain = net.parseAddress("127.0.0.1", 0).wait(io.waitScope)->listen();
    auto tls = net.parseAddress("127.0.0.1", 0).wait(io.waitScope)->listen();
    auto stop = kj::newPromiseAndCrossThreadFulfiller<void>();
    stop_ = kj::mv(stop.fulfiller);
    kj::TaskSet tasks(error_handler_);
    tasks.add(serve(*plain, nullptr, tasks));
    tasks.add(serve(*tls, &*server, tasks));
    ports.set_value({plain->getPort(), tls->getPort()});
    stop.promise.wait(io.waitScope);
  }

  kj::Promise<void> serve(kj::ConnectionReceiver& port, tls_server* tls, kj::TaskSet& tasks) {
    return port.accept().then([this, &port, tls, &tasks](kj::Own<kj::AsyncIoStream> stream) {
      double cpu0 = thread_cpu_us();
      kj::Promise<kj::Own<kj::AsyncIoStream>> ready =
          tls ? tls->wrap(kj::mv(stream)) : kj::Promise<kj::Own<kj::AsyncIoStream>>(kj::mv(stream));
      tasks.add(ready.then([this, tls, cpu0](kj::Own<kj::AsyncIoStream> s) {
        static const char byte = 'k';
        auto written = s->write(&byte, 1);
        return written.attach(kj::mv(s)).then([this, tls, cpu0] {
          if (tls) tls_cpu_us_.push_back(thread_cpu_us() - cpu0);
        });
      }));
      return serve(port, tls, tasks);
    });
  }

  struct : kj::TaskSet::ErrorHandler {
    void taskFailed(kj::Exception&&) override {}
  } error_handler_;
  std::vector<double>& tls_cpu_us_;
  std::thread thread_;
  kj::Own<kj::CrossThreadPromiseFulfiller<void>> stop_;
};

// One connection as a client process makes it; returns {wall, thread CPU} in microseconds.
std::pair<double, double> connect_once(kj::AsyncIoContext& io, uint port, tls_client* client) {
  double w0 = wall_us(), c0 = thread_cpu_us();
  auto addr = io.provider->getNetwork().parseAddress("127.0.0.1", port).wait(io.waitScope);
  auto stream = addr->connect().wait(io.waitScope);
  if (client) stream = client->wrap(kj::mv(stream), "127.0.0.1").wait(io.waitScope);
  char byte = 0;
  stream->read(&byte, 1).wait(io.waitScope);
  return {wall_us() - w0, thread_cpu_us() - c0};
}

// The --cold-once child: what a fresh CLI process pays for TLS, from main() on.
int cold_once(const char* ca_file, uint port) {
  double w0 = wall_us(), c0 = thread_cpu_us();
  auto io = kj::setupAsyncIo();
  double loop = wall_us();
  auto client = tls_client::from_ca_file(ca_file);
  if (!client) die(client.error().message);
  double context = wall_us();
  auto [conn_wall, conn_cpu] = connect_once(io, port, &*client);
  std::printf("%.1f %.1f %.1f %.1f\n", loop - w0, context - loop, conn_wall, thread_cpu_us() - c0);
  return 0;
}

// Runs this binary with `args` and returns its wall time (us) and first line of output.
std::pair<double, std::string> run_self(const std::vector<std::string>& args) {
  int out[2];
  if (pipe(out) != 0) die("pipe failed");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  posix_spawn_file_actions_addclose(&actions, out[0]);
  std::vector<char*> argv;
  std::string self = fs::read_symlink("/proc/self/exe");
  argv.push_back(self.data());
  std::vector<std::string> copy = args;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  double w0 = wall_us();
  pid_t pid = 0;
  if (posix_spawn(&pid, self.c_str(), &actions, nullptr, argv.data(), environ) != 0) {
    die("posix_spawn failed");
  }
  close(out[1]);
  std::string text;
  char buf[256];
  for (ssize_t n; (n = read(out[0], buf, sizeof buf)) > 0;) text.append(buf, n);
  close(out[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  double wall = wall_us() - w0;
  posix_spawn_file_actions_destroy(&actions);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) die("child failed: " + text);
  return {wall, text};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 4 && std::string(argv[1]) == "--cold-once")
    return cold_once(argv[2], std::atoi(argv[3]));
  if (argc == 2 && std::string(argv[1]) == "--noop") return 0;
  auto flags =
      parse_flags(argc, argv, {{"--handshakes", "300"}, {"--cold-runs", "30"}, {"--json", ""}},
                  "usage: bench_tls [--handshakes N] [--cold-runs N] [--json F]\n");
  int handshakes = std::atoi(flags["--handshakes"].c_str());
  int cold_runs = std::atoi(flags["--cold-runs"].c_str());
  nlohmann::json json;
  fs::path root = make_temp_dir();
  auto names = coordinator_server_names("127.0.0.1", {}, local_hostname());
  if (!names) die(names.error().message);

  // Credential files: first start (CA + server key generation) and a later start (loads).
  std::vector<double> first, later;
  for (int i = 0; i < 10; ++i) {
    fs::path dir = root / ("creds-" + std::to_string(i));
    double t0 = wall_us();
    auto c = ensure_coordinator_credentials(dir, *names, now_ms());
    double t1 = wall_us();
    auto again = ensure_coordinator_credentials(dir, *names, now_ms());
    double t2 = wall_us();
    if (!c || !again) die("credentials failed");
    first.push_back((t1 - t0) / 1000);
    later.push_back((t2 - t1) / 1000);
  }
  auto creds = ensure_coordinator_credentials(root / "creds-0", *names, now_ms());
  if (!creds) die(creds.error().message);
  print_header("coordinator credential files (ms)");
  print_row("first start: CA + server certificate + tokens", summarize(first));
  print_row("later start: load and check", summarize(later));
  json["credentials_first_ms"] = figure(summarize(first), "ms");
  json["credentials_later_ms"] = figure(summarize(later), "ms");

  // A handshake with both ends on one thread over an in-process pipe: its whole CPU cost.
  auto io = kj::setupAsyncIo();
  auto server = tls_server::create(creds->server_cert_pem, creds->server_key_pem);
  auto client = tls_client::create(creds->ca_cert_pem);
  if (!server || !client) die("TLS contexts failed");
  std::vector<double> pipe_us;
  for (int i = 0; i < handshakes; ++i) {
    double c0 = thread_cpu_us();
    auto pipe = kj::newTwoWayPipe();
    auto s = server->wrap(kj::mv(pipe.ends[0])).eagerlyEvaluate(nullptr);
    auto c = client->wrap(kj::mv(pipe.ends[1]), "127.0.0.1").wait(io.waitScope);
    s.wait(io.waitScope);
    pipe_us.push_back(thread_cpu_us() - c0);
  }
  print_header("TLS handshake, both ends on one thread (CPU us)");
  print_row("client + server handshake (ECDSA P-256, TLS 1.3)", summarize(pipe_us));
  json["handshake_both_cpu_us"] = figure(summarize(pipe_us), "us");

  // Over loopback: the client here, the server on its own thread.
  std::vector<double> plain_wall, tls_wall, tls_client_cpu, server_cpu;
  {
    loopback_server peer(*creds, server_cpu);
    for (int i = 0; i < handshakes; ++i) {
      plain_wall.push_back(connect_once(io, peer.plain_port, nullptr).first);
      auto [wall, cpu] = connect_once(io, peer.tls_port, &*client);
      tls_wall.push_back(wall);
      tls_client_cpu.push_back(cpu);
    }
    print_header("connection over loopback 127.0.0.1 (us)");
    print_row("plain TCP: connect -> first byte", summarize(plain_wall));
    print_row("TLS: connect -> handshake -> first byte", summarize(tls_wall));
    print_row("TLS: client thread CPU per connection", summarize(tls_client_cpu));
    json["loopback_plain_us"] = figure(summarize(plain_wall), "us");
    json["loopback_tls_us"] = figure(summarize(tls_wall), "us");
    json["loopback_tls_client_cpu_us"] = figure(summarize(tls_client_cpu), "us");

    // A fresh process per connection, as the CLI: KJ loop, CA file -> context, connect +
    // handshake; and its whole life against a process that does nothing.
    std::vector<double> loop_us, context_us, connect_us, cpu_us, proc_tls, proc_noop;
    std::string ca = creds->paths.ca_cert.string(), port = std::to_string(peer.tls_port);
    for (int i = 0; i < cold_runs; ++i) {
      auto [wall, line] = run_self({"--cold-once", ca, port});
      double l = 0, x = 0, c = 0, u = 0;
      if (std::sscanf(line.c_str(), "%lf %lf %lf %lf", &l, &x, &c, &u) != 4) die("bad: " + line);
      loop_us.push_back(l);
      context_us.push_back(x);
      connect_us.push_back(c);
      cpu_us.push_back(u);
      proc_tls.push_back(wall);
      proc_noop.push_back(run_self({"--noop"}).first);
    }
    print_header("a fresh client process (the CLI), one TLS connection (us)");
    print_row("KJ event loop set-up", summarize(loop_us));
    print_row("first TLS context: read ca.crt, OpenSSL init", summarize(context_us));
    print_row("connect + handshake + first byte (cold)", summarize(connect_us));
    print_row("CPU in main() for all of the above", summarize(cpu_us));
    print_row("process spawn -> exit, with the TLS connection", summarize(proc_tls));
    print_row("process spawn -> exit, doing nothing", summarize(proc_noop));
    json["cold_context_us"] = figure(summarize(context_us), "us");
    json["cold_connect_us"] = figure(summarize(connect_us), "us");
    json["cold_main_cpu_us"] = figure(summarize(cpu_us), "us");
    json["cold_process_tls_us"] = figure(summarize(proc_tls), "us");
    json["cold_process_noop_us"] = figure(summarize(proc_noop), "us");
  }
  // The server thread has been joined: its figures are complete.
  print_header("server side over loopback, every TLS connection above (us)");
  print_row("TLS: server thread CPU per connection", summarize(server_cpu));
  json["loopback_tls_server_cpu_us"] = figure(summarize(server_cpu), "us");
  write_json(flags["--json"], json);
  std::error_code ec;
  fs::remove_all(root, ec);
  return 0;
}
