// exception_info.h (private): what Logger::exception and Span::record_exception report about an
// exception: type, message, stack trace and nested causes.
#pragma once

#include <exception>
#include <string>
#include <vector>

#include "dagstack/logger/attribute.h"

namespace dagstack::logger::detail {

struct ExceptionCause {
  std::string type;
  std::string message;
};

struct ExceptionInfo {
  std::string
      type;  // demangled, wrappers (std::throw_with_nested, throw_with_stacktrace) unwrapped
  std::string message;  // what()
  std::string
      stacktrace;  // the throw site's when recorded by throw_with_stacktrace, else the caller's
  std::vector<ExceptionCause> causes;  // std::nested_exception chain, outermost first (at most 8)

  // The exception.* and dagstack.exception.cause.N.* attributes, viewing this object's strings.
  // `keys` receives the cause keys and must outlive the result.
  std::vector<Attribute> attributes(std::vector<std::string>& keys) const;
};

// Describes `e`; the stack is captured here (frames of this library left out) unless `e` carries
// its throw site's stack.
ExceptionInfo describe_exception(const std::exception& e);
// Describes the exception held by `e`, including ones not derived from std::exception (type from
// the runtime; message from a thrown const char* or std::string). `e` must not be null.
ExceptionInfo describe_exception(const std::exception_ptr& e);

}  // namespace dagstack::logger::detail
