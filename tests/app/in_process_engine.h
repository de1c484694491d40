// For tests that need the engine's services without a server: the engine wired as serve wires
// it (engine_wiring.h), in process, with the shipped workflows and a simulated clock.
#pragma once

#include <string>

#include "engine_wiring.h"
#include "nextier/engine/clock.h"
#include "nextier/engine/inbound.h"

namespace nextier::app::testing {

// Where the simulated clock starts.
inline engine::Micros StartTime() { return engine::ParseRfc3339("2026-12-01T17:00:00Z").value(); }

inline EngineOptions InProcessOptions(const std::string& data_dir) {
  EngineOptions o;
  o.data_dir = data_dir;
  o.workflows_dir = NEXTIER_DEFAULT_WORKFLOWS_DIR;
  o.sim_start = StartTime();
  return o;
}

// A reply from a number no lead has: stored as an orphan reply, classified all the same.
inline engine::InboundReply OrphanReply(const std::string& id, const std::string& body) {
  engine::InboundReply r;
  r.message_id = id;
  r.delivery_id = "delivery-" + id;
  r.from = "+12125550190";
  r.to = "+15164079249";
  r.body = body;
  r.raw_body = "{}";
  return r;
}

}  // namespace nextier::app::testing
