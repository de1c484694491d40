// The command line, driven as a user would: exit codes and what it prints.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>

#include "nextier/eventstore/event_store.h"
#include "testing/testing.h"

namespace nextier {
namespace {

struct CliRun {
  int exit_code = -1;
  std::string out;  // stdout and stderr together
};

CliRun Nextier(const std::string& args) {
  CliRun r;
  std::string cmd = std::string(NEXTIER_BINARY) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

void WriteStore(const std::string& data_dir, int events) {
  eventstore::LmdbOptions o;
  o.path = data_dir + "/eventstore";
  auto store = eventstore::OpenLmdbEventStore(o);
  ASSERT_OK(store);
  for (int i = 1; i <= events; ++i) {
    std::vector<eventstore::NewEvent> v(1);
    v[0].builder().getPayload().initOpaque().setKind("CLI-MARKER-" + std::to_string(100000 + i));
    ASSERT_OK((*store)->Append("lead-" + std::to_string(i % 4), eventstore::ExpectedVersion::Any(),
                               std::move(v)));
  }
}

TEST(CliTest, HelpListsSubcommandsAndExitsZero) {
  CliRun r = Nextier("--help");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("verify"), std::string::npos) << r.out;
}

TEST(CliTest, BadUsageExitsTwoWithAOneLineReason) {
  CliRun none = Nextier("");
  EXPECT_EQ(none.exit_code, 2) << none.out;
  CliRun unknown = Nextier("frobnicate");
  EXPECT_EQ(unknown.exit_code, 2) << unknown.out;
  CliRun bad_flag = Nextier("verify --no-such-flag");
  EXPECT_EQ(bad_flag.exit_code, 2) << bad_flag.out;
  EXPECT_NE(bad_flag.out.find("no-such-flag"), std::string::npos) << bad_flag.out;
}

TEST(CliTest, VerifyIsCleanOnAnIntactStore) {
  nextier::testing::TempDir dir;
  WriteStore(dir.str(), 50);
  CliRun r = Nextier("verify --data " + dir.str());
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("50 events in 4 streams"), std::string::npos) << r.out;
}

TEST(CliTest, VerifyExitsOneNamingThePositionOfAFlippedByte) {
  nextier::testing::TempDir dir;
  WriteStore(dir.str(), 50);
  const std::string file = dir.str() + "/eventstore/data.mdb";
  std::string bytes;
  {
    std::ifstream in(file, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  size_t flipped = 0;
  for (size_t pos = bytes.find("CLI-MARKER-100037"); pos != std::string::npos;
       pos = bytes.find("CLI-MARKER-100037", pos + 1)) {
    bytes[pos + 16] = '8';  // one byte: ...100037 -> ...100038
    ++flipped;
  }
  ASSERT_GT(flipped, 0u);
  {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  CliRun r = Nextier("verify --data " + dir.str());
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("position 37"), std::string::npos) << r.out;
}

TEST(CliTest, VerifyOfAMissingStoreExitsOneAndSaysWhere) {
  nextier::testing::TempDir dir;
  CliRun r = Nextier("verify --data " + dir.str() + "/nothing");
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("nothing/eventstore"), std::string::npos) << r.out;
}

TEST(CliTest, WorkflowCheckIsCleanOnTheShippedWorkflows) {
  const std::string dir = std::string(NEXTIER_SOURCE_DIR) + "/workflows/";
  CliRun r =
      Nextier("workflow check " + dir + "real-estate-agents.json " + dir + "business-owners.json");
  EXPECT_EQ(r.exit_code, 0) << r.out;
}

TEST(CliTest, WorkflowCheckPrintsFileFieldAndReasonAndExitsOne) {
  nextier::testing::TempDir dir;
  std::string text;
  {
    std::ifstream in(std::string(NEXTIER_SOURCE_DIR) + "/workflows/real-estate-agents.json");
    text.assign(std::istreambuf_iterator<char>(in), {});
  }
  const std::string good = "\"batchDelaySeconds\": 5";
  const auto pos = text.find(good);
  ASSERT_NE(pos, std::string::npos);
  text.replace(pos, good.size(), "\"batchDelaySeconds\": \"soon\"");
  const std::string broken = dir.str() + "/broken.json";
  {
    std::ofstream out(broken);
    out << text;
  }
  CliRun r = Nextier("workflow check " + broken);
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find(broken + ": limits.batchDelaySeconds: "), std::string::npos) << r.out;
  CliRun missing = Nextier("workflow check " + dir.str() + "/nope.json");
  EXPECT_EQ(missing.exit_code, 1) << missing.out;
  EXPECT_NE(missing.out.find("nope.json"), std::string::npos) << missing.out;
  CliRun no_file = Nextier("workflow check");
  EXPECT_EQ(no_file.exit_code, 2) << no_file.out;
}

}  // namespace
}  // namespace nextier
