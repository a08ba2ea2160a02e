// agent_demo: a small, deterministic AI agent (a scripted fake model and fake tools, no network
// except the NorthStar ingest endpoint) traced with the NorthStar API. Every record goes to
//   - the console (pretty lines on stdout),
//   - a dagstack JSON-lines file (argv[1], default agent_demo.jsonl),
//   - a NorthStar sink configured from NORTHSTAR_* (NORTHSTAR_ENDPOINT or NORTHSTAR_PROJECT_ID,
//     NORTHSTAR_API_KEY, NORTHSTAR_PROJECT, NORTHSTAR_ENVIRONMENT, NORTHSTAR_DEBUG).
//   - when OTEL_EXPORTER_OTLP_ENDPOINT is set (and the OTLP component is built), an OTLP sink
//     configured from OTEL_EXPORTER_OTLP_*: logs and spans to an OpenTelemetry Collector.
// One run, two iterations of agent -> model -> tools, user input, messages, tool calls, a metric,
// a caught tool error and a final response. Exits 0 only when flush() confirms that every batch
// was accepted (or when NorthStar is disabled, which it says).
//
//   export NORTHSTAR_ENDPOINT=http://127.0.0.1:8787/functions/v1/ingest-traces NORTHSTAR_API_KEY=ns_...
//   ./agent_demo /tmp/agent_demo.jsonl
#include <dagstack/logger/configure.h>
#include <dagstack/logger/logger.h>
#include <dagstack/logger/northstar/northstar.h>
#include <dagstack/logger/sinks/console_sink.h>
#include <dagstack/logger/sinks/file_sink.h>
#ifdef DAGSTACK_AGENT_DEMO_WITH_OTLP
#include <dagstack/logger/otlp/otlp_sink.h>
#endif

#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

namespace dl = dagstack::logger;
namespace ns = dagstack::logger::northstar;

namespace {

// ---- fake tools -------------------------------------------------------------------------------

struct ToolError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

dl::Value get_weather(const std::string& city) {
  if (city == "Paris") return dl::Value::map({{"city", "Paris"}, {"temp_c", 21}, {"sky", "clear"}});
  throw ToolError("unknown city: " + city);
}

double convert_c_to_f(double celsius) { return celsius * 9.0 / 5.0 + 32.0; }

// The booking tool rejects the first attempt (a caught error the agent recovers from).
dl::Value book_table(const std::string& restaurant, int party, int attempt) {
  if (attempt == 1) throw ToolError("booking service busy, retry later");
  return dl::Value::map({{"restaurant", restaurant}, {"party", party}, {"confirmation", "BK-2041"}});
}

// ---- fake model: a script, one answer per iteration --------------------------------------------

struct ModelTurn {
  dl::Value message;     // the assistant message (OpenAI shape)
  std::int64_t input_tokens;
  std::int64_t output_tokens;
};

ModelTurn fake_model(int iteration) {
  if (iteration == 1) {
    return {ns::assistant_message(dl::Value("Let me check the weather and book a table."),
                                  {ns::tool_call("call-1", "get_weather", R"({"city":"Paris"})"),
                                   ns::tool_call("call-2", "book_table", R"({"restaurant":"Chez Nous","party":2})")}),
            412, 58};
  }
  return {ns::assistant_message(dl::Value("It is 21°C (69.8°F) and clear in Paris. Your table for 2 at Chez Nous "
                                          "is booked (BK-2041)."),
                                {}),
          655, 41};
}

std::string run_agent(const std::string& question) {
  dl::Logger log = dl::Logger::get("agent_demo");
  auto run = ns::trace("travel-agent", {.input = dl::Value::map({{"question", question}, {"api_key", "sk-demo-1"}}),
                                        .metadata = {{"user_id", "u-42"}, {"channel", "cli"}},
                                        .tags = {"demo", "cpp"}});
  log.info("agent started", {{"question.length", static_cast<std::int64_t>(question.size())}});
  ns::log_metadata("plan", "pro");

  dl::Value::Array messages = {ns::system_message("You are a concise travel assistant."),
                               ns::user_message(question)};
  auto weather_tool = ns::observe("get_weather", [](const std::string& city) { return get_weather(city); });
  std::string answer;
  for (int iteration = 1; iteration <= 2; ++iteration) {
    auto agent = ns::span("plan", ns::SpanKind::kAgent, {.iteration = iteration});
    ModelTurn turn = [&] {
      auto llm = ns::model_call("llm.chat", "gpt-4o-mini");
      llm.record_input_messages(messages);
      ModelTurn t = fake_model(iteration);
      llm.record_output_message(t.message);
      llm.record_usage(t.input_tokens, t.output_tokens);
      return t;
    }();
    messages.push_back(turn.message);
    const dl::Value* calls = turn.message.find("tool_calls");
    if (calls == nullptr) {
      answer = turn.message.find("content")->as_string();
      break;
    }
    // Tool calls of this turn.
    const dl::Value weather = weather_tool(std::string("Paris"));
    const double fahrenheit = convert_c_to_f(static_cast<double>(weather.find("temp_c")->as_int()));
    log.info("weather fetched", {{"city", "Paris"}, {"temp_f", fahrenheit}});
    messages.push_back(ns::tool_message("call-1", "get_weather", weather));
    for (int attempt = 1; attempt <= 2; ++attempt) {
      auto tool = ns::span("book_table", ns::SpanKind::kTool, {.iteration = attempt});
      tool.record_arguments(dl::Value::map({{"restaurant", "Chez Nous"}, {"party", 2}}));
      try {
        dl::Value booking = book_table("Chez Nous", 2, attempt);
        tool.record_result(booking);
        messages.push_back(ns::tool_message("call-2", "book_table", booking));
        break;
      } catch (const ToolError& e) {
        tool.record_error(e);  // the span fails, the run goes on
        log.warn("tool failed, retrying", {{"tool", "book_table"}, {"attempt", attempt}, {"error", e.what()}});
        ns::log_event("tool_retry", dl::Value::map({{"tool", "book_table"}, {"attempt", attempt}}));
      }
    }
  }
  ns::log_metric("confidence", 0.92);
  run.set_output(answer);
  log.info("agent finished", {{"run.id", run.id()}});
  return run.id();
}

}  // namespace

int main(int argc, char** argv) {
  const std::string jsonl_path = argc > 1 ? argv[1] : "agent_demo.jsonl";
  std::shared_ptr<ns::NorthStarSink> northstar;
#ifdef DAGSTACK_AGENT_DEMO_WITH_OTLP
  std::shared_ptr<dl::otlp::OtlpSink> otlp;
#endif
  try {
    northstar = ns::make_northstar_sink(ns::NorthStarOptions::from_env());
    dl::FileSinkOptions file;
    file.path = jsonl_path;
    dl::ConfigureOptions options;
    options.sinks = dl::SinkList{dl::make_console_sink({.mode = dl::ConsoleMode::kPretty, .stream = stdout}),
                                 dl::make_file_sink(file), northstar};
#ifdef DAGSTACK_AGENT_DEMO_WITH_OTLP
    const char* otlp_endpoint = std::getenv("OTEL_EXPORTER_OTLP_ENDPOINT");
    if (otlp_endpoint != nullptr && *otlp_endpoint != '\0') {
      otlp = dl::otlp::make_otlp_sink(dl::otlp::OtlpOptions::from_env());
      options.sinks->push_back(otlp);
    }
#endif
    options.resource_attributes = dl::Value::Map{{"service.name", "agent-demo"}};
    dl::configure(options);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "agent_demo: configuration failed: %s\n", e.what());
    return 2;
  }

  const std::string run_id = run_agent("What's the weather in Paris, and can you book a table for two?");

  const dl::FlushResult result = northstar->flush(std::chrono::seconds(15));
#ifdef DAGSTACK_AGENT_DEMO_WITH_OTLP
  bool otlp_ok = true;
  if (otlp) {
    const dl::FlushResult otlp_result = otlp->flush(std::chrono::seconds(15));
    otlp_ok = otlp_result.success;
    if (!otlp_ok) std::fprintf(stderr, "agent_demo: OTLP export incomplete: %s\n", otlp_result.failed_sinks[0].error.c_str());
  }
#endif
  (void)dl::shutdown(std::chrono::seconds(10));  // ends the NorthStar session, closes the file
  const ns::NorthStarStats stats = northstar->stats();
  const bool delivered = result.success && stats.batches_rejected == 0 && stats.records_dropped == 0 &&
                         stats.entities_lost_at_close == 0;

  std::printf("\nrun %s; JSON-lines in %s\n", run_id.c_str(), jsonl_path.c_str());
#ifdef DAGSTACK_AGENT_DEMO_WITH_OTLP
  if (otlp) {
    const dl::otlp::OtlpStats os = otlp->stats();
    std::printf("OTLP: %llu log records and %llu spans delivered\n",
                static_cast<unsigned long long>(os.logs.delivered),
                static_cast<unsigned long long>(os.spans.delivered));
    if (!otlp_ok) return 1;
  }
#endif
  if (!northstar->enabled()) {
    std::printf("NorthStar disabled: set NORTHSTAR_ENDPOINT (or NORTHSTAR_PROJECT_ID) and NORTHSTAR_API_KEY\n");
    return 0;
  }
  std::printf("NorthStar %s: %llu batches accepted, %llu rejected, %llu records dropped\n",
              northstar->endpoint().c_str(), static_cast<unsigned long long>(stats.batches_delivered),
              static_cast<unsigned long long>(stats.batches_rejected),
              static_cast<unsigned long long>(stats.records_dropped));
  if (!delivered) {
    std::fprintf(stderr, "agent_demo: NorthStar delivery incomplete: %s\n",
                 result.failed_sinks.empty() ? "records lost or rejected at close" : result.failed_sinks[0].error.c_str());
    return 1;
  }
  return 0;
}
