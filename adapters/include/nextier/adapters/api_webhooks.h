// SignalHouse webhooks and the responses read model over HTTP (API.md "Webhooks", "Responses").
//
// POST /api/webhooks/sms-response (alias /api/webhooks/signalhouse) is public but signed: the
// request must carry X-SignalHouse-Timestamp (Unix milliseconds), X-SignalHouse-Signature (the
// lowercase hex HMAC-SHA256 of TIMESTAMP + "." + RAW_BODY under the webhook secret) and
// X-SignalHouse-Delivery-Id. A missing header, a signature that does not match (compared in
// constant time) or a timestamp more than 5 minutes from the real wall clock is a 401 and
// nothing is stored. Then MESSAGE_RECEIVED is an inbound reply and MESSAGE_DELIVERED /
// MESSAGE_FAILED a delivery receipt (inbound.h); the answer is sent once it is durable.
#pragma once

#include <string>

#include "nextier/adapters/http_server.h"
#include "nextier/adapters/work_pool.h"
#include "nextier/engine/inbound.h"
#include "nextier/projections/responses.h"

namespace nextier::adapters {

// The lowercase hex HMAC-SHA256 of `timestamp + "." + body` under `secret`.
std::string WebhookSignature(const std::string& secret, const std::string& timestamp,
                             const std::string& body);

struct WebhookOptions {
  std::string secret;
  int64_t max_skew_ms = 5 * 60 * 1000;
};

void RegisterWebhookRoutes(Server& server, engine::InboundService& inbound, WebhookOptions options,
                           WorkPool& pool);

// GET /api/responses?classification=&campaign= and GET /api/responses/gold-labels (ops, agent).
void RegisterResponseRoutes(Server& server, const projections::ResponsesProjection& responses);

}  // namespace nextier::adapters
