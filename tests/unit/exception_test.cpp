// exception_test.cpp: Logger::exception (contract §8): ERROR/17, demangled exception.type,
// exception.message, a symbolised exception.stacktrace, nested causes, caller attributes win,
// the exception_ptr overload, and throw-site stacks via throw_with_stacktrace; the first
// exception of a process does not wait for the debug info.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>

#include <exception>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "dagstack/logger/configure.h"
#include "dagstack/logger/logger.h"
#include "dagstack/logger/sinks/in_memory_sink.h"
#include "dagstack/logger/stacktrace.h"

namespace exception_test_ns {

struct PaymentError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct EmptyMessage : std::exception {
  const char* what() const noexcept override { return ""; }
};

// Named, non-static functions that the stack traces must show.
__attribute__((noinline)) void log_failure_from_named_function(dagstack::logger::Logger& log) {
  try {
    throw PaymentError("card declined");
  } catch (const std::exception& e) {
    log.exception(e);
  }
}

__attribute__((noinline)) void throw_from_named_function() {
  dagstack::logger::throw_with_stacktrace(PaymentError("thrown with a stack"));
}

__attribute__((noinline)) std::string stack_from_named_function() {
  return dagstack::logger::current_stacktrace();
}

}  // namespace exception_test_ns

namespace dagstack::logger {
namespace {

// A file-local (static) function: only the ELF symbol table / DWARF know its name.
__attribute__((noinline)) static void static_helper_logs(Logger& log) {
  try {
    throw std::logic_error("from a static function");
  } catch (const std::exception& e) {
    log.exception(e);
  }
}

class ExceptionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Logger::exception does not wait for the debug info; these tests check symbolised frames.
    dagstack::logger::prepare_stacktraces(/*wait=*/true);
    Logger::reset();
    sink_ = std::make_shared<InMemorySink>(100);
    ConfigureOptions o;
    o.sinks = SinkList{sink_};
    configure(o);
    log_ = Logger::get("exception.test");
  }
  void TearDown() override { Logger::reset(); }

  OwnedLogRecord only() const {
    const auto records = sink_->records();
    EXPECT_EQ(records.size(), 1u);
    return records.empty() ? OwnedLogRecord{} : records.back();
  }
  static std::string str(const OwnedLogRecord& r, std::string_view key) {
    const Value* v = r.attribute(key);
    return v != nullptr && v->is_string() ? v->as_string() : std::string("<missing>");
  }

  std::shared_ptr<InMemorySink> sink_;
  Logger log_ = Logger::get("exception.test");
};

TEST_F(ExceptionTest, ErrorRecordWithTypeMessageAndBody) {
  log_.exception(std::runtime_error("disk full"));
  const OwnedLogRecord r = only();
  EXPECT_EQ(r.severity_number, 17);
  EXPECT_EQ(r.severity_text(), "ERROR");
  EXPECT_EQ(r.body, Value("disk full"));
  EXPECT_EQ(str(r, "exception.type"), "std::runtime_error");
  EXPECT_EQ(str(r, "exception.message"), "disk full");
  EXPECT_FALSE(str(r, "exception.stacktrace").empty());
}

TEST_F(ExceptionTest, UserTypesAreDemangledFullyQualified) {
  log_.exception(exception_test_ns::PaymentError("declined"));
  EXPECT_EQ(str(only(), "exception.type"), "exception_test_ns::PaymentError");
}

TEST_F(ExceptionTest, StacktraceNamesTheCallingFunctionFirst) {
  exception_test_ns::log_failure_from_named_function(log_);
  const std::string stack = str(only(), "exception.stacktrace");
  // Frame #0 is the function that called exception(); the library's own frames are left out.
  const std::string first_line = stack.substr(0, stack.find('\n'));
  EXPECT_NE(first_line.find("#0 exception_test_ns::log_failure_from_named_function"),
            std::string::npos)
      << stack;
  EXPECT_EQ(stack.find("dagstack::logger::Logger::exception"), std::string::npos) << stack;
  EXPECT_EQ(stack.find("capture_stack"), std::string::npos) << stack;
#ifdef DAGSTACK_TEST_DEBUG_INFO
  // libbacktrace gives file:line from debug info (the library's choice, see src/stacktrace.cpp);
  // a build without debug info (Release) has the names only.
  EXPECT_NE(first_line.find("exception_test.cpp:"), std::string::npos) << stack;
#endif
  // The caller's caller is there too.
  EXPECT_NE(stack.find("StacktraceNamesTheCallingFunctionFirst"), std::string::npos) << stack;
}

TEST_F(ExceptionTest, StacktraceNamesStaticFunctions) {
  static_helper_logs(log_);
  const std::string stack = str(only(), "exception.stacktrace");
  EXPECT_NE(stack.substr(0, stack.find('\n')).find("static_helper_logs"), std::string::npos)
      << stack;
}

TEST_F(ExceptionTest, CallerAttributesWin) {
  log_.exception(std::runtime_error("x"),
                 {{"exception.type", "Custom"}, {"order.id", 42}, {"api_key", "k"}});
  const OwnedLogRecord r = only();
  EXPECT_EQ(str(r, "exception.type"), "Custom");
  EXPECT_EQ(str(r, "exception.message"), "x");
  EXPECT_EQ(*r.attribute("order.id"), Value(42));
  EXPECT_EQ(*r.attribute("api_key"), Value("***"));  // redaction applies as usual
}

TEST_F(ExceptionTest, NestedExceptionsAreUnwrapped) {
  try {
    try {
      try {
        throw std::out_of_range("index 7");
      } catch (...) {
        std::throw_with_nested(std::invalid_argument("bad row"));
      }
    } catch (...) {
      std::throw_with_nested(exception_test_ns::PaymentError("import failed"));
    }
  } catch (const std::exception& e) {
    log_.exception(e);
  }
  const OwnedLogRecord r = only();
  EXPECT_EQ(str(r, "exception.type"),
            "exception_test_ns::PaymentError");  // not std::_Nested_exception<...>
  EXPECT_EQ(str(r, "exception.message"), "import failed");
  EXPECT_EQ(str(r, "dagstack.exception.cause.0.type"), "std::invalid_argument");
  EXPECT_EQ(str(r, "dagstack.exception.cause.0.message"), "bad row");
  EXPECT_EQ(str(r, "dagstack.exception.cause.1.type"), "std::out_of_range");
  EXPECT_EQ(str(r, "dagstack.exception.cause.1.message"), "index 7");
  EXPECT_EQ(r.attribute("dagstack.exception.cause.2.type"), nullptr);
}

TEST_F(ExceptionTest, NestedNonStdCause) {
  try {
    try {
      throw 7;
    } catch (...) {
      std::throw_with_nested(std::runtime_error("outer"));
    }
  } catch (const std::exception& e) {
    log_.exception(e);
  }
  EXPECT_EQ(str(only(), "dagstack.exception.cause.0.type"), "int");
}

TEST_F(ExceptionTest, ExceptionPtrFromCatchAll) {
  try {
    throw std::length_error("too long");
  } catch (...) {
    log_.exception(std::current_exception(), {{"phase", "parse"}});
  }
  const OwnedLogRecord r = only();
  EXPECT_EQ(str(r, "exception.type"), "std::length_error");
  EXPECT_EQ(str(r, "exception.message"), "too long");
  EXPECT_EQ(str(r, "phase"), "parse");
  EXPECT_NE(str(r, "exception.stacktrace").find("ExceptionPtrFromCatchAll"), std::string::npos);
}

TEST_F(ExceptionTest, ExceptionPtrWithNonStdTypes) {
  try {
    throw std::string("plain string");
  } catch (...) {
    log_.exception(std::current_exception());
  }
  try {
    throw "c string";
  } catch (...) {
    log_.exception(std::current_exception());
  }
  try {
    throw 42;
  } catch (...) {
    log_.exception(std::current_exception());
  }
  const auto records = sink_->records();
  ASSERT_EQ(records.size(), 3u);
  EXPECT_NE(str(records[0], "exception.type").find("basic_string<char"), std::string::npos);
  EXPECT_EQ(str(records[0], "exception.message"), "plain string");
  EXPECT_EQ(str(records[1], "exception.type"), "char const*");
  EXPECT_EQ(str(records[1], "exception.message"), "c string");
  EXPECT_EQ(str(records[2], "exception.type"), "int");
  EXPECT_NE(str(records[2], "exception.message").find("not derived from std::exception"),
            std::string::npos);
  for (const auto& r : records) EXPECT_EQ(r.severity_number, kSeverityError);
}

TEST_F(ExceptionTest, NullExceptionPtrIsANoOp) {
  log_.exception(std::exception_ptr());
  EXPECT_EQ(sink_->size(), 0u);
}

TEST_F(ExceptionTest, BelowTheLevelNothingIsCaptured) {
  log_.set_level(kSeverityFatal);
  log_.exception(std::runtime_error("quiet"));
  EXPECT_EQ(sink_->size(), 0u);
}

TEST_F(ExceptionTest, EmptyMessageFallsBackToTheTypeForTheBody) {
  log_.exception(exception_test_ns::EmptyMessage());
  const OwnedLogRecord r = only();
  EXPECT_EQ(r.body, Value("exception_test_ns::EmptyMessage"));
  EXPECT_EQ(str(r, "exception.message"), "");
}

TEST_F(ExceptionTest, ThrowWithStacktraceReportsTheThrowSite) {
  try {
    exception_test_ns::throw_from_named_function();
  } catch (const exception_test_ns::PaymentError& e) {  // still catchable as the thrown type
    log_.exception(e);
  }
  const OwnedLogRecord r = only();
  EXPECT_EQ(str(r, "exception.type"), "exception_test_ns::PaymentError");
  EXPECT_EQ(str(r, "exception.message"), "thrown with a stack");
  const std::string stack = str(r, "exception.stacktrace");
  // The throwing function has returned by the time of logging; only a throw-site capture has it.
  EXPECT_NE(stack.substr(0, stack.find('\n')).find("throw_from_named_function"), std::string::npos)
      << stack;
  EXPECT_EQ(stack.find("throw_with_stacktrace"), std::string::npos) << stack;
}

TEST_F(ExceptionTest, ThrowWithStacktraceThroughExceptionPtr) {
  std::exception_ptr saved;
  try {
    exception_test_ns::throw_from_named_function();
  } catch (...) {
    saved = std::current_exception();
  }
  log_.exception(saved);
  EXPECT_NE(str(only(), "exception.stacktrace").find("throw_from_named_function"),
            std::string::npos);
}

TEST_F(ExceptionTest, CurrentStacktraceStartsAtTheCaller) {
  const std::string stack = exception_test_ns::stack_from_named_function();
  EXPECT_EQ(stack.rfind("#0 exception_test_ns::stack_from_named_function", 0), 0u) << stack;
  EXPECT_EQ(stack.back(), '\n');
}

TEST_F(ExceptionTest, WorksAcrossThreadsConcurrently) {
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([this] {
      for (int i = 0; i < 5; ++i) exception_test_ns::log_failure_from_named_function(log_);
    });
  }
  for (auto& th : threads) th.join();
  const auto records = sink_->records();
  ASSERT_EQ(records.size(), 20u);
  for (const auto& r : records) {
    EXPECT_NE(str(r, "exception.stacktrace").find("log_failure_from_named_function"),
              std::string::npos);
  }
}

// The first exception of a process: Logger::exception does not wait for the debug info to load
// (it would block the caller 0.1-0.4 s); the trace is still there, with dladdr() names. Run in
// a fresh process (this binary again, only this test), as the tests above loaded it already.
TEST(FirstException, InAFreshProcess) {
  if (std::getenv("DAGSTACK_FIRST_EXCEPTION_CHILD") == nullptr) {
    GTEST_SKIP() << "runs only in the process started by FirstException.DoesNotWaitForTheDebugInfo";
  }
  Logger::reset();
  auto sink = std::make_shared<InMemorySink>(10);
  ConfigureOptions o;
  o.sinks = SinkList{sink};
  configure(o);
  const auto start = std::chrono::steady_clock::now();
  Logger::get("first").exception(std::runtime_error("first"));
  const auto took = std::chrono::steady_clock::now() - start;
  const auto records = sink->records();
  ASSERT_EQ(records.size(), 1u);
  const Value* trace = records[0].attribute("exception.stacktrace");
  ASSERT_NE(trace, nullptr);
  EXPECT_FALSE(trace->as_string().empty());
  // Timing is the benchmark's job (FirstException_dagstack); this only catches a blocking wait.
  EXPECT_LT(took, std::chrono::milliseconds(100)) << "the first exception waited for debug info";
}

TEST(FirstException, DoesNotWaitForTheDebugInfo) {
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::setenv("DAGSTACK_FIRST_EXCEPTION_CHILD", "1", 1);
    ::execl("/proc/self/exe", "exception_test", "--gtest_filter=FirstException.InAFreshProcess",
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "the fresh process failed FirstException.InAFreshProcess";
}

}  // namespace
}  // namespace dagstack::logger
