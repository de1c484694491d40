#include "nextier/adapters/cleaning.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <phonenumbers/phonenumber.pb.h>
#include <phonenumbers/phonenumberutil.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "testing/testing.h"

namespace nextier::adapters {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;

std::vector<std::string> Problems(const CleanedLead& lead) {
  std::vector<std::string> out;
  for (const RowProblem& p : lead.problems) out.push_back(p.field + ": " + p.reason);
  return out;
}

// ---- whitespace --------------------------------------------------------------------------

TEST(WhitespaceTest, TrimsAndCollapsesRuns) {
  EXPECT_EQ(CollapseWhitespace("  John \t  Smith \r\n"), "John Smith");
  EXPECT_EQ(CollapseWhitespace("Acme\n\nCorp"), "Acme Corp");
  EXPECT_EQ(CollapseWhitespace("\xC2\xA0"
                               "Main\xC2\xA0\xC2\xA0St "),
            "Main St");
  EXPECT_EQ(CollapseWhitespace("   "), "");
  EXPECT_EQ(CollapseWhitespace("José"), "José");
}

TEST(WhitespaceTest, CleanLeadCollapsesEveryTextFieldAndAttribute) {
  RawLead raw;
  raw.company = "  Acme   Plumbing  LLC ";
  raw.title = "Owner /\tCEO";
  raw.city = " New   York ";
  raw.street = "1  Main St\n";
  raw.attributes = {{"Notes", "  call   after 5 "}, {"Blank", " \t "}};
  const CleanedLead lead = CleanLead(raw);
  EXPECT_EQ(lead.company, "Acme Plumbing LLC");
  EXPECT_EQ(lead.title, "Owner / CEO");
  EXPECT_EQ(lead.city, "New York");
  EXPECT_EQ(lead.street, "1 Main St");
  EXPECT_THAT(lead.attributes, ElementsAre(Pair("Notes", "call after 5")));
  EXPECT_THAT(lead.problems, IsEmpty());
}

// ---- name casing -------------------------------------------------------------------------

TEST(NameCaseTest, RecasesSingleCaseWords) {
  EXPECT_EQ(CaseName("JOHN SMITH"), "John Smith");
  EXPECT_EQ(CaseName("john smith"), "John Smith");
  EXPECT_EQ(CaseName("  MARY   ANN  "), "Mary Ann");
  EXPECT_EQ(CaseName("J. R. R. TOLKIEN"), "J. R. R. Tolkien");
}

TEST(NameCaseTest, KeepsMcAndKnownMacNames) {
  EXPECT_EQ(CaseName("MCDONALD"), "McDonald");
  EXPECT_EQ(CaseName("mcdonald"), "McDonald");
  EXPECT_EQ(CaseName("RONALD MCDONALD"), "Ronald McDonald");
  EXPECT_EQ(CaseName("MACARTHUR"), "MacArthur");
  EXPECT_EQ(CaseName("macgregor"), "MacGregor");
}

TEST(NameCaseTest, DoesNotBreakNamesThatOnlyStartWithMac) {
  EXPECT_EQ(CaseName("MACK"), "Mack");
  EXPECT_EQ(CaseName("MACY"), "Macy");
  EXPECT_EQ(CaseName("MACHADO"), "Machado");
  EXPECT_EQ(CaseName("MACIAS"), "Macias");
  EXPECT_EQ(CaseName("MACON"), "Macon");
  EXPECT_EQ(CaseName("MC"), "Mc");
}

TEST(NameCaseTest, CapitalisesAfterOneLetterApostrophePrefix) {
  EXPECT_EQ(CaseName("O'BRIEN"), "O'Brien");
  EXPECT_EQ(CaseName("d'angelo"), "D'Angelo");
  EXPECT_EQ(CaseName("O\xE2\x80\x99NEIL"), "O\xE2\x80\x99Neil");  // typographic apostrophe
  EXPECT_EQ(CaseName("KE'SHAWN"), "Ke'shawn");
}

TEST(NameCaseTest, CapitalisesEachHyphenatedPart) {
  EXPECT_EQ(CaseName("SMITH-JONES"), "Smith-Jones");
  EXPECT_EQ(CaseName("mary-kate o'hara-mcdonald"), "Mary-Kate O'Hara-McDonald");
}

TEST(NameCaseTest, WritesSuffixesCredentialsAndEntityAbbreviationsAsUsual) {
  EXPECT_EQ(CaseName("JOHN SMITH JR"), "John Smith Jr");
  EXPECT_EQ(CaseName("JOHN SMITH JR."), "John Smith Jr.");
  EXPECT_EQ(CaseName("HENRY FORD III"), "Henry Ford III");
  EXPECT_EQ(CaseName("henry ford ii"), "Henry Ford II");
  EXPECT_EQ(CaseName("JANE DOE MD"), "Jane Doe MD");
  EXPECT_EQ(CaseName("JANE DOE PHD"), "Jane Doe PhD");
  EXPECT_EQ(CaseName("STONE HOLDINGS LLC"), "Stone Holdings LLC");
}

TEST(NameCaseTest, LeavesMixedCaseWordsAsGiven) {
  EXPECT_EQ(CaseName("DeShawn McKay"), "DeShawn McKay");
  EXPECT_EQ(CaseName("McKAY"), "McKAY");
  EXPECT_EQ(CaseName("Macy"), "Macy");
  EXPECT_EQ(CaseName("Macdonald"), "Macdonald");
  EXPECT_EQ(CaseName("JOHN McKay"), "John McKay");
  // Lowercase particles are kept in a name written with capitals, recased in one without.
  EXPECT_EQ(CaseName("Maria de la Cruz"), "Maria de la Cruz");
  EXPECT_EQ(CaseName("Ludwig van Beethoven"), "Ludwig van Beethoven");
  EXPECT_EQ(CaseName("ludwig van beethoven"), "Ludwig Van Beethoven");
}

TEST(NameCaseTest, RecasesLatin1Letters) {
  EXPECT_EQ(CaseName("JOSÉ MUÑOZ"), "José Muñoz");
  EXPECT_EQ(CaseName("zoë ÅSTRÖM"), "Zoë Åström");
}

// ---- full-name splitting -----------------------------------------------------------------

TEST(SplitFullNameTest, PropertyStyleLastFirstWithCoOwner) {
  const SplitName n = SplitFullName("SMITH JOHN & MARY", /*last_first=*/true);
  EXPECT_EQ(n.first, "John");
  EXPECT_EQ(n.last, "Smith");
  EXPECT_EQ(n.co_owner, "Mary Smith");
  EXPECT_EQ(n.suffix, "");
}

TEST(SplitFullNameTest, PropertyStyleVariants) {
  SplitName n = SplitFullName("SMITH JOHN A", true);
  EXPECT_EQ(n.first, "John");
  EXPECT_EQ(n.last, "Smith");
  EXPECT_EQ(n.co_owner, "");

  n = SplitFullName("SMITH JOHN AND MARY A", true);
  EXPECT_EQ(n.first, "John");
  EXPECT_EQ(n.co_owner, "Mary Smith");

  n = SplitFullName("SMITH JOHN & JONES MARY", true);
  EXPECT_EQ(n.last, "Smith");
  EXPECT_EQ(n.co_owner, "Mary Jones");

  n = SplitFullName("MCDONALD RONALD JR & GRIMACE", true);
  EXPECT_EQ(n.first, "Ronald");
  EXPECT_EQ(n.last, "McDonald");
  EXPECT_EQ(n.suffix, "Jr");
  EXPECT_EQ(n.co_owner, "Grimace McDonald");

  n = SplitFullName("SMITH", true);
  EXPECT_EQ(n.first, "");
  EXPECT_EQ(n.last, "Smith");
}

TEST(SplitFullNameTest, CommaMeansLastFirst) {
  SplitName n = SplitFullName("SMITH, JOHN A", false);
  EXPECT_EQ(n.first, "John");
  EXPECT_EQ(n.last, "Smith");

  n = SplitFullName("de la Cruz, Maria", false);
  EXPECT_EQ(n.first, "Maria");
  EXPECT_EQ(n.last, "de la Cruz");

  n = SplitFullName("O'BRIEN, PATRICK J., JR.", false);
  EXPECT_EQ(n.first, "Patrick");
  EXPECT_EQ(n.last, "O'Brien");
  EXPECT_EQ(n.suffix, "Jr.");

  n = SplitFullName("Smith, John & Mary", false);
  EXPECT_EQ(n.first, "John");
  EXPECT_EQ(n.co_owner, "Mary Smith");
}

TEST(SplitFullNameTest, FirstLastWithMiddleTitleAndSuffix) {
  SplitName n = SplitFullName("John A. Smith Jr.", false);
  EXPECT_EQ(n.first, "John");
  EXPECT_EQ(n.last, "Smith");
  EXPECT_EQ(n.suffix, "Jr.");

  n = SplitFullName("Dr. Jane Q Doe III", false);
  EXPECT_EQ(n.first, "Jane");
  EXPECT_EQ(n.last, "Doe");
  EXPECT_EQ(n.suffix, "III");

  n = SplitFullName("John Smith, Jr.", false);
  EXPECT_EQ(n.first, "John");
  EXPECT_EQ(n.last, "Smith");
  EXPECT_EQ(n.suffix, "Jr.");

  n = SplitFullName("maria de la cruz", false);
  EXPECT_EQ(n.first, "Maria");
  EXPECT_EQ(n.last, "De La Cruz");

  n = SplitFullName("Madonna", false);
  EXPECT_EQ(n.first, "Madonna");
  EXPECT_EQ(n.last, "");
}

TEST(SplitFullNameTest, FirstLastCoOwners) {
  SplitName n = SplitFullName("John & Mary Smith", false);
  EXPECT_EQ(n.first, "John");
  EXPECT_EQ(n.last, "Smith");
  EXPECT_EQ(n.co_owner, "Mary Smith");

  n = SplitFullName("John Smith and Mary Jones", false);
  EXPECT_EQ(n.first, "John");
  EXPECT_EQ(n.last, "Smith");
  EXPECT_EQ(n.co_owner, "Mary Jones");

  n = SplitFullName("JOHN SMITH & MARY", false);
  EXPECT_EQ(n.co_owner, "Mary Smith");
}

TEST(SplitFullNameTest, DropsDeedPhrasesAndCoupleTitles) {
  SplitName n = SplitFullName("SMITH JOHN & MARY ET AL", true);
  EXPECT_EQ(n.first, "John");
  EXPECT_EQ(n.last, "Smith");
  EXPECT_EQ(n.co_owner, "Mary Smith");

  n = SplitFullName("JONES ROBERT ETUX", true);
  EXPECT_EQ(n.first, "Robert");
  EXPECT_EQ(n.last, "Jones");

  n = SplitFullName("MR & MRS JOHN SMITH", false);
  EXPECT_EQ(n.first, "John");
  EXPECT_EQ(n.last, "Smith");
  EXPECT_EQ(n.co_owner, "");
}

TEST(SplitFullNameTest, LastFirstSurnameKeepsItsParticles) {
  SplitName n = SplitFullName("VAN DER BERG JAN", true);
  EXPECT_EQ(n.first, "Jan");
  EXPECT_EQ(n.last, "Van Der Berg");

  n = SplitFullName("DE LA CRUZ MARIA & JOSE", true);
  EXPECT_EQ(n.first, "Maria");
  EXPECT_EQ(n.last, "De La Cruz");
  EXPECT_EQ(n.co_owner, "Jose De La Cruz");
}

TEST(SplitFullNameTest, AndInsideAWordIsNotACoOwner) {
  const SplitName n = SplitFullName("Andrew Anderson", false);
  EXPECT_EQ(n.first, "Andrew");
  EXPECT_EQ(n.last, "Anderson");
  EXPECT_EQ(n.co_owner, "");
}

TEST(CleanNameTest, PropertyFullNameIsSplitLastFirstAndKeptWhole) {
  RawLead raw;
  raw.source = LeadSource::kProperty;
  raw.full_name = "SMITH  JOHN & MARY";
  const CleanedLead lead = CleanLead(raw);
  EXPECT_EQ(lead.first_name, "John");
  EXPECT_EQ(lead.last_name, "Smith");
  EXPECT_EQ(lead.co_owner, "Mary Smith");
  EXPECT_EQ(lead.full_name, "Smith John & Mary");
}

TEST(CleanNameTest, GenericFullNameIsSplitFirstLast) {
  RawLead raw;
  raw.full_name = "JOHN A. SMITH JR.";
  const CleanedLead lead = CleanLead(raw);
  EXPECT_EQ(lead.first_name, "John");
  EXPECT_EQ(lead.last_name, "Smith");
  EXPECT_EQ(lead.name_suffix, "Jr.");
  EXPECT_EQ(lead.full_name, "John A. Smith Jr.");
}

TEST(CleanNameTest, NameColumnsWinAndMakeTheFullName) {
  RawLead raw;
  raw.first_name = " MARY ";
  raw.last_name = "O'BRIEN-MCDONALD";
  const CleanedLead lead = CleanLead(raw);
  EXPECT_EQ(lead.first_name, "Mary");
  EXPECT_EQ(lead.last_name, "O'Brien-McDonald");
  EXPECT_EQ(lead.full_name, "Mary O'Brien-McDonald");
}

TEST(CleanNameTest, CoOwnerInFirstNameColumn) {
  RawLead raw;
  raw.source = LeadSource::kProperty;
  raw.first_name = "JOHN & MARY";
  raw.last_name = "SMITH";
  const CleanedLead lead = CleanLead(raw);
  EXPECT_EQ(lead.first_name, "John");
  EXPECT_EQ(lead.last_name, "Smith");
  EXPECT_EQ(lead.co_owner, "Mary Smith");
}

// ---- phones ------------------------------------------------------------------------------

TEST(PhoneTest, FormatsCommonUsShapesAsE164) {
  for (const char* written : {"(212) 555-0100", "212.555.0100", "212-555-0100", "2125550100",
                              "+1 212 555 0100", "1-212-555-0100", "+1 (212) 555-0100",
                              " 212 555 0100 ", "+12125550100", "1 (212) 555.0100"}) {
    EXPECT_EQ(PhoneToE164(written), "+12125550100") << written;
  }
}

TEST(PhoneTest, DropsExtensions) {
  EXPECT_EQ(PhoneToE164("212-555-0100 x123"), "+12125550100");
  EXPECT_EQ(PhoneToE164("(212) 555-0100 ext. 45"), "+12125550100");
  EXPECT_EQ(PhoneToE164("212.555.0100 Ext 7"), "+12125550100");
}

TEST(PhoneTest, IgnoresLabels) {
  EXPECT_EQ(PhoneToE164("212-555-0100 (cell)"), "+12125550100");
  EXPECT_EQ(PhoneToE164("Mobile: (212) 555-0100"), "+12125550100");
  EXPECT_EQ(PhoneToE164("c 212.555.0100"), "+12125550100");
  EXPECT_THAT(NormalizePhones("212-555-0100 (o) / 646-555-0101 (m)"),
              ElementsAre("+12125550100", "+16465550101"));
}

TEST(PhoneTest, LetsLibphonenumberReadTheRest) {
  EXPECT_EQ(PhoneToE164("+44 20 7946 0958"), "+442079460958");
  EXPECT_EQ(PhoneToE164("011 44 20 7946 0958"), "+442079460958");
  EXPECT_EQ(PhoneToE164("1-800-FLOWERS"), "+18003569377");
  EXPECT_EQ(PhoneToE164("+1 416 555 0100"), "+14165550100");  // Canada: NANP, kept
}

TEST(PhoneTest, RejectsShortNumbersWithoutAreaCode) {
  std::string why;
  EXPECT_EQ(PhoneToE164("555-0100", &why), std::nullopt);
  EXPECT_EQ(why, "too short (no area code)");
  EXPECT_EQ(PhoneToE164("12345", &why), std::nullopt);
  EXPECT_EQ(why, "too short");
  EXPECT_EQ(PhoneToE164("555-0100 x12", &why), std::nullopt);
  EXPECT_THAT(why, HasSubstr("too short"));
}

TEST(PhoneTest, RejectsTooManyDigits) {
  std::string why;
  EXPECT_EQ(PhoneToE164("212-555-01000", &why), std::nullopt);
  EXPECT_EQ(why, "too long");
  EXPECT_EQ(PhoneToE164("1-212-555-0100-5", &why), std::nullopt);
  EXPECT_EQ(why, "too long");
  EXPECT_EQ(PhoneToE164("212555010012345678", &why), std::nullopt);
  EXPECT_THAT(why, HasSubstr("too long"));
}

TEST(PhoneTest, RejectsAreaCodesAndExchangesNotInUse) {
  std::string why;
  EXPECT_EQ(PhoneToE164("(000) 555-1212", &why), std::nullopt);
  EXPECT_EQ(why, "area code 000 does not exist");
  EXPECT_EQ(PhoneToE164("123-555-1212", &why), std::nullopt);
  EXPECT_EQ(why, "area code 123 does not exist");
  EXPECT_EQ(PhoneToE164("(212) 055-0100", &why), std::nullopt);
  EXPECT_EQ(why, "exchange 055 does not exist");
  EXPECT_EQ(PhoneToE164("+1 999 555 0100", &why), std::nullopt);
  EXPECT_EQ(why, "area code 999 with exchange 555 is not in use");
}

TEST(PhoneTest, RejectsText) {
  std::string why;
  EXPECT_EQ(PhoneToE164("call me", &why), std::nullopt);
  EXPECT_EQ(why, "not a phone number");
}

TEST(PhoneTest, SplitsSeveralNumbersInOneCell) {
  const std::vector<std::string> want = {"+12125550100", "+16465550101"};
  for (const char* cell :
       {"212-555-0100 / 646-555-0101", "212-555-0100;646-555-0101", "212-555-0100, 646-555-0101",
        "212-555-0100 | 646-555-0101", "212-555-0100 or 646-555-0101",
        "212-555-0100 OR (646) 555-0101", "212-555-0100\n646-555-0101"}) {
    EXPECT_EQ(NormalizePhones(cell), want) << cell;
  }
}

TEST(PhoneTest, AreaCodeSetApartBySlashIsOneNumber) {
  EXPECT_THAT(NormalizePhones("212/555-0100"), ElementsAre("+12125550100"));
  EXPECT_THAT(NormalizePhones("212/555-0100 / 646/555-0101"),
              ElementsAre("+12125550100", "+16465550101"));
}

TEST(PhoneTest, RemovesDuplicatesKeepingTheFirstPlace) {
  EXPECT_THAT(NormalizePhones("(212) 555-0100 / 212.555.0100 / 646-555-0101 / +12125550100"),
              ElementsAre("+12125550100", "+16465550101"));
}

TEST(PhoneTest, ReportsEachInvalidNumberByValue) {
  std::vector<RowProblem> problems;
  EXPECT_THAT(NormalizePhones("555-0100 / 212-555-0100 / (000) 555-1212", &problems),
              ElementsAre("+12125550100"));
  EXPECT_THAT(problems,
              ElementsAre(RowProblem{"phones",
                                     "'555-0100' is not a valid phone number: too short (no area "
                                     "code)"},
                          RowProblem{"phones",
                                     "'(000) 555-1212' is not a valid phone number: area code "
                                     "000 does not exist"}));
}

TEST(PhoneTest, PlaceholdersAreNotNumbersAndNotProblems) {
  std::vector<RowProblem> problems;
  for (const char* cell : {"", "  ", "N/A", "none", "-", "NULL", "nan"}) {
    EXPECT_THAT(NormalizePhones(cell, &problems), IsEmpty()) << cell;
  }
  EXPECT_THAT(problems, IsEmpty());
}

TEST(PhoneTest, CleanLeadKeepsPriorityOrderAcrossColumnsWithoutDuplicates) {
  RawLead raw;
  raw.phones = {"(646) 555-0101", "212-555-0100 / 646.555.0101", "555-0100", "+1 212 555 0100"};
  const CleanedLead lead = CleanLead(raw);
  EXPECT_THAT(lead.phones, ElementsAre("+16465550101", "+12125550100"));
  EXPECT_THAT(Problems(lead),
              ElementsAre("phones: '555-0100' is not a valid phone number: too short (no area "
                          "code)"));
}

// The validity cache in cleaning.cc answers for a whole area code + exchange after one call;
// this checks that assumption against libphonenumber itself on random numbers, twice each
// (the second answer comes from the cache).
TEST(PhoneTest, ValidityCacheAgreesWithLibphonenumber) {
  using ::i18n::phonenumbers::PhoneNumber;
  using ::i18n::phonenumbers::PhoneNumberUtil;
  const PhoneNumberUtil& util = *PhoneNumberUtil::GetInstance();
  std::mt19937_64 rng(20240601);
  std::uniform_int_distribution<uint64_t> area(200, 999);
  std::uniform_int_distribution<uint64_t> exchange(200, 999);
  std::uniform_int_distribution<uint64_t> line(0, 9999);
  int valid = 0;
  for (int i = 0; i < 3000; ++i) {
    const uint64_t prefix = area(rng) * 1000 + exchange(rng);
    for (int j = 0; j < 3; ++j) {
      const uint64_t national = prefix * 10000 + line(rng);
      PhoneNumber number;
      number.set_country_code(1);
      number.set_national_number(national);
      const bool want = util.IsValidNumber(number);
      const std::string text = std::to_string(national);
      EXPECT_EQ(PhoneToE164(text).has_value(), want) << text;
      EXPECT_EQ(PhoneToE164(text).has_value(), want) << text;
      valid += want;
    }
  }
  EXPECT_GT(valid, 1000);  // the sample holds both kinds
  // The prefixes whose validity depends on the seventh digit.
  for (const char* text :
       {"2465210000", "2465212000", "2465220000", "2465221000", "8766060000", "8766061000"}) {
    PhoneNumber number;
    ASSERT_EQ(util.Parse(text, "US", &number), PhoneNumberUtil::NO_PARSING_ERROR);
    EXPECT_EQ(PhoneToE164(text).has_value(), util.IsValidNumber(number)) << text;
  }
}

// ---- email -------------------------------------------------------------------------------

TEST(EmailTest, TrimsAndLowercases) {
  EXPECT_EQ(NormalizeEmail("  John.Smith@Example.COM "), "john.smith@example.com");
  EXPECT_EQ(NormalizeEmail("mailto:Sales@Acme.co"), "sales@acme.co");
  EXPECT_EQ(NormalizeEmail("o'brien+leads@mail.acme-corp.com"), "o'brien+leads@mail.acme-corp.com");
  EXPECT_EQ(NormalizeEmail("a@xn--bcher-kva.example"), "a@xn--bcher-kva.example");
}

TEST(EmailTest, RejectsImplausibleAddresses) {
  for (const char* bad :
       {"john smith@example.com", "john@example", "johnexample.com", "a@@b.com", "a@b@c.com",
        ".a@b.com", "a.@b.com", "a..b@c.com", "@b.com", "a@", "a@-b.com", "a@b-.com", "a@b..com",
        "a@b.c", "a@b.c0m", "a@.com", "a(b)@c.com", "a@b_c.com"}) {
    EXPECT_EQ(NormalizeEmail(bad), std::nullopt) << bad;
  }
}

TEST(EmailTest, CleanLeadReportsWhyAnEmailWasDropped) {
  RawLead raw;
  raw.email = " John@Example ";
  EXPECT_THAT(Problems(CleanLead(raw)),
              ElementsAre("email: 'John@Example' is not a valid email address: no '.' in the "
                          "domain"));
  raw.email = "john smith@example.com";
  EXPECT_THAT(Problems(CleanLead(raw)),
              ElementsAre("email: 'john smith@example.com' is not a valid email address: "
                          "contains a space"));
  raw.email = "josé@example.com";
  EXPECT_THAT(Problems(CleanLead(raw)),
              ElementsAre("email: 'josé@example.com' is not a valid email address: a non-ASCII "
                          "character before the '@'"));
  raw.email = "n/a";
  EXPECT_THAT(Problems(CleanLead(raw)), IsEmpty());
  raw.email = "JANE@ACME.COM";
  EXPECT_EQ(CleanLead(raw).email, "jane@acme.com");
}

// ---- states ------------------------------------------------------------------------------

TEST(StateTest, CodesInAnyCase) {
  EXPECT_EQ(StateCode("NY"), "NY");
  EXPECT_EQ(StateCode("ny"), "NY");
  EXPECT_EQ(StateCode(" Tx "), "TX");
  EXPECT_EQ(StateCode("N.Y."), "NY");
}

TEST(StateTest, FullNamesAndAbbreviations) {
  EXPECT_EQ(StateCode("New York"), "NY");
  EXPECT_EQ(StateCode("NEW  YORK"), "NY");
  EXPECT_EQ(StateCode("california"), "CA");
  EXPECT_EQ(StateCode("Calif."), "CA");
  EXPECT_EQ(StateCode("Mass."), "MA");
  EXPECT_EQ(StateCode("W. Va."), "WV");
  EXPECT_EQ(StateCode("West Virginia"), "WV");
  EXPECT_EQ(StateCode("Washington"), "WA");
  EXPECT_EQ(StateCode("Tenn"), "TN");
}

TEST(StateTest, DistrictOfColumbiaAndTerritories) {
  EXPECT_EQ(StateCode("District of Columbia"), "DC");
  EXPECT_EQ(StateCode("Washington, D.C."), "DC");
  EXPECT_EQ(StateCode("D.C."), "DC");
  EXPECT_EQ(StateCode("Puerto Rico"), "PR");
  EXPECT_EQ(StateCode("pr"), "PR");
  EXPECT_EQ(StateCode("U.S. Virgin Islands"), "VI");
  EXPECT_EQ(StateCode("Guam"), "GU");
  EXPECT_EQ(StateCode("American Samoa"), "AS");
  EXPECT_EQ(StateCode("Northern Mariana Islands"), "MP");
  EXPECT_EQ(StateCode("AE"), "AE");
}

TEST(StateTest, RejectsOthers) {
  for (const char* bad : {"XX", "Ontario", "BC", "New York City", "1", "", "Z"}) {
    EXPECT_EQ(StateCode(bad), std::nullopt) << bad;
  }
  RawLead raw;
  raw.state = "Ontario";
  EXPECT_THAT(Problems(CleanLead(raw)),
              ElementsAre("state: 'Ontario' is not a US state or territory"));
  raw.state = "new jersey";
  EXPECT_EQ(CleanLead(raw).state, "NJ");
}

// ---- ZIP codes ---------------------------------------------------------------------------

TEST(ZipTest, KeepsFiveDigitsWithLeadingZeros) {
  EXPECT_EQ(FiveDigitZip("02134"), "02134");
  EXPECT_EQ(FiveDigitZip(" 10001 "), "10001");
  EXPECT_EQ(FiveDigitZip("00501"), "00501");
}

TEST(ZipTest, RestoresZerosASpreadsheetDropped) {
  EXPECT_EQ(FiveDigitZip("2134"), "02134");
  EXPECT_EQ(FiveDigitZip("501"), "00501");
  EXPECT_EQ(FiveDigitZip("2134.0"), "02134");
  EXPECT_EQ(FiveDigitZip("21341234"), "02134");  // ZIP+4 without dash or zero
}

TEST(ZipTest, CutsZipPlusFour) {
  EXPECT_EQ(FiveDigitZip("02134-1234"), "02134");
  EXPECT_EQ(FiveDigitZip("021341234"), "02134");
  EXPECT_EQ(FiveDigitZip("2134-1234"), "02134");
  EXPECT_EQ(FiveDigitZip("90210 1234"), "90210");
}

TEST(ZipTest, RejectsOthers) {
  for (const char* bad :
       {"ABCDE", "12", "123456", "02134-12", "00000", "K1A 0B6", "1234567890", "-1234", "9021O"}) {
    EXPECT_EQ(FiveDigitZip(bad), std::nullopt) << bad;
  }
  RawLead raw;
  raw.zip = "K1A 0B6";
  EXPECT_THAT(Problems(CleanLead(raw)), ElementsAre("zip: 'K1A 0B6' is not a US ZIP code"));
}

// ---- state for a phone number ------------------------------------------------------------

TEST(StateForPhoneTest, UsesTheOfflineGeocoder) {
  EXPECT_EQ(StateForPhone("+12125550100"), "NY");  // "New York, NY"
  EXPECT_EQ(StateForPhone("+16465550100"), "NY");  // "New York"
  EXPECT_EQ(StateForPhone("+14155550100"), "CA");  // "San Francisco, CA"
  EXPECT_EQ(StateForPhone("+12135550100"), "CA");
  EXPECT_EQ(StateForPhone("+19075550100"), "AK");  // "Alaska"
  EXPECT_EQ(StateForPhone("+18085550100"), "HI");  // "Hawaii"
  EXPECT_EQ(StateForPhone("+15125550100"), "TX");  // "Texas"
  EXPECT_EQ(StateForPhone("+12145550100"), "TX");
  EXPECT_EQ(StateForPhone("+12025550100"), "DC");  // "Washington D.C."
  // Asked again: the same answer (from the per-area-code memory).
  EXPECT_EQ(StateForPhone("+12125550199"), "NY");
  EXPECT_EQ(StateForPhone("+19075550199"), "AK");
}

TEST(StateForPhoneTest, TerritoriesGiveTheirCode) {
  EXPECT_EQ(StateForPhone("+17875550100"), "PR");
  EXPECT_EQ(StateForPhone("+13405550100"), "VI");
  EXPECT_EQ(StateForPhone("+16715550100"), "GU");
}

TEST(StateForPhoneTest, EmptyOutsideTheStates) {
  EXPECT_EQ(StateForPhone("+14165550100"), "");  // Toronto
  EXPECT_EQ(StateForPhone("+442079460958"), "");
  EXPECT_EQ(StateForPhone("+18005550100"), "");  // toll-free
  EXPECT_EQ(StateForPhone("+10005550100"), "");
  EXPECT_EQ(StateForPhone(""), "");
  EXPECT_EQ(StateForPhone("not a number"), "");
}

// ---- a whole row -------------------------------------------------------------------------

TEST(CleanLeadTest, CleansAUsBizDataRow) {
  RawLead raw;
  raw.source = LeadSource::kUsBizData;
  raw.company = "ACME  PLUMBING LLC";
  raw.first_name = "JOHN";
  raw.last_name = "MCDONALD";
  raw.title = "Owner";
  raw.phones = {"(212) 555-0100", "212-555-0100 / 555-0101"};
  raw.email = "John@AcmePlumbing.com";
  raw.street = "1 Main St";
  raw.city = "New York";
  raw.state = "new york";
  raw.zip = "1001";
  raw.website = " acmeplumbing.com ";
  raw.attributes = {{"Fax", "212-555-0199"}};
  const CleanedLead lead = CleanLead(raw);
  EXPECT_EQ(lead.source, LeadSource::kUsBizData);
  EXPECT_EQ(lead.first_name, "John");
  EXPECT_EQ(lead.last_name, "McDonald");
  EXPECT_EQ(lead.full_name, "John McDonald");
  EXPECT_EQ(lead.company, "ACME PLUMBING LLC");  // company names are not recased
  EXPECT_THAT(lead.phones, ElementsAre("+12125550100"));
  EXPECT_EQ(lead.email, "john@acmeplumbing.com");
  EXPECT_EQ(lead.state, "NY");
  EXPECT_EQ(lead.zip, "01001");
  EXPECT_EQ(lead.website, "acmeplumbing.com");
  EXPECT_THAT(lead.attributes, ElementsAre(Pair("Fax", "212-555-0199")));
  EXPECT_THAT(Problems(lead),
              ElementsAre("phones: '555-0101' is not a valid phone number: too short (no area "
                          "code)"));
}

TEST(CleanLeadTest, AProblemDropsTheValueNotTheRow) {
  RawLead raw;
  raw.full_name = "Jane Doe";
  raw.phones = {"000-000-0000"};
  raw.email = "jane@";
  raw.state = "ZZ";
  raw.zip = "ABC";
  const CleanedLead lead = CleanLead(raw);
  EXPECT_EQ(lead.first_name, "Jane");
  EXPECT_THAT(lead.phones, IsEmpty());
  EXPECT_EQ(lead.email, "");
  EXPECT_EQ(lead.state, "");
  EXPECT_EQ(lead.zip, "");
  EXPECT_THAT(
      Problems(lead),
      ElementsAre("phones: '000-000-0000' is not a valid phone number: area code 000 "
                  "does not exist",
                  "email: 'jane@' is not a valid email address: no domain",
                  "state: 'ZZ' is not a US state or territory", "zip: 'ABC' is not a US ZIP code"));
}

}  // namespace
}  // namespace nextier::adapters
