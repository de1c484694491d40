#include "testing/journey.h"

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <thread>

#include "nextier/adapters/api_webhooks.h"
#include "testing/http_client.h"

namespace nextier::testing {

using nlohmann::json;

CliRun RunCli(const std::string& binary, const std::string& args) {
  CliRun r;
  const std::string cmd = binary + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  const int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

json Call(uint16_t port, const std::string& method, const std::string& path, const std::string& key,
          const json& body, int expect) {
  const std::string res = HttpCall(port, method, path, key, body.is_null() ? "" : body.dump());
  EXPECT_EQ(StatusOf(res), expect) << method << " " << path << ": " << res;
  return json::parse(BodyOf(res), nullptr, false);
}

void Advance(uint16_t port, int seconds) {
  Call(port, "POST", "/api/test/clock/advance", kAdminKey, {{"seconds", seconds}}, 200);
}

int64_t NowMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string PostSignedWebhook(uint16_t port, const std::string& secret, const json& event,
                              const std::string& delivery_id) {
  const std::string body = event.dump();
  const std::string stamp = std::to_string(NowMillis());
  return RawRequest(
      port,
      "POST /api/webhooks/sms-response HTTP/1.1\r\nHost: localhost\r\n"
      "X-SignalHouse-Timestamp: " +
          stamp +
          "\r\nX-SignalHouse-Signature: " + adapters::WebhookSignature(secret, stamp, body) +
          "\r\nX-SignalHouse-Delivery-Id: " + delivery_id +
          "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
          "\r\nConnection: close\r\n\r\n" + body);
}

json ReplyEvent(const std::string& id, const std::string& from, const std::string& to,
                const std::string& text) {
  return {{"event", "MESSAGE_RECEIVED"},
          {"identifier", id},
          {"timestamp", "2026-11-28T17:10:00Z"},
          {"metaData",
           {{"Message",
             {{"direction", "INBOUND"},
              {"senderPhoneNumber", from},
              {"recipientPhoneNumber", to},
              {"messageBody", text}}}}}};
}

std::string UploadCsv(uint16_t port, const std::string& name, const std::string& csv,
                      const std::string& workflow) {
  return RawRequest(port, "POST /api/data-hub/upload?name=" + name +
                              (workflow.empty() ? "" : "&workflow=" + workflow) +
                              " HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer " + kOpsKey +
                              "\r\nContent-Type: text/csv\r\nContent-Length: " +
                              std::to_string(csv.size()) + "\r\nConnection: close\r\n\r\n" + csv);
}

void WaitForReadModels(uint16_t port) {
  for (int i = 0; i < 200; ++i) {
    const std::string metrics = BodyOf(HttpCall(port, "GET", "/metrics", ""));
    if (metrics.find("nextier_projection_lag_events 0\n") != std::string::npos) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ADD_FAILURE() << "the read models never caught up";
}

void DropVolatile(json& j) {
  if (j.is_object()) {
    j.erase("today");
    j.erase("asOf");
    for (auto& [k, v] : j.items()) DropVolatile(v);
  } else if (j.is_array()) {
    for (auto& v : j) DropVolatile(v);
  }
}

std::map<std::string, std::string> SnapshotReadModels(uint16_t port,
                                                      const std::vector<std::string>& campaigns) {
  std::vector<std::string> paths = {
      "/api/leads?limit=1000",
      "/api/leads?status=gold&limit=1000",
      "/api/leads/enriched?limit=1000",
      "/api/campaigns",
      "/api/responses?limit=1000",
      "/api/responses?classification=EMAIL&limit=1000",
      "/api/responses/gold-labels?limit=1000",
      "/api/call-queue?limit=1000",
      "/api/call-queue?status=pending&limit=1000",
      "/api/meetings",
      "/api/dashboard/overview",
      "/api/data-hub/files",
  };
  for (const auto& id : campaigns) paths.push_back("/api/campaigns/" + id);
  std::map<std::string, std::string> out;
  for (const auto& path : paths) {
    const std::string res = HttpCall(port, "GET", path, kOpsKey);
    EXPECT_EQ(StatusOf(res), 200) << path << ": " << res;
    json j = json::parse(BodyOf(res), nullptr, false);
    DropVolatile(j);
    out[path] = j.dump();
  }
  // Each lead one by one too (the single-lead read path).
  const json leads = json::parse(out["/api/leads?limit=1000"], nullptr, false);
  if (leads.is_object() && leads.contains("items")) {
    for (const auto& lead : leads["items"]) {
      const std::string path = "/api/leads/" + lead["id"].get<std::string>();
      json j = json::parse(BodyOf(HttpCall(port, "GET", path, kOpsKey)), nullptr, false);
      DropVolatile(j);
      out[path] = j.dump();
    }
  }
  return out;
}

void ExpectSameSnapshots(const std::map<std::string, std::string>& live,
                         const std::map<std::string, std::string>& other) {
  ASSERT_EQ(live.size(), other.size());
  for (const auto& [path, body] : live) {
    auto it = other.find(path);
    ASSERT_NE(it, other.end()) << path;
    EXPECT_EQ(body, it->second) << path;
  }
}

}  // namespace nextier::testing
