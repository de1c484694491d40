// The web UI's static files over a real server: what is served, with which type, and that no
// request can read anything outside the folder (traversal, encodings, links, hidden files).
#include "nextier/adapters/static_files.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "testing/http_client.h"
#include "testing/testing.h"

namespace nextier::adapters {
namespace {

namespace fs = std::filesystem;
using nextier::testing::BodyOf;
using nextier::testing::StatusOf;

constexpr char kSecret[] = "TOP-SECRET-OUTSIDE-THE-UI";

void Write(const fs::path& p, const std::string& text) {
  std::ofstream(p, std::ios::binary) << text;
}

class StaticFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = dir_.path();
    web_ = root_ / "web";
    fs::create_directories(web_ / "sub");
    Write(web_ / "index.html", "<!doctype html><title>UI</title>");
    Write(web_ / "app.js", "console.log('ui');");
    Write(web_ / "app.css", "body{}");
    Write(web_ / ".hidden", kSecret);
    Write(web_ / "sub" / "inner.js", kSecret);
    Write(root_ / "secret.txt", kSecret);
    fs::create_symlink(root_ / "secret.txt", web_ / "link.txt");
    fs::create_symlink("/etc/passwd", web_ / "passwd");
  }

  void Start() {
    ServerOptions o;
    o.port = 0;
    server_ = std::make_unique<Server>(o, std::vector<ApiKey>{}, &metrics_);
    ASSERT_OK(RegisterStaticFiles(*server_, web_.string()));
    ASSERT_OK(server_->Start());
    port_ = server_->port();
  }

  std::string Get(const std::string& target) {
    return nextier::testing::RawRequest(
        port_, "GET " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  }

  nextier::testing::TempDir dir_;
  fs::path root_, web_;
  Metrics metrics_;
  std::unique_ptr<Server> server_;
  uint16_t port_ = 0;
};

TEST_F(StaticFilesTest, ServesIndexAtRootAndFilesUnderUiWithTheirTypesAndNoKey) {
  Start();
  const std::string index = Get("/");
  EXPECT_EQ(StatusOf(index), 200);
  EXPECT_NE(index.find("Content-Type: text/html; charset=utf-8"), std::string::npos);
  EXPECT_NE(index.find("Content-Security-Policy"), std::string::npos);
  EXPECT_EQ(BodyOf(index), "<!doctype html><title>UI</title>");

  const std::string js = Get("/ui/app.js");
  EXPECT_EQ(StatusOf(js), 200);
  EXPECT_NE(js.find("Content-Type: text/javascript"), std::string::npos);
  EXPECT_EQ(BodyOf(js), "console.log('ui');");
  EXPECT_NE(Get("/ui/app.css").find("Content-Type: text/css"), std::string::npos);
  EXPECT_EQ(StatusOf(Get("/ui/index.html")), 200);
  EXPECT_EQ(StatusOf(Get("/ui/missing.js")), 404);
}

TEST_F(StaticFilesTest, NothingOutsideTheFolderNorHiddenNorLinkedCanBeRead) {
  Start();
  const std::vector<std::string> attacks = {
      "/ui/../secret.txt",
      "/ui/..%2Fsecret.txt",
      "/ui/..%2fsecret.txt",
      "/ui/%2e%2e%2fsecret.txt",
      "/ui/%2E%2E/secret.txt",
      "/ui/..",
      "/ui/.",
      "/ui/.hidden",
      "/ui/link.txt",
      "/ui/passwd",
      "/ui/sub",
      "/ui/sub/inner.js",
      "/ui/sub%2Finner.js",
      "/ui/%2Fetc%2Fpasswd",
      "/ui//etc/passwd",
      "/ui/..\\secret.txt",
      "/ui/..%5Csecret.txt",
      "/ui/app.js%00.png",
      "/../secret.txt",
      "/ui/%252e%252e%252fsecret.txt",
  };
  for (const auto& target : attacks) {
    const std::string r = Get(target);
    const int status = StatusOf(r);
    EXPECT_TRUE(status == 404 || status == 400) << target << " -> " << status;
    EXPECT_EQ(r.find(kSecret), std::string::npos) << target;
    EXPECT_EQ(r.find("root:"), std::string::npos) << target;
  }
}

TEST_F(StaticFilesTest, OnlyGetIsAllowed) {
  Start();
  const std::string r = nextier::testing::RawRequest(
      port_,
      "POST /ui/app.js HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(StatusOf(r), 405);
}

TEST(StaticFilesNames, PlainNamesOnly) {
  EXPECT_TRUE(IsServableName("app.js"));
  EXPECT_TRUE(IsServableName("lead-page_2.css"));
  EXPECT_FALSE(IsServableName(""));
  EXPECT_FALSE(IsServableName(".."));
  EXPECT_FALSE(IsServableName(".env"));
  EXPECT_FALSE(IsServableName("a/b.js"));
  EXPECT_FALSE(IsServableName("a\\b.js"));
  EXPECT_FALSE(IsServableName(std::string("a\0b", 3)));
  EXPECT_FALSE(IsServableName("a%2fb"));
  EXPECT_EQ(ContentTypeFor("x.svg"), "image/svg+xml");
  EXPECT_EQ(ContentTypeFor("x.bin"), "application/octet-stream");
}

TEST(StaticFilesFolder, MissingFolderOrIndexIsAClearError) {
  nextier::testing::TempDir dir;
  Metrics metrics;
  Server server(ServerOptions{}, {}, &metrics);
  const Status missing = RegisterStaticFiles(server, dir.str() + "/nope");
  EXPECT_EQ(missing.code(), StatusCode::kNotFound);
  EXPECT_NE(missing.message().find("nope"), std::string::npos);
  const Status no_index = RegisterStaticFiles(server, dir.str());
  EXPECT_EQ(no_index.code(), StatusCode::kNotFound);
  EXPECT_NE(no_index.message().find("index.html"), std::string::npos);
}

}  // namespace
}  // namespace nextier::adapters
