// `nextier demo`, run as a user would: the whole journey on generated data ends in gold labels
// and booked meetings, printed as the funnel.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

#include "testing/testing.h"

namespace nextier {
namespace {

struct CliRun {
  int exit_code = -1;
  std::string out;  // stdout and stderr together
};

CliRun Nextier(const std::string& args) {
  CliRun r;
  const std::string cmd = std::string(NEXTIER_BINARY) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  const int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// The value of `name=` on the line starting with "funnel:"; -1 when missing.
long FunnelValue(const std::string& out, const std::string& name) {
  const size_t line = out.find("\nfunnel: ");
  if (line == std::string::npos) return -1;
  const size_t end = out.find('\n', line + 1);
  const std::string funnel = out.substr(line, end - line);
  const size_t at = funnel.find(" " + name + "=");
  if (at == std::string::npos) return -1;
  return std::stol(funnel.substr(at + name.size() + 2));
}

TEST(DemoTest, TheWholeJourneyEndsInGoldLabelsAndBookedMeetings) {
  nextier::testing::TempDir dir;
  const CliRun r = Nextier("demo --rows 120 --data " + dir.str() + "/demo");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  for (const char* stage : {"generate", "import", "skip trace", "campaign", "batches", "delivery",
                            "replies", "calls", "meetings", "2 days on"}) {
    EXPECT_NE(r.out.find(stage), std::string::npos) << stage << "\n" << r.out;
  }
  for (const char* cls :
       {"POSITIVE", "EMAIL", "NEGATIVE", "OPT_OUT", "HELP", "QUESTION", "WRONG_NUMBER", "OTHER"}) {
    EXPECT_NE(r.out.find(std::string(" ") + cls + " "), std::string::npos) << cls << "\n" << r.out;
  }
  EXPECT_GT(FunnelValue(r.out, "raw"), 0) << r.out;
  EXPECT_GT(FunnelValue(r.out, "sent"), 0) << r.out;
  EXPECT_GT(FunnelValue(r.out, "gold"), 0) << r.out;
  EXPECT_GT(FunnelValue(r.out, "booked"), 0) << r.out;
  EXPECT_GT(FunnelValue(r.out, "optedOut"), 0) << r.out;
  EXPECT_GE(FunnelValue(r.out, "sent"), FunnelValue(r.out, "gold")) << r.out;

  // The folder now holds a store: a second demo in it is refused with a reason.
  const CliRun again = Nextier("demo --rows 120 --data " + dir.str() + "/demo");
  EXPECT_EQ(again.exit_code, 1) << again.out;
  EXPECT_NE(again.out.find("already holds an event store"), std::string::npos) << again.out;
}

TEST(DemoTest, TooFewRowsIsBadUsage) {
  const CliRun r = Nextier("demo --rows 3");
  EXPECT_EQ(r.exit_code, 2) << r.out;
}

}  // namespace
}  // namespace nextier
