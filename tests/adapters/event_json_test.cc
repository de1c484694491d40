// EventJson over events read back from a real store: every payload of the schema decodes to
// readable JSON (the payloads are found through capnp::Schema, so one added later is covered
// without touching this test), and personal fields are opened, erased or left sealed.
#include "nextier/adapters/event_json.h"

#include <capnp/dynamic.h>
#include <capnp/message.h>
#include <capnp/schema.h>
#include <capnp/serialize.h>
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "nextier/engine/clock.h"
#include "testing/testing.h"

namespace nextier::adapters {
namespace {

namespace es = eventstore;
using nlohmann::json;

constexpr engine::Micros kTime = 1'795'000'000'123'456;  // with microseconds
constexpr char kSubject[] = "lead-42";
const kj::byte kBytes[] = {0xab, 0xcd};

bool EndsWithAt(const std::string& name) {
  return name.size() > 2 && name.compare(name.size() - 2, 2, "At") == 0;
}

std::string PersonalBytes(const std::string& first_name) {
  capnp::MallocMessageBuilder m;
  auto p = m.initRoot<es::schema::Personal>();
  p.setFirstName(first_name);
  p.setLastName("Lovelace");
  auto phones = p.initPhones(1);
  phones.set(0, "+15164079249");
  auto words = capnp::messageToFlatArray(m);
  auto bytes = words.asBytes();
  return std::string(reinterpret_cast<const char*>(bytes.begin()), bytes.size());
}

// Fills every field of `s` with a recognisable value (see ExpectFilled): the first member of
// any union, both elements of every list, every nested struct.
class Filler {
 public:
  explicit Filler(std::string sealed) : sealed_(std::move(sealed)) {}

  void Fill(capnp::DynamicStruct::Builder s) {
    for (auto field : s.getSchema().getNonUnionFields()) FillField(s, field);
    auto union_fields = s.getSchema().getUnionFields();
    if (union_fields.size() > 0) FillField(s, union_fields[0]);
  }

 private:
  void FillField(capnp::DynamicStruct::Builder s, capnp::StructSchema::Field field) {
    const std::string name = field.getProto().getName().cStr();
    const capnp::Type type = field.getType();
    switch (type.which()) {
      case capnp::schema::Type::VOID:
        s.set(field, capnp::VOID);
        break;
      case capnp::schema::Type::BOOL:
        s.set(field, true);
        break;
      case capnp::schema::Type::INT8:
      case capnp::schema::Type::INT16:
      case capnp::schema::Type::INT32:
        s.set(field, int64_t{7});
        break;
      case capnp::schema::Type::INT64:
        s.set(field, EndsWithAt(name) ? kTime : int64_t{7});
        break;
      case capnp::schema::Type::UINT8:
      case capnp::schema::Type::UINT16:
      case capnp::schema::Type::UINT32:
      case capnp::schema::Type::UINT64:
        s.set(field, uint64_t{7});
        break;
      case capnp::schema::Type::FLOAT32:
      case capnp::schema::Type::FLOAT64:
        s.set(field, 1.5);
        break;
      case capnp::schema::Type::TEXT:
        s.set(field, capnp::Text::Reader(("t-" + name).c_str()));
        break;
      case capnp::schema::Type::DATA:
        if (name == "personal") {
          s.set(field, capnp::Data::Reader(reinterpret_cast<const kj::byte*>(sealed_.data()),
                                           sealed_.size()));
        } else {
          s.set(field, capnp::Data::Reader(kBytes, sizeof kBytes));
        }
        break;
      case capnp::schema::Type::LIST: {
        auto list = s.init(field, 2).as<capnp::DynamicList>();
        const capnp::Type element = type.asList().getElementType();
        for (unsigned i = 0; i < 2; ++i) {
          switch (element.which()) {
            case capnp::schema::Type::TEXT:
              list.set(i, capnp::Text::Reader("t-item"));
              break;
            case capnp::schema::Type::DATA:
              list.set(i, capnp::Data::Reader(kBytes, sizeof kBytes));
              break;
            case capnp::schema::Type::STRUCT:
              Fill(list[i].as<capnp::DynamicStruct>());
              break;
            default:
              list.set(i, uint64_t{7});
              break;
          }
        }
        break;
      }
      case capnp::schema::Type::STRUCT:
        Fill(s.init(field).as<capnp::DynamicStruct>());
        break;
      case capnp::schema::Type::ENUM:
        s.set(field, capnp::DynamicEnum(type.asEnum().getEnumerants()[0]));
        break;
      default:
        ADD_FAILURE() << "the test does not know how to fill " << name;
        break;
    }
  }

  std::string sealed_;
};

// Checks that `j` renders what Filler put into a struct of `schema`, field by field.
void ExpectFilled(const json& j, capnp::StructSchema schema, const std::string& where);

void ExpectValue(const json& v, capnp::Type type, const std::string& name,
                 const std::string& where) {
  SCOPED_TRACE(where);
  switch (type.which()) {
    case capnp::schema::Type::VOID:
      EXPECT_TRUE(v.is_null());
      break;
    case capnp::schema::Type::BOOL:
      EXPECT_EQ(v, true);
      break;
    case capnp::schema::Type::INT64:
      if (EndsWithAt(name)) {
        EXPECT_EQ(v, engine::FormatRfc3339(kTime)) << "a time reads as RFC 3339";
        break;
      }
      [[fallthrough]];
    case capnp::schema::Type::INT8:
    case capnp::schema::Type::INT16:
    case capnp::schema::Type::INT32:
    case capnp::schema::Type::UINT8:
    case capnp::schema::Type::UINT16:
    case capnp::schema::Type::UINT32:
    case capnp::schema::Type::UINT64:
      EXPECT_TRUE(v.is_number_integer()) << v;
      EXPECT_EQ(v, 7);
      break;
    case capnp::schema::Type::FLOAT32:
    case capnp::schema::Type::FLOAT64:
      EXPECT_EQ(v, 1.5);
      break;
    case capnp::schema::Type::TEXT:
      EXPECT_EQ(v, name.empty() ? "t-item" : "t-" + name);
      break;
    case capnp::schema::Type::DATA:
      if (name == "personal") {
        ASSERT_TRUE(v.is_object()) << v;
        EXPECT_EQ(v["firstName"], "Ada");
        EXPECT_EQ(v["phones"], json::array({"+15164079249"}));
      } else {
        EXPECT_EQ(v, "abcd") << "data reads as hex";
      }
      break;
    case capnp::schema::Type::LIST: {
      ASSERT_TRUE(v.is_array()) << v;
      ASSERT_EQ(v.size(), 2u);
      for (const auto& item : v) ExpectValue(item, type.asList().getElementType(), "", where);
      break;
    }
    case capnp::schema::Type::STRUCT:
      ExpectFilled(v, type.asStruct(), where);
      break;
    case capnp::schema::Type::ENUM:
      EXPECT_TRUE(v.is_string()) << v;
      break;
    default:
      ADD_FAILURE() << "unexpected type";
  }
}

void ExpectFilled(const json& j, capnp::StructSchema schema, const std::string& where) {
  ASSERT_TRUE(j.is_object()) << where << ": " << j;
  std::vector<capnp::StructSchema::Field> fields;
  for (auto f : schema.getNonUnionFields()) fields.push_back(f);
  if (schema.getUnionFields().size() > 0) fields.push_back(schema.getUnionFields()[0]);
  EXPECT_EQ(j.size(), fields.size()) << where << ": " << j;
  for (auto f : fields) {
    const std::string name = f.getProto().getName().cStr();
    ASSERT_TRUE(j.contains(name)) << where << " lacks " << name << ": " << j;
    ExpectValue(j[name], f.getType(), name, where + "." + name);
  }
}

class EventJsonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    es::LmdbOptions o;
    o.path = dir_.str() + "/es";
    o.sync = false;
    auto store = es::OpenLmdbEventStore(o);
    ASSERT_OK(store);
    store_ = std::move(store).value();
  }

  es::NewEvent Envelope() {
    es::NewEvent e;
    auto b = e.builder();
    b.setRecordedAt(kTime);
    b.setActor("system:test");
    b.setCorrelationId("corr-1");
    b.setCausationId("cause-1");
    b.setCommandId("cmd-1");
    b.setWorkflowId("real-estate-agents");
    b.setWorkflowVersion("3");
    b.setKeySubject(kSubject);
    return e;
  }

  // The JSON of every event in the log, in order.
  std::vector<json> ReadJson(bool open_personal) {
    std::vector<json> out;
    EXPECT_OK(store_->ReadAll(1, SIZE_MAX, [&](const es::EventView& v) {
      out.push_back(EventJson(v, store_->keys(), open_personal));
      EXPECT_NO_THROW(out.back().dump()) << "the JSON must always serialise";
      return true;
    }));
    return out;
  }

  std::string Sealed(const std::string& first_name = "Ada") {
    auto sealed = store_->keys().Seal(kSubject, PersonalBytes(first_name));
    EXPECT_OK(sealed);
    return sealed.ok() ? *sealed : std::string();
  }

  void AppendImported(const std::string& personal) {
    std::vector<es::NewEvent> v;
    v.push_back(Envelope());
    auto li = v[0].builder().getPayload().initLeadImported();
    li.setLeadId("42");
    li.setPersonal(
        capnp::Data::Reader(reinterpret_cast<const kj::byte*>(personal.data()), personal.size()));
    ASSERT_OK(store_->Append(kSubject, es::ExpectedVersion::Any(), std::move(v)));
  }

  nextier::testing::TempDir dir_;
  std::unique_ptr<es::EventStore> store_;
};

TEST_F(EventJsonTest, EveryPayloadTypeInTheSchemaDecodesToReadableJson) {
  const auto payload_schema = capnp::Schema::from<es::schema::Event::Payload>();
  const auto union_fields = payload_schema.getUnionFields();
  ASSERT_GE(union_fields.size(), 52u);  // as many as the schema had when this was written
  Filler filler(Sealed());
  std::map<uint64_t, capnp::StructSchema::Field> by_seq;
  for (auto field : union_fields) {
    std::vector<es::NewEvent> v;
    v.push_back(Envelope());
    auto payload = capnp::toDynamic(v[0].builder().getPayload());
    filler.Fill(payload.init(field).as<capnp::DynamicStruct>());
    auto r = store_->Append(kSubject, es::ExpectedVersion::Any(), std::move(v));
    ASSERT_OK(r);
    by_seq.emplace(r->first_seq, field);
  }

  const auto events = ReadJson(/*open_personal=*/true);
  ASSERT_EQ(events.size(), union_fields.size());
  for (size_t i = 0; i < events.size(); ++i) {
    const json& j = events[i];
    const auto field = by_seq.at(i + 1);
    const std::string member = field.getProto().getName().cStr();
    SCOPED_TRACE(member);
    EXPECT_EQ(j["type"],
              std::string(es::PayloadTypeName(static_cast<es::schema::Event::Payload::Which>(
                  field.getProto().getDiscriminantValue()))));
    EXPECT_EQ(j["seq"], i + 1);
    EXPECT_EQ(j["version"], i + 1);
    EXPECT_EQ(j["stream"], kSubject);
    EXPECT_EQ(j["at"], engine::FormatRfc3339(kTime));
    EXPECT_EQ(j["actor"], "system:test");
    EXPECT_EQ(j["correlationId"], "corr-1");
    EXPECT_EQ(j["causationId"], "cause-1");
    EXPECT_EQ(j["commandId"], "cmd-1");
    EXPECT_EQ(j["workflow"], (json{{"id", "real-estate-agents"}, {"version", "3"}}));
    ASSERT_TRUE(j["hash"].is_string());
    EXPECT_EQ(j["hash"].get<std::string>().size(), 64u);
    EXPECT_EQ(j["prevHash"].get<std::string>().size(), 64u);
    if (i > 0) {
      EXPECT_EQ(j["prevHash"], events[i - 1]["hash"]) << "the chain shows";
    }
    ExpectFilled(j["data"], field.getType().asStruct(), member);
  }
}

TEST_F(EventJsonTest, PersonalIsOpenedOnlyWhenAskedAndErasedOnceTheKeyIsForgotten) {
  AppendImported(Sealed());
  auto opened = ReadJson(true).at(0)["data"]["personal"];
  ASSERT_TRUE(opened.is_object()) << opened;
  EXPECT_EQ(opened["firstName"], "Ada");
  EXPECT_EQ(opened["lastName"], "Lovelace");
  EXPECT_FALSE(opened.contains("email")) << "empty personal fields are left out: " << opened;

  auto sealed = ReadJson(false).at(0);
  EXPECT_EQ(sealed["data"]["personal"], kSealed);
  EXPECT_EQ(sealed.dump().find("Ada"), std::string::npos);
  EXPECT_EQ(sealed.dump().find("Lovelace"), std::string::npos);

  ASSERT_OK(store_->keys().Forget(kSubject));
  EXPECT_EQ(ReadJson(true).at(0)["data"]["personal"], kErased);
  EXPECT_EQ(ReadJson(false).at(0)["data"]["personal"], kSealed);
}

TEST_F(EventJsonTest, ClearTextThatMayQuoteAForgottenPersonIsErasedWithTheKey) {
  // Free text stored in clear on the lead's stream (as older writers left it): a reply's words,
  // a number in a failure reason, an email among a timer's template values.
  std::vector<es::NewEvent> v;
  v.push_back(Envelope());
  v.back().builder().setKeySubject("");
  v.back().builder().getPayload().initLeadNotInterested().setReason("no thanks, Ada");
  v.push_back(Envelope());
  v.back().builder().setKeySubject("");
  auto f = v.back().builder().getPayload().initSmsSendFailed();
  f.setCode("no_time_zone");
  f.setReason("no time zone for phone \"+15164079249\"");
  v.push_back(Envelope());
  v.back().builder().setKeySubject("");
  auto t = v.back().builder().getPayload().initTimerScheduled();
  t.setTimerId("sms:autoreply:42:EMAIL");
  t.setKind("sms");
  t.setArgs(R"({"kind":"autoreply","values":{"email":"ada@example.com"}})");
  v.push_back(Envelope());
  v.back().builder().setKeySubject("");
  v.back().builder().getPayload().initTimerCancelled().setReason("replied");
  ASSERT_OK(store_->Append(kSubject, es::ExpectedVersion::Any(), std::move(v)));
  Sealed();  // the lead has a key

  for (bool open : {true, false}) {
    const std::string shown = json(ReadJson(open)).dump();
    EXPECT_NE(shown.find("no thanks, Ada"), std::string::npos) << "readable while remembered";
    EXPECT_NE(shown.find("ada@example.com"), std::string::npos);
  }
  ASSERT_OK(store_->keys().Forget(kSubject));
  for (bool open : {true, false}) {
    const auto events = ReadJson(open);
    const std::string shown = json(events).dump();
    for (const char* gone : {"Ada", "+15164079249", "ada@example.com"}) {
      EXPECT_EQ(shown.find(gone), std::string::npos) << gone << " in " << shown;
    }
    EXPECT_EQ(events.at(0)["data"]["reason"], kErased);
    EXPECT_EQ(events.at(1)["data"]["reason"], kErased);
    EXPECT_EQ(events.at(1)["data"]["code"], "no_time_zone") << "codes stay";
    const json args = json::parse(events.at(2)["data"]["args"].get<std::string>());
    EXPECT_EQ(args["kind"], "autoreply") << "the arguments keep their shape";
    EXPECT_EQ(args["values"]["email"], kErased);
    EXPECT_EQ(events.at(3)["data"]["reason"], "replied") << "a system reason is no quote";
  }
}

TEST_F(EventJsonTest, PersonalThatDoesNotOpenIsUnreadableAndAnEmptyOneIsNull) {
  Sealed();  // the subject has a key
  AppendImported("not sealed at all, just bytes long enough");
  AppendImported("");
  auto events = ReadJson(true);
  EXPECT_EQ(events.at(0)["data"]["personal"], kUnreadable);
  EXPECT_TRUE(events.at(1)["data"]["personal"].is_null());
}

TEST_F(EventJsonTest, InvalidUtf8TextIsReplacedSoTheJsonAlwaysSerialises) {
  std::vector<es::NewEvent> v;
  v.push_back(Envelope());
  v[0].builder().setActor("ops:\xff\xfe bad");
  v[0].builder().getPayload().initLeadRejected().setReason("caf\xc3\xa9 \xc3");
  ASSERT_OK(store_->Append(kSubject, es::ExpectedVersion::Any(), std::move(v)));
  auto j = ReadJson(true).at(0);
  EXPECT_EQ(j["actor"], "ops:\xEF\xBF\xBD\xEF\xBF\xBD bad");
  EXPECT_EQ(j["data"]["reason"], "caf\xc3\xa9 \xEF\xBF\xBD");
  EXPECT_EQ(j["data"]["code"], "");
}

TEST_F(EventJsonTest, UnsetTimesAreNull) {
  std::vector<es::NewEvent> v;
  v.push_back(Envelope());
  v[0].builder().getPayload().initCallCompleted().setDisposition("no_answer");
  ASSERT_OK(store_->Append(kSubject, es::ExpectedVersion::Any(), std::move(v)));
  auto j = ReadJson(true).at(0);
  EXPECT_EQ(j["type"], "CallCompleted");
  EXPECT_TRUE(j["data"]["callbackAt"].is_null()) << j;
  EXPECT_EQ(j["data"]["disposition"], "no_answer");
}

}  // namespace
}  // namespace nextier::adapters
