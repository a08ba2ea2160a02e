// http_transport_test.cpp: the shared libcurl transport (sinks/http) against a raw TCP peer on
// 127.0.0.1 that answers with an endless 200 body or a 50 MB 400 body: the body kept in memory
// stays under the cap, the status survives, the call returns promptly; backoff and excerpts.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "dagstack/logger/http/http_transport.h"
#include "dagstack/logger/http/retry.h"

namespace dagstack::logger::http {
namespace {

using namespace std::chrono_literals;

// Accepts one connection, reads the request head, writes `head`, then `body_bytes` of 'x' (or
// forever when 0) until the peer goes away.
class RawPeer {
 public:
  RawPeer(std::string head, std::size_t body_bytes) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    listen(fd_, 1);
    socklen_t len = sizeof addr;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this, head = std::move(head), body_bytes] {
      const int c = accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      char buf[4096];
      std::string req;
      while (req.find("\r\n\r\n") == std::string::npos) {
        const ssize_t n = read(c, buf, sizeof buf);
        if (n <= 0) break;
        req.append(buf, static_cast<std::size_t>(n));
      }
      send(c, head.data(), head.size(), MSG_NOSIGNAL);
      const std::string chunk(64 * 1024, 'x');
      std::size_t sent = 0;
      while (!stop_.load() && (body_bytes == 0 || sent < body_bytes)) {
        const std::size_t want =
            body_bytes == 0 ? chunk.size() : std::min(chunk.size(), body_bytes - sent);
        const ssize_t n = send(c, chunk.data(), want, MSG_NOSIGNAL);
        if (n <= 0) break;
        sent += static_cast<std::size_t>(n);
        sent_.store(sent);
      }
      close(c);
    });
  }
  ~RawPeer() {
    stop_.store(true);
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/v1/logs"; }
  std::size_t sent() const { return sent_.load(); }

 private:
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<std::size_t> sent_{0};
  std::thread thread_;
};

HttpRequest request(const std::string& url) {
  HttpRequest r;
  r.url = url;
  r.body = "payload";
  r.timeout = 20s;
  return r;
}

TEST(HttpTransportTest, EndlessOkBodyIsCutAtTheCap) {
  RawPeer peer("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n", 0);  // no length: endless
  auto transport = make_curl_transport();
  const auto t0 = std::chrono::steady_clock::now();
  const HttpResponse r = transport->post(request(peer.url()));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);  // not the 20 s timeout
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(r.body_truncated);
  EXPECT_EQ(r.body.size(), kDefaultMaxResponseBytes);
}

TEST(HttpTransportTest, HugeErrorBodyKeepsTheStatusAndAtMostTheCap) {
  constexpr std::size_t k50MB = 50u * 1024 * 1024;
  RawPeer peer("HTTP/1.1 400 Bad Request\r\nContent-Length: " + std::to_string(k50MB) +
                   "\r\nRetry-After: 7\r\n\r\n",
               k50MB);
  auto transport = make_curl_transport();
  HttpRequest req = request(peer.url());
  req.max_response_bytes = 1000;
  const HttpResponse r = transport->post(req);
  EXPECT_EQ(r.status, 400);
  EXPECT_TRUE(r.body_truncated);
  EXPECT_EQ(r.body.size(), 1000u);
  EXPECT_EQ(r.retry_after, std::chrono::milliseconds(7000));
  EXPECT_LT(peer.sent(), k50MB);  // the transfer was cut, not read to the end
  // What a report may echo of it is short.
  EXPECT_LE(excerpt(r.body).size(), 512u + 32u);
}

TEST(HttpTransportTest, SmallBodiesAreKeptWhole) {
  RawPeer peer("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", 5);
  auto transport = make_curl_transport();
  const HttpResponse r = transport->post(request(peer.url()));
  EXPECT_EQ(r.status, 200);
  EXPECT_FALSE(r.body_truncated);
  EXPECT_EQ(r.body, "xxxxx");
}

TEST(HttpTransportTest, ConnectionRefusedIsStatusZero) {
  std::string url;
  {
    RawPeer peer("", 1);
    url = peer.url();
  }  // closed again: nothing listens there now
  const HttpResponse r = make_curl_transport()->post(request(url));
  EXPECT_EQ(r.status, 0);
  EXPECT_FALSE(r.error.empty());
}

TEST(RetryTest, BackoffGrowsIsCappedJitteredAndHonoursRetryAfter) {
  BackoffPolicy p{100ms, 1000ms, 2.0, 0.5, 5000ms};
  EXPECT_EQ(backoff_delay(p, 1, std::nullopt, 0.0), 100ms);
  EXPECT_EQ(backoff_delay(p, 3, std::nullopt, 0.0), 400ms);
  EXPECT_EQ(backoff_delay(p, 3, std::nullopt, 1.0), 200ms);  // jitter 0.5: down to half
  EXPECT_EQ(backoff_delay(p, 30, std::nullopt, 0.0), 1000ms);
  EXPECT_EQ(backoff_delay(p, 2000, std::nullopt, 0.0), 1000ms);  // no overflow
  EXPECT_EQ(backoff_delay(p, 1, 3000ms, 0.0), 3000ms);
  EXPECT_EQ(backoff_delay(p, 1, 60000ms, 0.0), 5000ms);  // capped Retry-After
}

TEST(RetryTest, ExcerptCutsOnACharacterBoundary) {
  EXPECT_EQ(excerpt("short"), "short");
  const std::string text = std::string(9, 'a') + "\xC3\xA9" + std::string(100, 'b');
  const std::string e = excerpt(text, 10);
  EXPECT_EQ(e.substr(0, 9), std::string(9, 'a'));
  EXPECT_EQ(e.substr(9), "... (111 bytes)");
}

}  // namespace
}  // namespace dagstack::logger::http
