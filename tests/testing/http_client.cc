#include "testing/http_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>

namespace nextier::testing {

int Connect(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

void SendAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return;
    data.remove_prefix(static_cast<size_t>(n));
  }
}

std::string ReadResponse(int fd) {
  std::string out;
  char buf[8192];
  while (true) {
    const auto end = out.find("\r\n\r\n");
    if (end != std::string::npos) {
      const auto cl = out.find("Content-Length: ");
      if (cl != std::string::npos && cl < end) {
        const size_t len = std::strtoul(out.c_str() + cl + 16, nullptr, 10);
        if (out.size() >= end + 4 + len) return out.substr(0, end + 4 + len);
      }
    }
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return out;
    out.append(buf, static_cast<size_t>(n));
  }
}

std::string RawRequest(uint16_t port, const std::string& raw) {
  int fd = Connect(port);
  if (fd < 0) return "";
  SendAll(fd, raw);
  std::string r = ReadResponse(fd);
  close(fd);
  return r;
}

std::string HttpCall(uint16_t port, const std::string& method, const std::string& path,
                     const std::string& key, const std::string& body) {
  std::string raw = method + " " + path + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n";
  if (!key.empty()) raw += "Authorization: Bearer " + key + "\r\n";
  if (!body.empty() || method == "POST" || method == "PUT") {
    raw +=
        "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  }
  return RawRequest(port, raw + "\r\n" + body);
}

int StatusOf(const std::string& response) {
  if (response.size() < 12) return 0;
  return std::atoi(response.c_str() + 9);
}

std::string BodyOf(const std::string& response) {
  const auto end = response.find("\r\n\r\n");
  return end == std::string::npos ? "" : response.substr(end + 4);
}

}  // namespace nextier::testing
