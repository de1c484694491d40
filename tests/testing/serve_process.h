// A real `nextier serve` process for end-to-end tests: started on a free port with the test
// API keys, stopped with SIGTERM (or SIGKILL when the test ends first).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

namespace nextier::testing {

// The keys every ServeProcess gets through NEXTIER_API_KEYS.
inline constexpr char kTestApiKeys[] =
    "ops:ops-key-0001,agent:agent-key-0001,auditor:audit-key-0001,admin:admin-key-0001";

class ServeProcess {
 public:
  // Starts `BINARY serve --port 0 ARGS` and waits for its first line ("... serving on
  // http://127.0.0.1:PORT ..."); port() is 0 when it did not start.
  ServeProcess(const std::string& binary, const std::string& args);
  ~ServeProcess();
  ServeProcess(const ServeProcess&) = delete;
  ServeProcess& operator=(const ServeProcess&) = delete;

  uint16_t port() const { return port_; }
  // What the process printed so far (all of it once it has exited).
  const std::string& output() const { return output_; }
  // Sends SIGTERM and returns the exit status (-1 if it did not exit within 10 s).
  int Terminate();
  // Waits for the process to exit by itself and returns its exit status.
  int WaitExit();
  // kill -9: the process dies wherever it is (crash tests).
  void Kill();

 private:
  void DrainOutput();

  pid_t pid_ = -1;
  int fd_ = -1;
  uint16_t port_ = 0;
  bool reaped_ = false;
  std::string output_;
};

}  // namespace nextier::testing
