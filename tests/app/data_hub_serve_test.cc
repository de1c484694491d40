// The data hub and leads endpoints against a real `nextier serve`: text/csv and multipart
// uploads, the FILE and LEAD read models over HTTP, roles, bad files; and `nextier import`.
#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "testing/http_client.h"
#include "testing/serve_process.h"
#include "testing/testing.h"

namespace nextier {
namespace {

using nextier::testing::BodyOf;
using nextier::testing::HttpCall;
using nextier::testing::RawRequest;
using nextier::testing::StatusOf;

// The real binary, started by the shared helper.
class ServeProcess : public nextier::testing::ServeProcess {
 public:
  explicit ServeProcess(const std::string& args)
      : nextier::testing::ServeProcess(NEXTIER_BINARY, args) {}
};

constexpr char kCsv[] =
    "Company Name,Address,City,State,Zip,Phone,Contact First,Contact Last,Title,Email\n"
    "Acme Realty,1 Main St,Springfield,IL,62701,(217) 555-0142,JOHN,SMITH,Owner/CEO,"
    "john@acme.com\n"
    "Stone's Insurance Agency LLC,2 Main St,Springfield,IL,62701,217-555-0143,Sara,Stone,"
    "President,\n"
    "Stone Holdings,3 Main St,Springfield,IL,62701,217-555-0144,Stone Family,Trust,,\n"
    "Dup Co,4 Main St,Springfield,IL,62701,+1 217 555 0142,Jon,Smyth,VP,\n"
    "ragged,row\n";

std::string Upload(uint16_t port, const std::string& query, const std::string& content_type,
                   const std::string& body, const std::string& key = "ops-key-0001") {
  std::string raw = "POST /api/data-hub/upload" + query +
                    " HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer " + key +
                    "\r\nContent-Type: " + content_type +
                    "\r\nContent-Length: " + std::to_string(body.size()) +
                    "\r\nConnection: close\r\n\r\n" + body;
  return RawRequest(port, raw);
}

std::string Multipart(const std::string& boundary, const std::string& csv) {
  return "--" + boundary + "\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhello\r\n--" +
         boundary +
         "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"leads.csv\"\r\n"
         "Content-Type: text/csv\r\n\r\n" +
         csv + "\r\n--" + boundary + "--\r\n";
}

TEST(DataHubServeTest, TextCsvUploadImportsAndTheReadModelsServeIt) {
  nextier::testing::TempDir dir;
  ServeProcess p("--data " + dir.str());
  ASSERT_GT(p.port(), 0) << p.output();
  EXPECT_EQ(StatusOf(Upload(p.port(), "?name=a.csv", "text/csv", kCsv, "agent-key-0001")), 403);

  auto res = Upload(p.port(), "?name=a.csv", "text/csv", kCsv);
  ASSERT_EQ(StatusOf(res), 202) << res << p.output();
  auto file = nlohmann::json::parse(BodyOf(res))["file"];
  EXPECT_EQ(file["status"], "done");
  EXPECT_EQ(file["name"], "a.csv");
  EXPECT_EQ(file["source"], "usbizdata");
  EXPECT_EQ(file["rows"], 5);
  EXPECT_EQ(file["imported"], 3);
  EXPECT_EQ(file["duplicates"], 1);
  EXPECT_EQ(file["rejected"], 1);
  EXPECT_EQ(file["entities"], 1);
  EXPECT_TRUE(file["createdAt"].is_string());
  EXPECT_TRUE(file["finishedAt"].is_string());
  const std::string id = file["id"];

  auto list = HttpCall(p.port(), "GET", "/api/data-hub/files", "ops-key-0001");
  ASSERT_EQ(StatusOf(list), 200) << list;
  auto items = nlohmann::json::parse(BodyOf(list));
  ASSERT_EQ(items["items"].size(), 1u);
  EXPECT_TRUE(items["next"].is_null());
  auto one = HttpCall(p.port(), "GET", "/api/data-hub/files/" + id, "ops-key-0001");
  ASSERT_EQ(StatusOf(one), 200);
  auto detail = nlohmann::json::parse(BodyOf(one));
  EXPECT_EQ(detail["imported"], 3);
  ASSERT_EQ(detail["errors"].size(), 1u);
  EXPECT_EQ(detail["errors"][0]["row"], 6);
  EXPECT_EQ(detail["mapping"]["Contact First"], "firstName");
  EXPECT_EQ(StatusOf(HttpCall(p.port(), "GET", "/api/data-hub/files/nope", "ops-key-0001")), 404);

  auto leads = HttpCall(p.port(), "GET", "/api/leads?limit=2", "agent-key-0001");
  ASSERT_EQ(StatusOf(leads), 200) << leads;
  auto page = nlohmann::json::parse(BodyOf(leads));
  ASSERT_EQ(page["items"].size(), 2u);
  ASSERT_TRUE(page["next"].is_string());
  auto first = page["items"][0];
  EXPECT_EQ(first["state"], "raw");
  EXPECT_EQ(first["firstName"], "John");
  EXPECT_EQ(first["phone"], "+12175550142");
  EXPECT_EQ(first["roleScore"], 100);
  EXPECT_EQ(first["isEntity"], false);
  auto rest =
      HttpCall(p.port(), "GET", "/api/leads?limit=2&cursor=" + page["next"].get<std::string>(),
               "ops-key-0001");
  auto rest_page = nlohmann::json::parse(BodyOf(rest));
  ASSERT_EQ(rest_page["items"].size(), 1u);
  EXPECT_EQ(rest_page["items"][0]["isEntity"], true);
  EXPECT_TRUE(rest_page["next"].is_null());

  const std::string lead_id = first["id"];
  auto lead = HttpCall(p.port(), "GET", "/api/leads/" + lead_id, "ops-key-0001");
  ASSERT_EQ(StatusOf(lead), 200);
  EXPECT_EQ(nlohmann::json::parse(BodyOf(lead))["email"], "john@acme.com");
  auto enriched = HttpCall(p.port(), "GET", "/api/leads/enriched", "ops-key-0001");
  ASSERT_EQ(StatusOf(enriched), 200);
  EXPECT_TRUE(nlohmann::json::parse(BodyOf(enriched))["items"].empty());
  EXPECT_EQ(StatusOf(HttpCall(p.port(), "GET", "/api/leads", "audit-key-0001")), 403);
  EXPECT_EQ(StatusOf(HttpCall(p.port(), "GET", "/api/leads?limit=0", "ops-key-0001")), 400);
  EXPECT_EQ(StatusOf(HttpCall(p.port(), "GET", "/api/leads?cursor=zz", "ops-key-0001")), 400);

  auto metrics = HttpCall(p.port(), "GET", "/metrics");
  EXPECT_NE(BodyOf(metrics).find("nextier_projection_lag_events"), std::string::npos);
  EXPECT_EQ(p.Terminate(), 0) << p.output();
}

TEST(DataHubServeTest, MultipartUploadImportsAndTheSameFileAgainImportsNothing) {
  nextier::testing::TempDir dir;
  ServeProcess p("--data " + dir.str());
  ASSERT_GT(p.port(), 0) << p.output();
  const std::string boundary = "----nextierBoundary7MA4YWxk";
  const std::string body = Multipart(boundary, kCsv);
  auto res = Upload(p.port(), "?source=usbizdata&workflow=real-estate-agents",
                    "multipart/form-data; boundary=" + boundary, body);
  ASSERT_EQ(StatusOf(res), 202) << res << p.output();
  auto file = nlohmann::json::parse(BodyOf(res))["file"];
  EXPECT_EQ(file["imported"], 3);
  EXPECT_EQ(file["rows"], 5);

  auto again = Upload(p.port(), "", "multipart/form-data; boundary=\"" + boundary + "\"", body);
  ASSERT_EQ(StatusOf(again), 202) << again;
  auto second = nlohmann::json::parse(BodyOf(again))["file"];
  EXPECT_EQ(second["imported"], 0);
  EXPECT_EQ(second["duplicates"], 4);
  EXPECT_EQ(second["rejected"], 1);
  auto leads = HttpCall(p.port(), "GET", "/api/leads", "ops-key-0001");
  EXPECT_EQ(nlohmann::json::parse(BodyOf(leads))["items"].size(), 3u);

  auto no_part = Upload(p.port(), "", "multipart/form-data; boundary=" + boundary,
                        "--" + boundary + "\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\n" +
                            "abc\r\n--" + boundary + "--\r\n");
  EXPECT_EQ(StatusOf(no_part), 400) << no_part;
  EXPECT_EQ(p.Terminate(), 0) << p.output();
}

TEST(DataHubServeTest, ANonCsvUploadIs400AndStoresOnlyItsFailure) {
  nextier::testing::TempDir dir;
  ServeProcess p("--data " + dir.str());
  ASSERT_GT(p.port(), 0) << p.output();
  std::string zip = "PK\x03\x04";
  zip += std::string(300, '\0');
  auto res = Upload(p.port(), "?name=book.xlsx", "text/csv", zip);
  ASSERT_EQ(StatusOf(res), 400) << res;
  auto err = nlohmann::json::parse(BodyOf(res))["error"];
  EXPECT_EQ(err["code"], "invalid_file");
  EXPECT_EQ(err["field"], "file");
  EXPECT_FALSE(err["message"].get<std::string>().empty());

  auto files = nlohmann::json::parse(
      BodyOf(HttpCall(p.port(), "GET", "/api/data-hub/files", "ops-key-0001")))["items"];
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0]["status"], "failed");
  EXPECT_EQ(files[0]["name"], "book.xlsx");
  EXPECT_EQ(files[0]["imported"], 0);
  auto leads = nlohmann::json::parse(
      BodyOf(HttpCall(p.port(), "GET", "/api/leads", "ops-key-0001")))["items"];
  EXPECT_TRUE(leads.empty());

  auto bad_source = Upload(p.port(), "?source=excel", "text/csv", kCsv);
  EXPECT_EQ(StatusOf(bad_source), 400);
  EXPECT_EQ(nlohmann::json::parse(BodyOf(bad_source))["error"]["field"], "source");
  auto bad_workflow = Upload(p.port(), "?workflow=nope", "text/csv", kCsv);
  EXPECT_EQ(StatusOf(bad_workflow), 400) << bad_workflow;
  EXPECT_EQ(nlohmann::json::parse(BodyOf(bad_workflow))["error"]["field"], "workflow");
  EXPECT_EQ(p.Terminate(), 0) << p.output();
}

TEST(DataHubServeTest, AChunkedUploadOfManyRowsStreamsThroughInBatches) {
  nextier::testing::TempDir dir;
  ServeProcess p("--data " + dir.str());
  ASSERT_GT(p.port(), 0) << p.output();
  std::string csv = "name,phone,zip\n";
  for (int i = 0; i < 2500; ++i) {
    csv += "Person Number" + std::to_string(i) + "," + std::to_string(2125550000 + i) + ",10001\n";
  }
  std::string raw =
      "POST /api/data-hub/upload?name=big.csv HTTP/1.1\r\nHost: localhost\r\n"
      "Authorization: Bearer ops-key-0001\r\nContent-Type: text/csv\r\n"
      "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
  for (size_t at = 0; at < csv.size(); at += 3000) {
    const std::string piece = csv.substr(at, 3000);
    char size[16];
    std::snprintf(size, sizeof size, "%zx", piece.size());
    raw += std::string(size) + "\r\n" + piece + "\r\n";
  }
  raw += "0\r\n\r\n";
  auto res = RawRequest(p.port(), raw);
  ASSERT_EQ(StatusOf(res), 202) << res << p.output();
  auto file = nlohmann::json::parse(BodyOf(res))["file"];
  EXPECT_EQ(file["rows"], 2500);
  EXPECT_EQ(file["imported"], 2500);
  auto page = nlohmann::json::parse(
      BodyOf(HttpCall(p.port(), "GET", "/api/leads?limit=1000", "ops-key-0001")));
  EXPECT_EQ(page["items"].size(), 1000u);
  EXPECT_TRUE(page["next"].is_string());
  EXPECT_EQ(p.Terminate(), 0) << p.output();
}

// Found by fuzz_http (tests/fuzz/corpus/http/regress_upload_bad_chunk.txt): a chunked upload
// whose chunks are malformed was answered 503 unavailable (the import's abort reason), which
// tells a client to send the same bytes again; every other route answers such a body 400.
TEST(DataHubServeTest, AMalformedChunkedUploadIs400AndTheServerGoesOn) {
  nextier::testing::TempDir dir;
  ServeProcess p("--data " + dir.str());
  ASSERT_GT(p.port(), 0) << p.output();
  const std::string head =
      "POST /api/data-hub/upload?name=bad.csv HTTP/1.1\r\nHost: localhost\r\n"
      "Authorization: Bearer ops-key-0001\r\nContent-Type: text/csv\r\n"
      "Transfer-Encoding: chunked\r\n\r\n";
  for (const std::string chunks : {"5\r\na,b\r\n\r\n4\r\n1,2POST / HTTP/1.1\r\n\r\n",  // no CRLF
                                   "5\r\na,b\r\n\r\nZZ\r\n1,2\r\n0\r\n\r\n"}) {        // no size
    auto res = RawRequest(p.port(), head + chunks);
    ASSERT_EQ(StatusOf(res), 400) << res << p.output();
    EXPECT_EQ(nlohmann::json::parse(BodyOf(res))["error"]["code"], "malformed_request") << res;
  }
  auto files = nlohmann::json::parse(
      BodyOf(HttpCall(p.port(), "GET", "/api/data-hub/files", "ops-key-0001")))["items"];
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(files[0]["status"], "failed");
  EXPECT_EQ(files[1]["status"], "failed");
  EXPECT_EQ(StatusOf(HttpCall(p.port(), "GET", "/healthz")), 200);
  EXPECT_EQ(p.Terminate(), 0) << p.output();
}

struct CliRun {
  int exit_code = -1;
  std::string out;
};

CliRun Nextier(const std::string& args) {
  CliRun r;
  std::string cmd = std::string(NEXTIER_BINARY) + " " + args + " 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  if (pipe == nullptr) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) r.out.append(buf.data(), n);
  int status = pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

TEST(ImportCliTest, ImportsPrintsTheSummaryAndServeSeesTheLeads) {
  nextier::testing::TempDir dir;
  const std::string csv = dir.str() + "/leads.csv";
  std::ofstream(csv) << kCsv;
  CliRun r = Nextier("import " + csv + " --data " + dir.str() + "/data");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("progress:"), std::string::npos) << r.out;  // not a terminal: lines
  EXPECT_NE(r.out.find("rows: 5  imported: 3  duplicates: 1  rejected: 1  entities: 1"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("read models: applying"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("read models: up to date in"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Contact First"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("row 6:"), std::string::npos) << r.out;

  CliRun again = Nextier("import " + csv + " --data " + dir.str() + "/data --source usbizdata");
  ASSERT_EQ(again.exit_code, 0) << again.out;
  EXPECT_NE(again.out.find("imported: 0  duplicates: 4"), std::string::npos) << again.out;

  ServeProcess p("--data " + dir.str() + "/data");
  ASSERT_GT(p.port(), 0) << p.output();
  auto leads = nlohmann::json::parse(
      BodyOf(HttpCall(p.port(), "GET", "/api/leads", "ops-key-0001")))["items"];
  EXPECT_EQ(leads.size(), 3u);
  auto files = nlohmann::json::parse(
      BodyOf(HttpCall(p.port(), "GET", "/api/data-hub/files", "ops-key-0001")))["items"];
  EXPECT_EQ(files.size(), 2u);

  // While serve holds the data folder, import refuses.
  CliRun busy = Nextier("import " + csv + " --data " + dir.str() + "/data");
  EXPECT_EQ(busy.exit_code, 1) << busy.out;
  EXPECT_NE(busy.out.find("in use"), std::string::npos) << busy.out;
  EXPECT_EQ(p.Terminate(), 0) << p.output();
}

TEST(ImportCliTest, BadFilesAndUsageExitWithTheRightCodes) {
  nextier::testing::TempDir dir;
  const std::string bin = dir.str() + "/x.csv";
  {
    std::ofstream out(bin, std::ios::binary);
    out << std::string("PK\x03\x04", 4) << std::string(100, '\0');
  }
  CliRun failed = Nextier("import " + bin + " --data " + dir.str() + "/data");
  EXPECT_EQ(failed.exit_code, 1) << failed.out;
  EXPECT_NE(failed.out.find("failed"), std::string::npos) << failed.out;
  CliRun missing = Nextier("import " + dir.str() + "/nope.csv --data " + dir.str() + "/data");
  EXPECT_EQ(missing.exit_code, 1) << missing.out;
  CliRun bad_source = Nextier("import " + bin + " --source excel");
  EXPECT_EQ(bad_source.exit_code, 2) << bad_source.out;
  CliRun no_file = Nextier("import");
  EXPECT_EQ(no_file.exit_code, 2) << no_file.out;
}

}  // namespace
}  // namespace nextier
