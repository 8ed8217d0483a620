#include "tests/testing/fake_hub.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>  // mkdtemp
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

extern char** environ;

namespace modelhub::testing {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr char kPython[] = "/usr/bin/python3";
constexpr char kScript[] = "tests/testing/fake_hub/fake_hub_server.py";
constexpr auto kStartTimeout = std::chrono::seconds(20);
constexpr auto kStopTimeout = std::chrono::seconds(5);
// Only a hang detector: requests normally finish in milliseconds.
constexpr int kQuiesceSeconds = 30;

std::string Env(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr ? value : "";
}

// The server script in this binary's runfiles; throws when it is not there.
std::string ScriptPath() {
  std::string workspace = Env("TEST_WORKSPACE");
  if (workspace.empty()) workspace = "modelhub";
  std::vector<std::string> roots;
  for (const char* variable : {"TEST_SRCDIR", "RUNFILES_DIR"}) {
    if (!Env(variable).empty()) roots.push_back(Env(variable));
  }
  std::error_code error;
  const fs::path exe = fs::read_symlink("/proc/self/exe", error);
  if (!error) roots.push_back(exe.string() + ".runfiles");
  std::string tried;
  for (const std::string& root : roots) {
    const std::string path = root + "/" + workspace + "/" + kScript;
    if (fs::is_regular_file(path, error)) return path;
    tried += " " + path;
  }
  throw std::runtime_error("FakeHub: cannot find " + std::string(kScript) +
                           " in the runfiles (tried:" + tried +
                           "); does the target have the script in its data?");
}

std::string MakeTempDir() {
  std::string base = Env("TEST_TMPDIR");
  if (base.empty()) base = "/tmp";
  std::string pattern = base + "/fake_hub.XXXXXX";
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  if (mkdtemp(buffer.data()) == nullptr) {
    throw std::runtime_error("FakeHub: mkdtemp " + pattern + ": " + std::strerror(errno));
  }
  return buffer.data();
}

// "exited with status N" or "was killed by signal N".
std::string DescribeWaitStatus(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "was killed by signal " + std::to_string(WTERMSIG(status));
  return "stopped (wait status " + std::to_string(status) + ")";
}

// Waits for `pid` to exit, killing it (SIGKILL) when it has not within
// kStopTimeout; returns its wait status.
int Reap(pid_t pid) {
  const auto deadline = Clock::now() + kStopTimeout;
  int status = 0;
  while (Clock::now() < deadline) {
    const pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid || (done < 0 && errno != EINTR)) return status;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  kill(pid, SIGKILL);
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

// SIGTERM, then SIGKILL when `pid` has not exited within kStopTimeout.
void StopProcess(pid_t pid) {
  if (pid <= 0) return;
  kill(pid, SIGTERM);
  Reap(pid);
}

// Reads the first line `fd` gives within kStartTimeout (without the newline).
// Returns false on end of file or timeout (`timed_out` tells which).
bool ReadFirstLine(int fd, std::string& line, bool& timed_out) {
  const auto deadline = Clock::now() + kStartTimeout;
  timed_out = false;
  while (true) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      timed_out = true;
      return false;
    }
    pollfd entry{fd, POLLIN, 0};
    const int ready = poll(&entry, 1, static_cast<int>(left));
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) return false;
    if (ready == 0) continue;
    char c = 0;
    const ssize_t n = read(fd, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    if (c == '\n') return true;
    line.push_back(c);
  }
}

// The string at `key` of a log line, "" when it is null or absent.
std::string StringField(const nlohmann::json& line, const char* key) {
  const auto it = line.find(key);
  return it != line.end() && it->is_string() ? it->get<std::string>() : "";
}

}  // namespace

FakeHub::FakeHub(Options options) {
  const std::string script = ScriptPath();
  dir_ = MakeTempDir();
  faults_path_ = dir_ + "/faults.json";
  log_path_ = dir_ + "/requests.jsonl";

  std::vector<std::string> args = {kPython, script, "--exit-with-parent"};
  args.insert(args.end(), {"--faults", faults_path_, "--log", log_path_});
  if (!options.repos_dir.empty()) args.insert(args.end(), {"--repos", options.repos_dir});
  if (!options.files_dir.empty()) args.insert(args.end(), {"--files", options.files_dir});
  if (!options.token.empty()) args.insert(args.end(), {"--token", options.token});
  if (!options.github_dir.empty()) args.insert(args.end(), {"--github", options.github_dir});
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);

  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
    const std::string why = std::strerror(errno);
    std::error_code error;
    fs::remove_all(dir_, error);
    throw std::runtime_error("FakeHub: pipe2: " + why);
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
  const int spawned = posix_spawn(&pid_, kPython, &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(pipe_fds[1]);
  if (spawned != 0) {
    close(pipe_fds[0]);
    pid_ = -1;
    std::error_code error;
    fs::remove_all(dir_, error);
    throw std::runtime_error(std::string("FakeHub: cannot spawn ") + kPython + ": " +
                             std::strerror(spawned));
  }

  std::string line;
  bool timed_out = false;
  const bool got_line = ReadFirstLine(pipe_fds[0], line, timed_out);
  close(pipe_fds[0]);  // the server writes nothing more to stdout
  int port = 0;
  if (got_line && std::sscanf(line.c_str(), "PORT %d", &port) == 1 && port > 0) {
    port_ = port;
    return;
  }
  std::string why;
  if (got_line) {
    why = "printed \"" + line + "\" instead of \"PORT <n>\"";
    StopProcess(pid_);
  } else if (timed_out) {
    why = "did not print its port within 20 s";
    StopProcess(pid_);
  } else {
    why = DescribeWaitStatus(Reap(pid_)) + " before listening";
  }
  pid_ = -1;
  std::error_code error;
  fs::remove_all(dir_, error);
  throw std::runtime_error("FakeHub: " + script + " " + why + " (its stderr is in the test log)");
}

FakeHub::~FakeHub() {
  StopProcess(pid_);
  std::error_code error;
  fs::remove_all(dir_, error);
}

std::string FakeHub::endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }

std::string FakeHub::file_url(const std::string& relative) const {
  return endpoint() + "/files/" + relative;
}

std::string FakeHub::github_api_url() const { return endpoint() + "/ghapi"; }

void FakeHub::SetFaults(const std::string& faults_json_array) {
  nlohmann::json faults;
  try {
    faults = nlohmann::json::parse(faults_json_array);
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error("FakeHub::SetFaults: not JSON: " + std::string(e.what()));
  }
  if (!faults.is_array()) {
    throw std::runtime_error("FakeHub::SetFaults: wants a JSON array, got " + faults.dump());
  }
  // The generation makes every call a change the server notices, even with the
  // same faults, so that their counts restart.
  const nlohmann::json file = {{"generation", ++faults_generation_}, {"faults", faults}};
  const std::string temp = faults_path_ + ".tmp";
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    out << file.dump() << "\n";
    if (!out.flush()) throw std::runtime_error("FakeHub::SetFaults: cannot write " + temp);
  }
  if (std::rename(temp.c_str(), faults_path_.c_str()) != 0) {
    throw std::runtime_error("FakeHub::SetFaults: rename to " + faults_path_ + ": " +
                             std::strerror(errno));
  }
}

void FakeHub::ClearFaults() { SetFaults("[]"); }

void FakeHub::Quiesce() const {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error(std::string("FakeHub: socket: ") + std::strerror(errno));
  timeval timeout{kQuiesceSeconds + 5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port_));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string response;
  if (connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) == 0) {
    const std::string request =
        "GET /_fake_hub/quiesce?timeout=" + std::to_string(kQuiesceSeconds) +
        " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
        static_cast<ssize_t>(request.size())) {
      char buffer[512];
      ssize_t n = 0;
      while ((n = recv(fd, buffer, sizeof(buffer), 0)) > 0 || (n < 0 && errno == EINTR)) {
        if (n > 0) response.append(buffer, static_cast<size_t>(n));
      }
    }
  }
  close(fd);
  if (response.rfind("HTTP/1.1 200", 0) == 0) return;
  if (response.rfind("HTTP/1.1 503", 0) == 0) {
    throw std::runtime_error("FakeHub: requests still in flight after " +
                             std::to_string(kQuiesceSeconds) + " s");
  }
  throw std::runtime_error("FakeHub: the server on port " + std::to_string(port_) +
                           " does not answer (did it die?)");
}

std::vector<FakeHub::Request> FakeHub::Requests() const {
  Quiesce();
  std::vector<Request> requests;
  std::ifstream in(log_path_, std::ios::binary);
  if (!in) return requests;
  in.seekg(log_offset_);
  std::string text;
  while (std::getline(in, text)) {
    if (text.empty()) continue;
    const nlohmann::json line = nlohmann::json::parse(text);
    Request request;
    request.seq = line.value("seq", int64_t{0});
    request.method = StringField(line, "method");
    request.path = StringField(line, "path");
    request.host = StringField(line, "host");
    request.range = StringField(line, "range");
    request.if_range = StringField(line, "if_range");
    request.authorization = StringField(line, "authorization");
    request.fault = StringField(line, "fault");
    request.status = line.value("status", 0);
    request.bytes_sent = line.value("bytes_sent", int64_t{0});
    requests.push_back(std::move(request));
  }
  // Lines are written as responses end; arrival order is what tests reason about.
  std::stable_sort(requests.begin(), requests.end(),
                   [](const Request& a, const Request& b) { return a.seq < b.seq; });
  return requests;
}

void FakeHub::ClearRequests() {
  Quiesce();
  std::error_code error;
  const auto size = fs::file_size(log_path_, error);
  log_offset_ = error ? 0 : static_cast<int64_t>(size);
}

}  // namespace modelhub::testing
