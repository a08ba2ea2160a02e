// http_transport.h: declares `HttpTransport`, the small HTTP client interface the NorthStar sink
// posts batches through, its request/response types, and the libcurl implementation's factory.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace dagstack::logger::northstar {

// One POST.
struct HttpRequest {
  std::string url;
  std::vector<std::pair<std::string, std::string>>
      headers;                               // e.g. {"Authorization", "Bearer ns_..."}
  std::string body;                          // UTF-8 JSON
  std::chrono::milliseconds timeout{10000};  // whole exchange, connect included
};

// What came back. `status == 0` means no HTTP answer at all (connection refused, DNS, timeout,
// TLS...), described by `error`.
struct HttpResponse {
  int status = 0;
  std::string body;
  std::optional<std::chrono::milliseconds> retry_after;  // parsed Retry-After header, if any
  std::string error;                                     // transport error text when status == 0
};

// HttpTransport
//
// Sends one request and returns the answer; never throws (errors are a status-0 response).
// The NorthStar sink calls it from its single worker thread only, so an implementation used by one
// sink needs no locking; one shared between sinks must be thread-safe.
class HttpTransport {
 public:
  HttpTransport() = default;
  virtual ~HttpTransport() = default;
  HttpTransport(const HttpTransport&) = delete;
  HttpTransport& operator=(const HttpTransport&) = delete;

  // Performs `request` (a POST) and returns the response. Must honour request.timeout.
  virtual HttpResponse post(const HttpRequest& request) noexcept = 0;
};

// The libcurl transport: one easy handle reused for every request (keep-alive connection reuse),
// no redirects, no `Expect: 100-continue`, signals off. Thread-safe (requests are serialised).
std::shared_ptr<HttpTransport> make_curl_transport();

}  // namespace dagstack::logger::northstar
