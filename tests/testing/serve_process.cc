#include "testing/serve_process.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <thread>

namespace nextier::testing {

ServeProcess::ServeProcess(const std::string& binary, const std::string& args) {
  int out[2];
  if (pipe(out) != 0) return;
  pid_ = fork();
  if (pid_ == 0) {
    dup2(out[1], 1);
    dup2(out[1], 2);
    close(out[0]);
    close(out[1]);
    setenv("NEXTIER_API_KEYS", kTestApiKeys, 1);
    const std::string cmd = "exec " + binary + " serve --port 0 " + args;
    execl("/bin/sh", "sh", "-c", cmd.c_str(), nullptr);
    _exit(127);
  }
  close(out[1]);
  fd_ = out[0];
  char buf[4096];
  while (output_.find('\n') == std::string::npos) {
    ssize_t n = read(fd_, buf, sizeof buf);
    if (n <= 0) break;
    output_.append(buf, static_cast<size_t>(n));
  }
  const auto at = output_.find("http://127.0.0.1:");
  if (at != std::string::npos) port_ = static_cast<uint16_t>(std::atoi(output_.c_str() + at + 17));
}

ServeProcess::~ServeProcess() {
  if (pid_ > 0 && !reaped_) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  if (fd_ >= 0) close(fd_);
}

int ServeProcess::Terminate() {
  kill(pid_, SIGTERM);
  for (int i = 0; i < 1000; ++i) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      reaped_ = true;
      DrainOutput();
      return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return -1;
}

int ServeProcess::WaitExit() {
  int status = 0;
  waitpid(pid_, &status, 0);
  reaped_ = true;
  DrainOutput();
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void ServeProcess::Kill() {
  if (pid_ <= 0 || reaped_) return;
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  reaped_ = true;
  DrainOutput();
}

void ServeProcess::DrainOutput() {
  char buf[4096];
  ssize_t n;
  while ((n = read(fd_, buf, sizeof buf)) > 0) output_.append(buf, static_cast<size_t>(n));
}

}  // namespace nextier::testing
