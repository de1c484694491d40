// `nextier history LEAD_ID`: a lead's whole event history as a readable timeline, or as the JSON
// of GET /api/leads/{id}/history (API.md, "Command line").
//
// The store is opened read-only and takes no writer lock, so this runs beside `nextier serve`.
#pragma once

#include <string>

namespace nextier::app {

struct HistoryOptions {
  std::string lead_id;  // the bare id ("7") or the human LEAD ID ("NXT-000123")
  std::string data_dir = "./data";
  bool json = false;
};

// Prints to stdout. 0 on success; 1 with a one-line reason on stderr when the store cannot be
// opened or read or the lead does not exist; 2 on bad usage (an empty id).
int RunHistory(const HistoryOptions& options);

}  // namespace nextier::app
