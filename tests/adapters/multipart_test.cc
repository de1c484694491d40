#include "nextier/adapters/multipart.h"

#include <gtest/gtest.h>

#include <string>

#include "testing/testing.h"

namespace nextier::adapters {
namespace {

std::string Body(const std::string& b, const std::string& file) {
  return "preamble\r\n--" + b +
         "\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nx.csv\r\n--" + b +
         "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"leads.csv\"\r\n" +
         "Content-Type: text/csv\r\n\r\n" + file + "\r\n--" + b + "--\r\nepilogue";
}

// Feeds `body` in pieces of `step` bytes and returns the file part.
std::string Extract(const std::string& boundary, const std::string& body, size_t step,
                    Status* finish, std::string* filename = nullptr) {
  std::string got;
  MultipartFileReader r(boundary, "file", [&](std::string_view d) {
    got.append(d);
    return Status::Ok();
  });
  for (size_t at = 0; at < body.size(); at += step) {
    Status s = r.Feed(std::string_view(body).substr(at, step));
    if (!s.ok()) {
      *finish = s;
      return got;
    }
  }
  *finish = r.Finish();
  if (filename != nullptr) *filename = r.filename();
  return got;
}

TEST(MultipartTest, ExtractsTheFilePartAtAnyChunking) {
  const std::string file = "a,b\r\n1,2\r\n--not-the-boundary\r\n\r\n--bound\r\n3,4\n";
  const std::string body = Body("bound-xyz", file);
  for (size_t step : {1, 2, 3, 7, 64, 100000}) {
    Status s;
    std::string name;
    EXPECT_EQ(Extract("bound-xyz", body, step, &s, &name), file) << step;
    EXPECT_OK(s);
    EXPECT_EQ(name, "leads.csv");
  }
}

TEST(MultipartTest, MissingPartOrUnclosedBodyIsInvalid) {
  Status s;
  Extract("b", "--b\r\nContent-Disposition: form-data; name=\"other\"\r\n\r\nx\r\n--b--\r\n", 5,
          &s);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  Extract("b", "--b\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nx,y\n", 5, &s);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
}

TEST(MultipartTest, BoundaryComesFromTheContentType) {
  EXPECT_EQ(*MultipartBoundary("multipart/form-data; boundary=abc"), "abc");
  EXPECT_EQ(*MultipartBoundary("multipart/form-data; charset=utf-8; boundary=\"a b\""), "a b");
  EXPECT_FALSE(MultipartBoundary("multipart/form-data").ok());
}

}  // namespace
}  // namespace nextier::adapters
