// gzip.h (private): gzip compression of request bodies (zlib).
#pragma once

#include <string>
#include <string_view>

namespace dagstack::logger::otlp::detail {

// `data` as a gzip member (RFC 1952). Throws std::runtime_error if zlib fails.
std::string gzip_compress(std::string_view data);

}  // namespace dagstack::logger::otlp::detail
