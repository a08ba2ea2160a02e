// northstar_response_fuzz: bytes -> an ingest response (status, Retry-After header, body) ->
// the NorthStar sink's response handling. Checks its invariants: a 2xx is accepted only with a
// JSON acceptance body, only retryable statuses and transport errors are retried, everything
// else is rejected, and a parsed Retry-After is never negative or above the cap.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "response.h"

namespace ns = dagstack::logger::northstar;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  ns::HttpResponse response;
  response.status = (data[0] | (data[1] << 8)) % 700;  // 0 = transport error
  std::string_view rest(reinterpret_cast<const char*>(data + 2), size - 2);
  const auto split = rest.find('\n');
  const std::string_view header =
      split == std::string_view::npos ? std::string_view{} : rest.substr(0, split);
  response.body = std::string(split == std::string_view::npos ? rest : rest.substr(split + 1));

  const auto retry_after = ns::detail::parse_retry_after(header);
  if (retry_after && (retry_after->count() < 0 || retry_after->count() > 999999999000LL))
    std::abort();
  response.retry_after = retry_after;

  const auto outcome = ns::detail::classify_response(response);
  const bool two_xx = response.status >= 200 && response.status < 300;
  switch (outcome) {
    case ns::detail::ResponseOutcome::kAccepted:
      if (!two_xx || !ns::detail::accepted_body(response.body)) std::abort();
      break;
    case ns::detail::ResponseOutcome::kRetry:
      if (!(response.status == 0 || two_xx || ns::detail::retryable_status(response.status)))
        std::abort();
      break;
    case ns::detail::ResponseOutcome::kReject:
      if (response.status == 0 || two_xx || ns::detail::retryable_status(response.status))
        std::abort();
      break;
  }
  return 0;
}
