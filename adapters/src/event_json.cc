#include "nextier/adapters/event_json.h"

#include <capnp/dynamic.h>
#include <capnp/schema.h>

#include <string>

#include "nextier/engine/clock.h"
#include "nextier/eventstore/personal.h"

namespace nextier::adapters {
namespace {

using nlohmann::json;

// `text` with every byte that is not part of a well-formed UTF-8 sequence replaced by U+FFFD:
// event text comes from CSVs and webhooks, and nlohmann's dump() throws on invalid UTF-8.
std::string ValidUtf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    size_t len = 0;
    uint32_t min = 0;
    if (c < 0x80) {
      len = 1;
    } else if ((c & 0xE0) == 0xC0) {
      len = 2;
      min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      min = 0x10000;
    }
    bool ok = len > 0 && i + len <= text.size();
    uint32_t cp = len == 1 ? c : len == 2 ? (c & 0x1F) : len == 3 ? (c & 0x0F) : (c & 0x07);
    for (size_t k = 1; ok && k < len; ++k) {
      const auto cc = static_cast<unsigned char>(text[i + k]);
      ok = (cc & 0xC0) == 0x80;
      cp = (cp << 6) | (cc & 0x3F);
    }
    // Overlong forms, surrogates and values beyond Unicode are malformed too.
    if (ok && len > 1 && (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))) {
      ok = false;
    }
    if (ok) {
      out.append(text.substr(i, len));
      i += len;
    } else {
      out.append("\xEF\xBF\xBD");
      ++i;
    }
  }
  return out;
}

std::string TextOf(capnp::Text::Reader t) { return ValidUtf8({t.begin(), t.size()}); }

std::string HexOf(capnp::Data::Reader d) { return eventstore::HexEncode(d.begin(), d.size()); }

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() > suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

struct Context {
  eventstore::KeyRing& keys;
  std::string_view key_subject;
  bool open_personal;
};

json StructJson(capnp::DynamicStruct::Reader s, const Context& ctx, bool omit_empty);

// The opened Personal, or one of the markers. Opening copies the plaintext into word-aligned
// memory: Cap'n Proto refuses unaligned input.
json PersonalJson(capnp::Data::Reader sealed, const Context& ctx) {
  if (sealed.size() == 0) return nullptr;
  if (!ctx.open_personal) return std::string(kSealed);
  auto plain = ctx.keys.Open(ctx.key_subject,
                             {reinterpret_cast<const char*>(sealed.begin()), sealed.size()});
  if (!plain.ok()) {
    return std::string(plain.status().code() == StatusCode::kNotFound ? kErased : kUnreadable);
  }
  json out;
  const Status read = eventstore::ReadPersonal(*plain, [&](eventstore::schema::Personal::Reader p) {
    out = StructJson(capnp::toDynamic(p), ctx, true);
  });
  if (!read.ok()) return std::string(kUnreadable);
  return out;
}

json ValueJson(const capnp::DynamicValue::Reader& v, std::string_view name, const Context& ctx) {
  switch (v.getType()) {
    case capnp::DynamicValue::VOID:
    case capnp::DynamicValue::UNKNOWN:
    case capnp::DynamicValue::CAPABILITY:
    case capnp::DynamicValue::ANY_POINTER:
      return nullptr;
    case capnp::DynamicValue::BOOL:
      return v.as<bool>();
    case capnp::DynamicValue::INT: {
      const int64_t n = v.as<int64_t>();
      // Times are Int64 microseconds named "...At" throughout the schema; 0 means unset.
      if (EndsWith(name, "At")) return n == 0 ? json(nullptr) : json(engine::FormatRfc3339(n));
      return n;
    }
    case capnp::DynamicValue::UINT:
      return v.as<uint64_t>();
    case capnp::DynamicValue::FLOAT:
      return v.as<double>();
    case capnp::DynamicValue::TEXT:
      return TextOf(v.as<capnp::Text>());
    case capnp::DynamicValue::DATA:
      if (name == "personal") return PersonalJson(v.as<capnp::Data>(), ctx);
      return HexOf(v.as<capnp::Data>());
    case capnp::DynamicValue::LIST: {
      json out = json::array();
      for (auto item : v.as<capnp::DynamicList>()) out.push_back(ValueJson(item, {}, ctx));
      return out;
    }
    case capnp::DynamicValue::ENUM: {
      auto e = v.as<capnp::DynamicEnum>();
      KJ_IF_MAYBE (enumerant, e.getEnumerant()) {
        return std::string(enumerant->getProto().getName().cStr());
      }
      return e.getRaw();
    }
    case capnp::DynamicValue::STRUCT:
      return StructJson(v.as<capnp::DynamicStruct>(), ctx, false);
  }
  return nullptr;
}

// json::empty() is false for every string, so strings are asked directly.
bool IsEmpty(const json& j) {
  if (j.is_string()) return j.get_ref<const std::string&>().empty();
  return j.is_null() || ((j.is_array() || j.is_object()) && j.empty());
}

json StructJson(capnp::DynamicStruct::Reader s, const Context& ctx, bool omit_empty) {
  json out = json::object();
  auto add = [&](capnp::StructSchema::Field field) {
    const std::string name = field.getProto().getName().cStr();
    json value = ValueJson(s.get(field), name, ctx);
    if (omit_empty && IsEmpty(value)) return;
    out[name] = std::move(value);
  };
  for (auto field : s.getSchema().getNonUnionFields()) add(field);
  // Of a union only the member that is set, as the schema's own text format does.
  KJ_IF_MAYBE (field, s.which()) {
    add(*field);
  }
  return out;
}

// Payload fields stored in clear that may quote the person they are about: a provider's error
// text may name the number, a cancellation reason is whatever its author typed, and logs
// written before the writers were fixed hold a reply's text (LeadNotInterested) or a number
// (SmsSendFailed "no_time_zone"). Erased on the events of a forgotten lead; the codes beside
// them stay.
bool HasClearTextReason(std::string_view type) {
  static constexpr std::string_view kTypes[] = {
      "LeadNotInterested", "SmsSendFailed", "SmsSendUnknown",   "SmsDeliveryFailed",
      "LeadRejected",      "LeadNoHit",     "MeetingCancelled", "SkipTraceAttemptFailed"};
  for (auto t : kTypes) {
    if (t == type) return true;
  }
  return false;
}

// Whose personal data the event is about: its key subject, else the lead of its stream.
std::string_view SubjectOf(const eventstore::schema::Event::Reader& e) {
  std::string_view subject(e.getKeySubject().begin(), e.getKeySubject().size());
  if (!subject.empty()) return subject;
  std::string_view stream(e.getStreamId().begin(), e.getStreamId().size());
  return stream.substr(0, 5) == "lead-" ? stream : std::string_view();
}

// Erases the clear text of `type`'s payload in `data` (see HasClearTextReason); a timer's
// `args` keep their shape but lose the values meant for templates (an email, in old logs).
void EraseClearText(std::string_view type, json& data) {
  if (!data.is_object()) return;
  if (HasClearTextReason(type)) {
    auto it = data.find("reason");
    if (it != data.end() && it->is_string() && !it->get_ref<const std::string&>().empty()) {
      *it = std::string(kErased);
    }
    return;
  }
  if (type != "TimerScheduled") return;
  auto it = data.find("args");
  if (it == data.end() || !it->is_string()) return;
  json args = json::parse(it->get_ref<const std::string&>(), nullptr, false);
  if (!args.is_object()) {
    if (!it->get_ref<const std::string&>().empty()) *it = std::string(kErased);
    return;
  }
  auto values = args.find("values");
  if (values == args.end() || !values->is_object() || values->empty()) return;
  for (auto& [k, v] : values->items()) v = std::string(kErased);
  *it = args.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace

json EventJson(const eventstore::EventView& view, eventstore::KeyRing& keys, bool open_personal) {
  const auto e = view.event();
  const Context ctx{keys, {e.getKeySubject().begin(), e.getKeySubject().size()}, open_personal};
  json data = nullptr;
  try {
    auto payload = capnp::toDynamic(e.getPayload());
    KJ_IF_MAYBE (field, payload.which()) {
      data = ValueJson(payload.get(*field), field->getProto().getName().cStr(), ctx);
    }
  } catch (const kj::Exception& ex) {
    // A body that passed the hash check but does not decode is a bug or a newer writer; show
    // what is wrong instead of failing the whole history.
    data = {{"error", ValidUtf8(ex.getDescription().cStr())}};
  }
  const std::string_view type(e.getType().begin(), e.getType().size());
  if (HasClearTextReason(type) || type == "TimerScheduled") {
    const std::string_view subject = SubjectOf(e);
    if (!subject.empty() && keys.IsForgotten(subject)) EraseClearText(type, data);
  }
  return {{"seq", view.seq()},
          {"version", e.getStreamVersion()},
          {"stream", TextOf(e.getStreamId())},
          {"type", TextOf(e.getType())},
          {"at", engine::FormatRfc3339(e.getRecordedAt())},
          {"actor", TextOf(e.getActor())},
          {"correlationId", TextOf(e.getCorrelationId())},
          {"causationId", TextOf(e.getCausationId())},
          {"commandId", TextOf(e.getCommandId())},
          {"workflow",
           {{"id", TextOf(e.getWorkflowId())}, {"version", TextOf(e.getWorkflowVersion())}}},
          {"data", std::move(data)},
          {"prevHash", HexOf(e.getPrevHash())},
          {"hash", view.HashHex()}};
}

}  // namespace nextier::adapters
