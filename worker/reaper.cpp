#include "worker/reaper.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

namespace gantry {

struct reaper::shared {
  std::function<void(pid_t, int)> exited;
  std::mutex mu;
  std::condition_variable cv;
  std::set<pid_t> children;  // told of and not reaped yet
  bool stop = false;

  void loop() {
    for (;;) {
      {
        std::unique_lock lock(mu);
        cv.wait(lock, [&] { return stop || !children.empty(); });
        if (stop) return;
      }
      int status = 0;
      pid_t pid = waitpid(-1, &status, 0);
      std::lock_guard lock(mu);
      if (pid > 0) {
        children.erase(pid);
        if (!stop) exited(pid, status);
      } else if (errno == ECHILD) {
        children.clear();
      }
    }
  }
};

reaper::reaper(std::function<void(pid_t, int)> exited) : shared_(std::make_shared<shared>()) {
  shared_->exited = std::move(exited);
  // Detached: it may sit in waitpid() after this handle is gone.
  std::thread([s = shared_] { s->loop(); }).detach();
}

reaper::~reaper() {
  {
    std::lock_guard lock(shared_->mu);
    shared_->stop = true;
  }
  shared_->cv.notify_all();
}

void reaper::child_started(pid_t pid) {
  {
    std::lock_guard lock(shared_->mu);
    shared_->children.insert(pid);
  }
  shared_->cv.notify_all();
}

}  // namespace gantry
