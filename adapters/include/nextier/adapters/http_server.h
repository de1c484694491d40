// The HTTP server: routes, API-key roles, the JSON error shape, limits, metrics and graceful
// shutdown, on Boost.Beast (compiled once, in http_server.cc; no Beast type appears here).
//
// Handlers are asynchronous: each gets the request and a Responder it must call exactly once,
// from any thread (the response is posted back to the connection's I/O thread). A handler that does
// blocking work (an event store append waits for its fsync) must not run it on the I/O thread:
// use AppendAsync or hand it to a worker, then respond.
//
// Streaming routes get the body in chunks as it arrives (an upload is never held whole); all
// other routes get the whole body, bounded by the route's body limit (413 beyond).
//
// Thread-safety: configure (AddRoute, keys) before Start(); afterwards only Stop() and the
// Responder may be called from other threads.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nextier/adapters/metrics.h"
#include "nextier/common/status.h"

namespace nextier::adapters {

enum class Role { kNone = 0, kAuditor, kAgent, kOps, kAdmin };
std::string_view RoleName(Role role);
std::optional<Role> ParseRole(std::string_view name);

struct ApiKey {
  std::string key;
  Role role = Role::kNone;
  std::string name;
};

// Keys from a JSON file ([{"key","role","name"}]) and/or NEXTIER_API_KEYS ("role:key,...").
// Errors name the file (or the variable), the entry and the reason.
Result<std::vector<ApiKey>> LoadApiKeys(const std::string& file, const std::string& env_value);

struct HttpRequest {
  std::string method;                          // "GET", "PUT", ...
  std::string target;                          // as sent: path and query
  std::string path;                            // decoded path without the query
  std::map<std::string, std::string> query;    // decoded; last value wins
  std::map<std::string, std::string> headers;  // lower-case names
  std::vector<std::string> params;             // the {…} segments the route matched
  std::string body;                            // empty for streaming routes
  std::string remote;                          // peer address
  // Set by the server after authentication.
  Role role = Role::kNone;
  std::string key_name;

  std::string Header(std::string_view lower_name) const;
  std::string Query(std::string_view name, std::string_view fallback = {}) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;

  static HttpResponse Json(int status, std::string body);
  // {"error": {"code", "message", "field"?}} with `status`.
  static HttpResponse Error(int status, std::string_view code, std::string_view message,
                            std::string_view field = {});
  // Maps a Status to the API's status and error code (InvalidArgument → 400 invalid_argument…).
  static HttpResponse FromStatus(const Status& status);
};

using Responder = std::function<void(HttpResponse)>;
using Handler = std::function<void(HttpRequest&, Responder)>;

// Receives a streamed body. OnChunk may return a non-ok Status to stop reading (the response is
// then built by Finish with that status). Finish is called once, with the status of the read.
class BodySink {
 public:
  virtual ~BodySink() = default;
  virtual Status OnChunk(std::string_view chunk) = 0;
  virtual void Finish(Status read_status, Responder respond) = 0;
};
using StreamingHandler = std::function<std::unique_ptr<BodySink>(HttpRequest&)>;

struct RouteOptions {
  // Roles allowed; admin is always allowed. Empty with `public_route` false means admin only.
  std::vector<Role> roles;
  bool public_route = false;          // no key needed (healthz, metrics, webhooks with signatures)
  size_t max_body = size_t{1} << 20;  // for non-streaming routes
};

// A WebSocket connection accepted on a route added with AddWebSocketRoute (text messages, server
// to client; what the client sends is read and discarded, pings are answered). Beast-free: the
// implementation lives in http_server.cc.
//
// Outbound messages wait in a bounded queue and are written one at a time on the connection's
// I/O thread. A client that does not keep up (the queue would exceed WebSocketOptions' bounds) is
// dropped: the connection is closed at once, its queue discarded, so a slow reader never holds
// up the sender or grows memory.
//
// Thread-safety: every method may be called from any thread. Lifetime: the server owns the
// connection; hold peers as weak_ptr (a shared_ptr only while calling), and never past
// Server::Stop (which closes every WebSocket).
class WebSocketPeer {
 public:
  virtual ~WebSocketPeer() = default;
  // Queues one text message. True when queued; false when the peer is closed or closing, or
  // when this message overflowed the queue (the peer is then dropped). Never blocks on I/O.
  virtual bool Send(std::string text) = 0;
  // Starts a normal close (code 1000); messages still queued are discarded. Idempotent.
  virtual void Close() = 0;
  // True from the handshake until the connection is closed or closing (either side).
  virtual bool open() const = 0;
  // True when the peer was closed because its send queue overflowed.
  virtual bool dropped() const = 0;
  // `fn` runs once when the connection has ended (on an I/O thread: keep it short); at once, on
  // the calling thread, when it already has. Replaces an earlier callback.
  virtual void SetOnClose(std::function<void()> fn) = 0;
  // The upgrade request (path, query, headers, role and key name after authentication).
  virtual const HttpRequest& request() const = 0;
};
using WebSocketHandler = std::function<void(std::shared_ptr<WebSocketPeer>)>;

struct WebSocketOptions {
  // Bounds of one peer's send queue (messages not yet handed to the socket).
  size_t max_queued_messages = 256;
  size_t max_queued_bytes = size_t{4} << 20;
  // The largest message a client may send (larger ones close the connection).
  size_t max_incoming_message = 4096;
  // How long a close handshake may take before the socket is simply closed.
  std::chrono::milliseconds close_timeout{2000};
};

struct ServerOptions {
  std::string bind = "127.0.0.1";
  uint16_t port = 8080;  // 0 picks a free port (see Server::port())
  int threads = 2;
  size_t max_connections = 4096;
  size_t max_header_bytes = 16 * 1024;
  std::chrono::milliseconds read_timeout{15000};  // a whole request's header and body
  std::chrono::milliseconds idle_timeout{60000};  // keep-alive between requests
  std::chrono::milliseconds write_timeout{30000};
  std::chrono::milliseconds shutdown_grace{10000};
};

class Server {
 public:
  Server(ServerOptions options, std::vector<ApiKey> keys, Metrics* metrics);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Paths may hold {name} segments ("/api/leads/{id}/history"); the values land in params.
  void AddRoute(std::string method, std::string path, RouteOptions options, Handler handler);
  void AddStreamingRoute(std::string method, std::string path, RouteOptions options,
                         StreamingHandler handler);

  // A WebSocket endpoint (GET with Upgrade: websocket) at `path`. The key may come as
  // `Authorization: Bearer KEY` or `?key=KEY`; 401/403 are answered before any upgrade, and a
  // plain GET gets 426. After the handshake, `on_open` runs on the connection's I/O thread
  // (keep it short: register the peer, Send the first message) with the new peer.
  void AddWebSocketRoute(std::string path, RouteOptions options, WebSocketHandler on_open,
                         WebSocketOptions ws_options = {});

  // Binds and starts the I/O threads. Unavailable when the address cannot be bound.
  Status Start();
  uint16_t port() const;
  // Stops accepting, lets in-flight requests finish (up to shutdown_grace), closes idle
  // connections and WebSockets (each within close_timeout), joins the threads. Safe to call
  // more than once and from any thread.
  void Stop();
  // Blocks until SIGTERM or SIGINT, then Stop()s. Returns the signal number.
  int WaitForSignal();
  size_t open_connections() const;

 private:
  class Impl;
  friend class Session;
  friend class WsPeer;
  std::unique_ptr<Impl> impl_;
};

}  // namespace nextier::adapters
