// The seed workflows, file checks, directory loading and content-hash versions.
#include "nextier/workflows/loader.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "testing/testing.h"
#include "workflow_test_util.h"

namespace nextier::workflows {
namespace {

using nlohmann::json;
using testing::ReadText;
using testing::SeedJson;
using testing::SeedPath;

void WriteFile(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

std::string Sha256Hex(const std::string& data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr);
  std::string hex;
  static constexpr char kHex[] = "0123456789abcdef";
  for (unsigned int i = 0; i < length; ++i) {
    hex += kHex[digest[i] >> 4];
    hex += kHex[digest[i] & 0xF];
  }
  return hex;
}

TEST(SeedWorkflowTest, RealEstateAgentsLoadsWithEveryField) {
  const Result<Workflow> w = LoadWorkflowFile(SeedPath("real-estate-agents.json"));
  ASSERT_OK(w);
  EXPECT_EQ(w->id, "real-estate-agents");
  EXPECT_EQ(w->pitch, "Stop renting lead gen, own the system");
  EXPECT_EQ(w->campaign_kind, CampaignKind::kPlatformDemo);
  EXPECT_EQ(w->signalhouse.brand, "BZOYPIH");
  EXPECT_EQ(w->signalhouse.campaign_id, "Temp-C21390");
  EXPECT_EQ(w->signalhouse.from_number, "+15164079249");
  EXPECT_EQ(w->signalhouse.ai_worker, "GIANNA");
  EXPECT_EQ(w->signalhouse.volume_tier, VolumeTier::kLowVolume);
  EXPECT_FALSE(w->handoff_partner.has_value());
  EXPECT_EQ(w->limits.block_size, 2000);
  EXPECT_EQ(w->limits.batch_size, 250);
  EXPECT_EQ(w->limits.batch_delay_seconds, 5);
  EXPECT_EQ(w->limits.daily_sms_cap, 2000);
  EXPECT_EQ(w->limits.skip_trace_daily_limit, 2000);
  EXPECT_EQ(w->limits.quiet_hours.start, (TimeOfDay{8, 0}));
  EXPECT_EQ(w->limits.quiet_hours.end, (TimeOfDay{21, 0}));
  EXPECT_EQ(w->limits.quiet_hours.basis, TimeBasis::kRecipient);
  ASSERT_EQ(w->role_scores.roles.size(), 5u);
  EXPECT_EQ(w->role_scores.roles[0].name, "Owner");
  EXPECT_EQ(w->role_scores.roles[0].score, 100);
  EXPECT_EQ(w->meeting.duration_minutes, 15);
  ASSERT_EQ(w->templates.follow_ups.size(), 2u);
  EXPECT_EQ(w->templates.follow_ups[0].delay_hours, 72);
  EXPECT_TRUE(w->templates.auto_replies.count(ReplyClass::kPositive));
  EXPECT_NE(w->templates.reminders.before_15m.text.find("{link}"), std::string::npos);
  EXPECT_EQ(w->classification.precedence.front(), ReplyClass::kOptOut);
  EXPECT_EQ(w->classification.precedence.back(), ReplyClass::kOther);
  EXPECT_EQ(w->version.size(), 16u);
}

TEST(SeedWorkflowTest, BusinessOwnersLoadsWithoutCampaignIdOrNumber) {
  const Result<Workflow> w = LoadWorkflowFile(SeedPath("business-owners.json"));
  ASSERT_OK(w);
  EXPECT_EQ(w->id, "business-owners");
  EXPECT_EQ(w->pitch, "Know what your business could sell for");
  EXPECT_EQ(w->campaign_kind, CampaignKind::kPartnerHandoff);
  EXPECT_EQ(w->signalhouse.brand, "BZOYPIH");
  EXPECT_FALSE(w->signalhouse.campaign_id.has_value());
  EXPECT_FALSE(w->signalhouse.from_number.has_value());
  ASSERT_TRUE(w->handoff_partner.has_value());
  EXPECT_EQ(w->handoff_partner->name, "East Coast Business Brokers");
  EXPECT_EQ(w->signalhouse.volume_tier, VolumeTier::kLowVolume);
}

TEST(SeedWorkflowTest, OpenersAndFollowUpsStayGsm7) {
  for (const char* file : {"real-estate-agents.json", "business-owners.json"}) {
    const Result<Workflow> w = LoadWorkflowFile(SeedPath(file));
    ASSERT_OK(w);
    EXPECT_EQ(w->templates.opener.segments.encoding, SmsEncoding::kGsm7) << file;
    EXPECT_LE(w->templates.opener.segments.segments, 2) << file;
    for (const FollowUp& f : w->templates.follow_ups) {
      EXPECT_EQ(f.body.segments.encoding, SmsEncoding::kGsm7) << file << " " << f.name;
    }
  }
}

TEST(SeedWorkflowTest, EveryTemplateReportsItsSegments) {
  const Result<Workflow> w = LoadWorkflowFile(SeedPath("real-estate-agents.json"));
  ASSERT_OK(w);
  const Templates& t = w->templates;
  for (const Template* tmpl :
       {&t.opener, &t.help, &t.opt_out_confirmation, &t.meeting_confirmation,
        &t.reminders.before_24h, &t.reminders.before_1h, &t.reminders.before_15m}) {
    EXPECT_GE(tmpl->segments.segments, 1) << tmpl->text;
    EXPECT_GT(tmpl->segments.characters, 0) << tmpl->text;
  }
}

TEST(SeedWorkflowTest, SegmentsAreCountedOnARepresentativeRender) {
  json doc = SeedJson("real-estate-agents.json");
  // {firstName} renders as "Jennifer" and {brand} as "Nextier": 163 septets > 160.
  doc["templates"]["opener"] = "{firstName} " + std::string(135, 'a') + " {brand} Reply STOP";
  const Result<Workflow> w = ParseWorkflow(doc, "test");
  ASSERT_OK(w);
  EXPECT_EQ(w->templates.opener.segments.characters, 8 + 1 + 135 + 1 + 7 + 11);
  EXPECT_EQ(w->templates.opener.segments.segments, 2);
}

TEST(SeedWorkflowTest, CurlyQuoteTurnsATemplateIntoUcs2) {
  json doc = SeedJson("real-estate-agents.json");
  doc["templates"]["autoReplies"]["POSITIVE"] = "Great! What\u2019s the best email?";
  const Result<Workflow> w = ParseWorkflow(doc, "test");
  ASSERT_OK(w);
  EXPECT_EQ(w->templates.auto_replies.at(ReplyClass::kPositive).segments.encoding,
            SmsEncoding::kUcs2);
}

TEST(CheckFilesTest, SeedFilesAreClean) {
  EXPECT_EQ(CheckFiles({SeedPath("real-estate-agents.json"), SeedPath("business-owners.json")}),
            std::vector<std::string>{});
}

TEST(CheckFilesTest, PrintsFileFieldAndReasonForEachError) {
  nextier::testing::TempDir dir;
  json doc = SeedJson("real-estate-agents.json");
  doc["limits"]["batchSize"] = 2500;
  doc["templates"]["reminders"]["15m"] = "Starting soon!";
  const std::string path = (dir.path() / "broken.json").string();
  WriteFile(path, doc.dump(2));
  EXPECT_EQ(CheckFiles({path}),
            (std::vector<std::string>{
                path + ": limits.batchSize: must not exceed limits.blockSize (2000)",
                path + ": templates.reminders.15m: must contain {link}: the lead joins from it",
            }));
}

TEST(CheckFilesTest, ReportsSyntaxErrorsWithoutAFieldPath) {
  nextier::testing::TempDir dir;
  const std::string path = (dir.path() / "bad.json").string();
  WriteFile(path, "{\n  \"id\": \n}");
  const std::vector<std::string> lines = CheckFiles({path});
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].rfind(path + ": invalid JSON at line 3, column 1", 0), 0u) << lines[0];
}

TEST(CheckFilesTest, ReportsAMissingFile) {
  nextier::testing::TempDir dir;
  const std::string path = (dir.path() / "missing.json").string();
  EXPECT_EQ(CheckFiles({path}), std::vector<std::string>{path + ": no such file"});
}

TEST(CheckFilesTest, ReportsAnIdDefinedByTwoFiles) {
  nextier::testing::TempDir dir;
  const std::string copy = (dir.path() / "copy.json").string();
  WriteFile(copy, ReadText(SeedPath("real-estate-agents.json")));
  EXPECT_EQ(CheckFiles({SeedPath("real-estate-agents.json"), copy}),
            std::vector<std::string>{copy +
                                     ": id: duplicate id \"real-estate-agents\", already "
                                     "defined in " +
                                     SeedPath("real-estate-agents.json")});
}

TEST(LoadWorkflowFileTest, MissingFileIsNotFound) {
  nextier::testing::TempDir dir;
  const Result<Workflow> w = LoadWorkflowFile(dir.path() / "nope.json");
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.status().code(), StatusCode::kNotFound);
}

TEST(LoadWorkflowFileTest, InvalidFileNamesFieldSourceAndErrorCount) {
  nextier::testing::TempDir dir;
  json doc = SeedJson("real-estate-agents.json");
  doc["limits"]["batchSize"] = 2500;
  doc["meeting"]["durationMinutes"] = 0;
  doc["id"] = "Bad Id";
  const std::string path = (dir.path() / "bad.json").string();
  WriteFile(path, doc.dump());
  const Result<Workflow> w = LoadWorkflowFile(path);
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(w.status().field(), "id");
  EXPECT_NE(w.status().message().find(path), std::string::npos) << w.status().ToString();
  EXPECT_NE(w.status().message().find("and 2 more errors"), std::string::npos)
      << w.status().ToString();
}

TEST(LoadWorkflowDirectoryTest, LoadsTheShippedWorkflows) {
  const Result<std::vector<Workflow>> all =
      LoadWorkflowDirectory(std::string(NEXTIER_SOURCE_DIR) + "/workflows");
  ASSERT_OK(all);
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].id, "business-owners");
  EXPECT_EQ((*all)[1].id, "real-estate-agents");
}

TEST(LoadWorkflowDirectoryTest, RejectsTwoFilesWithOneId) {
  nextier::testing::TempDir dir;
  const std::string text = ReadText(SeedPath("business-owners.json"));
  WriteFile(dir.path() / "a.json", text);
  WriteFile(dir.path() / "b.json", text);
  WriteFile(dir.path() / "notes.txt", "not a workflow");
  const Result<std::vector<Workflow>> all = LoadWorkflowDirectory(dir.path());
  ASSERT_FALSE(all.ok());
  EXPECT_EQ(all.status().code(), StatusCode::kConflict);
}

TEST(ParseWorkflowTest, OmittedSectionsTakeTheirDefaults) {
  json doc = SeedJson("real-estate-agents.json");
  doc.erase("limits");
  doc.erase("callQueue");
  doc.erase("meeting");
  doc.erase("formatVersion");
  doc["signalhouse"].erase("volumeTier");
  const Result<Workflow> w = ParseWorkflow(doc, "test");
  ASSERT_OK(w);
  EXPECT_EQ(w->limits.block_size, 2000);
  EXPECT_EQ(w->limits.batch_size, 250);
  EXPECT_EQ(w->limits.batch_delay_seconds, 5);
  EXPECT_EQ(w->limits.daily_sms_cap, 2000);
  EXPECT_EQ(w->limits.skip_trace_daily_limit, 2000);
  EXPECT_EQ(w->limits.quiet_hours.start.ToString(), "08:00");
  EXPECT_EQ(w->limits.quiet_hours.end.ToString(), "21:00");
  EXPECT_EQ(w->meeting.duration_minutes, 15);
  EXPECT_DOUBLE_EQ(w->call_queue.role_score, 0.5);
  EXPECT_DOUBLE_EQ(w->call_queue.recency, 0.3);
  EXPECT_DOUBLE_EQ(w->call_queue.campaign, 0.2);
}

TEST(VersionTest, ReformattingAndReorderingKeepTheVersion) {
  const std::string original = ReadText(SeedPath("real-estate-agents.json"));
  const json doc = json::parse(original);
  const Result<Workflow> a = ParseWorkflowText(original, "a");
  const Result<Workflow> b = ParseWorkflowText(doc.dump(), "b");
  const Result<Workflow> c = ParseWorkflowText(doc.dump(4) + "\n\n", "c");
  ASSERT_OK(a);
  ASSERT_OK(b);
  ASSERT_OK(c);
  EXPECT_EQ(a->version, b->version);
  EXPECT_EQ(a->version, c->version);
  // Keys in another order.
  std::string reordered = "{\"templates\": " + doc["templates"].dump() + ",";
  for (const auto& [key, value] : doc.items()) {
    if (key != "templates") reordered += "\"" + key + "\": " + value.dump() + ",";
  }
  reordered.back() = '}';
  const Result<Workflow> d = ParseWorkflowText(reordered, "d");
  ASSERT_OK(d);
  EXPECT_EQ(a->version, d->version);
}

TEST(VersionTest, ChangingATemplateChangesTheVersion) {
  json doc = SeedJson("real-estate-agents.json");
  const Result<Workflow> before = ParseWorkflow(doc, "a");
  doc["templates"]["reminders"]["1h"] = "{firstName}, your demo starts in 1 hour.";
  const Result<Workflow> after = ParseWorkflow(doc, "b");
  ASSERT_OK(before);
  ASSERT_OK(after);
  EXPECT_NE(before->version, after->version);
}

TEST(VersionTest, SpellingOutADefaultKeepsTheVersion) {
  json doc = SeedJson("real-estate-agents.json");
  const Result<Workflow> spelled = ParseWorkflow(doc, "a");
  doc.erase("meeting");
  doc["callQueue"]["weights"].erase("recency");
  const Result<Workflow> omitted = ParseWorkflow(doc, "b");
  ASSERT_OK(spelled);
  ASSERT_OK(omitted);
  EXPECT_EQ(spelled->version, omitted->version);
}

TEST(VersionTest, IntegerAndFractionalSpellingsOfAWeightAreOneVersion) {
  json doc = SeedJson("real-estate-agents.json");
  doc["callQueue"]["weights"] = {{"roleScore", 1}, {"recency", 0}, {"campaign", 0}};
  const Result<Workflow> a = ParseWorkflow(doc, "a");
  doc["callQueue"]["weights"] = {{"roleScore", 1.0}, {"recency", 0.0}, {"campaign", 0.0}};
  const Result<Workflow> b = ParseWorkflow(doc, "b");
  ASSERT_OK(a);
  ASSERT_OK(b);
  EXPECT_EQ(a->version, b->version);
}

TEST(VersionTest, IsTheFirst16HexDigitsOfTheSha256OfTheCanonicalJson) {
  const Result<Workflow> w = LoadWorkflowFile(SeedPath("business-owners.json"));
  ASSERT_OK(w);
  EXPECT_EQ(w->version, Sha256Hex(w->canonical_json).substr(0, 16));
  EXPECT_EQ(w->canonical_json.find('\n'), std::string::npos);
}

TEST(VersionTest, CanonicalJsonReparsesToTheSameVersion) {
  const Result<Workflow> w = LoadWorkflowFile(SeedPath("real-estate-agents.json"));
  ASSERT_OK(w);
  const Result<Workflow> again = ParseWorkflowText(w->canonical_json, "log");
  ASSERT_OK(again);
  EXPECT_EQ(again->version, w->version);
  EXPECT_EQ(again->canonical_json, w->canonical_json);
}

}  // namespace
}  // namespace nextier::workflows
