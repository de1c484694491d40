#include "nextier/adapters/lead_mapping.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "testing/testing.h"

namespace nextier::adapters {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

const std::vector<std::string> kUsBizData = {
    "Company Name", "Address",        "City",         "State",    "Zip",          "County",
    "Phone",        "Contact First",  "Contact Last", "Title",    "Direct Phone", "Email",
    "Website",      "Employee Range", "Annual Sales", "SIC Code", "Industry"};

const std::vector<std::string> kApollo = {
    "First Name",        "Last Name",          "Title", "Company", "Email",       "Mobile Phone",
    "Work Direct Phone", "Corporate Phone",    "City",  "State",   "# Employees", "Industry",
    "Website",           "Person Linkedin Url"};

// The field each header was mapped to, by header.
std::vector<std::pair<std::string, std::string>> Fields(const LeadMapping& mapping) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const ColumnMapping& c : mapping.columns) {
    out.emplace_back(c.header, std::string(LeadFieldName(c.field)));
  }
  return out;
}

std::vector<std::string> PhoneHeaders(const LeadMapping& mapping) {
  std::vector<std::string> out;
  for (size_t i : mapping.phone_columns) out.push_back(mapping.columns[i].header);
  return out;
}

LeadMapping Map(const std::vector<std::string>& headers, const MappingOptions& options = {}) {
  Result<LeadMapping> mapping = MapHeaders(headers, options);
  EXPECT_OK(mapping);
  return mapping.ok() ? std::move(mapping).value() : LeadMapping{};
}

TEST(DetectLeadSourceTest, RecognisesUsBizDataHeaders) {
  const LeadMapping m = Map(kUsBizData);
  EXPECT_EQ(m.source, LeadSource::kUsBizData);
  EXPECT_THAT(Fields(m),
              ElementsAre(Pair("Company Name", "company"), Pair("Address", "street"),
                          Pair("City", "city"), Pair("State", "state"), Pair("Zip", "zip"),
                          Pair("County", "county"), Pair("Phone", "phones"),
                          Pair("Contact First", "firstName"), Pair("Contact Last", "lastName"),
                          Pair("Title", "title"), Pair("Direct Phone", "phones"),
                          Pair("Email", "email"), Pair("Website", "website"),
                          Pair("Employee Range", "employees"), Pair("Annual Sales", "annualSales"),
                          Pair("SIC Code", "sicCode"), Pair("Industry", "industry")));
  // The contact's direct line is tried before the company's main number.
  EXPECT_THAT(PhoneHeaders(m), ElementsAre("Direct Phone", "Phone"));
}

TEST(DetectLeadSourceTest, RecognisesApolloHeaders) {
  const LeadMapping m = Map(kApollo);
  EXPECT_EQ(m.source, LeadSource::kApollo);
  EXPECT_THAT(
      Fields(m),
      ElementsAre(Pair("First Name", "firstName"), Pair("Last Name", "lastName"),
                  Pair("Title", "title"), Pair("Company", "company"), Pair("Email", "email"),
                  Pair("Mobile Phone", "phones"), Pair("Work Direct Phone", "phones"),
                  Pair("Corporate Phone", "phones"), Pair("City", "city"), Pair("State", "state"),
                  Pair("# Employees", "employees"), Pair("Industry", "industry"),
                  Pair("Website", "website"), Pair("Person Linkedin Url", "linkedin")));
  EXPECT_THAT(PhoneHeaders(m), ElementsAre("Mobile Phone", "Work Direct Phone", "Corporate Phone"));
}

TEST(DetectLeadSourceTest, PhonePriorityDoesNotDependOnColumnOrder) {
  const LeadMapping m = Map({"Corporate Phone", "Work Direct Phone", "First Name", "Mobile Phone",
                             "Person Linkedin Url"});
  EXPECT_THAT(PhoneHeaders(m), ElementsAre("Mobile Phone", "Work Direct Phone", "Corporate Phone"));
  EXPECT_EQ(m.columns[0].phone_rank, 50);
  EXPECT_EQ(m.columns[3].phone_rank, 10);
}

TEST(DetectLeadSourceTest, RecognisesPropertyListWithOwnerName) {
  const LeadMapping m = Map({"Owner Name", "Mailing Address", "Mailing City", "Mailing State",
                             "Mailing Zip", "Property Address", "APN"});
  EXPECT_EQ(m.source, LeadSource::kProperty);
  EXPECT_THAT(Fields(m),
              ElementsAre(Pair("Owner Name", "fullName"), Pair("Mailing Address", "mailingAddress"),
                          Pair("Mailing City", "city"), Pair("Mailing State", "state"),
                          Pair("Mailing Zip", "zip"), Pair("Property Address", "propertyAddress"),
                          Pair("APN", "apn")));
}

TEST(DetectLeadSourceTest, RecognisesPropertyListWithSplitOwnerNames) {
  const LeadMapping m = Map({"APN", "Owner 1 First Name", "Owner 1 Last Name", "Owner 2 First Name",
                             "Address", "City", "State", "Zip", "Mailing Address", "Mailing City",
                             "Mailing State", "Mailing Zip Code", "Phone 1", "Phone 2"});
  EXPECT_EQ(m.source, LeadSource::kProperty);
  EXPECT_THAT(
      Fields(m),
      ElementsAre(Pair("APN", "apn"), Pair("Owner 1 First Name", "firstName"),
                  Pair("Owner 1 Last Name", "lastName"), Pair("Owner 2 First Name", "attribute"),
                  // On an owner list the bare address is the property's...
                  Pair("Address", "propertyAddress"),
                  // ...and the owner's mailing city, state and ZIP beat the property's.
                  Pair("City", "attribute"), Pair("State", "attribute"), Pair("Zip", "attribute"),
                  Pair("Mailing Address", "mailingAddress"), Pair("Mailing City", "city"),
                  Pair("Mailing State", "state"), Pair("Mailing Zip Code", "zip"),
                  Pair("Phone 1", "phones"), Pair("Phone 2", "phones")));
  EXPECT_THAT(PhoneHeaders(m), ElementsAre("Phone 1", "Phone 2"));
}

TEST(DetectLeadSourceTest, FallsBackToGenericForPlainHeaders) {
  const LeadMapping m = Map({"name", "phone", "email", "address", "city", "state", "zip"});
  EXPECT_EQ(m.source, LeadSource::kGeneric);
  EXPECT_THAT(Fields(m),
              ElementsAre(Pair("name", "fullName"), Pair("phone", "phones"), Pair("email", "email"),
                          Pair("address", "street"), Pair("city", "city"), Pair("state", "state"),
                          Pair("zip", "zip")));
}

TEST(DetectLeadSourceTest, OneWeakHintIsNotEnough) {
  // "Company Name" alone appears in many exports; it does not make a file USBizData.
  EXPECT_EQ(Map({"Company Name", "Phone", "Email"}).source, LeadSource::kGeneric);
  EXPECT_EQ(Map({}).source, LeadSource::kGeneric);
}

TEST(DetectLeadSourceTest, IgnoresCaseSpacingAndPunctuation) {
  const LeadMapping m = Map({"  COMPANY_NAME ", "contact-first", "Contact  Last", "direct phone",
                             "E-Mail", "sic code", "employee range", "ZIP"});
  EXPECT_EQ(m.source, LeadSource::kUsBizData);
  EXPECT_THAT(Fields(m),
              ElementsAre(Pair("  COMPANY_NAME ", "company"), Pair("contact-first", "firstName"),
                          Pair("Contact  Last", "lastName"), Pair("direct phone", "phones"),
                          Pair("E-Mail", "email"), Pair("sic code", "sicCode"),
                          Pair("employee range", "employees"), Pair("ZIP", "zip")));

  const LeadMapping apollo = Map({"first_name", "LAST NAME", "#employees", "PERSON LINKEDIN URL",
                                  "work_direct_phone", "Corporate  Phone"});
  EXPECT_EQ(apollo.source, LeadSource::kApollo);
  EXPECT_THAT(Fields(apollo),
              ElementsAre(Pair("first_name", "firstName"), Pair("LAST NAME", "lastName"),
                          Pair("#employees", "employees"), Pair("PERSON LINKEDIN URL", "linkedin"),
                          Pair("work_direct_phone", "phones"), Pair("Corporate  Phone", "phones")));

  EXPECT_EQ(Map({"owner  name", "MAILING_ADDRESS", "apn"}).source, LeadSource::kProperty);
}

TEST(MapHeadersTest, ExplicitSourceIsUsedAsGiven) {
  MappingOptions options;
  options.source = LeadSource::kProperty;
  const LeadMapping m = Map({"name", "address", "phone"}, options);
  EXPECT_EQ(m.source, LeadSource::kProperty);
  EXPECT_THAT(Fields(m), ElementsAre(Pair("name", "fullName"), Pair("address", "propertyAddress"),
                                     Pair("phone", "phones")));
}

TEST(MapHeadersTest, ExplicitMappingOverridesTheTable) {
  MappingOptions options;
  options.overrides = {{"Other Number", "phones"},
                       {"Person", "fullName"},
                       {"Phone", "attribute"},
                       {"Biz", "company"},
                       {"Company Name", "attribute"}};
  const LeadMapping m =
      Map({"Person", "Company Name", "Biz", "Phone", "Other Number", "Direct Phone", "Cell #"},
          options);
  EXPECT_THAT(Fields(m), ElementsAre(Pair("Person", "fullName"), Pair("Company Name", "attribute"),
                                     Pair("Biz", "company"), Pair("Phone", "attribute"),
                                     Pair("Other Number", "phones"), Pair("Direct Phone", "phones"),
                                     Pair("Cell #", "phones")));
  // A column made a phone without a rank of its own goes after the known phones.
  EXPECT_THAT(PhoneHeaders(m), ElementsAre("Cell #", "Direct Phone", "Other Number"));
}

TEST(MapHeadersTest, OverrideBeatsATableColumnForTheSameField) {
  MappingOptions options;
  options.overrides = {{"contact person", "fullName"}};
  const LeadMapping m = Map({"Name", "Contact Person"}, options);
  EXPECT_THAT(Fields(m),
              ElementsAre(Pair("Name", "attribute"), Pair("Contact Person", "fullName")));
}

TEST(MapHeadersTest, OverrideHeadersMatchLikeBuiltInOnes) {
  MappingOptions options;
  options.overrides = {{"cell_number_2", "phones"}};
  const LeadMapping m = Map({"Cell Number 2"}, options);
  EXPECT_THAT(Fields(m), ElementsAre(Pair("Cell Number 2", "phones")));
}

TEST(MapHeadersTest, RejectsOverrideWithUnknownField) {
  MappingOptions options;
  options.overrides = {{"Phone", "telephone"}};
  const std::vector<std::string> headers = {"Phone"};
  Result<LeadMapping> m = MapHeaders(headers, options);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(m.status().field(), "mapping");
  EXPECT_THAT(m.status().message(), HasSubstr("unknown field 'telephone'"));
}

TEST(MapHeadersTest, RejectsOverrideForMissingHeader) {
  MappingOptions options;
  options.overrides = {{"Cell", "phones"}};
  const std::vector<std::string> headers = {"Phone"};
  Result<LeadMapping> m = MapHeaders(headers, options);
  ASSERT_FALSE(m.ok());
  EXPECT_THAT(m.status().message(), HasSubstr("'Cell'"));
}

TEST(MapHeadersTest, SecondColumnForASingleFieldIsKeptAsAttribute) {
  const LeadMapping m = Map({"Email", "Email", "Work Email"});
  EXPECT_THAT(Fields(m), ElementsAre(Pair("Email", "email"), Pair("Email", "attribute"),
                                     Pair("Work Email", "attribute")));
}

TEST(MapRowTest, FillsNamedFieldsAndKeepsUnknownColumnsAsAttributes) {
  const std::vector<std::string> headers = {"Contact First", "Contact Last", "Company Name",
                                            "Phone",         "Direct Phone", "Email",
                                            "Fax",           "Notes",        "Zip"};
  Result<LeadMapping> m = MapHeaders(headers);
  ASSERT_OK(m);
  EXPECT_EQ(m->source, LeadSource::kUsBizData);
  const std::vector<std::string_view> row = {
      "JOHN",       "SMITH",        "Acme LLC", "212-555-0100", "(646) 555-0101",
      "j@acme.com", "212-555-0199", "  ",       "02134"};
  const RawLead lead = MapRow(*m, row);
  EXPECT_EQ(lead.source, LeadSource::kUsBizData);
  EXPECT_EQ(lead.first_name, "JOHN");
  EXPECT_EQ(lead.last_name, "SMITH");
  EXPECT_EQ(lead.company, "Acme LLC");
  EXPECT_THAT(lead.phones, ElementsAre("(646) 555-0101", "212-555-0100"));
  EXPECT_EQ(lead.email, "j@acme.com");
  EXPECT_EQ(lead.zip, "02134");
  // Unknown columns survive under their header; blank ones are not stored.
  EXPECT_THAT(lead.attributes, ElementsAre(Pair("Fax", "212-555-0199")));
}

TEST(MapRowTest, SkipsEmptyPhoneCellsAndToleratesShortRows) {
  const std::vector<std::string> headers = {"Mobile Phone", "Corporate Phone", "Email"};
  Result<LeadMapping> m = MapHeaders(headers);
  ASSERT_OK(m);
  const std::vector<std::string> row = {"", "+1 212 555 0100"};
  const RawLead lead = MapRow(*m, row);
  EXPECT_THAT(lead.phones, ElementsAre("+1 212 555 0100"));
  EXPECT_EQ(lead.email, "");
}

TEST(LeadFieldTest, NamesRoundTrip) {
  for (int i = 0; i <= static_cast<int>(LeadField::kApn); ++i) {
    const auto field = static_cast<LeadField>(i);
    EXPECT_EQ(ParseLeadField(LeadFieldName(field)), field) << LeadFieldName(field);
  }
  EXPECT_EQ(ParseLeadField("phone"), LeadField::kPhones);
  EXPECT_EQ(ParseLeadField("nope"), std::nullopt);
}

TEST(LeadSourceTest, NamesRoundTrip) {
  for (LeadSource s :
       {LeadSource::kUsBizData, LeadSource::kApollo, LeadSource::kProperty, LeadSource::kGeneric}) {
    EXPECT_EQ(ParseLeadSource(LeadSourceName(s)), s);
  }
  EXPECT_EQ(ParseLeadSource("USBizData"), LeadSource::kUsBizData);
  EXPECT_EQ(ParseLeadSource("zoominfo"), std::nullopt);
}

}  // namespace
}  // namespace nextier::adapters
