// curl_transport.cpp: HttpTransport over one reused libcurl easy handle, with a cap on the
// response body kept in memory.
#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <mutex>

#include "dagstack/logger/http/http_transport.h"
#include "dagstack/logger/http/retry.h"

namespace dagstack::logger::http {
namespace {

void global_init_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct BodyState {
  std::string* body = nullptr;
  std::size_t cap = 0;
  bool truncated = false;
};

// Keeps at most `cap` bytes; past the cap it ends the transfer (returning less than it was
// given makes libcurl stop with CURLE_WRITE_ERROR), so an endless body costs neither memory nor
// time.
std::size_t on_body(char* data, std::size_t size, std::size_t n, void* user) {
  auto* state = static_cast<BodyState*>(user);
  const std::size_t len = size * n;
  const std::size_t room = state->cap - std::min(state->cap, state->body->size());
  if (len <= room) {
    state->body->append(data, len);
    return len;
  }
  state->body->append(data, room);
  state->truncated = true;
  return 0;
}

struct HeaderState {
  std::optional<std::chrono::milliseconds> retry_after;
};

std::size_t on_header(char* data, std::size_t size, std::size_t n, void* user) {
  auto* state = static_cast<HeaderState*>(user);
  const std::size_t len = size * n;
  std::string line(data, len);
  const std::size_t colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    if (name == "retry-after") state->retry_after = parse_retry_after(line.substr(colon + 1));
  } else if (line.rfind("HTTP/", 0) == 0) {
    state->retry_after.reset();  // a new response (after a 1xx)
  }
  return len;
}

class CurlTransport final : public HttpTransport {
 public:
  explicit CurlTransport(std::string user_agent) : user_agent_(std::move(user_agent)) {
    global_init_once();
    handle_ = curl_easy_init();
  }
  ~CurlTransport() override {
    if (handle_ != nullptr) curl_easy_cleanup(handle_);
  }

  HttpResponse post(const HttpRequest& request) noexcept override {
    HttpResponse response;
    std::lock_guard<std::mutex> lock(mutex_);
    if (handle_ == nullptr) {
      response.error = "curl_easy_init failed";
      return response;
    }
    try {
      CURL* h = handle_;
      curl_slist* headers = nullptr;
      for (const auto& [k, v] : request.headers) {
        headers = curl_slist_append(headers, (k + ": " + v).c_str());
      }
      headers = curl_slist_append(headers, "Expect:");  // no 100-continue round trip
      HeaderState header_state;
      BodyState body_state{&response.body, request.max_response_bytes, false};
      const long timeout_ms = static_cast<long>(std::max<long long>(1, request.timeout.count()));
      curl_easy_setopt(h, CURLOPT_URL, request.url.c_str());
      curl_easy_setopt(h, CURLOPT_POST, 1L);
      curl_easy_setopt(h, CURLOPT_POSTFIELDS, request.body.data());
      curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
                       static_cast<curl_off_t>(request.body.size()));
      curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
      curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
      curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, std::min(timeout_ms, 5000L));
      curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
      curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
      curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
      curl_easy_setopt(h, CURLOPT_USERAGENT, user_agent_.c_str());
      curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &on_body);
      curl_easy_setopt(h, CURLOPT_WRITEDATA, &body_state);
      curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, &on_header);
      curl_easy_setopt(h, CURLOPT_HEADERDATA, &header_state);
      const CURLcode rc = curl_easy_perform(h);
      curl_easy_setopt(h, CURLOPT_HTTPHEADER, nullptr);
      curl_slist_free_all(headers);
      if (rc == CURLE_WRITE_ERROR && body_state.truncated) {
        // Our cap, not a transport failure: the status line and headers were read.
        response.body_truncated = true;
      } else if (rc != CURLE_OK) {
        response.status = 0;
        response.error = curl_easy_strerror(rc);
        response.body.clear();
        return response;
      }
      long code = 0;
      curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
      response.status = static_cast<int>(code);
      response.retry_after = header_state.retry_after;
    } catch (const std::exception& e) {
      response.status = 0;
      response.error = e.what();
    } catch (...) {
      response.status = 0;
      response.error = "unknown error";
    }
    return response;
  }

 private:
  std::mutex mutex_;
  const std::string user_agent_;
  CURL* handle_ = nullptr;
};

}  // namespace

std::shared_ptr<HttpTransport> make_curl_transport(std::string user_agent) {
  return std::make_shared<CurlTransport>(std::move(user_agent));
}

}  // namespace dagstack::logger::http
