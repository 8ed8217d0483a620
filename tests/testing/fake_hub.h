#ifndef MODELHUB_TESTS_TESTING_FAKE_HUB_H_
#define MODELHUB_TESTS_TESTING_FAKE_HUB_H_

// A loopback fake of the Hugging Face Hub, of the GitHub routes torch.hub uses
// (and of a plain HTTPS-style file server) for download tests:
// tests/testing/fake_hub/fake_hub_server.py, run as a child process for the
// lifetime of one FakeHub object. See the script's docstring for the routes,
// the fault kinds and the log format.

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace modelhub::testing {

// Starts fake_hub_server.py on 127.0.0.1 for one test; stops it in the
// destructor. Not copyable. Methods may be called from any one thread.
class FakeHub {
 public:
  // What the server serves. Empty strings leave the feature out.
  struct Options {
    // Served as the Hub: repos_dir/<org>/<name>/<files, possibly in subfolders>.
    std::string repos_dir;
    // Served at /files/<relative path>.
    std::string files_dir;
    // When set, every Hub route wants "Authorization: Bearer <token>" (401
    // without it, 403 with another one); /cdn/ and /files/ never do.
    std::string token;
    // Served as GitHub (github.com, codeload.github.com and, under /ghapi,
    // api.github.com): github_dir/<owner>/<repo>/heads/<branch>/<files> and
    // github_dir/<owner>/<repo>/tags/<tag>/<files>, re-read on every request.
    // Last, with a default, so that {repos, files, token} still compiles.
    std::string github_dir = "";
  };

  // One request as the server logged it once its response was done. Absent
  // headers and "no fault" are "".
  struct Request {
    // Arrival order: the server numbers requests 0, 1, 2, ... under a lock as
    // they arrive, before answering them.
    int64_t seq = 0;
    std::string method;
    std::string path;  // with the query string
    std::string host;  // the Host header
    std::string range;
    std::string if_range;
    std::string authorization;
    std::string fault;  // the kind of fault applied
    int status = 0;
    int64_t bytes_sent = 0;  // body bytes actually written
  };

  // Spawns /usr/bin/python3 <script> and waits (at most 20 s) for it to listen.
  // Throws std::runtime_error, with the reason, when the script cannot be found,
  // the server exits first or it does not answer in time.
  explicit FakeHub(Options options);
  // Stops the server (SIGTERM, then SIGKILL after 5 s) and removes its temp dir.
  ~FakeHub();
  FakeHub(const FakeHub&) = delete;
  FakeHub& operator=(const FakeHub&) = delete;

  // The port the server listens on (on 127.0.0.1).
  int port() const { return port_; }
  // "http://127.0.0.1:<port>": what a client uses as its Hub endpoint.
  std::string endpoint() const;
  // endpoint() + "/files/" + relative.
  std::string file_url(const std::string& relative) const;
  // endpoint() + "/ghapi": the GitHub API base URL (standing for
  // https://api.github.com) of the repos in Options::github_dir. The github.com
  // routes (/<owner>/<repo>/tree/..., /<owner>/<repo>/zipball/<ref>) are on
  // endpoint() itself.
  std::string github_api_url() const;

  // Replaces the fault list with `faults_json_array`, the JSON text of an array
  // such as R"([{"match": "model", "kind": "status", "status": 500, "times": 2}])";
  // counts start afresh. Takes effect from the next request. Throws
  // std::runtime_error when the text is not a JSON array.
  void SetFaults(const std::string& faults_json_array);
  // No faults from the next request on.
  void ClearFaults();

  // The requests logged since the start or the last ClearRequests(), in the
  // order they arrived (by seq), not the order their responses ended: a request
  // sent after the response to another was received (the request a redirect
  // leads to, on another connection and server thread) always comes after it.
  // Concurrent requests come in the order the server took them. Waits (at most
  // 30 s) until the requests in flight have been logged, so a request whose
  // response the client has seen is always included.
  std::vector<Request> Requests() const;
  // Forgets the requests logged so far (after waiting as Requests() does).
  void ClearRequests();

 private:
  // Asks the server to answer once no request is in flight.
  void Quiesce() const;

  std::string dir_;          // temp dir holding the faults and log files
  std::string faults_path_;  // JSON {"faults": [...]}
  std::string log_path_;     // one JSON line per request
  pid_t pid_ = -1;
  int port_ = 0;
  int64_t log_offset_ = 0;     // where the lines not yet forgotten start
  int faults_generation_ = 0;  // SetFaults calls so far
};

}  // namespace modelhub::testing

#endif  // MODELHUB_TESTS_TESTING_FAKE_HUB_H_
