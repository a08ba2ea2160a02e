// Tests for the NorthStar sink's response handling (sinks/northstar/response.h).
#include "response.h"

#include <gtest/gtest.h>

namespace dagstack::logger::northstar::detail {
namespace {

HttpResponse response(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

TEST(NorthStarResponse, AcceptedNeedsA2xxAndAnAcceptanceBody) {
  EXPECT_EQ(classify_response(response(200, R"({"accepted":true})")), ResponseOutcome::kAccepted);
  EXPECT_EQ(classify_response(response(202, R"({"accepted":true,"x":1})")), ResponseOutcome::kAccepted);
  // A 200 with a bad or negative body is not an acceptance: re-send it.
  EXPECT_EQ(classify_response(response(200, "<html>")), ResponseOutcome::kRetry);
  EXPECT_EQ(classify_response(response(200, R"({"accepted":false})")), ResponseOutcome::kRetry);
  EXPECT_EQ(classify_response(response(200, R"({"accepted":"true"})")), ResponseOutcome::kRetry);
  EXPECT_EQ(classify_response(response(200, "[true]")), ResponseOutcome::kRetry);
}

TEST(NorthStarResponse, RetryableStatusesAndTransportErrorsAreRetried) {
  for (int s : {408, 429, 500, 502, 503, 504}) {
    EXPECT_EQ(classify_response(response(s, "")), ResponseOutcome::kRetry) << s;
  }
  EXPECT_EQ(classify_response(response(0, "")), ResponseOutcome::kRetry);
}

TEST(NorthStarResponse, ClientErrorsAreRejected) {
  for (int s : {400, 401, 403, 404, 413, 501, 301}) {
    EXPECT_EQ(classify_response(response(s, R"({"accepted":true})")), ResponseOutcome::kReject) << s;
  }
}

TEST(NorthStarResponse, RetryAfterSecondsAndDates) {
  EXPECT_EQ(parse_retry_after(" 120 "), std::chrono::milliseconds(120000));
  EXPECT_EQ(parse_retry_after("0"), std::chrono::milliseconds(0));
  EXPECT_EQ(parse_retry_after("99999999999999"), std::chrono::milliseconds(999999999000LL));
  EXPECT_EQ(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), std::chrono::milliseconds(0));
  EXPECT_FALSE(parse_retry_after("").has_value());
  EXPECT_FALSE(parse_retry_after("soon").has_value());
  EXPECT_FALSE(parse_retry_after("-5").has_value());
}

// Found by fuzz/northstar_response_fuzz: a date in year 201275 overflowed the milliseconds.
TEST(NorthStarResponse, RetryAfterFarFutureDateIsCappedNotOverflowed) {
  const auto r = parse_retry_after("Wed, 21 Oct 201275 0:8:00 GMT");
  if (r) {
    EXPECT_GE(r->count(), 0);
    EXPECT_LE(r->count(), 999999999000LL);
  }
}

}  // namespace
}  // namespace dagstack::logger::northstar::detail
