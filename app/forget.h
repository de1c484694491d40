// `nextier forget LEAD_ID [--data DIR]`: the right to be forgotten from the command line (see
// engine/forget.h). Opens the store for writing (its writer lock: stop `nextier serve` first, or
// use POST /api/leads/{id}/forget on the running server), forgets the lead, destroys its key,
// then brings the read models up to date. Starts no service: nothing is sent, no timer fires.
#pragma once

#include <string>

namespace nextier::app {

struct ForgetOptions {
  std::string lead_id;  // the bare id ("7") or the human LEAD ID ("NXT-000123")
  std::string data_dir = "./data";
};

// 0 once the lead is forgotten (also when it already was: nothing is appended then); 1 with a
// one-line reason on stderr when the lead does not exist, there is no store in the folder, the
// folder is in use or the store fails; 2 on bad usage (an empty id).
int RunForget(const ForgetOptions& options);

}  // namespace nextier::app
