// http_transport.h: declares `HttpTransport`, the small HTTP client interface the exporting sinks
// (NorthStar, OTLP) post batches through, its request/response types, and the libcurl factory.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace dagstack::logger::http {

// The default cap on a response body kept in memory (64 KiB); more is discarded and the
// transfer cut short, so a peer that answers with an endless or huge body cannot exhaust memory.
inline constexpr std::size_t kDefaultMaxResponseBytes = 64 * 1024;

// One POST.
struct HttpRequest {
  std::string url;
  std::vector<std::pair<std::string, std::string>>
      headers;                               // e.g. {"Authorization", "Bearer ns_..."}
  std::string body;                          // the payload, sent as is (already compressed)
  std::chrono::milliseconds timeout{10000};  // whole exchange, connect included
  std::size_t max_response_bytes = kDefaultMaxResponseBytes;  // default 64 KiB of body kept
};

// What came back. `status == 0` means no HTTP answer at all (connection refused, DNS, timeout,
// TLS...), described by `error`.
struct HttpResponse {
  int status = 0;
  std::string body;                                      // at most request.max_response_bytes
  std::optional<std::chrono::milliseconds> retry_after;  // parsed Retry-After header, if any
  std::string error;                                     // transport error text when status == 0
  bool body_truncated = false;  // the body was longer than the cap; the rest was not read
};

// HttpTransport
//
// Sends one request and returns the answer; never throws (errors are a status-0 response).
// A sink calls it from its single worker thread only, so an implementation used by one sink
// needs no locking; one shared between sinks must be thread-safe.
class HttpTransport {
 public:
  HttpTransport() = default;
  virtual ~HttpTransport() = default;
  HttpTransport(const HttpTransport&) = delete;
  HttpTransport& operator=(const HttpTransport&) = delete;

  // Performs `request` (a POST) and returns the response. Must honour request.timeout and keep
  // at most request.max_response_bytes of the body.
  virtual HttpResponse post(const HttpRequest& request) noexcept = 0;
};

// The libcurl transport: one easy handle reused for every request (keep-alive connection reuse),
// no redirects, no `Expect: 100-continue`, signals off; a body over the cap ends the transfer
// (the status is kept, the connection is not reused). Thread-safe (requests are serialised).
// `user_agent` names the sink in the User-Agent header.
std::shared_ptr<HttpTransport> make_curl_transport(
    std::string user_agent = "dagstack-logger-cpp/0.1");

}  // namespace dagstack::logger::http
