#ifndef MODELHUB_RUNTIME_DOWNLOAD_HTTP_CLIENT_H_
#define MODELHUB_RUNTIME_DOWNLOAD_HTTP_CLIENT_H_

// HTTP(S) through libcurl: one request at a time on a session that keeps its
// connections alive, redirects followed here (not by libcurl) so that a bearer
// token only ever goes to the host it was given for.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace modelhub {

// A request failed below HTTP: no connection, a reset, a timeout, a body that
// stopped arriving or ended early. Worth retrying.
class HttpTransportError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The final response to a request (after redirects).
struct HttpResponse {
  long status = 0;
  // The URL that gave this response.
  std::string url;
  // Header names lowercased; the last value of a repeated header.
  std::map<std::string, std::string> headers;
  // The first bytes (at most 4 KiB) of the body of a response that is not 2xx,
  // for error messages; the body of a 2xx response goes to the caller instead.
  std::string error_body;

  // The value of header `name` (lowercase), or "" when absent.
  std::string header(const std::string& name) const;
};

// Which redirects a request follows.
enum class Redirects {
  kFollow,    // any (up to 10)
  kSameHost,  // only to the same scheme, host and port; others are returned
  kNone,
};

// One request.
struct HttpRequest {
  std::string url;
  bool head = false;
  // Asks for the bytes from `range_start` on (Range: bytes=N-).
  std::optional<uint64_t> range_start;
  // With a range: If-Range, the validator (ETag) the partial content came from.
  std::string if_range;
  // Sent as "Authorization: Bearer ..." to the host of `url` only: never to
  // another host a redirect leads to.
  std::string bearer_token;
  Redirects redirects = Redirects::kFollow;
};

// Limits on a request's transport.
struct HttpTimeouts {
  std::chrono::seconds connect{30};
  // A transfer that receives nothing for this long fails (HttpTransportError).
  std::chrono::seconds stall{60};
};

// The number a size header holds (Content-Length, X-Linked-Size): digits
// only; nullopt when empty, not a number, or beyond 64 bits.
std::optional<uint64_t> ParseSizeHeader(const std::string& value);

// The scheme, host and port of `url` ("http://127.0.0.1:8080"), lowercased;
// "" when `url` does not parse.
std::string UrlOrigin(const std::string& url);

// A libcurl session (connections reused across requests). Use from one thread
// at a time.
class HttpClient {
 public:
  explicit HttpClient(HttpTimeouts timeouts = {});
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Receives body bytes of a 2xx response as they arrive. Throwing stops the
  // transfer; the exception reaches Send's caller.
  using BodySink = std::function<void(const char* data, size_t size)>;
  // Sees the status and headers of a 2xx response before its first body byte
  // (url and error_body are not filled in yet). Throwing stops the transfer.
  using HeadersSink = std::function<void(const HttpResponse& response)>;

  // Sends `request` and returns the final response (any status). Throws
  // HttpTransportError for failures below HTTP.
  HttpResponse Send(const HttpRequest& request, const BodySink& on_body = {},
                    const HeadersSink& on_headers = {});

  // Body bytes received by this client so far (all requests).
  uint64_t bytes_received() const { return bytes_received_; }

 private:
  HttpResponse SendOnce(const HttpRequest& request, const std::string& url, bool with_token,
                        const BodySink& on_body, const HeadersSink& on_headers);

  HttpTimeouts timeouts_;
  void* curl_;  // CURL*
  uint64_t bytes_received_ = 0;
};

}  // namespace modelhub

#endif  // MODELHUB_RUNTIME_DOWNLOAD_HTTP_CLIENT_H_
