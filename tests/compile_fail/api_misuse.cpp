// api_misuse.cpp: each DAGSTACK_CASE_* below must NOT compile (CTest builds this file once per
// case with -fsyntax-only and checks the first error line names the type or the reason); with no
// case defined it must compile, which proves each failure comes from its one line alone.
#include <chrono>
#include <string>

#include "dagstack/logger/logger.h"

namespace app {
enum Plain { kPlainA, kPlainB };
struct NoConversion {
  int x;
};
}  // namespace app

void use(dagstack::logger::Logger& log) {
  int n = 3;
  int* ptr = &n;
  const std::string text = "t";
  // Everything here is fine.
  log.info("ok {}", n, {{"n", n}, {"s", text}, {"c", "literal"}});
  log.info("ok", {{"i8", static_cast<signed char>(1)}, {"cp", static_cast<const char*>("x")}});
  (void)ptr;
#ifdef DAGSTACK_CASE_POINTER_ATTRIBUTE
  log.info("x", {{"p", ptr}});
#endif
#ifdef DAGSTACK_CASE_POINTER_BODY
  log.info(ptr);
#endif
#ifdef DAGSTACK_CASE_UNSCOPED_ENUM
  log.info("x", {{"e", app::kPlainB}});
#endif
#ifdef DAGSTACK_CASE_CHAR
  log.info("x", {{"c", 'x'}});
#endif
#ifdef DAGSTACK_CASE_EXTRA_ARGUMENT
  log.info("text", n);
#endif
#ifdef DAGSTACK_CASE_EXTRA_ARGUMENT_WITH_ATTRIBUTES
  log.info("text {}", n, text, {{"k", 1}});
#endif
#ifdef DAGSTACK_CASE_NO_CONVERSION
  log.info("x", {{"u", app::NoConversion{1}}});
#endif
#ifdef DAGSTACK_CASE_STEADY_CLOCK
  log.info("x", {{"t", std::chrono::steady_clock::now()}});
#endif
}
