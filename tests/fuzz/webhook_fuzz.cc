// libFuzzer target: the inbound SMS webhook, end to end as `nextier serve` runs it — the signed
// POST /api/webhooks/sms-response through the real server and route (adapters/api_webhooks.cc:
// headers, HMAC check, timestamp window, JSON body, field extraction), InboundService (lead
// matching, classification, every effect of the class, the sealed evidence, one durable unit)
// on the real engine (engine_fixture.h: LMDB store, read models, sandbox, simulated clock,
// seeded with texted leads), and the reply classifier on its own with raw bytes.
//
// Input: byte 0 is the flags, the rest the payload.
//   flags & 3         0, 1: signed correctly; 2: one signature digit wrong; 3: signed over a
//                     timestamp six minutes old
//   payload '{'...    the webhook's body as sent (any bytes)
//   any other payload the text of a message; the body is built around it:
//     (flags >> 2) & 7  the sender: 0-5 a seeded lead (its number, to the number that texted it),
//                       6 a lead's number to a number that never texted it, 7 an unknown number
//     (flags >> 5) & 3  0, 1: MESSAGE_RECEIVED; 2: MESSAGE_DELIVERED, 3: MESSAGE_FAILED for
//                       that lead's opener (the text is the failure reason)
//
// The answer is checked against a model of API.md's webhook contract, computed independently
// from the body: 401 (wrong signature, stale timestamp) and 400 (not a JSON object, no sender,
// unknown event, no identifier) store nothing; a reply is 200 once stored, names the lead its
// sender and our number belong to (null for anyone else) and carries the class the classifier
// gives its text under that lead's workflow (business-owners for unknown senders), unless it is
// a repeat of an identifier seen before; a receipt for a lead's opener names the lead. Nothing is
// ever 5xx, and every answer is JSON.
//
// The text alone (raw bytes, invalid UTF-8 included) also goes to the classifier directly,
// under both shipped workflows (classifier.h's promises):
//  - ClassifyReply (per-thread cached rules) and ReplyClassifier::Classify agree exactly;
//  - an email is given only with EMAIL, is lowercase ASCII with one '@', and extracts to itself;
//  - a reply that starts with "STOP. " is an opt-out whatever follows (no phrase can hide it).
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine_fixture.h"
#include "nextier/adapters/api_webhooks.h"
#include "nextier/adapters/metrics.h"
#include "nextier/adapters/work_pool.h"
#include "nextier/engine/classifier.h"

namespace {

using nextier::engine::Classified;
using nextier::fuzz::Conversation;
using nextier::fuzz::Fail;
using nextier::workflows::ReplyClass;
using nextier::workflows::Workflow;
using nlohmann::json;
namespace adapters = nextier::adapters;

constexpr char kTarget[] = "webhook_fuzz";
constexpr char kSecret[] = "fuzz-webhook-secret";
constexpr char kDefaultWorkflow[] = "business-owners";  // InboundOptions' default
// A fresh engine past this many events (engine_fixture.h): each reply folds its lead's stream,
// which grows with every reply to the same few leads.
constexpr uint64_t kRotateAtEvents = 20000;

// The engine and the server with the webhook routes; replaced as a whole (engine_fixture.h).
struct Harness {
  ~Harness() {
    server->Stop();
    pool.reset();  // drained first: its jobs answer through the server
    server.reset();
  }

  std::unique_ptr<nextier::fuzz::FuzzEngine> fe;
  std::map<std::string, std::shared_ptr<const Workflow>> workflows;
  std::vector<std::unique_ptr<nextier::engine::ReplyClassifier>> classifiers;
  adapters::Metrics metrics;
  std::unique_ptr<adapters::Server> server;
  std::unique_ptr<adapters::WorkPool> pool;
};

std::unique_ptr<Harness> MakeHarness() {
  auto h = std::make_unique<Harness>();
  h->fe = nextier::fuzz::OpenEngine();
  for (const char* id : {"business-owners", "real-estate-agents"}) {
    auto info = h->fe->engine->registry->Get(id);
    if (!info.ok()) Fail(kTarget, "no shipped workflow", id);
    h->workflows[id] = info->workflow;
    h->classifiers.push_back(std::make_unique<nextier::engine::ReplyClassifier>(*info->workflow));
  }
  adapters::ServerOptions o;
  o.bind = "127.0.0.1";
  o.port = 0;
  o.threads = 1;
  o.read_timeout = std::chrono::milliseconds(3000);
  o.idle_timeout = std::chrono::milliseconds(3000);
  o.write_timeout = std::chrono::milliseconds(3000);
  o.shutdown_grace = std::chrono::milliseconds(100);
  h->server = std::make_unique<adapters::Server>(o, std::vector<adapters::ApiKey>{}, &h->metrics);
  h->pool = std::make_unique<adapters::WorkPool>(2);
  adapters::WebhookOptions webhook;
  webhook.secret = kSecret;
  adapters::RegisterWebhookRoutes(*h->server, *h->fe->engine->inbound, webhook, *h->pool);
  if (auto s = h->server->Start(); !s.ok()) Fail(kTarget, "cannot start", s.ToString());
  return h;
}

// Never destroyed at exit (see engine_fixture.h); replaced once the log is long.
std::unique_ptr<Harness>* current = new std::unique_ptr<Harness>;

Harness& TheHarness() {
  if (*current == nullptr || (*current)->fe->engine->store->Head() > kRotateAtEvents) {
    current->reset();
    *current = MakeHarness();
  }
  return **current;
}

std::string Text(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// ---- the classifier on its own ------------------------------------------------------------

void CheckClassifier(const Workflow& workflow, const nextier::engine::ReplyClassifier& classifier,
                     std::string_view text) {
  const Classified cached = nextier::engine::ClassifyReply(workflow, text);
  const Classified direct = classifier.Classify(text);
  if (cached.reply_class != direct.reply_class || cached.email != direct.email ||
      cached.matched != direct.matched) {
    Fail(kTarget, "ClassifyReply and ReplyClassifier::Classify disagree on", text);
  }
  if (direct.email) {
    const std::string& e = *direct.email;
    if (direct.reply_class != ReplyClass::kEmail) Fail(kTarget, "an email without EMAIL:", text);
    size_t ats = 0;
    for (char c : e) {
      if (static_cast<unsigned char>(c) >= 0x80 || (c >= 'A' && c <= 'Z')) {
        Fail(kTarget, "email not lowercase ASCII:", e);
      }
      ats += c == '@';
    }
    if (ats != 1) Fail(kTarget, "email without exactly one '@':", e);
    if (nextier::engine::ExtractEmail(e) != e)
      Fail(kTarget, "email does not extract to itself:", e);
  }
  if (direct.matched.empty()) Fail(kTarget, "no 'matched' evidence for", text);
  // The evidence goes into events and JSON: it must serialise.
  (void)json(direct.matched).dump();
  const std::string stopped = "STOP. " + std::string(text);
  if (classifier.Classify(stopped).reply_class != ReplyClass::kOptOut) {
    Fail(kTarget, "\"STOP. \" + reply is not an opt-out:", stopped);
  }
}

// ---- the model of the route ---------------------------------------------------------------

struct Expected {
  int status = 200;
  std::string error_code;                     // for 4xx
  bool check_lead = false;                    // leadId must be `lead_id`
  std::optional<std::string> lead_id;         // nullopt: null
  std::optional<std::string> classification;  // for a reply that is not a repeat
  bool stores = false;                        // the store's head moves (unless a repeat)
  bool may_repeat = true;
};

Expected Refused(int status, const char* code) {
  Expected x;
  x.status = status;
  x.error_code = code;
  return x;
}

const Conversation* ConversationOf(const std::string& from, const std::string& to) {
  for (const auto& c : (*current)->fe->conversations) {
    if (c.phone == from && c.our_number == to) return &c;
  }
  return nullptr;
}

Expected Model(int mode, const std::string& body) {
  Expected x;
  if (mode == 2) return Refused(401, "invalid_signature");
  if (mode == 3) return Refused(401, "stale_timestamp");
  const json doc = json::parse(body, nullptr, false);
  if (!doc.is_object()) return Refused(400, "invalid_json");
  const std::string event = Text(doc, "event");
  const json meta =
      doc.contains("metaData") && doc["metaData"].is_object() ? doc["metaData"] : json::object();
  if (event == "MESSAGE_RECEIVED") {
    const json msg =
        meta.contains("Message") && meta["Message"].is_object() ? meta["Message"] : json::object();
    const std::string from = Text(msg, "senderPhoneNumber");
    if (from.empty()) return Refused(400, "invalid_argument");
    const Conversation* c = ConversationOf(from, Text(msg, "recipientPhoneNumber"));
    x.check_lead = true;
    if (c != nullptr) x.lead_id = c->lead_id;
    const Workflow& w =
        *(*current)->workflows.at(c != nullptr ? c->workflow_id : std::string(kDefaultWorkflow));
    x.classification = std::string(nextier::workflows::ReplyClassName(
        nextier::engine::ClassifyReply(w, Text(msg, "messageBody")).reply_class));
    x.stores = true;
    return x;
  }
  if (event == "MESSAGE_DELIVERED" || event == "MESSAGE_FAILED") {
    const std::string id = Text(doc, "identifier");
    if (id.empty()) return Refused(400, "invalid_argument");
    for (const auto& c : (*current)->fe->conversations) {
      if (c.message_id == id) {
        x.check_lead = true;
        x.lead_id = c.lead_id;
      }
    }
    return x;
  }
  return Refused(400, "invalid_argument");
}

int64_t WallMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  Harness& h = TheHarness();
  const auto& conversations = h.fe->conversations;
  const uint8_t flags = data[0];
  const std::string_view payload(reinterpret_cast<const char*>(data) + 1, size - 1);
  static uint64_t counter = 0;
  const std::string n = std::to_string(getpid()) + "-" + std::to_string(++counter);

  // 1. The body: as given, or built around a text.
  std::string body;
  bool fresh_ids = false;  // identifiers no earlier input used
  if (!payload.empty() && payload.front() == '{') {
    body = payload;
  } else {
    for (size_t i = 0; i < h.classifiers.size(); ++i) {
      CheckClassifier(*h.workflows.at(i == 0 ? "business-owners" : "real-estate-agents"),
                      *h.classifiers[i], payload);
    }
    const Conversation& lead = conversations[((flags >> 2) & 7) % conversations.size()];
    const unsigned sender = (flags >> 2) & 7;
    const unsigned event = (flags >> 5) & 3;
    json doc;
    if (event < 2) {
      std::string from = lead.phone, to = lead.our_number;
      if (sender == 6) to = "+13125550142";  // a number of nobody's campaign
      if (sender == 7) from = "+1202555" + std::to_string(1000 + counter % 9000);
      doc = {{"event", "MESSAGE_RECEIVED"},
             {"identifier", "fz-" + n},
             {"metaData",
              {{"Message",
                {{"senderPhoneNumber", from},
                 {"recipientPhoneNumber", to},
                 {"messageBody", payload}}}}}};
    } else {
      doc = {{"event", event == 2 ? "MESSAGE_DELIVERED" : "MESSAGE_FAILED"},
             {"identifier", lead.message_id},
             {"metaData",
              {{"status", event == 2 ? "delivered" : "undelivered"},
               {"successOrFailureReason", payload},
               {"segmentCount", 1}}}};
    }
    // Text that is not UTF-8 is sent replaced (a JSON body cannot carry it).
    body = doc.dump(-1, ' ', false, json::error_handler_t::replace);
    fresh_ids = event < 2;
  }

  // 2. Signed (or not) and posted.
  const int mode = flags & 3;
  const std::string stamp = std::to_string(WallMillis() - (mode == 3 ? 6 * 60 * 1000 : 0));
  std::string signature = adapters::WebhookSignature(kSecret, stamp, body);
  if (mode == 2) signature[counter % signature.size()] ^= 1;
  const std::string request =
      "POST /api/webhooks/sms-response HTTP/1.1\r\nHost: fuzz\r\n"
      "Content-Type: application/json\r\nX-SignalHouse-Timestamp: " +
      stamp + "\r\nX-SignalHouse-Signature: " + signature + "\r\nX-SignalHouse-Delivery-Id: fzd-" +
      n + "\r\nConnection: close\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
      body;
  const Expected x = Model(mode, body);
  auto& store = *h.fe->engine->store;
  const uint64_t head_before = store.Head();
  const std::string out = nextier::fuzz::Exchange(kTarget, *h.server, request);
  const uint64_t head_after = store.Head();

  // 3. The answer against the model.
  const std::vector<int> codes = nextier::fuzz::CheckResponses(kTarget, out);
  if (codes.size() != 1) Fail(kTarget, "not exactly one response:", out);
  const size_t split = out.find("\r\n\r\n");
  const json answer =
      json::parse(split == std::string::npos ? "" : out.substr(split + 4), nullptr, false);
  if (answer.is_discarded()) Fail(kTarget, "the answer is not JSON:", out);
  const std::string context = "request:\n" + request + "\nanswer:\n" + out;
  if (codes[0] != x.status) {
    Fail(kTarget, ("expected " + std::to_string(x.status) + ":").c_str(), context);
  }
  if (x.status != 200) {
    if (!answer.contains("error") || Text(answer["error"], "code") != x.error_code) {
      Fail(kTarget, ("expected the error code " + x.error_code + ":").c_str(), context);
    }
    if (head_after != head_before) Fail(kTarget, "a refused webhook stored something:", context);
    return 0;
  }
  if (!answer.value("ok", false)) Fail(kTarget, "200 without ok:", context);
  const bool duplicate = answer.value("duplicate", false);
  if (duplicate && fresh_ids) Fail(kTarget, "a first delivery answered as a repeat:", context);
  if (x.check_lead && !duplicate) {
    const json expected_lead = x.lead_id ? json(*x.lead_id) : json(nullptr);
    if (answer.value("leadId", json()) != expected_lead) {
      Fail(kTarget, ("expected leadId " + expected_lead.dump() + ":").c_str(), context);
    }
  }
  if (x.classification && !duplicate) {
    if (answer.value("classification", std::string()) != *x.classification) {
      Fail(kTarget, ("expected the class " + *x.classification + ":").c_str(), context);
    }
    if (!x.lead_id && answer.value("goldLabel", false)) {
      Fail(kTarget, "a reply from nobody's number is a gold label:", context);
    }
  }
  if (x.stores && !duplicate && head_after <= head_before) {
    Fail(kTarget, "a new reply answered 200 but stored nothing:", context);
  }
  return 0;
}
