// http_transport.h: declares the NorthStar names of the shared HTTP transport (`HttpTransport`,
// `HttpRequest`, `HttpResponse`, see dagstack/logger/http/http_transport.h) and the libcurl
// factory the NorthStar sink uses.
#pragma once

#include <memory>

#include "dagstack/logger/http/http_transport.h"

namespace dagstack::logger::northstar {

using HttpRequest = http::HttpRequest;
using HttpResponse = http::HttpResponse;
using HttpTransport = http::HttpTransport;

// The shared libcurl transport with the NorthStar sink's User-Agent. Thread-safe.
inline std::shared_ptr<HttpTransport> make_curl_transport() {
  return http::make_curl_transport("dagstack-logger-cpp/0.1 northstar-sink");
}

}  // namespace dagstack::logger::northstar
