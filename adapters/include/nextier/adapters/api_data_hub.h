// The data hub and leads endpoints of API.md, registered on a Server. Everything passed in must
// outlive the server and the pool.
//
// POST /api/data-hub/upload (ops) streams the body into an ImportJob: `text/csv` (or any
// non-multipart type; the CSV reader judges the bytes) or `multipart/form-data` with a `file`
// part (read as it arrives). Query: name (default: the multipart filename, else "upload.csv"),
// source, workflow (default real-estate-agents). The import runs while the body streams, on a
// WorkPool thread fed through a bounded queue of chunks; the response comes once the file is
// durably imported: 202 {"file": FILE} with status "done", or 400 (code "invalid_file", field
// "file") with the reason when the input is not a CSV we can use (only its FileUploaded +
// FileFailed are stored). When the import falls behind the network, the queue fills and the
// I/O thread reading this upload waits for room (TODO(issue-4): pause the read instead, once
// BodySink can signal backpressure). One import runs at a time (dedupe must see the previous
// import's leads): an upload while another is importing gets 409 (code conflict) at once.
//
// GET /api/data-hub/files, GET /api/data-hub/files/{id} (ops): FILE, the latter with `errors`
// and `mapping`. GET /api/leads?status=&campaign=, /api/leads/enriched, /api/leads/{id} (ops,
// agent): LEAD. Lists are {"items", "next"} with ?limit= (default 50, max 1000) and ?cursor=.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include "nextier/adapters/data_hub.h"
#include "nextier/adapters/http_server.h"
#include "nextier/adapters/work_pool.h"
#include "nextier/projections/files.h"
#include "nextier/projections/leads.h"
#include "nextier/projections/projection.h"

namespace nextier::adapters {

void RegisterDataHubRoutes(Server& server, DataHub& hub, projections::FilesProjection& files,
                           projections::ProjectionRunner& runner, eventstore::EventStore& store,
                           WorkPool& pool);

void RegisterLeadRoutes(Server& server, projections::LeadsProjection& leads);

// The API's JSON for one file (with `errors` and `mapping` when `detail`) and one lead.
nlohmann::json FileJson(const projections::FileRecord& file, bool detail);
nlohmann::json LeadJson(const projections::LeadView& lead);

}  // namespace nextier::adapters
