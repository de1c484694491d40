// `nextier history`, driven as a user would, while this test process holds the store open for
// writing (as `nextier serve` would): the timeline, --json, the LEAD ID, and the exit codes.
#include <capnp/message.h>
#include <capnp/serialize.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "nextier/eventstore/event_store.h"
#include "testing/testing.h"

namespace nextier {
namespace {

namespace es = eventstore;
using json = nlohmann::json;

constexpr int64_t kT0 = 1'795'000'000'000'000;
constexpr int64_t kMinute = 60'000'000;

struct CliRun {
  int exit_code = -1;
  std::string out;  // stdout, and stderr when `with_stderr`
};

CliRun Nextier(const std::string& args, bool with_stderr = true) {
  CliRun r;
  std::string cmd = std::string(NEXTIER_BINARY) + " " + args + (with_stderr ? " 2>&1" : "");
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

size_t Lines(const std::string& text) {
  size_t n = 0;
  for (char c : text) n += c == '\n';
  return n;
}

class HistoryCliTest : public ::testing::Test {
 protected:
  // The store stays open for writing for the whole test, holding the writer lock.
  void SetUp() override {
    es::LmdbOptions o;
    o.path = dir_.str() + "/eventstore";
    auto store = es::OpenLmdbEventStore(o);
    ASSERT_OK(store);
    store_ = std::move(store).value();
    Seed();
  }

  es::NewEvent Event(int64_t at, const std::string& actor, const std::string& correlation,
                     const std::string& subject = {}) {
    es::NewEvent e;
    auto b = e.builder();
    b.setRecordedAt(at);
    b.setActor(actor);
    b.setCorrelationId(correlation);
    b.setKeySubject(subject);
    return e;
  }
  void Append(const std::string& stream, es::NewEvent e) {
    std::vector<es::NewEvent> v;
    v.push_back(std::move(e));
    ASSERT_OK(store_->Append(stream, es::ExpectedVersion::Any(), std::move(v)));
  }

  void Seed() {
    capnp::MallocMessageBuilder m;
    m.initRoot<es::schema::Personal>().setFirstName("Ada");
    auto words = capnp::messageToFlatArray(m);
    auto bytes = words.asBytes();
    auto sealed = store_->keys().Seal(
        "lead-7", std::string(reinterpret_cast<const char*>(bytes.begin()), bytes.size()));
    ASSERT_OK(sealed);

    auto imported = Event(kT0, "ops:alice", "file-1", "lead-7");
    auto li = imported.builder().getPayload().initLeadImported();
    li.setLeadId("7");
    li.setFileId("file-1");
    li.setRow(12);
    li.setSource("usbizdata");
    li.setCompany("Acme Realty");
    li.setPersonal(
        capnp::Data::Reader(reinterpret_cast<const kj::byte*>(sealed->data()), sealed->size()));
    Append("lead-7", std::move(imported));

    auto assigned = Event(kT0 + kMinute, "system:skiptrace", "job-1");
    auto la = assigned.builder().getPayload().initLeadIdAssigned();
    la.setLeadId("7");
    la.setHumanId("NXT-000001");
    Append("lead-ids", std::move(assigned));

    auto enriched = Event(kT0 + kMinute, "system:skiptrace", "job-1", "lead-7");
    auto le = enriched.builder().getPayload().initLeadEnriched();
    le.setJobId("job-1");
    le.setHumanId("NXT-000001");
    le.setPhoneType("mobile");
    le.setProvider("sandbox");
    Append("lead-7", std::move(enriched));

    auto queued = Event(kT0 + 2 * kMinute, "system:dispatcher", "cmp-1");
    auto lq = queued.builder().getPayload().initLeadQueued();
    lq.setCampaignId("cmp-1");
    lq.setBlockNumber(1);
    lq.setBatchNumber(2);
    Append("lead-7", std::move(queued));

    auto intended = Event(kT0 + 3 * kMinute, "system:dispatcher", "cmp-1");
    auto si = intended.builder().getPayload().initSmsSendIntended();
    si.setMessageKey("msg-7-opener");
    si.setKind("opener");
    Append("lead-7", std::move(intended));
  }

  std::string Data() const { return " --data " + dir_.str(); }

  nextier::testing::TempDir dir_;
  std::unique_ptr<es::EventStore> store_;
};

TEST_F(HistoryCliTest, PrintsATimelineWithKeyDataStateChangesAndTheFinalState) {
  CliRun r = Nextier("history 7" + Data());
  ASSERT_EQ(r.exit_code, 0) << r.out;
  // A header, the column titles, one line per event, the final state.
  EXPECT_EQ(Lines(r.out), 2u + 4u + 1u) << r.out;
  EXPECT_NE(r.out.find("lead 7 (NXT-000001), stream lead-7, 4 events\n"), std::string::npos)
      << r.out;
  for (const char* want : {"2026-11-18T11:06:40Z", "LeadImported", "ops:alice",
                           "row 12 of file file-1 (usbizdata), Acme Realty  [file-1]\n",
                           "2026-11-18T11:07:40Z", "LeadEnriched", "system:skiptrace",
                           "NXT-000001 mobile via sandbox; state raw -> enriched  [job-1]\n",
                           "campaign cmp-1 block 1 batch 2; state enriched -> queued  [cmp-1]\n",
                           "SmsSendIntended", "opener msg-7-opener", "\nstate: queued\n"}) {
    EXPECT_NE(r.out.find(want), std::string::npos) << want << " in\n" << r.out;
  }
  EXPECT_EQ(r.out.find("Ada"), std::string::npos) << "the timeline prints no personal data";
}

TEST_F(HistoryCliTest, FindsALeadByItsLeadId) {
  CliRun r = Nextier("history NXT-000001" + Data());
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("lead 7 (NXT-000001)"), std::string::npos) << r.out;
}

TEST_F(HistoryCliTest, JsonIsTheHistoryEndpointsDocument) {
  CliRun r = Nextier("history 7 --json" + Data(), /*with_stderr=*/false);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  json body = json::parse(r.out, nullptr, false);
  ASSERT_TRUE(body.is_object()) << r.out;
  EXPECT_EQ(body["leadId"], "7");
  EXPECT_EQ(body["humanId"], "NXT-000001");
  EXPECT_EQ(body["state"], "queued");
  ASSERT_EQ(body["events"].size(), 4u);
  EXPECT_EQ(body["events"][0]["type"], "LeadImported");
  EXPECT_EQ(body["events"][0]["at"], "2026-11-18T11:06:40Z");
  EXPECT_EQ(body["events"][0]["correlationId"], "file-1");
  EXPECT_EQ(body["events"][0]["data"]["personal"]["firstName"], "Ada");
  EXPECT_EQ(body["events"][3]["data"]["messageKey"], "msg-7-opener");
  EXPECT_EQ(body["events"][3]["hash"].get<std::string>().size(), 64u);
}

TEST_F(HistoryCliTest, AnUnknownLeadExitsOneWithAOneLineReason) {
  CliRun r = Nextier("history 99" + Data());
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_EQ(Lines(r.out), 1u) << r.out;
  EXPECT_NE(r.out.find("lead 99 does not exist"), std::string::npos) << r.out;
  CliRun j = Nextier("history 99 --json" + Data());
  EXPECT_EQ(j.exit_code, 1) << j.out;
  EXPECT_EQ(Lines(j.out), 1u) << j.out;
}

TEST_F(HistoryCliTest, AMissingStoreExitsOneAndBadUsageTwo) {
  CliRun missing = Nextier("history 7 --data " + dir_.str() + "/nothing");
  EXPECT_EQ(missing.exit_code, 1) << missing.out;
  EXPECT_NE(missing.out.find("nothing/eventstore"), std::string::npos) << missing.out;
  EXPECT_EQ(Nextier("history" + Data()).exit_code, 2);
  EXPECT_EQ(Nextier("history 7 --bogus" + Data()).exit_code, 2);
  EXPECT_EQ(Nextier("history ''" + Data()).exit_code, 2);
}

}  // namespace
}  // namespace nextier
