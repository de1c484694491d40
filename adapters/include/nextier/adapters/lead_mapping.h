// Lead mapping: which column of an uploaded CSV holds which lead field.
//
// Headers are recognised by their letters and digits only, compared case-insensitively, so
// "Contact  First", "contact_first", "CONTACT-FIRST" and "# Employees" / "employees" are the
// same header. Four kinds of file are known:
//  - usbizdata: Company Name, Address, City, State, Zip, County, Phone, Contact First,
//    Contact Last, Title, Direct Phone, Email, Website, Employee Range, Annual Sales, SIC Code,
//    Industry.
//  - apollo: First Name, Last Name, Title, Company, Email, Mobile Phone, Work Direct Phone,
//    Corporate Phone, City, State, # Employees, Industry, Website, Person Linkedin Url.
//  - property (owner lists): Owner Name or Owner 1 First Name / Owner 1 Last Name, Mailing
//    Address, Mailing City / State / Zip, Property Address, APN.
//  - generic: name, phone, email, address, city, state, zip (and the other common names).
// The source is detected from the headers unless given. One table of header names serves all
// sources; the source changes only what is ambiguous (a property list's bare "Address" is the
// property's address, elsewhere the street). An explicit mapping (header -> field name) beats
// the table. Columns mapped to nothing are kept as attributes under their header.
//
// Most fields take one column. When several columns name the same field, the one ranked first
// wins ("Mailing City" before "City") and the rest are kept as attributes. Phones take every
// phone column, ordered by rank: mobile, then direct, then plain/home/work, then
// corporate/main, then other.
//
// MapHeaders runs once per file; MapRow runs on every row and only copies strings.
//
// Thread-safety: pure functions on values; a LeadMapping may be shared between threads.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "nextier/common/status.h"

namespace nextier::adapters {

enum class LeadSource : uint8_t { kUsBizData, kApollo, kProperty, kGeneric };

// "usbizdata", "apollo", "property", "generic".
std::string_view LeadSourceName(LeadSource source);
// The inverse of LeadSourceName (any case); nullopt for anything else.
std::optional<LeadSource> ParseLeadSource(std::string_view name);

enum class LeadField : uint8_t {
  kAttribute,  // not a lead field: kept in RawLead::attributes under its header
  kFirstName,
  kLastName,
  kFullName,
  kCompany,
  kTitle,
  kPhones,
  kEmail,
  kStreet,
  kCity,
  kState,
  kZip,
  kCounty,
  kWebsite,
  kIndustry,
  kEmployees,
  kAnnualSales,
  kSicCode,
  kLinkedin,
  kMailingAddress,
  kPropertyAddress,
  kApn,
};

// The field's name in reports and explicit mappings: "attribute", "firstName", "lastName",
// "fullName", "company", "title", "phones", "email", "street", "city", "state", "zip",
// "county", "website", "industry", "employees", "annualSales", "sicCode", "linkedin",
// "mailingAddress", "propertyAddress", "apn".
std::string_view LeadFieldName(LeadField field);
// The inverse of LeadFieldName (exact spelling; "phone" is accepted for "phones").
std::optional<LeadField> ParseLeadField(std::string_view name);

// One column of the file and what it feeds.
struct ColumnMapping {
  std::string header;  // as written in the file
  LeadField field = LeadField::kAttribute;
  // For kPhones: the column's place among the phone columns (lower is tried first).
  int phone_rank = 0;

  bool operator==(const ColumnMapping&) const = default;
};

struct LeadMapping {
  LeadSource source = LeadSource::kGeneric;
  std::vector<ColumnMapping> columns;  // one per header, in file order
  // Indexes into `columns` of the phone columns, in phone_rank order (ties: file order).
  std::vector<size_t> phone_columns;
};

// A caller's choice of field for one header (matched like the built-in names).
struct HeaderOverride {
  std::string header;
  std::string field;  // a LeadFieldName
};

struct MappingOptions {
  std::optional<LeadSource> source;  // nullopt: detect from the headers
  std::vector<HeaderOverride> overrides;
};

// The source whose distinctive headers the file has most of; generic when none stands out.
LeadSource DetectLeadSource(std::span<const std::string_view> headers);

// The mapping for a file with these headers. InvalidArgument (with field "mapping") when an
// override names an unknown field or a header the file does not have.
Result<LeadMapping> MapHeaders(std::span<const std::string_view> headers,
                               const MappingOptions& options = {});
Result<LeadMapping> MapHeaders(std::span<const std::string> headers,
                               const MappingOptions& options = {});

// The named raw values of one row, as written in the file (cleaning comes later).
struct RawLead {
  LeadSource source = LeadSource::kGeneric;  // tells CleanLead how full names are ordered
  std::string first_name;
  std::string last_name;
  std::string full_name;
  std::string company;
  std::string title;
  std::vector<std::string> phones;  // non-empty phone cells in priority order
  std::string email;
  std::string street;
  std::string city;
  std::string state;
  std::string zip;
  std::string county;
  std::string website;
  std::string industry;
  std::string employees;
  std::string annual_sales;
  std::string sic_code;
  std::string linkedin;
  std::string mailing_address;
  std::string property_address;
  std::string apn;
  // Unmapped columns with a non-blank value: {header, value}, in file order.
  std::vector<std::pair<std::string, std::string>> attributes;
};

// The values of one record under `mapping`. Fields beyond the header's count are ignored and
// missing ones read as empty (the CSV reader already rejects ragged rows).
RawLead MapRow(const LeadMapping& mapping, std::span<const std::string_view> fields);
RawLead MapRow(const LeadMapping& mapping, std::span<const std::string> fields);

}  // namespace nextier::adapters
