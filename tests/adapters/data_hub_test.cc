// The data hub's import pipeline against a real store and real projections: dedupe rules,
// entity flags, role scores, row errors, bad files, batches and the FILE / LEAD read models.
#include "nextier/adapters/data_hub.h"

#include <gtest/gtest.h>

#include <array>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "nextier/engine/clock.h"
#include "nextier/engine/workflow_registry.h"
#include "nextier/eventstore/event_store.h"
#include "nextier/projections/files.h"
#include "nextier/projections/lead_index.h"
#include "nextier/projections/leads.h"
#include "nextier/projections/projection.h"
#include "nextier/projections/read_model_store.h"
#include "testing/testing.h"

namespace nextier::adapters {
namespace {

namespace es = eventstore;
namespace pj = projections;

constexpr char kUsBizHeader[] =
    "Company Name,Address,City,State,Zip,County,Phone,Contact First,Contact Last,Title,"
    "Direct Phone,Email,Website,Employee Range,Annual Sales,SIC Code,Industry\n";

std::string UsBizRow(const std::string& company, const std::string& zip, const std::string& phone,
                     const std::string& first, const std::string& last, const std::string& title,
                     const std::string& email) {
  return "\"" + company + "\",1 Main St,Springfield,IL," + zip + ",Sangamon," + phone + "," +
         first + "," + last + ",\"" + title + "\",," + email + ",,1-4,,6531,Real Estate\n";
}

struct StoredEvent {
  std::string stream;
  std::string type;
  std::string matched_lead;
  std::string matched_by;
  uint64_t row = 0;
};

class DataHubTest : public ::testing::Test {
 protected:
  void SetUp() override {
    es::LmdbOptions lo;
    lo.path = dir_.str() + "/eventstore";
    lo.sync = false;
    log_ = es::OpenLmdbEventStore(lo).value();
    registry_ = std::make_unique<engine::WorkflowRegistry>(*log_, clock_);
    ASSERT_OK(registry_->LoadLogAndDirectory(std::string(NEXTIER_SOURCE_DIR) + "/workflows"));
    pj::ReadModelOptions ro;
    ro.path = dir_.str() + "/projections";
    ro.sync = false;
    models_ = pj::ReadModelStore::Open(ro).value();
    index_ = pj::LeadIndexProjection::Open(*models_).value();
    files_ = pj::FilesProjection::Open(*models_).value();
    leads_ = pj::LeadsProjection::Open(*models_, log_->keys()).value();
    runner_ = std::make_unique<pj::ProjectionRunner>(*log_, *models_);
    ASSERT_OK(runner_->Add(*index_));
    ASSERT_OK(runner_->Add(*files_));
    ASSERT_OK(runner_->Add(*leads_));
    hub_ = std::make_unique<DataHub>(*log_, clock_, *registry_, *runner_, *index_);
  }

  // Feeds `csv` in small chunks (so records straddle chunks) and finishes.
  ImportResult Import(const std::string& csv, ImportOptions options = {}) {
    if (options.name.empty()) options.name = "leads.csv";
    auto job = hub_->StartImport(std::move(options));
    EXPECT_OK(job);
    if (!job.ok()) return {};
    for (size_t at = 0; at < csv.size(); at += 7) {
      if (!(*job)->Feed(std::string_view(csv).substr(at, 7)).ok()) break;
    }
    auto r = (*job)->Finish();
    EXPECT_OK(runner_->CatchUp());
    return r;
  }

  std::vector<StoredEvent> Events() {
    std::vector<StoredEvent> out;
    EXPECT_OK(log_->ReadAll(1, 1u << 30, [&](const es::EventView& ev) {
      StoredEvent e;
      e.stream = ev.event().getStreamId().cStr();
      e.type = ev.event().getType().cStr();
      if (ev.event().getPayload().isDuplicateFound()) {
        auto d = ev.event().getPayload().getDuplicateFound();
        e.matched_lead = d.getMatchedLeadId().cStr();
        e.matched_by = d.getMatchedBy().cStr();
        e.row = d.getRow();
      }
      if (e.stream.rfind("workflow-", 0) != 0) out.push_back(std::move(e));
      return true;
    }));
    return out;
  }
  std::vector<StoredEvent> EventsOfType(const std::string& type) {
    std::vector<StoredEvent> out;
    for (auto& e : Events()) {
      if (e.type == type) out.push_back(e);
    }
    return out;
  }

  nextier::testing::TempDir dir_;
  engine::SimulatedClock clock_{1'795'000'000'000'000};
  std::unique_ptr<es::EventStore> log_;
  std::unique_ptr<engine::WorkflowRegistry> registry_;
  std::unique_ptr<pj::ReadModelStore> models_;
  std::unique_ptr<pj::LeadIndexProjection> index_;
  std::unique_ptr<pj::FilesProjection> files_;
  std::unique_ptr<pj::LeadsProjection> leads_;
  std::unique_ptr<pj::ProjectionRunner> runner_;
  std::unique_ptr<DataHub> hub_;
};

TEST_F(DataHubTest, ImportsEachRowAsALeadWithSealedPersonalFields) {
  const auto r =
      Import(std::string(kUsBizHeader) +
             UsBizRow("Acme Realty", "62701", "(217) 555-0142", "JOHN", "mcdonald", "Owner",
                      "John@Acme.com") +
             UsBizRow("Bravo Homes", "2134", "217.555.0199", "Ann", "Lee", "Manager", ""));
  ASSERT_EQ(r.status, "done") << r.failure;
  EXPECT_EQ(r.source, "usbizdata");
  EXPECT_EQ(r.counts.rows, 2u);
  EXPECT_EQ(r.counts.imported, 2u);
  EXPECT_EQ(r.counts.duplicates, 0u);
  EXPECT_EQ(r.counts.rejected, 0u);

  auto lead = leads_->Get(r.file_id + "-2");
  ASSERT_OK(lead);
  EXPECT_EQ(lead->state, "raw");
  EXPECT_EQ(lead->first_name, "John");
  EXPECT_EQ(lead->last_name, "McDonald");
  EXPECT_EQ(lead->company, "Acme Realty");
  ASSERT_EQ(lead->phones.size(), 1u);
  EXPECT_EQ(lead->phones[0], "+12175550142");
  EXPECT_EQ(lead->email, "john@acme.com");
  EXPECT_EQ(lead->file_id, r.file_id);
  EXPECT_EQ(lead->row, 2u);
  EXPECT_EQ(lead->role_score, 100);
  auto second = leads_->Get(r.file_id + "-3");
  ASSERT_OK(second);
  EXPECT_EQ(second->zip, "02134");

  // The log holds no plaintext personal data.
  bool plaintext = false;
  ASSERT_OK(log_->ReadAll(1, 1u << 30, [&](const es::EventView& ev) {
    plaintext = plaintext || ev.body().find("mcdonald") != std::string_view::npos ||
                ev.body().find("john@acme.com") != std::string_view::npos ||
                ev.body().find("+12175550142") != std::string_view::npos;
    return true;
  }));
  EXPECT_FALSE(plaintext);
}

TEST_F(DataHubTest, DuplicatePhoneWithinTheFileIsRecordedWithTheMatchedLead) {
  const auto r =
      Import(std::string(kUsBizHeader) +
             UsBizRow("Acme Realty", "62701", "(217) 555-0142", "John", "Smith", "Owner", "") +
             UsBizRow("Other Co", "10001", "+1 217-555-0142", "Jane", "Doe", "CEO", ""));
  ASSERT_EQ(r.status, "done");
  EXPECT_EQ(r.counts.imported, 1u);
  EXPECT_EQ(r.counts.duplicates, 1u);
  auto dups = EventsOfType("DuplicateFound");
  ASSERT_EQ(dups.size(), 1u);
  EXPECT_EQ(dups[0].stream, "file-" + r.file_id);
  EXPECT_EQ(dups[0].row, 3u);
  EXPECT_EQ(dups[0].matched_lead, r.file_id + "-2");
  EXPECT_EQ(dups[0].matched_by, "phone");
  EXPECT_FALSE(leads_->Get(r.file_id + "-3").ok());
}

// Enough rows for the in-file dedupe table to outgrow its first allocations and pass the size
// from which it is mapped directly (and a second file, whose table starts small again): a
// duplicate far from its original is still found.
TEST_F(DataHubTest, DuplicatesAreFoundWhenTheDedupeTableGrows) {
  constexpr int kRows = 32000;
  // Distinct leads over four area codes; the last row repeats the first row's phone, written
  // another way, under another name.
  auto file = [&](const std::array<const char*, 4>& areas, const std::string& tag) {
    std::string csv(kUsBizHeader);
    for (int i = 0; i < kRows; ++i) {
      char phone[32];
      std::snprintf(phone, sizeof phone, "(%s) 555-%04d", areas[i / 10000], i % 10000);
      csv += UsBizRow(tag + " Company " + std::to_string(i), "62701", phone, "First", "Last",
                      "Owner", tag + std::to_string(i) + "@example.com");
    }
    csv += UsBizRow("Elsewhere", "10001", std::string("+1 ") + areas[0] + " 555 0000", "Other",
                    "Person", "CEO", "");
    return csv;
  };
  const std::string files[] = {file({"217", "312", "415", "646"}, "a"),
                               file({"702", "713", "808", "919"}, "b")};
  for (const std::string& csv : files) {
    SCOPED_TRACE(csv.substr(csv.size() - 40));
    ImportOptions options;
    options.name = "big.csv";
    auto job = hub_->StartImport(std::move(options));
    ASSERT_OK(job);
    for (size_t at = 0; at < csv.size(); at += 64 << 10) {
      ASSERT_OK((*job)->Feed(std::string_view(csv).substr(at, 64 << 10)));
    }
    const auto r = (*job)->Finish();
    ASSERT_EQ(r.status, "done") << r.failure;
    EXPECT_EQ(r.counts.imported, static_cast<uint64_t>(kRows));
    EXPECT_EQ(r.counts.duplicates, 1u);
    ASSERT_OK(runner_->CatchUp());
    auto dups = EventsOfType("DuplicateFound");
    ASSERT_FALSE(dups.empty());
    EXPECT_EQ(dups.back().row, static_cast<uint64_t>(kRows) + 2);
    EXPECT_EQ(dups.back().matched_lead, r.file_id + "-2");
    EXPECT_EQ(dups.back().matched_by, "phone");
  }
}

TEST_F(DataHubTest, DuplicateEmailWithinTheFileIsFound) {
  const auto r = Import(std::string(kUsBizHeader) +
                        UsBizRow("Acme", "62701", "", "John", "Smith", "Owner", "JS@acme.com") +
                        UsBizRow("Acme 2", "62702", "", "Jon", "Smyth", "Owner", " js@ACME.com"));
  ASSERT_EQ(r.status, "done");
  EXPECT_EQ(r.counts.imported, 1u);
  auto dups = EventsOfType("DuplicateFound");
  ASSERT_EQ(dups.size(), 1u);
  EXPECT_EQ(dups[0].matched_by, "email");
  EXPECT_EQ(dups[0].matched_lead, r.file_id + "-2");
}

TEST_F(DataHubTest, DuplicateNameCompanyZipWithinTheFileIsFound) {
  const auto r =
      Import(std::string(kUsBizHeader) +
             UsBizRow("Acme Realty", "62701", "", "John", "Smith", "Owner", "") +
             UsBizRow("ACME REALTY", "62701", "2175550177", "JOHN", "SMITH", "Owner", "") +
             UsBizRow("Acme Realty", "62702", "", "John", "Smith", "Owner", ""));  // other zip
  ASSERT_EQ(r.status, "done");
  EXPECT_EQ(r.counts.imported, 2u);
  auto dups = EventsOfType("DuplicateFound");
  ASSERT_EQ(dups.size(), 1u);
  EXPECT_EQ(dups[0].row, 3u);
  EXPECT_EQ(dups[0].matched_by, "name_company_zip");
}

TEST_F(DataHubTest, DuplicatesOfStoredLeadsAreFoundByEveryRule) {
  const auto first = Import(std::string(kUsBizHeader) +
                            UsBizRow("Acme", "62701", "2175550101", "Amy", "Adams", "Owner", "") +
                            UsBizRow("Bolt", "62701", "", "Bob", "Brown", "Owner", "bob@bolt.com") +
                            UsBizRow("Cask", "62701", "", "Cy", "Cole", "Owner", ""));
  ASSERT_EQ(first.counts.imported, 3u);
  const auto second = Import(std::string(kUsBizHeader) +
                             UsBizRow("Zed", "90210", "217-555-0101", "Zoe", "Zane", "Owner", "") +
                             UsBizRow("Yak", "90210", "", "Yul", "Yee", "Owner", "BOB@bolt.com") +
                             UsBizRow("CASK", "62701", "", "cy", "cole", "Owner", "") +
                             UsBizRow("New", "90210", "2175550999", "Nia", "New", "Owner", ""));
  ASSERT_EQ(second.status, "done");
  EXPECT_EQ(second.counts.imported, 1u);
  EXPECT_EQ(second.counts.duplicates, 3u);
  std::map<uint64_t, StoredEvent> by_row;
  for (auto& d : EventsOfType("DuplicateFound")) by_row[d.row] = d;
  ASSERT_EQ(by_row.size(), 3u);
  EXPECT_EQ(by_row[2].matched_lead, first.file_id + "-2");
  EXPECT_EQ(by_row[2].matched_by, "phone");
  EXPECT_EQ(by_row[3].matched_lead, first.file_id + "-3");
  EXPECT_EQ(by_row[3].matched_by, "email");
  EXPECT_EQ(by_row[4].matched_lead, first.file_id + "-4");
  EXPECT_EQ(by_row[4].matched_by, "name_company_zip");
}

TEST_F(DataHubTest, TheSameFileTwiceImportsNothingNew) {
  std::string csv = kUsBizHeader;
  for (int i = 0; i < 30; ++i) {
    csv += UsBizRow("Co " + std::to_string(i), "62701", "21755501" + std::to_string(10 + i),
                    "First", "Last" + std::to_string(i), "Owner", "");
  }
  csv += "broken,row\n";
  ImportOptions small;
  small.batch_rows = 7;
  const auto first = Import(csv, small);
  ASSERT_EQ(first.status, "done");
  EXPECT_EQ(first.counts.imported, 30u);
  EXPECT_EQ(first.counts.rejected, 1u);
  const auto again = Import(csv, small);
  ASSERT_EQ(again.status, "done");
  EXPECT_EQ(again.counts.rows, 31u);
  EXPECT_EQ(again.counts.imported, 0u);
  EXPECT_EQ(again.counts.duplicates, 30u);
  EXPECT_EQ(again.counts.rejected, 1u);
  auto list = leads_->List({}, 1000, "");
  ASSERT_OK(list);
  EXPECT_EQ(list->items.size(), 30u);
}

TEST_F(DataHubTest, EntityDetectionLooksAtTheOwnerNeverTheCompany) {
  const auto r = Import(
      std::string(kUsBizHeader) +
      UsBizRow("Stone's Insurance Agency LLC", "62701", "2175550101", "Sara", "Stone", "Owner",
               "") +
      UsBizRow("Stone Holdings", "62701", "2175550102", "Stone Family", "Trust", "Owner", "") +
      UsBizRow("Church Realty", "62701", "2175550103", "Sara", "Church", "Owner", ""));
  ASSERT_EQ(r.status, "done");
  EXPECT_EQ(r.counts.imported, 3u);
  EXPECT_EQ(r.counts.entities, 1u);
  EXPECT_FALSE(leads_->Get(r.file_id + "-2")->is_entity);
  EXPECT_TRUE(leads_->Get(r.file_id + "-3")->is_entity);
  EXPECT_FALSE(leads_->Get(r.file_id + "-4")->is_entity);

  const auto owners = Import(
      "Owner Name,Mailing Address,Mailing City,Mailing State,Mailing Zip,APN\n"
      "STONE FAMILY TRUST,1 Oak St,Austin,TX,78701,123-45\n"
      "SMITH JOHN & MARY,2 Oak St,Austin,TX,78701,123-46\n");
  ASSERT_EQ(owners.status, "done") << owners.failure;
  EXPECT_EQ(owners.source, "property");
  EXPECT_EQ(owners.counts.entities, 1u);
  EXPECT_TRUE(leads_->Get(owners.file_id + "-2")->is_entity);
  auto smith = leads_->Get(owners.file_id + "-3");
  ASSERT_OK(smith);
  EXPECT_FALSE(smith->is_entity);
  EXPECT_EQ(smith->first_name, "John");
  EXPECT_EQ(smith->last_name, "Smith");
}

TEST_F(DataHubTest, RoleScoresComeFromTheWorkflowTable) {
  const char* titles[] = {"Owner/CEO",      "V.P. Sales", "President",
                          "Office Manager", "Assistant",  "Chief Executive Officer",
                          "Founder"};
  const int scores[] = {100, 75, 85, 50, 10, 90, 100};
  std::string csv = kUsBizHeader;
  for (int i = 0; i < 7; ++i) {
    csv += UsBizRow("Co", "6270" + std::to_string(i), "21755502" + std::to_string(10 + i), "A",
                    "B" + std::to_string(i), titles[i], "");
  }
  const auto r = Import(csv);
  ASSERT_EQ(r.counts.imported, 7u);
  for (int i = 0; i < 7; ++i) {
    EXPECT_EQ(leads_->Get(r.file_id + "-" + std::to_string(i + 2))->role_score, scores[i])
        << titles[i];
  }
}

TEST_F(DataHubTest, RowErrorsAreRejectedWithTheirRowNumbers) {
  const auto r = Import(
      "name,phone,email,zip\n"
      "John Smith,2175550101,,62701\n"
      "too,few\n"
      ",,,62701\n"
      "\"Ann \"x\" Lee\",2175550102,,62701\n"
      ",not a phone,not an email,\n"
      "Bea Bell,,,62701\n");
  ASSERT_EQ(r.status, "done") << r.failure;
  EXPECT_EQ(r.counts.rows, 6u);
  EXPECT_EQ(r.counts.imported, 2u);
  EXPECT_EQ(r.counts.rejected, 4u);
  std::vector<uint64_t> rows;
  for (const auto& [row, reason] : r.errors) {
    rows.push_back(row);
    EXPECT_FALSE(reason.empty());
  }
  EXPECT_EQ(rows, (std::vector<uint64_t>{3, 4, 5, 6}));
  auto file = files_->Get(r.file_id);
  ASSERT_OK(file);
  ASSERT_EQ(file->errors.size(), 4u);
  EXPECT_EQ(file->errors[0].row, 3u);
  EXPECT_NE(file->errors[0].reason.find("field"), std::string::npos) << file->errors[0].reason;
}

TEST_F(DataHubTest, ANonCsvFileFailsWithAReasonAndStoresOnlyItsFileStream) {
  std::string binary = "PK\x03\x04";
  binary += std::string(200, '\0');
  const auto r = Import(binary);
  EXPECT_EQ(r.status, "failed");
  EXPECT_TRUE(r.invalid_file);
  EXPECT_FALSE(r.failure.empty());
  auto events = Events();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].type, "FileUploaded");
  EXPECT_EQ(events[1].type, "FileFailed");
  EXPECT_EQ(events[1].stream, "file-" + r.file_id);
  auto file = files_->Get(r.file_id);
  ASSERT_OK(file);
  EXPECT_EQ(file->status, "failed");
  EXPECT_EQ(file->failure, r.failure);
  EXPECT_EQ(file->name, "leads.csv");

  const auto empty = Import("");
  EXPECT_EQ(empty.status, "failed");
  const auto header_only = Import("name,phone\n");
  EXPECT_EQ(header_only.status, "failed");
  EXPECT_TRUE(header_only.invalid_file);
  EXPECT_TRUE(EventsOfType("LeadImported").empty());
}

TEST_F(DataHubTest, ABadMappingOverrideFailsTheFile) {
  ImportOptions o;
  o.overrides.push_back({"Nope", "firstName"});
  const auto r = Import("name,phone\nJohn,2175550101\n", o);
  EXPECT_EQ(r.status, "failed");
  EXPECT_TRUE(r.invalid_file);
  EXPECT_TRUE(EventsOfType("LeadImported").empty());
}

TEST_F(DataHubTest, AnExplicitSourceAndMappingAreHonoured) {
  ImportOptions o;
  o.source = LeadSource::kGeneric;
  o.overrides.push_back({"Who", "fullName"});
  o.overrides.push_back({"Tel", "phones"});
  const auto r = Import("Who,Tel,Extra\nJane Roe,2175550101,x\n", o);
  ASSERT_EQ(r.status, "done") << r.failure;
  EXPECT_EQ(r.source, "generic");
  std::map<std::string, std::string> mapping(r.mapping.begin(), r.mapping.end());
  EXPECT_EQ(mapping["Who"], "fullName");
  EXPECT_EQ(mapping["Tel"], "phones");
  EXPECT_EQ(mapping["Extra"], "attribute");
  EXPECT_EQ(leads_->Get(r.file_id + "-2")->last_name, "Roe");
}

TEST_F(DataHubTest, BatchesAppendProgressAndTheFileReadModelFollows) {
  std::string csv = "name,phone\n";
  for (int i = 0; i < 25; ++i) {
    csv += "Person " + std::string(1, static_cast<char>('A' + i)) + ",21755503" +
           std::to_string(10 + i) + "\n";
  }
  csv += "Person A,2175550310\n";  // a duplicate of row 2
  ImportOptions o;
  o.batch_rows = 10;
  o.name = "people.csv";
  const auto r = Import(csv, o);
  ASSERT_EQ(r.status, "done");
  EXPECT_EQ(EventsOfType("FileProgressed").size(), 2u);
  EXPECT_EQ(EventsOfType("FileUploaded").size(), 1u);
  EXPECT_EQ(EventsOfType("FileFinished").size(), 1u);
  auto file = files_->Get(r.file_id);
  ASSERT_OK(file);
  EXPECT_EQ(file->status, "done");
  EXPECT_EQ(file->name, "people.csv");
  EXPECT_EQ(file->source, "generic");
  EXPECT_EQ(file->rows, 26u);
  EXPECT_EQ(file->imported, 25u);
  EXPECT_EQ(file->duplicates, 1u);
  EXPECT_EQ(file->rejected, 0u);
  EXPECT_GT(file->finished_at, 0);
  EXPECT_EQ(file->created_at, clock_.Now());
  ASSERT_EQ(file->mapping.size(), 2u);
  EXPECT_EQ(file->mapping[0].first, "name");
  EXPECT_EQ(file->mapping[0].second, "fullName");

  // Lists page with an opaque cursor.
  auto page = leads_->List({}, 10, "");
  ASSERT_OK(page);
  EXPECT_EQ(page->items.size(), 10u);
  ASSERT_TRUE(page->next);
  auto rest = leads_->List({}, 100, *page->next);
  ASSERT_OK(rest);
  EXPECT_EQ(rest->items.size(), 15u);
  EXPECT_FALSE(rest->next);
  auto raw = leads_->List({"raw", ""}, 100, "");
  EXPECT_EQ(raw->items.size(), 25u);
  EXPECT_TRUE(leads_->List({"enriched", ""}, 100, "")->items.empty());
  EXPECT_FALSE(leads_->List({}, 10, "zz").ok());
  auto files = files_->List(10, "");
  ASSERT_OK(files);
  EXPECT_EQ(files->items.size(), 1u);
}

TEST_F(DataHubTest, AForgottenLeadReadsWithoutPersonalFields) {
  const auto r = Import("name,phone\nJohn Smith,2175550101\n");
  const std::string stream = "lead-" + r.file_id + "-2";
  ASSERT_OK(log_->keys().Forget(stream));
  std::vector<es::NewEvent> events(1);
  events[0].builder().getPayload().initLeadForgotten().setReason("request");
  ASSERT_OK(log_->Append(stream, es::ExpectedVersion::Any(), std::move(events)));
  ASSERT_OK(runner_->CatchUp());
  auto lead = leads_->Get(r.file_id + "-2");
  ASSERT_OK(lead);
  EXPECT_TRUE(lead->forgotten);
  EXPECT_EQ(lead->first_name, "");
  EXPECT_TRUE(lead->phones.empty());
}

TEST_F(DataHubTest, AnUnknownWorkflowIsRefusedBeforeAnythingIsStored) {
  ImportOptions o;
  o.workflow_id = "nope";
  auto job = hub_->StartImport(o);
  ASSERT_FALSE(job.ok());
  EXPECT_EQ(job.status().field(), "workflow");
  EXPECT_TRUE(Events().empty());
}

TEST_F(DataHubTest, NameCompanyZipKeyNormalises) {
  CleanedLead a;
  a.first_name = "John";
  a.last_name = "O'Brien";
  a.company = "Acme, Inc.";
  a.zip = "02134";
  EXPECT_EQ(NameCompanyZipKey(a), "johnobrien|acmeinc|02134");
  a.zip.clear();
  EXPECT_EQ(NameCompanyZipKey(a), "");
}

}  // namespace
}  // namespace nextier::adapters

namespace nextier::adapters {
namespace {

TEST_F(DataHubTest, OneImportAtATimeAndANonWaitingStartIsAConflict) {
  auto first = hub_->StartImport({});
  ASSERT_OK(first);
  auto second = hub_->StartImport({}, /*wait=*/false);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kConflict);
  ASSERT_OK((*first)->Feed("name,phone\nJo Ann,2175550101\n"));
  EXPECT_EQ((*first)->Finish().status, "done");
  auto third = hub_->StartImport({}, /*wait=*/false);
  ASSERT_OK(third);
  (*third)->Abort("not needed");
}

TEST_F(DataHubTest, AnAbortedImportKeepsWhatWasStoredAndFailsTheFile) {
  ImportOptions o;
  o.batch_rows = 100;
  auto job = hub_->StartImport(o);
  ASSERT_OK(job);
  std::string csv = "name,phone\n";
  for (int i = 0; i < 250; ++i) {
    csv += "Person Number" + std::to_string(i) + ",212555" + std::to_string(1000 + i) + "\n";
  }
  ASSERT_OK((*job)->Feed(csv));
  const auto r = (*job)->Abort("the upload connection closed");
  EXPECT_EQ(r.status, "failed");
  EXPECT_FALSE(r.invalid_file);
  EXPECT_EQ(r.counts.imported, 200u);  // two whole batches were stored; the rest was not
  ASSERT_OK(runner_->CatchUp());
  auto file = files_->Get(r.file_id);
  ASSERT_OK(file);
  EXPECT_EQ(file->status, "failed");
  EXPECT_EQ(file->imported, 200u);
  EXPECT_EQ(file->failure, "the upload connection closed");
  EXPECT_EQ(EventsOfType("LeadImported").size(), 200u);
}

}  // namespace
}  // namespace nextier::adapters
