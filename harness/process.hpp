#pragma once
// Child processes and temp dirs for the programs that start gantry processes: `gantry dev`,
// the cluster tests and the benchmarks. Plain C++. Every wait takes a deadline and wakes on
// the event itself (a pidfd, a pipe), not on a timer.
#include <sys/types.h>

#include <csignal>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace gantry::harness {

int64_t now_us();  // steady clock
int64_t now_ms();

std::string read_file(const std::string& path);  // "" when it cannot be read
// The last `lines` lines of `text`; a final newline ends the last line.
std::string tail(const std::string& text, size_t lines);

// A directory /tmp/PREFIX-XXXXXX, removed with everything in it on destruction unless kept.
class temp_dir {
 public:
  // Throws std::runtime_error when the directory cannot be created.
  explicit temp_dir(const std::string& prefix);
  ~temp_dir();
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  const std::string& path() const { return path_; }
  void keep() { keep_ = true; }
  bool kept() const { return keep_; }

 private:
  std::string path_;
  bool keep_ = false;
};

struct spawn_options {
  std::string log_path{};       // stderr is appended here (created if missing)
  bool stdout_to_pipe = true;   // read with read_line/read_all; false: appended to the log
  bool stderr_to_pipe = false;  // stderr into the stdout pipe instead of the log
  // Sent to the child when the thread that started it ends (PR_SET_PDEATHSIG).
  int parent_death_signal = SIGKILL;
  // Its own process group: a Ctrl-C at the terminal reaches only the parent, which stops
  // its children in order.
  bool own_process_group = true;
};

// A child process running argv[0] (a path). It starts with an empty signal mask and SIGPIPE
// at its default, whatever the parent blocked or ignored. SIGKILLed and reaped on
// destruction unless it already ended and was reaped by wait().
class process {
 public:
  // Throws std::runtime_error when the pipe or the fork fails; an exec that fails ends the
  // child with exit code 127.
  process(std::vector<std::string> argv, spawn_options options);
  ~process();
  process(const process&) = delete;
  process& operator=(const process&) = delete;

  pid_t pid() const { return pid_; }
  int64_t started_us() const { return started_us_; }  // steady time just before the fork
  const std::string& command_line() const { return command_line_; }

  // The next line on the stdout pipe without its newline; "" at EOF or after timeout_ms.
  std::string read_line(int timeout_ms);
  // Everything on the stdout pipe until the child closes it, or until timeout_ms.
  std::string read_all(int timeout_ms);

  void signal(int sig);  // nothing once the child was reaped
  // Reaps the child: its exit code, or 128+N when signal N ended it; -1 when it still runs
  // after timeout_ms (0: just look).
  int wait(int timeout_ms);
  bool running() { return wait(0) < 0; }
  // SIGTERM, then SIGKILL when it still runs after grace_ms; returns wait()'s value.
  int stop(int grace_ms);
  // "exit code N" or "killed by signal N (Name)". REQUIRES: wait() returned >= 0.
  std::string how_it_ended() const;

 private:
  pid_t pid_ = -1;
  int out_ = -1;     // read end of the stdout pipe
  int pidfd_ = -1;   // readable once the child ended
  int status_ = -1;  // wait()'s value once reaped
  int raw_status_ = 0;
  int64_t started_us_ = 0;
  std::string command_line_;
  std::string buffer_;
};

// Every child started through `process` and not yet reaped, and every temp_dir alive, for a
// last-resort cleanup from another thread (a watchdog) just before _exit. While one is held,
// no child starts or is reaped through `process`.
class registry_lock {
 public:
  registry_lock();
  const std::map<pid_t, std::string>& children() const;  // pid -> command line
  const std::set<std::string>& temp_dirs() const;

 private:
  std::unique_lock<std::mutex> lock_;
};

}  // namespace gantry::harness
