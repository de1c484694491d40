// What fuzz_webhook and fuzz_http share: the whole engine as `nextier serve` wires it
// (app/engine_wiring.h), opened once per fuzzing process in a fresh temporary folder and seeded
// with a few leads that were texted, and the client side of one HTTP exchange over loopback.
//
// The engine runs the shipped workflows, the sandbox providers and a simulated clock that only
// moves when the fixture moves it (timers never fire on their own, so the same input meets the
// same engine but for what earlier inputs stored). Its folder (in /dev/shm when that has room,
// else the temporary folder) goes with it, and with the process when it exits normally; after a
// crash it is left for a look (its path is printed when opened).
//
// The log only grows, and some requests read all of it by design (GET /api/audit/export reads up
// to 100,000 events, a reply folds its lead's whole stream), so an input would cost more the
// longer a run lasts and end as a false "hang". The targets therefore start over on a freshly
// seeded engine once the log passes a length of their choosing (a run of any length stays fast).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine_wiring.h"
#include "nextier/adapters/http_server.h"

namespace nextier::fuzz {

// A lead the seeding texted: a reply from `phone` to `our_number` is that lead's.
struct Conversation {
  std::string lead_id;
  std::string phone;       // the lead's number, E.164
  std::string our_number;  // the campaign's from-number
  std::string workflow_id;
  std::string message_id;  // the opener's provider message id (what a receipt names)
};

struct FuzzEngine {
  ~FuzzEngine();  // stops the engine, removes its folder

  std::string data_dir;
  std::unique_ptr<app::Engine> engine;
  std::vector<Conversation> conversations;  // at least one per shipped workflow
};

// A new engine in a new folder, seeded (a second or two); aborts with the reason when that fails.
// Whatever uses it (a server, its routes, work pools) must be gone before it is destroyed.
std::unique_ptr<FuzzEngine> OpenEngine();

// Prints "`target`: `what`" and `detail`, then aborts (libFuzzer keeps the input).
[[noreturn]] void Fail(const char* target, const char* what, std::string_view detail = {});

// One connection to 127.0.0.1:`port`: writes `bytes`, shuts the write side (so the server sees
// the end of the input at once), reads the answer to its end and returns it. Then waits until
// `server` holds no connection, so the next exchange never overlaps this one. A hang (no answer
// or no close within 5 s) is a finding: Fail(target, ...).
std::string Exchange(const char* target, const adapters::Server& server, std::string_view bytes);

// Every "HTTP/1.1 " response in `out` has a well-formed status line below 500 (a 5xx means the
// server or a handler broke on the input; the store is healthy). `out` may end in a response cut
// short by a reset (the server closes with unread input after a 413). Returns the status codes.
std::vector<int> CheckResponses(const char* target, const std::string& out);

}  // namespace nextier::fuzz
