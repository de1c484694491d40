// Driving a real `nextier serve` through its HTTP API in end-to-end tests: JSON calls, the
// simulated clock, signed webhooks, the CLI, and snapshots of every read model's answers (for
// "the rebuilt read models answer exactly like the live ones").
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace nextier::testing {

inline constexpr char kOpsKey[] = "ops-key-0001";
inline constexpr char kAgentKey[] = "agent-key-0001";
inline constexpr char kAuditorKey[] = "audit-key-0001";
inline constexpr char kAdminKey[] = "admin-key-0001";

struct CliRun {
  int exit_code = -1;
  std::string out;  // stdout and stderr together
};
// Runs `binary args` and returns its exit code and output.
CliRun RunCli(const std::string& binary, const std::string& args);

// A JSON request; EXPECTs the status to be `expect` and returns the parsed body (discarded
// JSON when it is not JSON).
nlohmann::json Call(uint16_t port, const std::string& method, const std::string& path,
                    const std::string& key, const nlohmann::json& body, int expect);
// POST /api/test/clock/advance {"seconds"}.
void Advance(uint16_t port, int seconds);

int64_t NowMillis();
// Posts a SignalHouse event signed with `secret` (timestamp now); returns the raw response.
std::string PostSignedWebhook(uint16_t port, const std::string& secret, const nlohmann::json& event,
                              const std::string& delivery_id);
// A MESSAGE_RECEIVED event from `from` to `to` saying `text`.
nlohmann::json ReplyEvent(const std::string& id, const std::string& from, const std::string& to,
                          const std::string& text);
// POST /api/data-hub/upload with a CSV body (ops key); returns the raw response.
std::string UploadCsv(uint16_t port, const std::string& name, const std::string& csv,
                      const std::string& workflow = {});

// Waits until the read models have applied the whole log (projection lag 0).
void WaitForReadModels(uint16_t port);
// Drops what depends on the moment of asking rather than on the log ("today", "asOf").
void DropVolatile(nlohmann::json& j);
// Every read-model answer of the API (path -> body without volatile fields), each lead and each
// of `campaigns` one by one too.
std::map<std::string, std::string> SnapshotReadModels(uint16_t port,
                                                      const std::vector<std::string>& campaigns);
// EXPECTs two snapshots to be equal, path by path.
void ExpectSameSnapshots(const std::map<std::string, std::string>& live,
                         const std::map<std::string, std::string>& other);

}  // namespace nextier::testing
