#include "tests/testing/fake_hub.h"

#include <curl/curl.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace modelhub::testing {
namespace {

namespace fs = std::filesystem;

constexpr size_t kModelSize = 1 << 20;
constexpr size_t kCheckpointSize = 256 << 10;

// The GitHub repo octo/vision: branches main, dev and both, tags v1.0 and both.
constexpr char kMainHubconf[] = "dependencies = []\n";
constexpr char kMainResnet[] = "def resnet():\n    return None\n";
constexpr char kDevHubconf[] = "dependencies = ['torch']\n";
constexpr char kBranchBothHubconf[] = "# the branch named both\n";
constexpr char kTagBothHubconf[] = "# the tag named both\n";
constexpr char kV1Hubconf[] = "# v1.0\n";

// Lower-case hex digest of `data`.
std::string HexDigest(const EVP_MD* md, const std::string& data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &length, md, nullptr) != 1) {
    throw std::runtime_error("EVP_Digest failed");
  }
  static const char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) {
    hex.push_back(kHex[digest[i] >> 4]);
    hex.push_back(kHex[digest[i] & 15]);
  }
  return hex;
}

std::string Sha256(const std::string& data) { return HexDigest(EVP_sha256(), data); }

// Git's blob id: sha1 of "blob <size>\0" followed by the content.
std::string GitSha1(const std::string& data) {
  std::string blob = "blob " + std::to_string(data.size());
  blob.push_back('\0');
  return HexDigest(EVP_sha1(), blob + data);
}

std::string Quoted(const std::string& text) { return "\"" + text + "\""; }

std::string RandomBytes(size_t size, unsigned seed) {
  std::mt19937 generator(seed);
  std::string bytes(size, '\0');
  for (char& c : bytes) c = static_cast<char>(generator() & 0xFF);
  return bytes;
}

void WriteFile(const fs::path& path, const std::string& bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
  if (!out.flush()) throw std::runtime_error("cannot write " + path.string());
}

// One HTTP exchange as libcurl saw it.
struct Response {
  CURLcode code = CURLE_OK;
  long status = 0;
  std::map<std::string, std::string> headers;  // lower-case names; of the last response
  std::string body;
  double seconds = 0;
  long connects = 0;  // connections curl had to open

  // The value of header `name` (lower case), or "" when absent.
  std::string Header(const std::string& name) const {
    const auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

// How to make a request: Call().Head().With("Range: bytes=0-9")...
struct Call {
  bool head = false;
  std::vector<std::string> headers;  // "Name: value"
  bool follow = false;               // follow redirects
  // Only a hang detector: no test relies on a request taking any given time.
  long timeout_ms = 60000;
  bool path_as_is = false;  // send "/../" as written
  // Hang up (CURLE_WRITE_ERROR) once this many body bytes have arrived; -1: never.
  long abort_after_bytes = -1;

  Call& Head() {
    head = true;
    return *this;
  }
  Call& With(const std::string& header) {
    headers.push_back(header);
    return *this;
  }
  Call& Follow() {
    follow = true;
    return *this;
  }
  Call& PathAsIs() {
    path_as_is = true;
    return *this;
  }
  Call& AbortAfterBytes(long bytes) {
    abort_after_bytes = bytes;
    return *this;
  }
};

// Where the body goes, and when to hang up.
struct BodySink {
  Response* response;
  long abort_after_bytes;
};

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* sink = static_cast<BodySink*>(user);
  sink->response->body.append(data, size * count);
  const bool hang_up = sink->abort_after_bytes >= 0 &&
                       sink->response->body.size() >= static_cast<size_t>(sink->abort_after_bytes);
  return hang_up ? 0 : size * count;  // anything but size * count makes curl stop
}

size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto* response = static_cast<Response*>(user);
  std::string line(data, size * count);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
  if (line.rfind("HTTP/", 0) == 0) {
    response->headers.clear();  // a new response (after a redirect)
  } else if (const size_t colon = line.find(':'); colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    const size_t start = line.find_first_not_of(' ', colon + 1);
    response->headers[name] = start == std::string::npos ? "" : line.substr(start);
  }
  return size * count;
}

// A libcurl easy handle; its requests share connections (keep-alive).
class Client {
 public:
  Client() : curl_(curl_easy_init()) {}
  ~Client() { curl_easy_cleanup(curl_); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  Response Fetch(const std::string& url, const Call& call = {}) {
    Response response;
    BodySink sink{&response, call.abort_after_bytes};
    curl_easy_reset(curl_);
    curl_slist* headers = nullptr;
    for (const std::string& header : call.headers) {
      headers = curl_slist_append(headers, header.c_str());
    }
    curl_easy_setopt(curl_, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl_, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl_, CURLOPT_NOBODY, call.head ? 1L : 0L);
    curl_easy_setopt(curl_, CURLOPT_FOLLOWLOCATION, call.follow ? 1L : 0L);
    curl_easy_setopt(curl_, CURLOPT_TIMEOUT_MS, call.timeout_ms);
    curl_easy_setopt(curl_, CURLOPT_PATH_AS_IS, call.path_as_is ? 1L : 0L);
    curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, OnBody);
    curl_easy_setopt(curl_, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(curl_, CURLOPT_HEADERFUNCTION, OnHeader);
    curl_easy_setopt(curl_, CURLOPT_HEADERDATA, &response);
    response.code = curl_easy_perform(curl_);
    curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &response.status);
    curl_easy_getinfo(curl_, CURLINFO_TOTAL_TIME, &response.seconds);
    curl_easy_getinfo(curl_, CURLINFO_NUM_CONNECTS, &response.connects);
    curl_slist_free_all(headers);
    return response;
  }

 private:
  CURL* curl_;
};

class FakeHubTest : public ::testing::Test {
 protected:
  // A repo org/tiny (config.json, sub/notes.txt, a 1 MiB model.safetensors) and
  // a plain file ckpt/model.pt, under $TEST_TMPDIR.
  static void SetUpTestSuite() {
    const char* tmp = std::getenv("TEST_TMPDIR");
    root_ = new fs::path(fs::path(tmp != nullptr ? tmp : "/tmp") / "fake_hub_test");
    fs::remove_all(*root_);
    config_ = new std::string(R"({"model_type": "llama", "hidden_size": 8})");
    notes_ = new std::string("notes\n");
    model_ = new std::string(RandomBytes(kModelSize, 1));
    checkpoint_ = new std::string(RandomBytes(kCheckpointSize, 2));
    WriteFile(*root_ / "repos/org/tiny/config.json", *config_);
    WriteFile(*root_ / "repos/org/tiny/sub/notes.txt", *notes_);
    WriteFile(*root_ / "repos/org/tiny/model.safetensors", *model_);
    WriteFile(*root_ / "files/ckpt/model.pt", *checkpoint_);
    const fs::path vision = *root_ / "github/octo/vision";
    WriteFile(vision / "heads/main/hubconf.py", kMainHubconf);
    WriteFile(vision / "heads/main/models/resnet.py", kMainResnet);
    WriteFile(vision / "heads/dev/hubconf.py", kDevHubconf);
    WriteFile(vision / "heads/both/hubconf.py", kBranchBothHubconf);
    WriteFile(vision / "tags/both/hubconf.py", kTagBothHubconf);
    WriteFile(vision / "tags/v1.0/hubconf.py", kV1Hubconf);
  }

  static FakeHub::Options Options(const std::string& token = "") {
    return {(*root_ / "repos").string(), (*root_ / "files").string(), token,
            (*root_ / "github").string()};
  }

  // The commit id of a tree: sha1 over the "<path>\0<sha256>\n" lines of its
  // files, sorted by path.
  static std::string CommitOf(std::map<std::string, std::string> files) {
    std::string lines;
    for (const auto& [path, bytes] : files) {
      lines += path + std::string(1, '\0') + Sha256(bytes) + "\n";
    }
    return HexDigest(EVP_sha1(), lines);
  }

  static std::string MainCommit() {
    return CommitOf({{"hubconf.py", kMainHubconf}, {"models/resnet.py", kMainResnet}});
  }

  // Where octo/vision's zipball of `ref` is redirected to.
  static std::string CodeloadUrl(const FakeHub& hub, const std::string& ref) {
    return "http://localhost:" + std::to_string(hub.port()) + "/codeload/octo/vision/legacy.zip/" +
           ref;
  }

  // The commit id the server should give org/tiny: sha1 over the sorted
  // "<path>\0<sha256>\n" lines.
  static std::string ExpectedCommit() {
    std::string lines;
    for (const auto& [path, bytes] : std::vector<std::pair<std::string, const std::string*>>{
             {"config.json", config_}, {"model.safetensors", model_}, {"sub/notes.txt", notes_}}) {
      lines += path + std::string(1, '\0') + Sha256(*bytes) + "\n";
    }
    return HexDigest(EVP_sha1(), lines);
  }

  static std::string CdnUrl(const FakeHub& hub) {
    return "http://localhost:" + std::to_string(hub.port()) + "/cdn/" + Sha256(*model_);
  }

  static std::string ResolveUrl(const FakeHub& hub, const std::string& file,
                                const std::string& revision = "main") {
    return hub.endpoint() + "/org/tiny/resolve/" + revision + "/" + file;
  }

  static fs::path* root_;
  static std::string* config_;
  static std::string* notes_;
  static std::string* model_;
  static std::string* checkpoint_;
};

fs::path* FakeHubTest::root_ = nullptr;
std::string* FakeHubTest::config_ = nullptr;
std::string* FakeHubTest::notes_ = nullptr;
std::string* FakeHubTest::model_ = nullptr;
std::string* FakeHubTest::checkpoint_ = nullptr;

TEST_F(FakeHubTest, ApiListsFilesWithHashesAndCommit) {
  FakeHub hub(Options());
  Client client;
  const Response response =
      client.Fetch(hub.endpoint() + "/api/models/org/tiny/revision/main?blobs=true");
  ASSERT_EQ(response.code, CURLE_OK);
  ASSERT_EQ(response.status, 200);
  const nlohmann::json info = nlohmann::json::parse(response.body);
  EXPECT_EQ(info["id"], "org/tiny");
  const std::string commit = info["sha"];
  EXPECT_EQ(commit, ExpectedCommit());

  std::map<std::string, nlohmann::json> siblings;
  for (const nlohmann::json& sibling : info["siblings"]) siblings[sibling["rfilename"]] = sibling;
  ASSERT_EQ(siblings.size(), 3u);
  const nlohmann::json& config = siblings["config.json"];
  EXPECT_EQ(config["size"], config_->size());
  EXPECT_EQ(config["blobId"], GitSha1(*config_));
  EXPECT_FALSE(config.contains("lfs"));
  EXPECT_EQ(siblings["sub/notes.txt"]["blobId"], GitSha1(*notes_));
  const nlohmann::json& model = siblings["model.safetensors"];
  EXPECT_EQ(model["size"], kModelSize);
  EXPECT_EQ(model["blobId"], GitSha1(*model_));
  EXPECT_EQ(model["lfs"]["sha256"], Sha256(*model_));
  EXPECT_EQ(model["lfs"]["size"], kModelSize);

  // The commit id names the same revision; other names do not exist.
  const Response by_commit =
      client.Fetch(hub.endpoint() + "/api/models/org/tiny/revision/" + commit);
  EXPECT_EQ(by_commit.status, 200);
  EXPECT_EQ(nlohmann::json::parse(by_commit.body)["sha"], commit);
  const Response other_revision = client.Fetch(hub.endpoint() + "/api/models/org/tiny/revision/v2");
  EXPECT_EQ(other_revision.status, 404);
  EXPECT_EQ(other_revision.Header("x-error-code"), "RevisionNotFound");
  const Response other_repo = client.Fetch(hub.endpoint() + "/api/models/org/none/revision/main");
  EXPECT_EQ(other_repo.status, 404);
  EXPECT_EQ(other_repo.Header("x-error-code"), "RepoNotFound");
  EXPECT_FALSE(other_repo.Header("x-error-message").empty());
}

TEST_F(FakeHubTest, ResolvesRegularFiles) {
  FakeHub hub(Options());
  Client client;
  const Response head = client.Fetch(ResolveUrl(hub, "config.json"), Call().Head());
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.Header("etag"), Quoted(GitSha1(*config_)));
  EXPECT_EQ(head.Header("x-repo-commit"), ExpectedCommit());
  EXPECT_EQ(head.Header("content-length"), std::to_string(config_->size()));
  EXPECT_EQ(head.Header("accept-ranges"), "bytes");
  EXPECT_EQ(head.body, "");

  const Response get = client.Fetch(ResolveUrl(hub, "config.json"));
  EXPECT_EQ(get.status, 200);
  EXPECT_EQ(get.body, *config_);
  EXPECT_EQ(get.connects, 0) << "the connection is kept alive";

  const Response sub = client.Fetch(ResolveUrl(hub, "sub/notes.txt", ExpectedCommit()));
  EXPECT_EQ(sub.status, 200);
  EXPECT_EQ(sub.body, *notes_);
  EXPECT_EQ(sub.Header("etag"), Quoted(GitSha1(*notes_)));

  const Response part =
      client.Fetch(ResolveUrl(hub, "config.json"), Call().With("Range: bytes=2-"));
  EXPECT_EQ(part.status, 206);
  EXPECT_EQ(part.body, config_->substr(2));

  const Response missing = client.Fetch(ResolveUrl(hub, "nope.json"));
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.Header("x-error-code"), "EntryNotFound");
  EXPECT_EQ(missing.Header("x-repo-commit"), ExpectedCommit());
  const Response bad_revision = client.Fetch(ResolveUrl(hub, "config.json", "v1"));
  EXPECT_EQ(bad_revision.status, 404);
  EXPECT_EQ(bad_revision.Header("x-error-code"), "RevisionNotFound");
}

TEST_F(FakeHubTest, RedirectsLfsFilesToTheCdnOnLocalhost) {
  FakeHub hub(Options());
  Client client;
  const Response head = client.Fetch(ResolveUrl(hub, "model.safetensors"), Call().Head());
  EXPECT_EQ(head.status, 302);
  EXPECT_EQ(head.Header("location"), CdnUrl(hub));
  EXPECT_EQ(head.Header("x-linked-etag"), Quoted(Sha256(*model_)));
  EXPECT_EQ(head.Header("x-linked-size"), std::to_string(kModelSize));
  EXPECT_EQ(head.Header("etag"), Quoted(Sha256(*model_)));
  EXPECT_EQ(head.Header("x-repo-commit"), ExpectedCommit());
  EXPECT_EQ(head.Header("content-length"), "0");

  hub.ClearRequests();
  const Response get = client.Fetch(ResolveUrl(hub, "model.safetensors"), Call().Follow());
  EXPECT_EQ(get.status, 200);
  EXPECT_EQ(get.Header("etag"), Quoted(Sha256(*model_)));
  EXPECT_TRUE(get.body == *model_);
  const std::vector<FakeHub::Request> requests = hub.Requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].status, 302);
  EXPECT_EQ(requests[0].host, "127.0.0.1:" + std::to_string(hub.port()));
  EXPECT_EQ(requests[1].path, "/cdn/" + Sha256(*model_));
  EXPECT_EQ(requests[1].host, "localhost:" + std::to_string(hub.port()));
  EXPECT_EQ(requests[1].status, 200);
  EXPECT_EQ(requests[1].bytes_sent, static_cast<int64_t>(kModelSize));
}

TEST_F(FakeHubTest, CdnHonoursRangeAndIfRange) {
  FakeHub hub(Options());
  Client client;
  const std::string etag = Quoted(Sha256(*model_));
  // The CDN learns the object from the resolve.
  ASSERT_EQ(client.Fetch(ResolveUrl(hub, "model.safetensors"), Call().Head()).status, 302);

  const Response middle = client.Fetch(CdnUrl(hub), Call().With("Range: bytes=100-199"));
  EXPECT_EQ(middle.status, 206);
  EXPECT_EQ(middle.Header("content-range"), "bytes 100-199/" + std::to_string(kModelSize));
  EXPECT_EQ(middle.Header("content-length"), "100");
  EXPECT_TRUE(middle.body == model_->substr(100, 100));

  const Response tail =
      client.Fetch(CdnUrl(hub), Call().With("Range: bytes=1000-").With("If-Range: " + etag));
  EXPECT_EQ(tail.status, 206);
  EXPECT_TRUE(tail.body == model_->substr(1000));

  const Response changed =
      client.Fetch(CdnUrl(hub), Call().With("Range: bytes=1000-").With("If-Range: \"other\""));
  EXPECT_EQ(changed.status, 200);
  EXPECT_EQ(changed.Header("content-range"), "");
  EXPECT_TRUE(changed.body == *model_);

  const Response beyond =
      client.Fetch(CdnUrl(hub), Call().With("Range: bytes=" + std::to_string(kModelSize) + "-"));
  EXPECT_EQ(beyond.status, 416);
  EXPECT_EQ(beyond.Header("content-range"), "bytes */" + std::to_string(kModelSize));
  EXPECT_EQ(beyond.body, "");

  const Response after_416 = client.Fetch(CdnUrl(hub), Call().With("Range: bytes=0-0"));
  EXPECT_EQ(after_416.status, 206);
  EXPECT_EQ(after_416.connects, 0) << "the connection is kept alive";
}

TEST_F(FakeHubTest, ServesPlainFiles) {
  FakeHub hub(Options());
  Client client;
  const Response get = client.Fetch(hub.file_url("ckpt/model.pt"));
  EXPECT_EQ(get.status, 200);
  EXPECT_EQ(get.Header("etag"), Quoted(Sha256(*checkpoint_)));
  EXPECT_EQ(get.Header("accept-ranges"), "bytes");
  EXPECT_TRUE(get.body == *checkpoint_);
  const Response part =
      client.Fetch(hub.file_url("ckpt/model.pt"), Call().With("Range: bytes=10-19"));
  EXPECT_EQ(part.status, 206);
  EXPECT_EQ(part.Header("content-range"), "bytes 10-19/" + std::to_string(kCheckpointSize));
  EXPECT_EQ(client.Fetch(hub.file_url("ckpt/none.pt")).status, 404);
  EXPECT_EQ(client.Fetch(hub.file_url("../repos/org/tiny/config.json"), Call().PathAsIs()).status,
            404);
  EXPECT_EQ(client.Fetch(hub.file_url("..%2Frepos%2Forg%2Ftiny%2Fconfig.json")).status, 404);
}

TEST_F(FakeHubTest, TokenGuardsHubRoutesButNotTheCdn) {
  FakeHub hub(Options("secret"));
  Client client;
  const std::string api = hub.endpoint() + "/api/models/org/tiny/revision/main";
  const Response anonymous = client.Fetch(api);
  EXPECT_EQ(anonymous.status, 401);
  EXPECT_FALSE(anonymous.Header("x-error-message").empty());
  EXPECT_TRUE(nlohmann::json::parse(anonymous.body).contains("error"));
  EXPECT_EQ(client.Fetch(api, Call().With("Authorization: Bearer wrong")).status, 403);
  EXPECT_EQ(client.Fetch(api, Call().With("Authorization: Bearer secret")).status, 200);
  EXPECT_EQ(client.Fetch(ResolveUrl(hub, "config.json")).status, 401);
  EXPECT_EQ(
      client.Fetch(ResolveUrl(hub, "config.json"), Call().With("Authorization: Bearer secret"))
          .status,
      200);

  hub.ClearRequests();
  const Response model = client.Fetch(ResolveUrl(hub, "model.safetensors"),
                                      Call().With("Authorization: Bearer secret").Follow());
  EXPECT_EQ(model.status, 200);
  EXPECT_TRUE(model.body == *model_);
  const std::vector<FakeHub::Request> requests = hub.Requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].authorization, "Bearer secret");
  EXPECT_EQ(requests[1].host, "localhost:" + std::to_string(hub.port()));
  EXPECT_EQ(requests[1].authorization, "") << "curl keeps the token from the other host";
  EXPECT_EQ(client.Fetch(CdnUrl(hub)).status, 200);
}

TEST_F(FakeHubTest, StatusFaultAppliesTheGivenNumberOfTimes) {
  FakeHub hub(Options());
  Client client;
  hub.SetFaults(R"([{"match": "config.json", "kind": "status", "status": 500, "times": 2}])");
  const Response first = client.Fetch(ResolveUrl(hub, "config.json"));
  EXPECT_EQ(first.status, 500);
  EXPECT_EQ(first.Header("x-error-message"), "injected");
  EXPECT_EQ(client.Fetch(ResolveUrl(hub, "config.json")).status, 500);
  EXPECT_EQ(client.Fetch(ResolveUrl(hub, "config.json")).status, 200);
  std::vector<FakeHub::Request> requests = hub.Requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[0].fault, "status");
  EXPECT_EQ(requests[1].fault, "status");
  EXPECT_EQ(requests[2].fault, "");

  // Setting the same list again restarts its count.
  hub.SetFaults(R"([{"match": "config.json", "kind": "status", "status": 500, "times": 2}])");
  EXPECT_EQ(client.Fetch(ResolveUrl(hub, "config.json")).status, 500);

  // "method" narrows the match; times -1 never runs out.
  hub.SetFaults(
      R"([{"match": "config", "method": "HEAD", "kind": "status", "status": 503, "times": -1}])");
  EXPECT_EQ(client.Fetch(ResolveUrl(hub, "config.json")).status, 200);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(client.Fetch(ResolveUrl(hub, "config.json"), Call().Head()).status, 503);
  }
  hub.ClearFaults();
  EXPECT_EQ(client.Fetch(ResolveUrl(hub, "config.json"), Call().Head()).status, 200);
}

TEST_F(FakeHubTest, DropFaultClosesTheConnectionMidBody) {
  FakeHub hub(Options());
  Client client;
  hub.SetFaults(R"([{"match": "/cdn/", "kind": "drop", "after_bytes": 1000}])");
  const Response dropped = client.Fetch(ResolveUrl(hub, "model.safetensors"), Call().Follow());
  EXPECT_EQ(dropped.code, CURLE_PARTIAL_FILE);
  EXPECT_EQ(dropped.status, 200);
  EXPECT_EQ(dropped.Header("content-length"), std::to_string(kModelSize));
  EXPECT_EQ(dropped.body.size(), 1000u);
  const std::vector<FakeHub::Request> requests = hub.Requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[1].fault, "drop");
  EXPECT_EQ(requests[1].bytes_sent, 1000);

  const Response again = client.Fetch(ResolveUrl(hub, "model.safetensors"), Call().Follow());
  EXPECT_EQ(again.code, CURLE_OK);
  EXPECT_TRUE(again.body == *model_);

  // A response without a body is not sent at all. (On a fresh connection: on a
  // reused one, libcurl quietly retries a request that got nothing back.)
  hub.SetFaults(R"([{"match": "config.json", "method": "HEAD", "kind": "drop"}])");
  Client fresh;
  EXPECT_EQ(fresh.Fetch(ResolveUrl(hub, "config.json"), Call().Head()).code, CURLE_GOT_NOTHING);
}

TEST_F(FakeHubTest, CorruptFaultFlipsOneByte) {
  FakeHub hub(Options());
  Client client;
  hub.SetFaults(R"([{"match": "/cdn/", "kind": "corrupt"}])");
  const Response corrupt = client.Fetch(ResolveUrl(hub, "model.safetensors"), Call().Follow());
  EXPECT_EQ(corrupt.code, CURLE_OK);
  ASSERT_EQ(corrupt.body.size(), kModelSize);
  std::vector<size_t> changed;
  for (size_t i = 0; i < kModelSize; ++i) {
    if (corrupt.body[i] != (*model_)[i]) changed.push_back(i);
  }
  ASSERT_EQ(changed, std::vector<size_t>{kModelSize / 2});
  EXPECT_EQ(static_cast<unsigned char>(corrupt.body[kModelSize / 2]),
            static_cast<unsigned char>((*model_)[kModelSize / 2]) ^ 0xFF);
  EXPECT_EQ(corrupt.Header("etag"), Quoted(Sha256(*model_))) << "headers are unchanged";

  // The offset is in the file, whatever the range.
  hub.SetFaults(R"([{"match": "model.pt", "kind": "corrupt", "offset": 15}])");
  const Response part =
      client.Fetch(hub.file_url("ckpt/model.pt"), Call().With("Range: bytes=10-19"));
  std::string expected = checkpoint_->substr(10, 10);
  expected[5] = static_cast<char>(expected[5] ^ 0xFF);
  EXPECT_EQ(part.status, 206);
  EXPECT_TRUE(part.body == expected);
}

TEST_F(FakeHubTest, IgnoreRangeFaultSendsTheWholeFile) {
  FakeHub hub(Options());
  Client client;
  hub.SetFaults(R"([{"match": "model.pt", "kind": "ignore_range"}])");
  const Response response = client.Fetch(hub.file_url("ckpt/model.pt"),
                                         Call().With("Range: bytes=100-").With("If-Range: \"x\""));
  EXPECT_EQ(response.status, 200);
  EXPECT_TRUE(response.body == *checkpoint_);
  const std::vector<FakeHub::Request> requests = hub.Requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].fault, "ignore_range");
  EXPECT_EQ(requests[0].range, "bytes=100-");
}

TEST_F(FakeHubTest, SlowFaultPacesTheBody) {
  FakeHub hub(Options());
  Client client;
  // 256 KiB at 2 MiB/s after 0.05 s: about 0.18 s.
  hub.SetFaults(
      R"([{"match": "model.pt", "kind": "slow", "bytes_per_second": 2097152, "delay_seconds": 0.05}])");
  const Response response = client.Fetch(hub.file_url("ckpt/model.pt"));
  EXPECT_EQ(response.code, CURLE_OK);
  EXPECT_TRUE(response.body == *checkpoint_);
  // A lower bound only: the pacing guarantees it, however busy the machine.
  EXPECT_GE(response.seconds, 0.15);
}

TEST_F(FakeHubTest, StallFaultPausesThenFinishesOrNoticesTheClientLeaving) {
  FakeHub hub(Options());
  Client client;
  hub.SetFaults(R"([{"match": "model.pt", "kind": "stall", "after_bytes": 1000, "seconds": 0.3}])");
  const Response slow = client.Fetch(hub.file_url("ckpt/model.pt"));
  EXPECT_EQ(slow.code, CURLE_OK);
  EXPECT_TRUE(slow.body == *checkpoint_);
  EXPECT_GE(slow.seconds, 0.25);

  // A client that hangs up during a stall far longer than the test may run:
  // the request is logged (Requests() waits for it) only if the server noticed
  // and stopped stalling. (The client hangs up on its own once it has the
  // 1000 bytes, not after a time that a busy machine could overrun.)
  hub.ClearRequests();
  hub.SetFaults(
      R"([{"match": "model.pt", "kind": "stall", "after_bytes": 1000, "seconds": 3600}])");
  const Response gave_up =
      client.Fetch(hub.file_url("ckpt/model.pt"), Call().AbortAfterBytes(1000));
  EXPECT_EQ(gave_up.code, CURLE_WRITE_ERROR);
  EXPECT_EQ(gave_up.body.size(), 1000u);
  const std::vector<FakeHub::Request> requests = hub.Requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].fault, "stall");
  EXPECT_EQ(requests[0].bytes_sent, 1000);
}

TEST_F(FakeHubTest, LogRecordsEachRequest) {
  FakeHub hub(Options());
  Client client;
  EXPECT_TRUE(hub.Requests().empty());
  const Response response = client.Fetch(
      hub.file_url("ckpt/model.pt?x=1"),
      Call().With("Range: bytes=0-9").With("If-Range: \"old\"").With("Authorization: Bearer t"));
  EXPECT_EQ(response.status, 200);
  client.Fetch(hub.file_url("ckpt/model.pt"), Call().Head());
  std::vector<FakeHub::Request> requests = hub.Requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].method, "GET");
  EXPECT_EQ(requests[0].path, "/files/ckpt/model.pt?x=1");
  EXPECT_EQ(requests[0].host, "127.0.0.1:" + std::to_string(hub.port()));
  EXPECT_EQ(requests[0].range, "bytes=0-9");
  EXPECT_EQ(requests[0].if_range, "\"old\"");
  EXPECT_EQ(requests[0].authorization, "Bearer t");
  EXPECT_EQ(requests[0].status, 200);
  EXPECT_EQ(requests[0].bytes_sent, static_cast<int64_t>(kCheckpointSize));
  EXPECT_EQ(requests[0].fault, "");
  EXPECT_EQ(requests[1].method, "HEAD");
  EXPECT_EQ(requests[1].range, "");
  EXPECT_EQ(requests[1].authorization, "");
  EXPECT_EQ(requests[1].bytes_sent, 0);

  hub.ClearRequests();
  EXPECT_TRUE(hub.Requests().empty());
  client.Fetch(hub.file_url("ckpt/none"));
  requests = hub.Requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].status, 404);
}

TEST_F(FakeHubTest, RequestsAreInArrivalOrderNotTheOrderTheirLogLinesWereWritten) {
  FakeHub hub(Options());
  Client first;
  Client second;
  // The first response is complete at once, but the server stalls a second
  // after its last byte before writing its log line (the client keeps the
  // connection open, so the stall runs its course); meanwhile the second
  // request, sent after the first response arrived, is answered and logged.
  // Its line is written first, yet it arrived second.
  hub.SetFaults(R"([{"match": "model.pt", "kind": "stall", "seconds": 1,
                     "after_bytes": )" +
                std::to_string(kCheckpointSize) + "}]");
  const Response stalled = first.Fetch(hub.file_url("ckpt/model.pt"));
  ASSERT_EQ(stalled.code, CURLE_OK);
  EXPECT_TRUE(stalled.body == *checkpoint_);
  EXPECT_EQ(second.Fetch(ResolveUrl(hub, "config.json")).status, 200);
  const std::vector<FakeHub::Request> requests = hub.Requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].path, "/files/ckpt/model.pt");
  EXPECT_EQ(requests[0].fault, "stall");
  EXPECT_EQ(requests[1].path, "/org/tiny/resolve/main/config.json");
  EXPECT_LT(requests[0].seq, requests[1].seq);
}

TEST_F(FakeHubTest, StopsWithTheObject) {
  std::string endpoint;
  {
    FakeHub hub(Options());
    endpoint = hub.endpoint();
  }
  Client client;
  EXPECT_EQ(client.Fetch(endpoint + "/files/ckpt/model.pt").code, CURLE_COULDNT_CONNECT);
}

TEST_F(FakeHubTest, ReportsAServerThatDoesNotStart) {
  FakeHub::Options options = Options();
  options.repos_dir = (*root_ / "no_such_dir").string();
  try {
    FakeHub hub(options);
    ADD_FAILURE() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("exited with status 2 before listening"),
              std::string::npos)
        << e.what();
  }
}

TEST_F(FakeHubTest, SetFaultsWantsAJsonArray) {
  FakeHub hub(Options());
  EXPECT_THROW(hub.SetFaults(R"({"match": "x"})"), std::runtime_error);
  EXPECT_THROW(hub.SetFaults("[{"), std::runtime_error);
}

// ---- GitHub -------------------------------------------------------------------

// The name of the first entry of a zip (its first local file header).
std::string FirstZipEntryName(const std::string& zip) {
  if (zip.size() < 30) return "";
  const auto byte = [&](size_t i) {
    return static_cast<size_t>(static_cast<unsigned char>(zip[i]));
  };
  const size_t name_length = byte(26) | byte(27) << 8;
  return zip.substr(30, name_length);
}

TEST_F(FakeHubTest, GithubTreeAnswersForBranchesOnly) {
  FakeHub hub(Options());
  Client client;
  const std::string tree = hub.endpoint() + "/octo/vision/tree/";
  for (const std::string slash : {"", "/"}) {
    SCOPED_TRACE("with \"" + slash + "\" at the end");
    const Response main = client.Fetch(tree + "main" + slash);
    EXPECT_EQ(main.status, 200);
    EXPECT_EQ(main.Header("content-type").rfind("text/html", 0), 0u) << main.Header("content-type");
    EXPECT_FALSE(main.body.empty());
    EXPECT_EQ(client.Fetch(tree + "dev" + slash, Call().Head()).status, 200);
    EXPECT_EQ(client.Fetch(tree + "master" + slash).status, 404);
    EXPECT_EQ(client.Fetch(tree + "v1.0" + slash).status, 404) << "a tag is not a branch";
    EXPECT_EQ(client.Fetch(hub.endpoint() + "/octo/none/tree/main" + slash).status, 404);
  }
  EXPECT_EQ(client.Fetch(tree + "main//").status, 404);
}

TEST_F(FakeHubTest, GithubZipballRedirectsToCodeload) {
  FakeHub hub(Options());
  Client client;
  const std::string zipball = hub.endpoint() + "/octo/vision/zipball/";
  const std::string sha7 = MainCommit().substr(0, 7);
  for (const std::string& ref : std::vector<std::string>{"main", "v1.0", sha7, MainCommit(),
                                                         "refs/heads/both", "refs/tags/both"}) {
    SCOPED_TRACE(ref);
    const Response response = client.Fetch(zipball + ref);
    EXPECT_EQ(response.status, 302);
    EXPECT_EQ(response.Header("location"), CodeloadUrl(hub, ref));
  }
  const Response ambiguous = client.Fetch(zipball + "both");
  EXPECT_EQ(ambiguous.status, 300);
  EXPECT_TRUE(nlohmann::json::parse(ambiguous.body).contains("message"));

  for (const std::string ref : {"nope", "refs/heads/v1.0", "refs/tags/main", "0000000"}) {
    SCOPED_TRACE(ref);
    const Response missing = client.Fetch(zipball + ref);
    EXPECT_EQ(missing.status, 404);
    EXPECT_TRUE(nlohmann::json::parse(missing.body).contains("message"));
  }
  EXPECT_EQ(client.Fetch(hub.endpoint() + "/octo/none/zipball/main").status, 404);
}

TEST_F(FakeHubTest, GithubCodeloadServesADeterministicZipball) {
  FakeHub hub(Options());
  Client client;
  const std::string top = "octo-vision-" + MainCommit().substr(0, 7);
  const Response zip = client.Fetch(hub.endpoint() + "/octo/vision/zipball/main", Call().Follow());
  ASSERT_EQ(zip.code, CURLE_OK);
  ASSERT_EQ(zip.status, 200);
  EXPECT_EQ(zip.Header("content-type"), "application/zip");
  EXPECT_EQ(zip.Header("content-disposition"), "attachment; filename=" + top + ".zip");
  EXPECT_EQ(zip.Header("etag"), Quoted(Sha256(zip.body)));
  EXPECT_EQ(zip.Header("accept-ranges"), "bytes");
  EXPECT_EQ(zip.body.rfind(std::string("PK\x03\x04", 4), 0), 0u);
  EXPECT_EQ(FirstZipEntryName(zip.body), top + "/");
  EXPECT_NE(zip.body.find(top + "/hubconf.py"), std::string::npos);
  EXPECT_NE(zip.body.find(top + "/models/"), std::string::npos);
  EXPECT_NE(zip.body.find(top + "/models/resnet.py"), std::string::npos);

  // The same bytes again, by any name of the same commit.
  for (const std::string& ref :
       std::vector<std::string>{"main", "refs/heads/main", MainCommit().substr(0, 10)}) {
    SCOPED_TRACE(ref);
    const Response again = client.Fetch(CodeloadUrl(hub, ref));
    EXPECT_EQ(again.status, 200);
    EXPECT_TRUE(again.body == zip.body);
  }

  const Response part = client.Fetch(CodeloadUrl(hub, "main"), Call().With("Range: bytes=10-29"));
  EXPECT_EQ(part.status, 206);
  EXPECT_EQ(part.Header("content-range"), "bytes 10-29/" + std::to_string(zip.body.size()));
  EXPECT_TRUE(part.body == zip.body.substr(10, 20));

  // The branch and the tag named "both" are different trees.
  const Response branch = client.Fetch(CodeloadUrl(hub, "refs/heads/both"));
  const Response tag = client.Fetch(CodeloadUrl(hub, "refs/tags/both"));
  const std::string branch_commit = CommitOf({{"hubconf.py", kBranchBothHubconf}});
  const std::string tag_commit = CommitOf({{"hubconf.py", kTagBothHubconf}});
  EXPECT_EQ(FirstZipEntryName(branch.body), "octo-vision-" + branch_commit.substr(0, 7) + "/");
  EXPECT_EQ(FirstZipEntryName(tag.body), "octo-vision-" + tag_commit.substr(0, 7) + "/");
  EXPECT_EQ(client.Fetch(CodeloadUrl(hub, "both")).status, 300);
  EXPECT_EQ(client.Fetch(CodeloadUrl(hub, "nope")).status, 404);

  // The redirect leads to another host name.
  hub.ClearRequests();
  client.Fetch(hub.endpoint() + "/octo/vision/zipball/v1.0", Call().Follow());
  const std::vector<FakeHub::Request> requests = hub.Requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].status, 302);
  EXPECT_EQ(requests[1].path, "/codeload/octo/vision/legacy.zip/v1.0");
  EXPECT_EQ(requests[1].host, "localhost:" + std::to_string(hub.port()));
  EXPECT_EQ(requests[1].status, 200);
}

TEST_F(FakeHubTest, GithubApiListsBranchesAndTagsByPage) {
  FakeHub hub(Options());
  Client client;
  const std::string repo = hub.github_api_url() + "/repos/octo/vision";
  EXPECT_EQ(hub.github_api_url(), hub.endpoint() + "/ghapi");
  const auto names = [](const std::string& body) {
    std::vector<std::string> result;
    for (const nlohmann::json& ref : nlohmann::json::parse(body)) {
      result.push_back(ref["name"].get<std::string>());
    }
    return result;
  };
  using Names = std::vector<std::string>;

  const Response all = client.Fetch(repo + "/branches");
  EXPECT_EQ(all.status, 200);
  EXPECT_EQ(all.Header("content-type"), "application/json; charset=utf-8");
  EXPECT_EQ(names(all.body), (Names{"both", "dev", "main"}));
  EXPECT_EQ(names(client.Fetch(repo + "/branches?per_page=1&page=1").body), Names{"both"});
  EXPECT_EQ(names(client.Fetch(repo + "/branches?per_page=1&page=2").body), Names{"dev"});
  const Response third = client.Fetch(repo + "/branches?per_page=1&page=3");
  const nlohmann::json main = nlohmann::json::parse(third.body);
  ASSERT_EQ(main.size(), 1u);
  EXPECT_EQ(main[0]["name"], "main");
  EXPECT_EQ(main[0]["commit"]["sha"], MainCommit());
  EXPECT_EQ(main[0]["commit"]["url"], repo + "/commits/" + MainCommit());
  const Response past_end = client.Fetch(repo + "/branches?per_page=1&page=4");
  EXPECT_EQ(past_end.status, 200);
  EXPECT_EQ(nlohmann::json::parse(past_end.body), nlohmann::json::array());
  EXPECT_EQ(names(client.Fetch(repo + "/branches?per_page=2&page=2").body), Names{"main"});

  const Response tags = client.Fetch(repo + "/tags?per_page=100&page=1",
                                     Call().With("Authorization: token gh-secret"));
  EXPECT_EQ(tags.status, 200);
  const nlohmann::json tag_list = nlohmann::json::parse(tags.body);
  EXPECT_EQ(names(tags.body), (Names{"both", "v1.0"}));
  EXPECT_EQ(tag_list[1]["commit"]["sha"], CommitOf({{"hubconf.py", kV1Hubconf}}));

  for (const std::string query : {"per_page=abc", "per_page=0", "page=0", "page=-1"}) {
    SCOPED_TRACE(query);
    const Response invalid = client.Fetch(repo + "/branches?" + query);
    EXPECT_EQ(invalid.status, 422);
    EXPECT_TRUE(nlohmann::json::parse(invalid.body).contains("message"));
  }
  const Response unknown = client.Fetch(hub.github_api_url() + "/repos/octo/none/branches");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(nlohmann::json::parse(unknown.body), (nlohmann::json{{"message", "Not Found"}}));
  EXPECT_EQ(client.Fetch(hub.github_api_url() + "/repos/octo/none/tags").status, 404);

  const std::vector<FakeHub::Request> requests = hub.Requests();
  const auto with_token = std::count_if(
      requests.begin(), requests.end(),
      [](const FakeHub::Request& request) { return request.authorization == "token gh-secret"; });
  EXPECT_EQ(with_token, 1);
}

TEST_F(FakeHubTest, GithubRefsAreReadAfreshOnEveryRequest) {
  const fs::path github = *root_ / "github_reload";
  fs::remove_all(github);
  WriteFile(github / "octo/live/heads/main/a.txt", "a");
  FakeHub::Options options;
  options.github_dir = github.string();
  FakeHub hub(options);
  Client client;
  const std::string branches = hub.github_api_url() + "/repos/octo/live/branches";
  const auto main_sha = [&] {
    return nlohmann::json::parse(client.Fetch(branches).body).at(0)["commit"]["sha"];
  };
  EXPECT_EQ(main_sha(), CommitOf({{"a.txt", "a"}}));
  WriteFile(github / "octo/live/heads/main/b.txt", "b");
  EXPECT_EQ(main_sha(), CommitOf({{"a.txt", "a"}, {"b.txt", "b"}}));

  EXPECT_EQ(client.Fetch(hub.endpoint() + "/octo/live/tree/master/").status, 404);
  WriteFile(github / "octo/live/heads/master/a.txt", "a");
  EXPECT_EQ(client.Fetch(hub.endpoint() + "/octo/live/tree/master/").status, 200);
}

}  // namespace
}  // namespace modelhub::testing
