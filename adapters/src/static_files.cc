// The web UI's static files (see static_files.h): read once into memory, served by name.
#include "nextier/adapters/static_files.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <system_error>

#include "nextier/adapters/logging.h"

namespace nextier::adapters {
namespace {

namespace fs = std::filesystem;

struct StaticFile {
  std::string content_type;
  std::string body;
};
using FileTable = std::map<std::string, StaticFile, std::less<>>;

HttpResponse Serve(const StaticFile& file) {
  HttpResponse r;
  r.status = 200;
  r.content_type = file.content_type;
  r.body = file.body;
  // The UI changes only with a new build; revalidating is cheap and never shows a stale page.
  r.headers.emplace_back("Cache-Control", "no-cache");
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
  if (file.content_type.starts_with("text/html")) {
    // Everything the UI loads comes from this server; no inline script, no third party.
    r.headers.emplace_back("Content-Security-Policy",
                           "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; "
                           "style-src 'self'; script-src 'self'; frame-ancestors 'none'");
    r.headers.emplace_back("X-Frame-Options", "DENY");
  }
  return r;
}

}  // namespace

std::string_view ContentTypeFor(std::string_view name) {
  static const std::pair<std::string_view, std::string_view> kTypes[] = {
      {".html", "text/html; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".json", "application/json"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".ico", "image/x-icon"},
      {".txt", "text/plain; charset=utf-8"},
      {".woff2", "font/woff2"},
  };
  for (const auto& [ext, type] : kTypes) {
    if (name.ends_with(ext)) return type;
  }
  return "application/octet-stream";
}

bool IsServableName(std::string_view name) {
  if (name.empty() || name.size() > 128 || name.front() == '.') return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

Status RegisterStaticFiles(Server& server, const std::string& folder, StaticFilesOptions options) {
  std::error_code ec;
  if (!fs::is_directory(folder, ec)) {
    return Status::NotFound("web UI folder " + folder + " does not exist or is not a folder");
  }
  auto files = std::make_shared<FileTable>();
  for (const auto& entry : fs::directory_iterator(folder, ec)) {
    const std::string name = entry.path().filename().string();
    // symlink_status: a link is never followed, so nothing outside the folder is read.
    const auto status = entry.symlink_status(ec);
    if (ec || !fs::is_regular_file(status) || !IsServableName(name)) continue;
    if (files->size() >= options.max_files) {
      LogWarn("web UI: more than " + std::to_string(options.max_files) + " files in " + folder +
              "; the rest are not served");
      break;
    }
    const auto size = entry.file_size(ec);
    if (ec || size > options.max_file_bytes) {
      LogWarn("web UI: " + name + " is larger than " + std::to_string(options.max_file_bytes) +
              " bytes; not served");
      continue;
    }
    std::ifstream in(entry.path(), std::ios::binary);
    std::ostringstream body;
    body << in.rdbuf();
    if (!in.good() && !in.eof()) {
      LogWarn("web UI: cannot read " + entry.path().string() + "; not served");
      continue;
    }
    files->emplace(name, StaticFile{std::string(ContentTypeFor(name)), body.str()});
  }
  if (ec) return Status::Unavailable("web UI folder " + folder + ": " + ec.message());
  const auto index = files->find("index.html");
  if (index == files->end()) {
    return Status::NotFound("web UI folder " + folder + " has no index.html");
  }

  RouteOptions public_route;
  public_route.public_route = true;
  public_route.max_body = 0;
  server.AddRoute("GET", "/", public_route, [files](HttpRequest&, Responder respond) {
    respond(Serve(files->at("index.html")));
  });
  server.AddRoute("GET", "/ui/{file}", public_route, [files](HttpRequest& req, Responder respond) {
    const auto it = files->find(req.params.at(0));
    if (it == files->end()) {
      respond(HttpResponse::Error(404, "not_found", "no such file in the web UI", "file"));
      return;
    }
    respond(Serve(it->second));
  });
  return Status::Ok();
}

}  // namespace nextier::adapters
