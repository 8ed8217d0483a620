// HttpClient's parts that need no server: UrlOrigin, HttpResponse::header, and
// transport errors for a refused connection, a malformed URL and a scheme
// other than http(s).

#include "runtime/download/http_client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace modelhub {
namespace {

using ::testing::HasSubstr;

TEST(UrlOriginTest, SchemeHostAndPort) {
  EXPECT_EQ(UrlOrigin("http://127.0.0.1:8080/a/b?c=d"), "http://127.0.0.1:8080");
  EXPECT_EQ(UrlOrigin("https://huggingface.co/org/name"), "https://huggingface.co:443");
  EXPECT_EQ(UrlOrigin("http://example.com"), "http://example.com:80");
  EXPECT_EQ(UrlOrigin("https://example.com:443/x"), UrlOrigin("https://example.com/y"));
}

TEST(UrlOriginTest, Lowercased) {
  EXPECT_EQ(UrlOrigin("HTTPS://HuggingFace.CO/Org/Name"), "https://huggingface.co:443");
}

TEST(UrlOriginTest, DistinguishesHostsPortsAndSchemes) {
  const std::string origin = UrlOrigin("https://huggingface.co/x");
  EXPECT_NE(origin, UrlOrigin("https://cdn-lfs.huggingface.co/x"));
  EXPECT_NE(origin, UrlOrigin("http://huggingface.co/x"));
  EXPECT_NE(origin, UrlOrigin("https://huggingface.co:8443/x"));
  // Credentials in the URL do not hide the real host.
  EXPECT_EQ(UrlOrigin("https://huggingface.co@evil.example/x"), "https://evil.example:443");
}

TEST(UrlOriginTest, UnparseableIsEmpty) {
  EXPECT_EQ(UrlOrigin(""), "");
  EXPECT_EQ(UrlOrigin("not a url"), "");
  EXPECT_EQ(UrlOrigin("/just/a/path"), "");
}

TEST(HttpResponseTest, Header) {
  HttpResponse response;
  response.headers["etag"] = "\"abc\"";
  response.headers["x-error-message"] = "";
  EXPECT_EQ(response.header("etag"), "\"abc\"");
  EXPECT_EQ(response.header("content-length"), "");
  EXPECT_EQ(response.header("x-error-message"), "");
}

TEST(HttpClientTest, RefusedConnectionIsTransportError) {
  HttpClient client(HttpTimeouts{std::chrono::seconds(5), std::chrono::seconds(5)});
  HttpRequest request;
  request.url = "http://127.0.0.1:1/x.bin";
  int bodies = 0;
  try {
    client.Send(request, [&](const char*, size_t) { ++bodies; });
    FAIL() << "nothing listens on port 1";
  } catch (const HttpTransportError& e) {
    EXPECT_THAT(e.what(), HasSubstr("127.0.0.1:1"));
  }
  EXPECT_EQ(bodies, 0);
  EXPECT_EQ(client.bytes_received(), 0u);
  // The session is still usable after a failure.
  EXPECT_THROW(client.Send(request), HttpTransportError);
}

TEST(HttpClientTest, MalformedUrlIsTransportError) {
  HttpClient client;
  HttpRequest request;
  request.url = "http://[::1/x";
  EXPECT_THROW(client.Send(request), HttpTransportError);
}

TEST(HttpClientTest, OnlyHttpAndHttps) {
  // A local file must not be readable through the client (a redirect could
  // lead to one).
  const std::string path =
      (std::filesystem::path(::testing::TempDir()) / "http_client_test_local.txt").string();
  std::ofstream(path) << "local secret";
  HttpClient client;
  HttpRequest request;
  request.url = "file://" + path;
  std::string body;
  try {
    const HttpResponse response =
        client.Send(request, [&](const char* data, size_t size) { body.append(data, size); });
    ADD_FAILURE() << "a file:// URL was fetched, status " << response.status;
    EXPECT_THAT(response.error_body, ::testing::Not(HasSubstr("local secret")));
  } catch (const HttpTransportError& e) {
    EXPECT_THAT(e.what(), ::testing::Not(HasSubstr("local secret")));
  }
  EXPECT_THAT(body, ::testing::Not(HasSubstr("local secret")));
  EXPECT_EQ(client.bytes_received(), 0u);
}

}  // namespace
}  // namespace modelhub
