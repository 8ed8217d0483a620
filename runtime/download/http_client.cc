#include "runtime/download/http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <exception>
#include <mutex>
#include <utility>

namespace modelhub {
namespace {

constexpr int kMaxRedirects = 10;
constexpr size_t kErrorBodyBytes = 4096;

void InitCurlOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::string Lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

std::string Trim(std::string_view text) {
  size_t begin = 0;
  size_t end = text.size();
  while (begin < end && std::isspace(static_cast<unsigned char>(text[begin]))) ++begin;
  while (end > begin && std::isspace(static_cast<unsigned char>(text[end - 1]))) --end;
  return std::string(text.substr(begin, end - begin));
}

// What one transfer collects from libcurl's callbacks.
struct Transfer {
  HttpResponse response;
  const HttpClient::BodySink* on_body = nullptr;
  const HttpClient::HeadersSink* on_headers = nullptr;
  bool headers_passed = false;
  std::exception_ptr failure;
  uint64_t body_bytes = 0;
};

size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const std::string_view line(data, size * count);
  if (line.rfind("HTTP/", 0) == 0) {
    // A new status line (after a 100 Continue, say): start over.
    transfer->response.headers.clear();
    const size_t space = line.find(' ');
    if (space != std::string_view::npos) {
      transfer->response.status =
          std::strtol(std::string(line.substr(space + 1)).c_str(), nullptr, 10);
    }
    return size * count;
  }
  const size_t colon = line.find(':');
  if (colon != std::string_view::npos) {
    transfer->response.headers[Lower(Trim(line.substr(0, colon)))] = Trim(line.substr(colon + 1));
  }
  return size * count;
}

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const size_t bytes = size * count;
  const long status = transfer->response.status;
  if (status < 200 || status >= 300) {
    std::string& kept = transfer->response.error_body;
    kept.append(data, std::min(bytes, kErrorBodyBytes - std::min(kErrorBodyBytes, kept.size())));
    return bytes;
  }
  transfer->body_bytes += bytes;
  try {
    if (!transfer->headers_passed) {
      transfer->headers_passed = true;
      if (*transfer->on_headers) (*transfer->on_headers)(transfer->response);
    }
    if (*transfer->on_body) (*transfer->on_body)(data, bytes);
  } catch (...) {
    transfer->failure = std::current_exception();
    return 0;  // makes libcurl stop with CURLE_WRITE_ERROR
  }
  return bytes;
}

}  // namespace

std::string HttpResponse::header(const std::string& name) const {
  auto it = headers.find(name);
  return it == headers.end() ? "" : it->second;
}

std::optional<uint64_t> ParseSizeHeader(const std::string& value) {
  uint64_t size = 0;
  const char* end = value.data() + value.size();
  const auto [stop, error] = std::from_chars(value.data(), end, size);
  if (value.empty() || error != std::errc() || stop != end) return std::nullopt;
  return size;
}

std::string UrlOrigin(const std::string& url) {
  CURLU* parsed = curl_url();
  std::string origin;
  if (curl_url_set(parsed, CURLUPART_URL, url.c_str(), 0) == CURLUE_OK) {
    char* scheme = nullptr;
    char* host = nullptr;
    char* port = nullptr;
    if (curl_url_get(parsed, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
        curl_url_get(parsed, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
        curl_url_get(parsed, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK) {
      origin = Lower(std::string(scheme) + "://" + host + ":" + port);
    }
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
  }
  curl_url_cleanup(parsed);
  return origin;
}

HttpClient::HttpClient(HttpTimeouts timeouts) : timeouts_(timeouts) {
  InitCurlOnce();
  curl_ = curl_easy_init();
  if (curl_ == nullptr) throw HttpTransportError("libcurl cannot start a session");
}

HttpClient::~HttpClient() { curl_easy_cleanup(static_cast<CURL*>(curl_)); }

HttpResponse HttpClient::Send(const HttpRequest& request, const BodySink& on_body,
                              const HeadersSink& on_headers) {
  const std::string origin = UrlOrigin(request.url);
  std::string url = request.url;
  for (int hop = 0;; ++hop) {
    const bool same_host = UrlOrigin(url) == origin;
    HttpResponse response = SendOnce(request, url, same_host, on_body, on_headers);
    const bool redirect = response.status >= 300 && response.status < 400 &&
                          response.status != 304 && !response.header("location").empty();
    if (!redirect || request.redirects == Redirects::kNone) return response;
    char* next = nullptr;
    curl_easy_getinfo(static_cast<CURL*>(curl_), CURLINFO_REDIRECT_URL, &next);
    if (next == nullptr) return response;
    const std::string target = next;
    if (request.redirects == Redirects::kSameHost && UrlOrigin(target) != origin) return response;
    if (hop + 1 >= kMaxRedirects) {
      throw HttpTransportError("more than " + std::to_string(kMaxRedirects) + " redirects from " +
                               request.url);
    }
    url = target;
  }
}

HttpResponse HttpClient::SendOnce(const HttpRequest& request, const std::string& url,
                                  bool with_token, const BodySink& on_body,
                                  const HeadersSink& on_headers) {
  CURL* curl = static_cast<CURL*>(curl_);
  curl_easy_reset(curl);
  Transfer transfer;
  transfer.on_body = &on_body;
  transfer.on_headers = &on_headers;
  transfer.response.url = url;

  curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, "Accept-Encoding: identity");
  if (with_token && !request.bearer_token.empty()) {
    headers = curl_slist_append(headers, ("Authorization: Bearer " + request.bearer_token).c_str());
  }
  if (request.range_start) {
    headers = curl_slist_append(
        headers, ("Range: bytes=" + std::to_string(*request.range_start) + "-").c_str());
    if (!request.if_range.empty()) {
      headers = curl_slist_append(headers, ("If-Range: " + request.if_range).c_str());
    }
  }
  char error[CURL_ERROR_SIZE] = "";
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_NOBODY, request.head ? 1L : 0L);
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "modelhub/0.1");
  // HTTP(S) only: libcurl would read a file:// URL (which a redirect may name).
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(curl, CURLOPT_BUFFERSIZE, 512L * 1024);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, static_cast<long>(timeouts_.connect.count()));
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, static_cast<long>(timeouts_.stall.count()));
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &transfer);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &transfer);
  const CURLcode code = curl_easy_perform(curl);
  curl_slist_free_all(headers);
  bytes_received_ += transfer.body_bytes;
  if (transfer.failure) std::rethrow_exception(transfer.failure);
  if (code != CURLE_OK) {
    std::string why = error[0] != '\0' ? error : curl_easy_strerror(code);
    throw HttpTransportError(why + " (" + url + ")");
  }
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  transfer.response.status = status;
  if (status >= 200 && status < 300 && !transfer.headers_passed && on_headers) {
    on_headers(transfer.response);  // an empty body
  }
  return std::move(transfer.response);
}

}  // namespace modelhub
