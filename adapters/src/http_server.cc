// The one translation unit that compiles Boost.Asio and Boost.Beast for the HTTP server.
//
// One io_context per I/O thread, each run by that thread alone; a connection lives on one of
// them (accepted round-robin), so its handlers run one at a time without a strand, and the
// scheduler is not shared (no lock handoffs between the threads for every operation).
// Per connection: a Session on its context. DoReadHeader/OnReadHeader read the header with
// a size limit and a deadline (a client trickling bytes is cut off when the deadline passes);
// the route decides between a bounded string body and a streamed body; the handler answers
// through a Responder that posts back to the context; one write is in flight at a time.
#include "nextier/adapters/http_server.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <condition_variable>
#include <deque>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>
#include <unordered_map>

#include "nextier/adapters/logging.h"

namespace nextier::adapters {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;

// --- roles and keys ----------------------------------------------------------------------

std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kNone:
      return "none";
    case Role::kAuditor:
      return "auditor";
    case Role::kAgent:
      return "agent";
    case Role::kOps:
      return "ops";
    case Role::kAdmin:
      return "admin";
  }
  return "none";
}

std::optional<Role> ParseRole(std::string_view name) {
  for (Role r : {Role::kAuditor, Role::kAgent, Role::kOps, Role::kAdmin}) {
    if (RoleName(r) == name) return r;
  }
  return std::nullopt;
}

Result<std::vector<ApiKey>> LoadApiKeys(const std::string& file, const std::string& env_value) {
  std::vector<ApiKey> keys;
  if (!file.empty()) {
    std::ifstream in(file);
    if (!in) return Status::InvalidArgument(file + ": cannot be read", "keys");
    nlohmann::json doc;
    try {
      in >> doc;
    } catch (const nlohmann::json::exception& e) {
      return Status::InvalidArgument(file + ": not JSON: " + e.what(), "keys");
    }
    if (!doc.is_array()) {
      return Status::InvalidArgument(file + ": expected a JSON list of {\"key\",\"role\",\"name\"}",
                                     "keys");
    }
    for (size_t i = 0; i < doc.size(); ++i) {
      const auto& e = doc[i];
      const std::string where = file + ": [" + std::to_string(i) + "]";
      if (!e.is_object() || !e.contains("key") || !e["key"].is_string() || !e.contains("role") ||
          !e["role"].is_string()) {
        return Status::InvalidArgument(where + ": needs string fields key and role", "keys");
      }
      auto role = ParseRole(e["role"].get<std::string>());
      if (!role) {
        return Status::InvalidArgument(where + ".role: must be one of ops, agent, auditor, admin",
                                       "keys");
      }
      std::string key = e["key"].get<std::string>();
      if (key.size() < 8)
        return Status::InvalidArgument(where + ".key: shorter than 8 characters", "keys");
      keys.push_back({std::move(key), *role, e.value("name", std::string(RoleName(*role)))});
    }
  }
  if (!env_value.empty()) {
    std::stringstream ss(env_value);
    std::string item;
    int index = 0;
    while (std::getline(ss, item, ',')) {
      ++index;
      if (item.empty()) continue;
      const auto colon = item.find(':');
      const std::string where = "NEXTIER_API_KEYS entry " + std::to_string(index);
      if (colon == std::string::npos) {
        return Status::InvalidArgument(where + ": expected role:key", "NEXTIER_API_KEYS");
      }
      auto role = ParseRole(item.substr(0, colon));
      if (!role) {
        return Status::InvalidArgument(where + ": role must be one of ops, agent, auditor, admin",
                                       "NEXTIER_API_KEYS");
      }
      std::string key = item.substr(colon + 1);
      if (key.size() < 8) {
        return Status::InvalidArgument(where + ": key shorter than 8 characters",
                                       "NEXTIER_API_KEYS");
      }
      keys.push_back(
          {std::move(key), *role, std::string(RoleName(*role)) + "-" + std::to_string(index)});
    }
  }
  return keys;
}

// --- requests and responses --------------------------------------------------------------

std::string HttpRequest::Header(std::string_view lower_name) const {
  auto it = headers.find(std::string(lower_name));
  return it == headers.end() ? std::string() : it->second;
}

std::string HttpRequest::Query(std::string_view name, std::string_view fallback) const {
  auto it = query.find(std::string(name));
  return it == query.end() ? std::string(fallback) : it->second;
}

HttpResponse HttpResponse::Json(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

HttpResponse HttpResponse::Error(int status, std::string_view code, std::string_view message,
                                 std::string_view field) {
  nlohmann::json e = {{"code", code}, {"message", message}};
  if (!field.empty()) e["field"] = field;
  // Messages quote what the client sent (a path, an id, a query value), which need not be
  // UTF-8 (GET /%FF): replace bad bytes rather than throw, which on an I/O thread or a worker
  // would end the process.
  return Json(status, nlohmann::json{{"error", e}}.dump(-1, ' ', false,
                                                        nlohmann::json::error_handler_t::replace));
}

HttpResponse HttpResponse::FromStatus(const Status& s) {
  switch (s.code()) {
    case StatusCode::kOk:
      return Json(200, "{}");
    case StatusCode::kInvalidArgument:
      return Error(400, "invalid_argument", s.message(), s.field());
    case StatusCode::kNotFound:
      return Error(404, "not_found", s.message(), s.field());
    case StatusCode::kConflict:
      return Error(409, "conflict", s.message(), s.field());
    case StatusCode::kResourceExhausted: {
      // The store's own words for a capped map ("the event store is full") and the system's for
      // a full disk (ENOSPC, EDQUOT) are storage; anything else is a limit (429).
      const std::string& m = s.message();
      const bool storage = m.find("full") != std::string::npos ||
                           m.find("MDB_MAP_FULL") != std::string::npos ||
                           m.find("No space left on device") != std::string::npos ||
                           m.find("Disk quota exceeded") != std::string::npos;
      return Error(storage ? 503 : 429, storage ? "storage_full" : "limit_reached", m, s.field());
    }
    case StatusCode::kUnavailable:
      return Error(503, "unavailable", s.message(), s.field());
    case StatusCode::kCorruption:
      return Error(500, "corruption", s.message(), s.field());
    case StatusCode::kInternal:
      return Error(500, "internal", s.message(), s.field());
  }
  return Error(500, "internal", s.message());
}

namespace {

std::string PercentDecode(std::string_view in, bool plus_is_space) {
  std::string out;
  out.reserve(in.size());
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%' && i + 2 < in.size() && hex(in[i + 1]) >= 0 && hex(in[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex(in[i + 1]) * 16 + hex(in[i + 2])));
      i += 2;
    } else if (plus_is_space && in[i] == '+') {
      out.push_back(' ');
    } else {
      out.push_back(in[i]);
    }
  }
  return out;
}

std::vector<std::string> SplitPath(std::string_view path) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < path.size()) {
    while (i < path.size() && path[i] == '/') ++i;
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    if (j > i) out.emplace_back(path.substr(i, j - i));
    i = j;
  }
  return out;
}

using KeyDigest = std::array<unsigned char, SHA256_DIGEST_LENGTH>;

KeyDigest Digest(std::string_view key) {
  KeyDigest d;
  SHA256(reinterpret_cast<const unsigned char*>(key.data()), key.size(), d.data());
  return d;
}

struct DigestHash {
  size_t operator()(const KeyDigest& d) const {
    size_t h;
    std::memcpy(&h, d.data(), sizeof h);
    return h;
  }
};

}  // namespace

// --- the server --------------------------------------------------------------------------

struct Route {
  std::string method;
  std::string pattern;
  std::vector<std::string> segments;
  RouteOptions options;
  Handler handler;
  StreamingHandler streaming;
  WebSocketHandler ws_open;  // set for WebSocket routes
  WebSocketOptions ws_options;
  Histogram* latency = nullptr;
  std::array<Counter*, 6> codes{};  // by status class 1xx..5xx (index 1..5)
};

class Session;
class WsPeer;

class Server::Impl {
 public:
  Impl(ServerOptions options, std::vector<ApiKey> keys, Metrics* metrics)
      : options_(std::move(options)),
        metrics_(metrics),
        iocs_(MakeContexts(options_.threads)),
        acceptor_(*iocs_.front()) {
    for (auto& k : keys) keys_.emplace(Digest(k.key), std::move(k));
    if (metrics_ != nullptr) {
      ws_dropped_ = &metrics_->GetCounter("nextier_websocket_dropped_total",
                                          "WebSocket clients dropped for not keeping up", "");
    }
    unmatched_ = MakeRoute("*", "unmatched", RouteOptions{{}, true, 0});
  }

  Route MakeRoute(std::string method, std::string pattern, RouteOptions options) {
    Route r;
    r.method = std::move(method);
    r.pattern = std::move(pattern);
    r.segments = SplitPath(r.pattern);
    r.options = std::move(options);
    if (metrics_ != nullptr) {
      const std::string labels = "route=\"" + r.method + " " + r.pattern + "\"";
      r.latency = &metrics_->GetHistogram("nextier_http_request_duration_seconds",
                                          "HTTP request latency, from header read to response "
                                          "written",
                                          labels);
      for (int c = 1; c <= 5; ++c) {
        r.codes[c] = &metrics_->GetCounter("nextier_http_requests_total", "HTTP requests answered",
                                           labels + ",code=\"" + std::to_string(c) + "xx\"");
      }
    }
    return r;
  }

  // Finds the route for a request; `path_matched` tells 405 from 404.
  const Route* Match(const std::string& method, const std::vector<std::string>& segments,
                     std::vector<std::string>* params, bool* path_matched) const {
    *path_matched = false;
    for (const auto& r : routes_) {
      if (r.segments.size() != segments.size()) continue;
      std::vector<std::string> p;
      bool ok = true;
      for (size_t i = 0; i < segments.size() && ok; ++i) {
        const auto& s = r.segments[i];
        if (s.size() >= 2 && s.front() == '{' && s.back() == '}') {
          p.push_back(PercentDecode(segments[i], false));
        } else if (s != segments[i]) {
          ok = false;
        }
      }
      if (!ok) continue;
      *path_matched = true;
      if (r.method == method) {
        *params = std::move(p);
        return &r;
      }
    }
    return nullptr;
  }

  // 0 when allowed, else 401 or 403.
  int Authorize(const Route& route, HttpRequest& req) const {
    if (route.options.public_route) return 0;
    std::string auth = req.Header("authorization");
    std::string key;
    if (auth.size() > 7 &&
        (auth.compare(0, 7, "Bearer ") == 0 || auth.compare(0, 7, "bearer ") == 0)) {
      key = auth.substr(7);
    } else if (route.ws_open) {
      // Only where needed: browsers cannot set headers on a WebSocket. Elsewhere a key in the
      // URL would end up in proxy logs and browser history.
      key = req.Query("key");
    }
    if (key.empty()) return 401;
    // Keys are looked up by their SHA-256, so the lookup compares digests, never the secret;
    // the final comparison is constant-time.
    const KeyDigest d = Digest(key);
    auto it = keys_.find(d);
    if (it == keys_.end() || CRYPTO_memcmp(it->first.data(), d.data(), d.size()) != 0) return 401;
    req.role = it->second.role;
    req.key_name = it->second.name;
    if (req.role == Role::kAdmin) return 0;
    for (Role r : route.options.roles) {
      if (r == req.role) return 0;
    }
    return 403;
  }

  void DoAccept();
  void OnAccept(beast::error_code ec, tcp::socket socket);

  static std::vector<std::unique_ptr<net::io_context>> MakeContexts(int threads) {
    std::vector<std::unique_ptr<net::io_context>> out;
    // Concurrency hint 1: each context is run by one thread.
    for (int i = 0; i < std::max(1, threads); ++i)
      out.push_back(std::make_unique<net::io_context>(1));
    return out;
  }

  ServerOptions options_;
  Metrics* metrics_;
  std::unordered_map<KeyDigest, ApiKey, DigestHash> keys_;
  std::vector<Route> routes_;
  Route unmatched_;
  std::atomic<size_t> connections_{0};
  std::atomic<bool> stopping_{false};
  std::atomic<bool> stopped_{false};
  std::mutex sessions_mu_;
  std::condition_variable sessions_cv_;
  std::unordered_map<Session*, std::weak_ptr<Session>> sessions_;
  std::unordered_map<WsPeer*, std::weak_ptr<WsPeer>> ws_peers_;  // under sessions_mu_
  Counter* ws_dropped_ = nullptr;
  uint16_t port_ = 0;
  // Declared last so they are destroyed first: handlers still queued in the io_context hold
  // sessions whose destructors use the members above.
  std::vector<std::unique_ptr<net::io_context>> iocs_;
  size_t next_ioc_ = 0;  // the context of the next accepted connection (accept handler only)
  tcp::acceptor acceptor_;
  std::vector<std::thread> threads_;
  std::vector<net::executor_work_guard<net::io_context::executor_type>> work_;
};

// One WebSocket connection: on its connection's context, a read loop that answers pings
// and notices the close, and a bounded queue written one message at a time.
class WsPeer final : public WebSocketPeer, public std::enable_shared_from_this<WsPeer> {
 public:
  WsPeer(tcp::socket&& socket, Server::Impl* server, const Route* route, HttpRequest req)
      : registration_(server, this),
        executor_(socket.get_executor()),
        ws_(std::move(socket)),
        close_timer_(executor_),
        server_(server),
        route_(route),
        req_(std::move(req)) {}

  // On the connection's context.
  void Start(http::request<http::empty_body> upgrade) {
    {
      std::lock_guard lock(server_->sessions_mu_);
      server_->ws_peers_[this] = weak_from_this();
    }
    beast::get_lowest_layer(ws_).expires_never();  // the WebSocket keeps its own timeouts
    websocket::stream_base::timeout t{};
    t.handshake_timeout = std::chrono::seconds(5);
    t.idle_timeout = server_->options_.idle_timeout;  // with pings: a dead client is noticed
    t.keep_alive_pings = true;
    ws_.set_option(t);
    ws_.set_option(websocket::stream_base::decorator(
        [](websocket::response_type& res) { res.set(http::field::server, "nextier"); }));
    ws_.read_message_max(route_->ws_options.max_incoming_message);
    ws_.async_accept(upgrade, beast::bind_front_handler(&WsPeer::OnAccept, shared_from_this()));
  }

  bool Send(std::string text) override {
    std::unique_lock lock(mu_);
    if (closing_) return false;
    const WebSocketOptions& o = route_->ws_options;
    if (queue_.size() >= o.max_queued_messages ||
        queued_bytes_ + text.size() > o.max_queued_bytes) {
      // Too slow to keep up: drop it rather than let it hold memory or the sender.
      dropped_ = true;
      closing_ = true;
      open_ = false;
      queue_.clear();
      queued_bytes_ = 0;
      lock.unlock();
      if (server_->ws_dropped_ != nullptr) server_->ws_dropped_->Add();
      net::post(executor_, [self = shared_from_this()] { self->Abort(); });
      return false;
    }
    queued_bytes_ += text.size();
    queue_.push_back(std::move(text));
    if (accepted_ && !writing_) {
      writing_ = true;
      net::post(executor_, [self = shared_from_this()] { self->DoWrite(); });
    }
    return true;
  }

  void Close() override {
    {
      std::lock_guard lock(mu_);
      if (closing_) return;
      closing_ = true;
      open_ = false;
      queue_.clear();
      queued_bytes_ = 0;
    }
    net::post(executor_, [self = shared_from_this()] { self->DoClose(); });
  }

  bool open() const override { return open_.load(); }
  bool dropped() const override {
    std::lock_guard lock(mu_);
    return dropped_;
  }
  void SetOnClose(std::function<void()> fn) override {
    {
      std::lock_guard lock(mu_);
      if (!finished_) {
        on_close_ = std::move(fn);
        return;
      }
    }
    if (fn) fn();
  }
  const HttpRequest& request() const override { return req_; }

 private:
  void OnAccept(beast::error_code ec) {
    if (ec) return Finish();
    {
      std::lock_guard lock(mu_);
      accepted_ = true;
      if (!closing_) open_ = true;
    }
    if (route_->codes[1] != nullptr) route_->codes[1]->Add();
    DoRead();
    if (server_->stopping_) return Close();
    try {
      route_->ws_open(shared_from_this());
    } catch (const std::exception& e) {
      LogError("WS " + route_->pattern + ": on_open failed: " + e.what());
      return Close();
    }
    std::lock_guard lock(mu_);
    if (!writing_ && !closing_ && !queue_.empty()) {
      writing_ = true;
      net::post(executor_, [self = shared_from_this()] { self->DoWrite(); });
    }
  }

  void DoRead() {
    ws_.async_read(read_buffer_, beast::bind_front_handler(&WsPeer::OnRead, shared_from_this()));
  }

  void OnRead(beast::error_code ec, std::size_t) {
    if (ec) {
      Abort();
      return Finish();
    }
    read_buffer_.consume(read_buffer_.size());  // clients have nothing to say here
    DoRead();
  }

  void DoWrite() {
    {
      std::lock_guard lock(mu_);
      if (closing_ || queue_.empty()) {
        writing_ = false;
        return;
      }
      current_ = std::move(queue_.front());
      queue_.pop_front();
      queued_bytes_ -= current_.size();
    }
    ws_.text(true);
    ws_.async_write(net::buffer(current_),
                    beast::bind_front_handler(&WsPeer::OnWrite, shared_from_this()));
  }

  void OnWrite(beast::error_code ec, std::size_t) {
    if (ec) {
      {
        std::lock_guard lock(mu_);
        closing_ = true;
        open_ = false;
        writing_ = false;
      }
      return Abort();
    }
    DoWrite();
  }

  // On the context: a close handshake, cut short after close_timeout.
  void DoClose() {
    bool accepted = false;
    {
      std::lock_guard lock(mu_);
      if (finished_) return;
      accepted = accepted_;
    }
    if (!accepted) return Abort();
    close_timer_.expires_after(route_->ws_options.close_timeout);
    close_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (!ec) self->Abort();
    });
    ws_.async_close(websocket::close_code::normal,
                    [self = shared_from_this()](beast::error_code) { self->Abort(); });
  }

  // On the context: closes the socket; pending operations end with an error.
  void Abort() {
    beast::error_code ec;
    auto& lowest = beast::get_lowest_layer(ws_);
    lowest.socket().shutdown(tcp::socket::shutdown_both, ec);
    lowest.close();
  }

  // On the context, once the read loop ended: the connection is over.
  void Finish() {
    std::function<void()> fn;
    {
      std::lock_guard lock(mu_);
      if (finished_) return;
      finished_ = true;
      closing_ = true;
      open_ = false;
      queue_.clear();
      queued_bytes_ = 0;
      fn = std::move(on_close_);
    }
    close_timer_.cancel();
    if (fn) {
      try {
        fn();
      } catch (const std::exception& e) {
        LogError("WS " + route_->pattern + ": on_close failed: " + e.what());
      }
    }
  }

  // Declared first, so destroyed last (see Session::Registration).
  struct Registration {
    Registration(Server::Impl* s, WsPeer* p) : server(s), peer(p) {
      server->connections_.fetch_add(1);
    }
    ~Registration() {
      {
        std::lock_guard lock(server->sessions_mu_);
        server->ws_peers_.erase(peer);
        server->connections_.fetch_sub(1);
      }
      server->sessions_cv_.notify_all();
    }
    Server::Impl* server;
    WsPeer* peer;
  } registration_;
  net::any_io_executor executor_;
  websocket::stream<beast::tcp_stream> ws_;
  net::steady_timer close_timer_;
  Server::Impl* server_;
  const Route* route_;
  const HttpRequest req_;
  beast::flat_buffer read_buffer_;
  std::string current_;  // the message being written (its context only)

  mutable std::mutex mu_;
  std::deque<std::string> queue_;
  size_t queued_bytes_ = 0;
  bool accepted_ = false;
  bool writing_ = false;
  bool closing_ = false;
  bool finished_ = false;
  bool dropped_ = false;
  std::function<void()> on_close_;
  std::atomic<bool> open_{false};
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket&& socket, Server::Impl* server)
      : registration_{server, this}, stream_(std::move(socket)), server_(server) {
    beast::error_code ec;
    auto ep = stream_.socket().remote_endpoint(ec);
    if (!ec) remote_ = ep.address().to_string() + ":" + std::to_string(ep.port());
  }

  void Start() {
    {
      std::lock_guard lock(server_->sessions_mu_);
      server_->sessions_[this] = weak_from_this();
    }
    net::dispatch(stream_.get_executor(),
                  beast::bind_front_handler(&Session::DoReadHeader, shared_from_this()));
  }

  // Called at shutdown: an idle connection closes now; a busy one after its response.
  void Shutdown() {
    net::post(stream_.get_executor(), [self = shared_from_this()] {
      if (!self->busy_) self->Close();
    });
  }

 private:
  void DoReadHeader() {
    if (server_->stopping_) return Close();
    busy_ = false;
    header_parser_.emplace();
    header_parser_->header_limit(static_cast<std::uint32_t>(server_->options_.max_header_bytes));
    // Beast checks Content-Length against the body limit while parsing the header; the limit
    // depends on the route, so it is checked after routing instead.
    header_parser_->body_limit(boost::none);
    stream_.expires_after(first_ ? server_->options_.read_timeout : server_->options_.idle_timeout);
    first_ = false;
    http::async_read_header(stream_, buffer_, *header_parser_,
                            beast::bind_front_handler(&Session::OnReadHeader, shared_from_this()));
  }

  void OnReadHeader(beast::error_code ec, std::size_t) {
    if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
        ec == net::error::operation_aborted || ec == net::error::eof ||
        ec == net::error::connection_reset) {
      return Close();
    }
    busy_ = true;
    started_ = std::chrono::steady_clock::now();
    route_ = &server_->unmatched_;
    req_ = HttpRequest{};
    keep_alive_ = false;
    if (ec == http::error::header_limit || ec == http::error::buffer_overflow) {
      return Respond(HttpResponse::Error(431, "header_too_large",
                                         "request headers exceed " +
                                             std::to_string(server_->options_.max_header_bytes) +
                                             " bytes"));
    }
    if (ec) {
      return Respond(HttpResponse::Error(400, "malformed_request",
                                         "the request is not valid HTTP/1.1: " + ec.message()));
    }
    const auto& h = header_parser_->get();
    // A Transfer-Encoding whose last coding is not chunked leaves the body's end unknown: read as
    // empty, its bytes would be parsed as the next request (smuggling behind a proxy). RFC 9112
    // §6.3: answer 400 and close.
    if (h.find(http::field::transfer_encoding) != h.end() && !h.chunked()) {
      return Respond(HttpResponse::Error(400, "malformed_request",
                                         "Transfer-Encoding must end with chunked",
                                         "Transfer-Encoding"));
    }
    // RFC 9112 §3.2: an HTTP/1.1 request with no Host, or more than one, is answered 400.
    if (h.version() == 11 && h.count(http::field::host) != 1) {
      return Respond(HttpResponse::Error(
          400, "malformed_request", "an HTTP/1.1 request needs exactly one Host header", "Host"));
    }
    req_.method = std::string(h.method_string());
    req_.target = std::string(h.target());
    req_.remote = remote_;
    const auto qpos = req_.target.find('?');
    req_.path = PercentDecode(std::string_view(req_.target).substr(0, qpos), false);
    if (qpos != std::string::npos) {
      std::stringstream qs(req_.target.substr(qpos + 1));
      std::string pair;
      while (std::getline(qs, pair, '&')) {
        if (pair.empty()) continue;
        const auto eq = pair.find('=');
        req_.query[PercentDecode(pair.substr(0, eq), true)] =
            eq == std::string::npos ? std::string() : PercentDecode(pair.substr(eq + 1), true);
      }
    }
    for (const auto& field : h) {
      std::string name(field.name_string());
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      req_.headers[name] = std::string(field.value());
    }
    // The body is read only for a matched, authorised route; otherwise answer and close.
    bool path_matched = false;
    const Route* route =
        server_->Match(req_.method, SplitPath(req_.path), &req_.params, &path_matched);
    if (route == nullptr) {
      return Respond(path_matched
                         ? HttpResponse::Error(405, "method_not_allowed",
                                               req_.method + " is not allowed on " + req_.path)
                         : HttpResponse::Error(404, "not_found", "no such endpoint: " + req_.path));
    }
    route_ = route;
    const int auth = server_->Authorize(*route, req_);
    if (auth == 401) {
      return Respond(HttpResponse::Error(401, "unauthorized",
                                         "an API key is required: Authorization: Bearer KEY"));
    }
    if (auth == 403) {
      return Respond(HttpResponse::Error(403, "forbidden",
                                         "the " + std::string(RoleName(req_.role)) +
                                             " role may not " + req_.method + " " +
                                             route->pattern));
    }
    if (route->ws_open) return StartWebSocket();
    keep_alive_ = h.keep_alive();
    if (route->streaming) return StartStreaming();
    const auto length = header_parser_->content_length();
    if (length && *length > route->options.max_body) {
      keep_alive_ = false;  // the body is not read
      return Respond(HttpResponse::Error(
          413, "payload_too_large",
          "the body exceeds " + std::to_string(route->options.max_body) + " bytes"));
    }
    string_parser_.emplace(std::move(*header_parser_));
    string_parser_->body_limit(route->options.max_body);
    stream_.expires_after(server_->options_.read_timeout);
    http::async_read(stream_, buffer_, *string_parser_,
                     beast::bind_front_handler(&Session::OnReadBody, shared_from_this()));
  }

  void OnReadBody(beast::error_code ec, std::size_t) {
    if (ec == http::error::body_limit) {
      keep_alive_ = false;
      return Respond(HttpResponse::Error(
          413, "payload_too_large",
          "the body exceeds " + std::to_string(route_->options.max_body) + " bytes"));
    }
    if (ec) {
      if (ec == beast::error::timeout) return Close();
      keep_alive_ = false;
      return Respond(HttpResponse::Error(400, "malformed_request", "body: " + ec.message()));
    }
    req_.body = std::move(string_parser_->get().body());
    Dispatch();
  }

  void Dispatch() {
    auto self = shared_from_this();
    auto answered = std::make_shared<std::atomic<bool>>(false);
    Responder respond = [self, answered](HttpResponse r) {
      if (answered->exchange(true)) return;  // exactly once
      net::post(self->stream_.get_executor(),
                [self, r = std::move(r)]() mutable { self->Respond(std::move(r)); });
    };
    try {
      route_->handler(req_, respond);
    } catch (const std::exception& e) {
      respond(HttpResponse::Error(500, "internal", std::string("handler failed: ") + e.what()));
    }
  }

  // --- WebSocket upgrade ---

  // Hands the socket to a WsPeer (on the same context) once the route matched and the key passed;
  // this Session then ends. Bytes a client pipelined after its upgrade request are not replayed
  // (a client must wait for the 101 before sending frames).
  void StartWebSocket() {
    keep_alive_ = false;
    if (!websocket::is_upgrade(header_parser_->get())) {
      auto r = HttpResponse::Error(426, "upgrade_required",
                                   req_.path + " is a WebSocket endpoint: send Upgrade: websocket");
      r.headers.emplace_back("Upgrade", "websocket");
      return Respond(std::move(r));
    }
    // What Beast's handshake would refuse in plain text, refused here in the API's error shape
    // (RFC 6455 §4.2.1: a 16-byte nonce in base64; version 13, else 426 naming it).
    const auto& h = header_parser_->get();
    const std::string_view key = h[http::field::sec_websocket_key];
    const bool key_ok = key.size() == 24 && key.substr(22) == "==" &&
                        key.substr(0, 22).find_first_not_of(
                            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/") ==
                            std::string_view::npos;
    if (h.version() != 11 || !key_ok) {
      return Respond(HttpResponse::Error(
          400, "malformed_request",
          "a WebSocket handshake needs HTTP/1.1 and a Sec-WebSocket-Key of 16 bytes in base64",
          "Sec-WebSocket-Key"));
    }
    if (h[http::field::sec_websocket_version] != "13") {
      auto r = HttpResponse::Error(426, "upgrade_required", "Sec-WebSocket-Version must be 13",
                                   "Sec-WebSocket-Version");
      r.headers.emplace_back("Sec-WebSocket-Version", "13");
      return Respond(std::move(r));
    }
    if (server_->stopping_) {
      return Respond(HttpResponse::Error(503, "unavailable", "the server is shutting down"));
    }
    StartWsPeer();
  }
  void StartWsPeer();  // below WsPeer

  // --- streamed bodies ---

  void StartStreaming() {
    try {
      sink_ = route_->streaming(req_);
    } catch (const std::exception& e) {
      keep_alive_ = false;
      return Respond(HttpResponse::Error(500, "internal", e.what()));
    }
    if (!sink_) {
      keep_alive_ = false;
      return Respond(HttpResponse::Error(500, "internal", "no body sink"));
    }
    stream_parser_.emplace(std::move(*header_parser_));
    stream_parser_->body_limit(boost::none);
    chunk_.resize(64 * 1024);
    DoReadChunk();
  }

  void DoReadChunk() {
    auto& body = stream_parser_->get().body();
    body.data = chunk_.data();
    body.size = chunk_.size();
    stream_.expires_after(server_->options_.read_timeout);  // each chunk must keep coming
    http::async_read(stream_, buffer_, *stream_parser_,
                     beast::bind_front_handler(&Session::OnReadChunk, shared_from_this()));
  }

  void OnReadChunk(beast::error_code ec, std::size_t) {
    if (ec == http::error::need_buffer) ec = {};
    const size_t got = chunk_.size() - stream_parser_->get().body().size;
    Status s;
    if (ec) {
      keep_alive_ = false;
      s = Status::InvalidArgument("the upload stopped before its end: " + ec.message());
    } else if (got > 0) {
      s = sink_->OnChunk(std::string_view(chunk_.data(), got));
    }
    if (s.ok() && !stream_parser_->is_done()) return DoReadChunk();
    if (!s.ok()) keep_alive_ = false;  // the rest of the body was not read
    auto sink = std::move(sink_);
    auto self = shared_from_this();
    auto answered = std::make_shared<std::atomic<bool>>(false);
    Responder respond = [self, answered](HttpResponse r) {
      if (answered->exchange(true)) return;
      net::post(self->stream_.get_executor(),
                [self, r = std::move(r)]() mutable { self->Respond(std::move(r)); });
    };
    sink->Finish(s, respond);
  }

  // --- writing ---

  void Respond(HttpResponse r) {
    if (server_->stopping_) keep_alive_ = false;
    auto res = std::make_shared<http::response<http::string_body>>();
    res->version(11);
    res->result(static_cast<unsigned>(r.status));
    res->set(http::field::server, "nextier");
    res->set(http::field::content_type, r.content_type);
    for (auto& [k, v] : r.headers) res->set(k, v);
    res->body() = std::move(r.body);
    res->keep_alive(keep_alive_);
    res->prepare_payload();
    if (r.status >= 500) {
      LogError(req_.method + " " + (route_ != nullptr ? route_->pattern : req_.path) + " -> " +
               std::to_string(r.status) + ": " + res->body());
    }
    if (route_ != nullptr) {
      const int cls = r.status / 100;
      if (cls >= 1 && cls <= 5 && route_->codes[cls] != nullptr) route_->codes[cls]->Add();
      if (route_->latency != nullptr) {
        route_->latency->Observe(
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count());
      }
    }
    response_ = res;
    stream_.expires_after(server_->options_.write_timeout);
    http::async_write(stream_, *res,
                      beast::bind_front_handler(&Session::OnWrite, shared_from_this()));
  }

  void OnWrite(beast::error_code ec, std::size_t) {
    response_.reset();
    if (ec || !keep_alive_) return Close();
    DoReadHeader();
  }

  void Close() {
    busy_ = false;
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.socket().close(ec);
  }

  // Declared first, so destroyed last: the connection counts as open until every other member
  // (the stream and its timer, which need the io_context) is gone. Server::Stop waits for the
  // count to reach zero before it destroys the io_context.
  struct Registration {
    Server::Impl* server;
    Session* session;
    ~Registration() {
      {
        std::lock_guard lock(server->sessions_mu_);
        server->sessions_.erase(session);
        server->connections_.fetch_sub(1);
      }
      server->sessions_cv_.notify_all();
    }
  } registration_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;  // unbounded: header_limit and body limits do the bounding
  Server::Impl* server_;
  std::string remote_;
  bool first_ = true;
  bool busy_ = false;
  bool keep_alive_ = false;
  std::chrono::steady_clock::time_point started_;
  const Route* route_ = nullptr;
  HttpRequest req_;
  std::optional<http::request_parser<http::empty_body>> header_parser_;
  std::optional<http::request_parser<http::string_body>> string_parser_;
  std::optional<http::request_parser<http::buffer_body>> stream_parser_;
  std::unique_ptr<BodySink> sink_;
  std::vector<char> chunk_;
  std::shared_ptr<void> response_;
};

void Session::StartWsPeer() {
  auto peer = std::make_shared<WsPeer>(stream_.release_socket(), server_, route_, std::move(req_));
  peer->Start(header_parser_->release());
  busy_ = false;  // the socket now belongs to the peer; this Session ends here
}

void Server::Impl::DoAccept() {
  net::io_context& ioc = *iocs_[next_ioc_++ % iocs_.size()];
  acceptor_.async_accept(ioc, beast::bind_front_handler(&Impl::OnAccept, this));
}

void Server::Impl::OnAccept(beast::error_code ec, tcp::socket socket) {
  if (stopping_) return;
  if (!ec) {
    if (connections_.load() >= options_.max_connections) {
      beast::error_code ignored;
      socket.close(ignored);  // over the bound: refuse rather than queue
    } else {
      connections_.fetch_add(1);
      std::make_shared<Session>(std::move(socket), this)->Start();
    }
  }
  DoAccept();
}

Server::Server(ServerOptions options, std::vector<ApiKey> keys, Metrics* metrics)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(keys), metrics)) {
  if (metrics != nullptr) {
    Impl* impl = impl_.get();
    metrics->AddGauge("nextier_http_open_connections", "HTTP connections open now",
                      [impl] { return static_cast<double>(impl->connections_.load()); });
  }
}

Server::~Server() {
  Stop();
  if (impl_->metrics_ != nullptr) impl_->metrics_->RemoveGauge("nextier_http_open_connections");
}

void Server::AddRoute(std::string method, std::string path, RouteOptions options, Handler handler) {
  Route r = impl_->MakeRoute(std::move(method), std::move(path), std::move(options));
  r.handler = std::move(handler);
  impl_->routes_.push_back(std::move(r));
}

void Server::AddWebSocketRoute(std::string path, RouteOptions options, WebSocketHandler on_open,
                               WebSocketOptions ws_options) {
  Route r = impl_->MakeRoute("GET", std::move(path), std::move(options));
  r.ws_open = std::move(on_open);
  r.ws_options = ws_options;
  impl_->routes_.push_back(std::move(r));
}

void Server::AddStreamingRoute(std::string method, std::string path, RouteOptions options,
                               StreamingHandler handler) {
  Route r = impl_->MakeRoute(std::move(method), std::move(path), std::move(options));
  r.streaming = std::move(handler);
  impl_->routes_.push_back(std::move(r));
}

Status Server::Start() {
  beast::error_code ec;
  auto address = net::ip::make_address(impl_->options_.bind, ec);
  if (ec)
    return Status::InvalidArgument("--bind " + impl_->options_.bind + ": " + ec.message(), "bind");
  tcp::endpoint endpoint(address, impl_->options_.port);
  auto& acc = impl_->acceptor_;
  acc.open(endpoint.protocol(), ec);
  if (!ec) acc.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acc.bind(endpoint, ec);
  if (!ec) acc.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    return Status::Unavailable("cannot listen on " + impl_->options_.bind + ":" +
                               std::to_string(impl_->options_.port) + ": " + ec.message());
  }
  impl_->port_ = acc.local_endpoint().port();
  for (auto& ioc : impl_->iocs_) impl_->work_.push_back(net::make_work_guard(*ioc));
  impl_->DoAccept();
  for (auto& ioc : impl_->iocs_) {
    impl_->threads_.emplace_back([ctx = ioc.get()] { ctx->run(); });
  }
  return Status::Ok();
}

uint16_t Server::port() const { return impl_->port_; }

size_t Server::open_connections() const { return impl_->connections_.load(); }

void Server::Stop() {
  if (impl_->stopped_.exchange(true)) return;
  impl_->stopping_ = true;
  net::post(*impl_->iocs_.front(), [this] {
    beast::error_code ec;
    impl_->acceptor_.close(ec);
  });
  {
    std::vector<std::shared_ptr<Session>> live;
    {
      std::lock_guard lock(impl_->sessions_mu_);
      for (auto& [ptr, weak] : impl_->sessions_) {
        if (auto s = weak.lock()) live.push_back(std::move(s));
      }
    }
    for (auto& s : live) s->Shutdown();
    std::vector<std::shared_ptr<WsPeer>> peers;
    {
      std::lock_guard lock(impl_->sessions_mu_);
      for (auto& [ptr, weak] : impl_->ws_peers_) {
        if (auto p = weak.lock()) peers.push_back(std::move(p));
      }
    }
    for (auto& p : peers) p->Close();
  }
  {
    std::unique_lock lock(impl_->sessions_mu_);
    impl_->sessions_cv_.wait_for(lock, impl_->options_.shutdown_grace,
                                 [this] { return impl_->connections_.load() == 0; });
  }
  impl_->work_.clear();
  for (auto& ioc : impl_->iocs_) ioc->stop();
  for (auto& t : impl_->threads_) {
    if (t.joinable()) t.join();
  }
  impl_->threads_.clear();
}

int Server::WaitForSignal() {
  net::io_context signals_ctx;
  net::signal_set signals(signals_ctx, SIGINT, SIGTERM);
  int got = 0;
  signals.async_wait([&](beast::error_code, int sig) { got = sig; });
  signals_ctx.run();
  Stop();
  return got;
}

}  // namespace nextier::adapters
