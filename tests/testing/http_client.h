// A minimal blocking HTTP/1.1 client over loopback for tests (no Beast in tests).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace nextier::testing {

// A connected socket to 127.0.0.1:port with a 5 s receive timeout, or -1.
int Connect(uint16_t port);
void SendAll(int fd, std::string_view data);
// Reads one response (header and Content-Length body), or until the peer closes.
std::string ReadResponse(int fd);
// Sends `raw` on a new connection and returns the response.
std::string RawRequest(uint16_t port, const std::string& raw);
// A request with Connection: close, an optional bearer key and an optional JSON body.
std::string HttpCall(uint16_t port, const std::string& method, const std::string& path,
                     const std::string& key = {}, const std::string& body = {});
int StatusOf(const std::string& response);
std::string BodyOf(const std::string& response);

}  // namespace nextier::testing
