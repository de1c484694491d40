#include "nextier/adapters/api_webhooks.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/params.h>

#include <cctype>
#include <chrono>
#include <nlohmann/json.hpp>

#include "nextier/engine/clock.h"
#include "nextier/workflows/workflow.h"

namespace nextier::adapters {
namespace {

using nlohmann::json;

int64_t WallMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

HttpResponse Unauthorized(std::string_view code, std::string_view message) {
  return HttpResponse::Error(401, code, message);
}

std::string Text(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

Result<size_t> ParseLimit(const HttpRequest& req) {
  const std::string l = req.Query("limit");
  if (l.empty()) return size_t{50};
  char* end = nullptr;
  const long v = std::strtol(l.c_str(), &end, 10);
  if (*end != '\0' || v < 1 || v > 1000) {
    return Status::InvalidArgument("limit must be a number from 1 to 1000", "limit");
  }
  return static_cast<size_t>(v);
}

// HMAC-SHA256 over `timestamp.body` without looking the algorithms up per call (OpenSSL 3's
// one-shot HMAC() fetches them under a lock each time) or copying the body: each I/O thread
// keeps a context keyed with the secret and re-initialises it per request.
bool SignatureMac(const std::string& secret, const std::string& timestamp, const std::string& body,
                  unsigned char* out, size_t* len) {
  static EVP_MAC* const hmac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  struct Keyed {
    std::string secret;
    EVP_MAC_CTX* ctx = nullptr;
    ~Keyed() {
      EVP_MAC_CTX_free(ctx);
      OPENSSL_cleanse(secret.data(), secret.size());
    }
  };
  thread_local Keyed keyed;
  if (hmac == nullptr) return false;
  if (keyed.ctx == nullptr || keyed.secret != secret) {
    EVP_MAC_CTX_free(keyed.ctx);
    keyed.ctx = EVP_MAC_CTX_new(hmac);
    OPENSSL_cleanse(keyed.secret.data(), keyed.secret.size());
    keyed.secret.clear();
    char digest[] = "SHA256";
    const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", digest, 0),
                                 OSSL_PARAM_construct_end()};
    if (keyed.ctx == nullptr ||
        EVP_MAC_init(keyed.ctx, reinterpret_cast<const unsigned char*>(secret.data()),
                     secret.size(), params) != 1) {
      EVP_MAC_CTX_free(keyed.ctx);
      keyed.ctx = nullptr;
      return false;
    }
    keyed.secret = secret;
  } else if (EVP_MAC_init(keyed.ctx, nullptr, 0, nullptr) != 1) {  // the same key again
    return false;
  }
  const auto* ts = reinterpret_cast<const unsigned char*>(timestamp.data());
  const auto* b = reinterpret_cast<const unsigned char*>(body.data());
  return EVP_MAC_update(keyed.ctx, ts, timestamp.size()) == 1 &&
         EVP_MAC_update(keyed.ctx, reinterpret_cast<const unsigned char*>("."), 1) == 1 &&
         EVP_MAC_update(keyed.ctx, b, body.size()) == 1 &&
         EVP_MAC_final(keyed.ctx, out, len, EVP_MAX_MD_SIZE) == 1;
}

json TimeJson(int64_t t) { return t == 0 ? json(nullptr) : json(engine::FormatRfc3339(t)); }
json OrNull(const std::string& s) { return s.empty() ? json(nullptr) : json(s); }

}  // namespace

std::string WebhookSignature(const std::string& secret, const std::string& timestamp,
                             const std::string& body) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  size_t len = 0;
  if (!SignatureMac(secret, timestamp, body, mac, &len)) {
    // Not expected with the default provider; the one-shot call gives the same MAC.
    const std::string signed_text = timestamp + "." + body;
    unsigned int n = 0;
    HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
         reinterpret_cast<const unsigned char*>(signed_text.data()), signed_text.size(), mac, &n);
    len = n;
  }
  static const char* kHex = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2);
  for (size_t i = 0; i < len; ++i) {
    out.push_back(kHex[mac[i] >> 4]);
    out.push_back(kHex[mac[i] & 15]);
  }
  return out;
}

void RegisterWebhookRoutes(Server& server, engine::InboundService& inbound, WebhookOptions options,
                           WorkPool& pool) {
  auto handler = [&inbound, &pool, options](HttpRequest& req, Responder respond) {
    const std::string ts = req.Header("x-signalhouse-timestamp");
    const std::string sig = req.Header("x-signalhouse-signature");
    const std::string delivery = req.Header("x-signalhouse-delivery-id");
    if (ts.empty() || sig.empty() || delivery.empty()) {
      return respond(Unauthorized("missing_signature",
                                  "X-SignalHouse-Timestamp, X-SignalHouse-Signature and "
                                  "X-SignalHouse-Delivery-Id are required"));
    }
    if (options.secret.empty()) {
      return respond(Unauthorized("invalid_signature", "no webhook secret is configured"));
    }
    const std::string expected = WebhookSignature(options.secret, ts, req.body);
    if (sig.size() != expected.size() ||
        CRYPTO_memcmp(sig.data(), expected.data(), expected.size()) != 0) {
      return respond(Unauthorized("invalid_signature", "the signature does not match the body"));
    }
    char* end = nullptr;
    const long long stamp = std::strtoll(ts.c_str(), &end, 10);
    if (*end != '\0' || std::llabs(WallMillis() - stamp) > options.max_skew_ms) {
      return respond(
          Unauthorized("stale_timestamp", "the timestamp is more than 5 minutes from now"));
    }
    json body = json::parse(req.body, nullptr, false);
    if (!body.is_object()) {
      return respond(HttpResponse::Error(400, "invalid_json", "the body must be a JSON object"));
    }
    const std::string event = Text(body, "event");
    static const json kEmpty = json::object();
    auto object_at = [](const json& j, const char* key) -> const json& {
      auto it = j.find(key);
      return it != j.end() && it->is_object() ? *it : kEmpty;
    };
    const json& meta = object_at(body, "metaData");  // a view, not a copy
    if (event == "MESSAGE_RECEIVED") {
      const json& msg = object_at(meta, "Message");
      engine::InboundReply reply;
      reply.message_id = Text(body, "identifier");
      reply.delivery_id = delivery;
      reply.from = Text(msg, "senderPhoneNumber");
      reply.to = Text(msg, "recipientPhoneNumber");
      reply.body = Text(msg, "messageBody");
      reply.raw_body = req.body;
      if (reply.from.empty()) {
        return respond(HttpResponse::Error(400, "invalid_argument",
                                           "metaData.Message.senderPhoneNumber is required",
                                           "metaData.Message.senderPhoneNumber"));
      }
      // Prepared on this I/O thread and answered from the group commit's completion: no thread
      // waits for the fsync, so one commit carries as many replies as are in flight.
      return inbound.ReceiveAsync(
          std::move(reply), [&pool](std::function<void()> work) { pool.Post(std::move(work)); },
          [respond](Result<engine::InboundOutcome> r) {
            if (!r.ok()) return respond(HttpResponse::FromStatus(r.status()));
            json out = {{"ok", true},
                        {"leadId", r->lead_id ? json(*r->lead_id) : json(nullptr)},
                        {"classification", r->classification},
                        {"goldLabel", r->gold_label},
                        {"duplicate", r->duplicate}};
            respond(HttpResponse::Json(200, out.dump()));
          });
    }
    if (event == "MESSAGE_DELIVERED" || event == "MESSAGE_FAILED") {
      engine::DeliveryReceipt receipt;
      receipt.event = event;
      receipt.message_id = Text(body, "identifier");
      receipt.delivery_id = delivery;
      receipt.status = Text(meta, "status");
      receipt.reason = Text(meta, "successOrFailureReason");
      if (auto it = meta.find("segmentCount"); it != meta.end() && it->is_number_unsigned()) {
        receipt.segments = it->get<uint32_t>();
      }
      return pool.Post([&inbound, receipt = std::move(receipt), respond] {
        auto r = inbound.Receipt(receipt);
        if (!r.ok()) return respond(HttpResponse::FromStatus(r.status()));
        json out = {{"ok", true},
                    {"leadId", r->lead_id ? json(*r->lead_id) : json(nullptr)},
                    {"event", receipt.event},
                    {"duplicate", r->duplicate}};
        respond(HttpResponse::Json(200, out.dump()));
      });
    }
    respond(HttpResponse::Error(400, "invalid_argument",
                                "event must be MESSAGE_RECEIVED, MESSAGE_DELIVERED or "
                                "MESSAGE_FAILED",
                                "event"));
  };
  const RouteOptions signed_route{{}, true, size_t{256} << 10};
  server.AddRoute("POST", "/api/webhooks/sms-response", signed_route, handler);
  server.AddRoute("POST", "/api/webhooks/signalhouse", signed_route, handler);
}

void RegisterResponseRoutes(Server& server, const projections::ResponsesProjection& responses) {
  const RouteOptions read{{Role::kOps, Role::kAgent}, false, 1024};
  server.AddRoute("GET", "/api/responses", read, [&responses](HttpRequest& req, Responder respond) {
    auto limit = ParseLimit(req);
    if (!limit.ok()) return respond(HttpResponse::FromStatus(limit.status()));
    projections::ResponseFilter filter;
    filter.classification = req.Query("classification");
    for (char& ch : filter.classification) {
      ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));  // email = EMAIL
    }
    if (!filter.classification.empty() &&
        !workflows::ReplyClassFromName(filter.classification).has_value()) {
      return respond(HttpResponse::FromStatus(Status::InvalidArgument(
          "classification must be one of OPT_OUT, HELP, EMAIL, POSITIVE, NEGATIVE, QUESTION, "
          "WRONG_NUMBER, OTHER",
          "classification")));
    }
    filter.campaign = req.Query("campaign");
    std::optional<std::string> next;
    auto items = responses.List(filter, *limit, req.Query("cursor"), &next);
    if (!items.ok()) return respond(HttpResponse::FromStatus(items.status()));
    json out = json::array();
    for (const auto& r : *items) {
      out.push_back({{"id", r.id},
                     {"leadId", OrNull(r.lead_id)},
                     {"from", r.from},
                     {"body", r.body},
                     {"classification", r.classification},
                     {"email", OrNull(r.email)},
                     {"goldLabel", r.gold_label},
                     {"campaignId", OrNull(r.campaign_id)},
                     {"receivedAt", TimeJson(r.received_at)}});
    }
    respond(HttpResponse::Json(
        200, json{{"items", out}, {"next", next ? json(*next) : json(nullptr)}}.dump()));
  });
  server.AddRoute(
      "GET", "/api/responses/gold-labels", read, [&responses](HttpRequest& req, Responder respond) {
        auto limit = ParseLimit(req);
        if (!limit.ok()) return respond(HttpResponse::FromStatus(limit.status()));
        std::optional<std::string> next;
        auto items = responses.GoldLabels(*limit, req.Query("cursor"), &next);
        if (!items.ok()) return respond(HttpResponse::FromStatus(items.status()));
        json out = json::array();
        for (const auto& g : *items) {
          out.push_back({{"leadId", g.lead_id},
                         {"email", g.email},
                         {"phone", g.phone},
                         {"phoneVerified", g.phone_verified},
                         {"goldLabeledAt", TimeJson(g.gold_labeled_at)},
                         {"campaignId", OrNull(g.campaign_id)},
                         {"messageId", OrNull(g.message_id)}});
        }
        respond(HttpResponse::Json(
            200, json{{"items", out}, {"next", next ? json(*next) : json(nullptr)}}.dump()));
      });
}

}  // namespace nextier::adapters
