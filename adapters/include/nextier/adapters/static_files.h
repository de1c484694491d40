// The web UI's static files, served by `nextier serve`: `GET /` answers the folder's index.html,
// `GET /ui/{file}` any other file of the folder.
//
// Path safety by construction: the folder is read once, at registration, into memory — only
// regular files directly in it, with plain names (letters, digits, '.', '-', '_', not starting
// with '.'). A request only looks a name up in that table; nothing a client sends ever reaches
// the file system, so `..`, encoded slashes, absolute paths or symlinks out of the folder cannot
// read anything else. The UI is a few small files, so holding them costs little; editing them
// takes a restart.
#pragma once

#include <string>

#include "nextier/adapters/http_server.h"
#include "nextier/common/status.h"

namespace nextier::adapters {

struct StaticFilesOptions {
  size_t max_file_bytes = size_t{4} << 20;  // a larger file is skipped (with a warning) when read
  size_t max_files = 256;
};

// Reads `folder` and adds the routes to `server` (public: the UI asks for the key itself).
// NotFound when the folder does not exist or has no index.html; the routes are then not added.
Status RegisterStaticFiles(Server& server, const std::string& folder,
                           StaticFilesOptions options = {});

// The Content-Type for a file name, by extension ("application/octet-stream" when unknown).
std::string_view ContentTypeFor(std::string_view file_name);

// True for a name RegisterStaticFiles would serve (exposed for tests).
bool IsServableName(std::string_view file_name);

}  // namespace nextier::adapters
