#include "nextier/adapters/lead_mapping.h"

#include <algorithm>
#include <array>
#include <limits>

namespace nextier::adapters {
namespace {

// A header reduced to what identifies it: ASCII letters lowercased, digits kept, every other
// ASCII byte dropped. Bytes of non-ASCII characters are kept so unrelated headers stay apart.
std::string HeaderKey(std::string_view header) {
  std::string key;
  key.reserve(header.size());
  for (char c : header) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 'A' && u <= 'Z') {
      key.push_back(static_cast<char>(u - 'A' + 'a'));
    } else if ((u >= 'a' && u <= 'z') || (u >= '0' && u <= '9') || u >= 0x80) {
      key.push_back(c);
    }
  }
  return key;
}

struct Alias {
  std::string_view key;  // a HeaderKey
  LeadField field;
  int rank;  // lower wins among columns of the same field; for phones, the order tried
};

constexpr Alias kAliases[] = {
    // Names. The owner/contact columns come before bare "name".
    {"contactfirst", LeadField::kFirstName, 0},
    {"contactfirstname", LeadField::kFirstName, 0},
    {"owner1firstname", LeadField::kFirstName, 0},
    {"owner1first", LeadField::kFirstName, 0},
    {"ownerfirstname", LeadField::kFirstName, 0},
    {"firstname", LeadField::kFirstName, 1},
    {"first", LeadField::kFirstName, 2},
    {"fname", LeadField::kFirstName, 2},
    {"givenname", LeadField::kFirstName, 2},
    {"contactlast", LeadField::kLastName, 0},
    {"contactlastname", LeadField::kLastName, 0},
    {"owner1lastname", LeadField::kLastName, 0},
    {"owner1last", LeadField::kLastName, 0},
    {"ownerlastname", LeadField::kLastName, 0},
    {"lastname", LeadField::kLastName, 1},
    {"last", LeadField::kLastName, 2},
    {"lname", LeadField::kLastName, 2},
    {"surname", LeadField::kLastName, 2},
    {"familyname", LeadField::kLastName, 2},
    {"ownername", LeadField::kFullName, 0},
    {"owner1name", LeadField::kFullName, 0},
    {"owner1fullname", LeadField::kFullName, 0},
    {"ownerfullname", LeadField::kFullName, 0},
    {"owner", LeadField::kFullName, 1},
    {"owner1", LeadField::kFullName, 1},
    {"fullname", LeadField::kFullName, 1},
    {"contactname", LeadField::kFullName, 1},
    {"personname", LeadField::kFullName, 1},
    {"name", LeadField::kFullName, 2},
    {"contact", LeadField::kFullName, 3},
    // Company and role.
    {"companyname", LeadField::kCompany, 0},
    {"company", LeadField::kCompany, 0},
    {"businessname", LeadField::kCompany, 0},
    {"business", LeadField::kCompany, 1},
    {"organization", LeadField::kCompany, 1},
    {"organisation", LeadField::kCompany, 1},
    {"accountname", LeadField::kCompany, 1},
    {"account", LeadField::kCompany, 2},
    {"employer", LeadField::kCompany, 2},
    {"title", LeadField::kTitle, 0},
    {"jobtitle", LeadField::kTitle, 0},
    {"contacttitle", LeadField::kTitle, 0},
    {"position", LeadField::kTitle, 1},
    {"role", LeadField::kTitle, 2},
    // Phones, by the order they are worth trying: a person's own line first.
    {"mobilephone", LeadField::kPhones, 10},
    {"mobile", LeadField::kPhones, 10},
    {"mobilenumber", LeadField::kPhones, 10},
    {"cellphone", LeadField::kPhones, 10},
    {"cell", LeadField::kPhones, 10},
    {"cellnumber", LeadField::kPhones, 10},
    {"cellular", LeadField::kPhones, 10},
    {"wireless", LeadField::kPhones, 10},
    {"workdirectphone", LeadField::kPhones, 20},
    {"directphone", LeadField::kPhones, 20},
    {"direct", LeadField::kPhones, 20},
    {"directdial", LeadField::kPhones, 20},
    {"directline", LeadField::kPhones, 20},
    {"contactphone", LeadField::kPhones, 20},
    {"phone", LeadField::kPhones, 30},
    {"phonenumber", LeadField::kPhones, 30},
    {"telephone", LeadField::kPhones, 30},
    {"telephonenumber", LeadField::kPhones, 30},
    {"tel", LeadField::kPhones, 30},
    {"primaryphone", LeadField::kPhones, 30},
    {"ownerphone", LeadField::kPhones, 30},
    {"phone1", LeadField::kPhones, 30},
    {"phone2", LeadField::kPhones, 31},
    {"phone3", LeadField::kPhones, 32},
    {"phone4", LeadField::kPhones, 33},
    {"phone5", LeadField::kPhones, 34},
    {"homephone", LeadField::kPhones, 35},
    {"workphone", LeadField::kPhones, 40},
    {"officephone", LeadField::kPhones, 40},
    {"businessphone", LeadField::kPhones, 40},
    {"corporatephone", LeadField::kPhones, 50},
    {"companyphone", LeadField::kPhones, 50},
    {"mainphone", LeadField::kPhones, 50},
    {"mainline", LeadField::kPhones, 50},
    {"main", LeadField::kPhones, 50},
    {"hqphone", LeadField::kPhones, 50},
    {"otherphone", LeadField::kPhones, 60},
    {"altphone", LeadField::kPhones, 60},
    {"alternatephone", LeadField::kPhones, 60},
    // Email.
    {"email", LeadField::kEmail, 0},
    {"emailaddress", LeadField::kEmail, 0},
    {"email1", LeadField::kEmail, 0},
    {"contactemail", LeadField::kEmail, 0},
    {"workemail", LeadField::kEmail, 1},
    {"personalemail", LeadField::kEmail, 2},
    // Location. A mailing address is where the person is; it beats a bare city/state/zip.
    {"streetaddress", LeadField::kStreet, 0},
    {"address", LeadField::kStreet, 1},
    {"street", LeadField::kStreet, 1},
    {"address1", LeadField::kStreet, 1},
    {"addressline1", LeadField::kStreet, 1},
    {"mailingcity", LeadField::kCity, 0},
    {"mailcity", LeadField::kCity, 0},
    {"city", LeadField::kCity, 1},
    {"town", LeadField::kCity, 2},
    {"propertycity", LeadField::kCity, 3},
    {"mailingstate", LeadField::kState, 0},
    {"mailstate", LeadField::kState, 0},
    {"state", LeadField::kState, 1},
    {"statecode", LeadField::kState, 1},
    {"st", LeadField::kState, 2},
    {"stateprovince", LeadField::kState, 2},
    {"province", LeadField::kState, 3},
    {"propertystate", LeadField::kState, 3},
    {"mailingzip", LeadField::kZip, 0},
    {"mailingzipcode", LeadField::kZip, 0},
    {"mailingpostalcode", LeadField::kZip, 0},
    {"mailzip", LeadField::kZip, 0},
    {"zip", LeadField::kZip, 1},
    {"zipcode", LeadField::kZip, 1},
    {"zip5", LeadField::kZip, 1},
    {"postalcode", LeadField::kZip, 1},
    {"postcode", LeadField::kZip, 2},
    {"propertyzip", LeadField::kZip, 3},
    {"propertyzipcode", LeadField::kZip, 3},
    {"county", LeadField::kCounty, 0},
    {"propertycounty", LeadField::kCounty, 1},
    {"mailingaddress", LeadField::kMailingAddress, 0},
    {"mailingaddress1", LeadField::kMailingAddress, 0},
    {"mailingstreet", LeadField::kMailingAddress, 0},
    {"mailaddress", LeadField::kMailingAddress, 0},
    {"owneraddress", LeadField::kMailingAddress, 1},
    {"propertyaddress", LeadField::kPropertyAddress, 0},
    {"propertystreet", LeadField::kPropertyAddress, 0},
    {"propertystreetaddress", LeadField::kPropertyAddress, 0},
    {"siteaddress", LeadField::kPropertyAddress, 0},
    {"situsaddress", LeadField::kPropertyAddress, 0},
    {"apn", LeadField::kApn, 0},
    {"parcelnumber", LeadField::kApn, 0},
    {"parcelid", LeadField::kApn, 0},
    {"apnparcelnumber", LeadField::kApn, 0},
    {"assessorparcelnumber", LeadField::kApn, 0},
    {"parcel", LeadField::kApn, 1},
    // Company facts.
    {"website", LeadField::kWebsite, 0},
    {"websiteurl", LeadField::kWebsite, 0},
    {"companywebsite", LeadField::kWebsite, 0},
    {"web", LeadField::kWebsite, 1},
    {"url", LeadField::kWebsite, 1},
    {"companyurl", LeadField::kWebsite, 1},
    {"domain", LeadField::kWebsite, 2},
    {"industry", LeadField::kIndustry, 0},
    {"primaryindustry", LeadField::kIndustry, 0},
    {"sicdescription", LeadField::kIndustry, 1},
    {"employees", LeadField::kEmployees, 0},
    {"employeerange", LeadField::kEmployees, 0},
    {"employeecount", LeadField::kEmployees, 0},
    {"numberofemployees", LeadField::kEmployees, 0},
    {"noofemployees", LeadField::kEmployees, 0},
    {"employeesize", LeadField::kEmployees, 0},
    {"companysize", LeadField::kEmployees, 1},
    {"headcount", LeadField::kEmployees, 1},
    {"annualsales", LeadField::kAnnualSales, 0},
    {"annualrevenue", LeadField::kAnnualSales, 0},
    {"revenue", LeadField::kAnnualSales, 1},
    {"salesvolume", LeadField::kAnnualSales, 1},
    {"siccode", LeadField::kSicCode, 0},
    {"sic", LeadField::kSicCode, 0},
    {"primarysic", LeadField::kSicCode, 0},
    {"primarysiccode", LeadField::kSicCode, 0},
    {"personlinkedinurl", LeadField::kLinkedin, 0},
    {"linkedinurl", LeadField::kLinkedin, 1},
    {"linkedin", LeadField::kLinkedin, 1},
    {"linkedinprofile", LeadField::kLinkedin, 1},
    {"linkedinprofileurl", LeadField::kLinkedin, 1},
};

// On an owner list the bare street columns describe the property, not where the owner lives.
constexpr Alias kPropertyAliases[] = {
    {"address", LeadField::kPropertyAddress, 1},
    {"streetaddress", LeadField::kPropertyAddress, 1},
    {"street", LeadField::kPropertyAddress, 1},
    {"address1", LeadField::kPropertyAddress, 1},
};

const Alias* FindAlias(std::string_view key, LeadSource source) {
  if (source == LeadSource::kProperty) {
    for (const Alias& a : kPropertyAliases) {
      if (a.key == key) return &a;
    }
  }
  for (const Alias& a : kAliases) {
    if (a.key == key) return &a;
  }
  return nullptr;
}

// Headers that point at one source; a weight of 2 is enough on its own.
struct Marker {
  std::string_view key;
  LeadSource source;
  int weight;
};

constexpr Marker kMarkers[] = {
    {"contactfirst", LeadSource::kUsBizData, 2},   {"contactlast", LeadSource::kUsBizData, 2},
    {"employeerange", LeadSource::kUsBizData, 2},  {"annualsales", LeadSource::kUsBizData, 1},
    {"siccode", LeadSource::kUsBizData, 1},        {"directphone", LeadSource::kUsBizData, 1},
    {"companyname", LeadSource::kUsBizData, 1},    {"county", LeadSource::kUsBizData, 1},
    {"personlinkedinurl", LeadSource::kApollo, 2}, {"workdirectphone", LeadSource::kApollo, 2},
    {"corporatephone", LeadSource::kApollo, 2},    {"companylinkedinurl", LeadSource::kApollo, 2},
    {"apollocontactid", LeadSource::kApollo, 2},   {"apolloaccountid", LeadSource::kApollo, 2},
    {"employees", LeadSource::kApollo, 1},         {"mobilephone", LeadSource::kApollo, 1},
    {"seniority", LeadSource::kApollo, 1},         {"departments", LeadSource::kApollo, 1},
    {"emailstatus", LeadSource::kApollo, 1},       {"ownername", LeadSource::kProperty, 2},
    {"owner1firstname", LeadSource::kProperty, 2}, {"owner1lastname", LeadSource::kProperty, 2},
    {"mailingaddress", LeadSource::kProperty, 2},  {"propertyaddress", LeadSource::kProperty, 2},
    {"siteaddress", LeadSource::kProperty, 2},     {"apn", LeadSource::kProperty, 2},
    {"parcelnumber", LeadSource::kProperty, 2},    {"mailingcity", LeadSource::kProperty, 1},
    {"mailingstate", LeadSource::kProperty, 1},    {"mailingzip", LeadSource::kProperty, 1},
};

constexpr std::array<std::string_view, 22> kFieldNames = {
    "attribute", "firstName",      "lastName",        "fullName",  "company",     "title",
    "phones",    "email",          "street",          "city",      "state",       "zip",
    "county",    "website",        "industry",        "employees", "annualSales", "sicCode",
    "linkedin",  "mailingAddress", "propertyAddress", "apn",
};

bool IsBlank(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; });
}

std::string* SingleField(RawLead& lead, LeadField field) {
  switch (field) {
    case LeadField::kFirstName:
      return &lead.first_name;
    case LeadField::kLastName:
      return &lead.last_name;
    case LeadField::kFullName:
      return &lead.full_name;
    case LeadField::kCompany:
      return &lead.company;
    case LeadField::kTitle:
      return &lead.title;
    case LeadField::kEmail:
      return &lead.email;
    case LeadField::kStreet:
      return &lead.street;
    case LeadField::kCity:
      return &lead.city;
    case LeadField::kState:
      return &lead.state;
    case LeadField::kZip:
      return &lead.zip;
    case LeadField::kCounty:
      return &lead.county;
    case LeadField::kWebsite:
      return &lead.website;
    case LeadField::kIndustry:
      return &lead.industry;
    case LeadField::kEmployees:
      return &lead.employees;
    case LeadField::kAnnualSales:
      return &lead.annual_sales;
    case LeadField::kSicCode:
      return &lead.sic_code;
    case LeadField::kLinkedin:
      return &lead.linkedin;
    case LeadField::kMailingAddress:
      return &lead.mailing_address;
    case LeadField::kPropertyAddress:
      return &lead.property_address;
    case LeadField::kApn:
      return &lead.apn;
    case LeadField::kAttribute:
    case LeadField::kPhones:
      return nullptr;
  }
  return nullptr;
}

template <typename S>
RawLead MapRowImpl(const LeadMapping& mapping, std::span<const S> fields) {
  RawLead lead;
  lead.source = mapping.source;
  const size_t n = std::min(fields.size(), mapping.columns.size());
  for (size_t i = 0; i < n; ++i) {
    const std::string_view value = fields[i];
    if (value.empty()) continue;
    const ColumnMapping& column = mapping.columns[i];
    if (column.field == LeadField::kAttribute) {
      if (!IsBlank(value)) lead.attributes.emplace_back(column.header, std::string(value));
    } else if (std::string* slot = SingleField(lead, column.field)) {
      slot->assign(value);
    }
  }
  for (size_t i : mapping.phone_columns) {
    if (i < n && !IsBlank(fields[i])) lead.phones.emplace_back(fields[i]);
  }
  return lead;
}

template <typename S>
Result<LeadMapping> MapHeadersImpl(std::span<const S> headers, const MappingOptions& options) {
  std::vector<std::string_view> views(headers.begin(), headers.end());
  LeadMapping mapping;
  mapping.source = options.source ? *options.source : DetectLeadSource(views);

  std::vector<std::string> keys;
  keys.reserve(views.size());
  for (std::string_view h : views) keys.push_back(HeaderKey(h));

  // Candidates first: the table, then the caller's overrides, which rank before any alias.
  constexpr int kOverrideRank = std::numeric_limits<int>::min();
  std::vector<int> ranks(views.size(), 0);
  mapping.columns.resize(views.size());
  for (size_t i = 0; i < views.size(); ++i) {
    mapping.columns[i].header = std::string(views[i]);
    if (const Alias* alias = FindAlias(keys[i], mapping.source)) {
      mapping.columns[i].field = alias->field;
      ranks[i] = alias->rank;
    }
  }
  for (const HeaderOverride& o : options.overrides) {
    std::optional<LeadField> field = ParseLeadField(o.field);
    if (!field) {
      return Status::InvalidArgument(
          "mapping for header '" + o.header + "': unknown field '" + o.field + "'", "mapping");
    }
    const std::string key = HeaderKey(o.header);
    bool found = false;
    for (size_t i = 0; i < views.size(); ++i) {
      if (keys[i] != key) continue;
      found = true;
      mapping.columns[i].field = *field;
      // A column made a phone keeps the table's phone rank if it has one, else goes last.
      if (*field == LeadField::kPhones) {
        const Alias* alias = FindAlias(keys[i], mapping.source);
        ranks[i] = alias && alias->field == LeadField::kPhones ? alias->rank : 100;
      } else {
        ranks[i] = kOverrideRank;
      }
    }
    if (!found) {
      return Status::InvalidArgument(
          "mapping names header '" + o.header + "', which the file does not have", "mapping");
    }
  }

  // Each single-valued field keeps its best-ranked column; the others become attributes.
  for (size_t i = 0; i < views.size(); ++i) {
    ColumnMapping& column = mapping.columns[i];
    if (column.field == LeadField::kAttribute) continue;
    if (column.field == LeadField::kPhones) {
      column.phone_rank = ranks[i];
      mapping.phone_columns.push_back(i);
      continue;
    }
    for (size_t j = 0; j < views.size(); ++j) {
      if (j == i || mapping.columns[j].field != column.field) continue;
      if (ranks[j] < ranks[i] || (ranks[j] == ranks[i] && j < i)) {
        column.field = LeadField::kAttribute;
        break;
      }
    }
  }
  std::stable_sort(mapping.phone_columns.begin(), mapping.phone_columns.end(),
                   [&](size_t a, size_t b) { return ranks[a] < ranks[b]; });
  return mapping;
}

}  // namespace

std::string_view LeadSourceName(LeadSource source) {
  switch (source) {
    case LeadSource::kUsBizData:
      return "usbizdata";
    case LeadSource::kApollo:
      return "apollo";
    case LeadSource::kProperty:
      return "property";
    case LeadSource::kGeneric:
      return "generic";
  }
  return "generic";
}

std::optional<LeadSource> ParseLeadSource(std::string_view name) {
  const std::string key = HeaderKey(name);
  for (LeadSource s :
       {LeadSource::kUsBizData, LeadSource::kApollo, LeadSource::kProperty, LeadSource::kGeneric}) {
    if (key == LeadSourceName(s)) return s;
  }
  return std::nullopt;
}

std::string_view LeadFieldName(LeadField field) { return kFieldNames[static_cast<size_t>(field)]; }

std::optional<LeadField> ParseLeadField(std::string_view name) {
  if (name == "phone") return LeadField::kPhones;
  for (size_t i = 0; i < kFieldNames.size(); ++i) {
    if (kFieldNames[i] == name) return static_cast<LeadField>(i);
  }
  return std::nullopt;
}

LeadSource DetectLeadSource(std::span<const std::string_view> headers) {
  int scores[3] = {0, 0, 0};  // usbizdata, apollo, property
  for (std::string_view h : headers) {
    const std::string key = HeaderKey(h);
    for (const Marker& m : kMarkers) {
      if (m.key == key) scores[static_cast<int>(m.source)] += m.weight;
    }
  }
  int best = 0;
  for (int s = 1; s < 3; ++s) {
    if (scores[s] > scores[best]) best = s;
  }
  return scores[best] >= 2 ? static_cast<LeadSource>(best) : LeadSource::kGeneric;
}

Result<LeadMapping> MapHeaders(std::span<const std::string_view> headers,
                               const MappingOptions& options) {
  return MapHeadersImpl(headers, options);
}

Result<LeadMapping> MapHeaders(std::span<const std::string> headers,
                               const MappingOptions& options) {
  return MapHeadersImpl(headers, options);
}

RawLead MapRow(const LeadMapping& mapping, std::span<const std::string_view> fields) {
  return MapRowImpl(mapping, fields);
}

RawLead MapRow(const LeadMapping& mapping, std::span<const std::string> fields) {
  return MapRowImpl(mapping, fields);
}

}  // namespace nextier::adapters
