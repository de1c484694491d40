// The plaintext of sealed personal data: written packed, and the flat form of older stores
// still read.
#include "nextier/eventstore/personal.h"

#include <capnp/serialize.h>
#include <gtest/gtest.h>

#include <string>

#include "testing/testing.h"

namespace nextier::eventstore {
namespace {

// A record like the importer's: names, a phone, an address and some kept columns.
void FillImportLike(schema::Personal::Builder p) {
  p.setFirstName("Sara");
  p.setLastName("O'Brien");
  p.setFullName("Sara O'Brien");
  p.initPhones(2).set(0, "+15164079249");
  p.getPhones().set(1, "+15164079250");
  p.setEmail("sara@stonesinsurance.com");
  p.setStreet("12 Main St");
  p.setCity("Hempstead");
  p.setState("NY");
  p.setZip("01550");
  auto attrs = p.initAttributes(3);
  attrs[0].setName("county");
  attrs[0].setValue("Nassau");
  attrs[1].setName("employees");
  attrs[1].setValue("10-19");
  attrs[2].setName("sicCode");
  attrs[2].setValue("6411");
}

struct Seen {
  std::string first, last, phone2, zip, attr_name, attr_value;
};

Seen Read(std::string_view plain) {
  Seen s;
  EXPECT_OK(ReadPersonal(plain, [&](schema::Personal::Reader p) {
    s.first = p.getFirstName().cStr();
    s.last = p.getLastName().cStr();
    s.phone2 = p.getPhones().size() > 1 ? p.getPhones()[1].cStr() : "";
    s.zip = p.getZip().cStr();
    s.attr_name = p.getAttributes()[2].getName().cStr();
    s.attr_value = p.getAttributes()[2].getValue().cStr();
  }));
  return s;
}

std::string Flat(capnp::MessageBuilder& m) {
  const kj::Array<capnp::word> words = capnp::messageToFlatArray(m);
  const auto bytes = words.asBytes();
  return std::string(reinterpret_cast<const char*>(bytes.begin()), bytes.size());
}

TEST(PersonalTest, WrittenPackedAndReadBack) {
  capnp::MallocMessageBuilder m;
  FillImportLike(m.initRoot<schema::Personal>());
  const std::string plain = EncodePersonal(m);
  ASSERT_FALSE(plain.empty());
  EXPECT_EQ(static_cast<unsigned char>(plain[0]), 0xFF) << "the packed form's marker";
  const Seen s = Read(plain);
  EXPECT_EQ(s.first, "Sara");
  EXPECT_EQ(s.last, "O'Brien");
  EXPECT_EQ(s.phone2, "+15164079250");
  EXPECT_EQ(s.zip, "01550");
  EXPECT_EQ(s.attr_name, "sicCode");
  EXPECT_EQ(s.attr_value, "6411");
}

TEST(PersonalTest, PackedIsSmallerThanFlat) {
  capnp::MallocMessageBuilder m;
  FillImportLike(m.initRoot<schema::Personal>());
  const size_t packed = EncodePersonal(m).size();
  const size_t flat = Flat(m).size();
  EXPECT_LT(packed * 10, flat * 8) << "packed " << packed << " bytes, flat " << flat;
}

TEST(PersonalTest, TheFlatFormOfOlderStoresIsStillRead) {
  capnp::MallocMessageBuilder m;
  FillImportLike(m.initRoot<schema::Personal>());
  const std::string flat = Flat(m);
  ASSERT_NE(static_cast<unsigned char>(flat[0]), 0xFF);
  const Seen s = Read(flat);
  EXPECT_EQ(s.first, "Sara");
  EXPECT_EQ(s.phone2, "+15164079250");
  EXPECT_EQ(s.attr_value, "6411");
}

TEST(PersonalTest, AnEmptyRecordRoundTrips) {
  capnp::MallocMessageBuilder m;
  m.initRoot<schema::Personal>();
  const std::string plain = EncodePersonal(m);
  bool called = false;
  EXPECT_OK(ReadPersonal(plain, [&](schema::Personal::Reader p) {
    called = true;
    EXPECT_EQ(p.getFirstName(), "");
    EXPECT_EQ(p.getPhones().size(), 0u);
  }));
  EXPECT_TRUE(called);
}

// Text without zero bytes packs worst (a tag and a run count around the raw words): the encoder
// sizes its buffer for that bound, and the record still round-trips.
TEST(PersonalTest, IncompressibleTextRoundTrips) {
  for (size_t n : {size_t{1}, size_t{7}, size_t{8}, size_t{9}, size_t{63}, size_t{4095}}) {
    SCOPED_TRACE(n);
    std::string text(n, 'x');
    for (size_t i = 0; i < n; ++i) text[i] = static_cast<char>(0x21 + (i * 37) % 94);
    capnp::MallocMessageBuilder m;
    auto p = m.initRoot<schema::Personal>();
    p.setFirstName(text);
    p.setStreet(text);
    auto attrs = p.initAttributes(3);
    for (unsigned i = 0; i < 3; ++i) {
      attrs[i].setName(text);
      attrs[i].setValue(text);
    }
    const std::string plain = EncodePersonal(m);
    EXPECT_OK(ReadPersonal(plain, [&](schema::Personal::Reader r) {
      EXPECT_EQ(r.getFirstName(), text);
      EXPECT_EQ(r.getStreet(), text);
      ASSERT_EQ(r.getAttributes().size(), 3u);
      EXPECT_EQ(r.getAttributes()[2].getValue(), text);
    }));
  }
}

TEST(PersonalTest, BytesThatDoNotDecodeAreCorruptionNotACrash) {
  bool called = false;
  auto never = [&](schema::Personal::Reader) { called = true; };
  Status empty = ReadPersonal("", never);
  EXPECT_EQ(empty.code(), StatusCode::kCorruption);
  EXPECT_NE(empty.message().find("empty"), std::string::npos) << empty.message();

  Status ragged = ReadPersonal("abc", never);
  EXPECT_EQ(ragged.code(), StatusCode::kCorruption);
  EXPECT_NE(ragged.message().find("3 bytes"), std::string::npos) << ragged.message();

  // A packed stream cut short in its segment table.
  Status cut = ReadPersonal(std::string("\xFF\x01", 2), never);
  EXPECT_EQ(cut.code(), StatusCode::kCorruption) << cut.message();

  // Flat words claiming a segment far larger than the bytes given.
  std::string lying(16, '\0');
  lying[4] = '\x7F';
  lying[5] = '\x7F';
  Status big = ReadPersonal(lying, never);
  EXPECT_EQ(big.code(), StatusCode::kCorruption) << big.message();
  EXPECT_FALSE(called);
}

TEST(PersonalTest, AnOutOfBoundsReadInsideTheCallbackIsCorruption) {
  capnp::MallocMessageBuilder m;
  FillImportLike(m.initRoot<schema::Personal>());
  std::string flat = Flat(m);
  // Point the root's first pointer (firstName) far past the end of the segment.
  // Flat layout: 8-byte segment table, then the root pointer word, then the struct.
  ASSERT_GT(flat.size(), 24u);
  flat[16] = '\xF1';
  flat[17] = '\xFF';
  flat[18] = '\xFF';
  flat[19] = '\x0F';
  Status s = ReadPersonal(flat, [&](schema::Personal::Reader p) { (void)p.getFirstName(); });
  EXPECT_EQ(s.code(), StatusCode::kCorruption) << s.message();
}

}  // namespace
}  // namespace nextier::eventstore
