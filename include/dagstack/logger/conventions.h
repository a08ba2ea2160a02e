// conventions.h: declares the semantic-convention attribute names (operation.*, progress.*,
// event.*, and the AI-agent pack: gen_ai.*, mcp.*, rag.*, agent.*, prompt.*), the `truncate`
// helpers for large bodies, and `Progress`, a rate-limited progress reporter.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "dagstack/logger/attribute.h"
#include "dagstack/logger/logger.h"
#include "dagstack/logger/value.h"

namespace dagstack::logger::conventions {

// ---- operations (contract §9.1) -------------------------------------------------------------
inline constexpr std::string_view kOperationName = "operation.name";
inline constexpr std::string_view kOperationId = "operation.id";
inline constexpr std::string_view kOperationKind = "operation.kind";
inline constexpr std::string_view kOperationParentId = "operation.parent.id";
inline constexpr std::string_view kOperationStatus = "operation.status";
inline constexpr std::string_view kOperationStatusMessage = "operation.status.message";
inline constexpr std::string_view kOperationDurationMs = "operation.duration_ms";
// operation.kind values.
inline constexpr std::string_view kKindIndexing = "indexing";
inline constexpr std::string_view kKindQuery = "query";
inline constexpr std::string_view kKindLifecycle = "lifecycle";
inline constexpr std::string_view kKindHook = "hook";
inline constexpr std::string_view kKindMaintenance = "maintenance";
inline constexpr std::string_view kKindAdmin = "admin";
// operation.status values.
inline constexpr std::string_view kStatusOk = "ok";
inline constexpr std::string_view kStatusError = "error";
inline constexpr std::string_view kStatusCancelled = "cancelled";
inline constexpr std::string_view kStatusTimeout = "timeout";

// ---- typed events (§9.2) ---------------------------------------------------------------------
inline constexpr std::string_view kEventDomain = "event.domain";
inline constexpr std::string_view kEventName = "event.name";
inline constexpr std::string_view kEventSchemaVersion = "event.schema_version";

// ---- progress (§9.2) -------------------------------------------------------------------------
inline constexpr std::string_view kProgressDomain = "progress";  // the event.domain value
inline constexpr std::string_view kProgressTick = "tick";        // event.name values
inline constexpr std::string_view kProgressStarted = "started";
inline constexpr std::string_view kProgressCompleted = "completed";
inline constexpr std::string_view kProgressFailed = "failed";
inline constexpr std::string_view kProgressCurrent = "progress.current";
inline constexpr std::string_view kProgressTotal = "progress.total";
inline constexpr std::string_view kProgressUnit = "progress.unit";
inline constexpr std::string_view kProgressPhase = "progress.phase";
inline constexpr std::string_view kProgressRate = "progress.rate";
inline constexpr std::string_view kProgressEtaMs = "progress.eta_ms";
// progress.unit values.
inline constexpr std::string_view kUnitFiles = "files";
inline constexpr std::string_view kUnitChunks = "chunks";
inline constexpr std::string_view kUnitTokens = "tokens";
inline constexpr std::string_view kUnitBytes = "bytes";
inline constexpr std::string_view kUnitItems = "items";

// ---- AI-agent pack: OpenTelemetry GenAI (§9.4) ------------------------------------------------
inline constexpr std::string_view kGenAiSystem = "gen_ai.system";
inline constexpr std::string_view kGenAiOperationName = "gen_ai.operation.name";
inline constexpr std::string_view kGenAiRequestModel = "gen_ai.request.model";
inline constexpr std::string_view kGenAiResponseModel = "gen_ai.response.model";
inline constexpr std::string_view kGenAiRequestTemperature = "gen_ai.request.temperature";
inline constexpr std::string_view kGenAiRequestTopP = "gen_ai.request.top_p";
inline constexpr std::string_view kGenAiRequestMaxTokens = "gen_ai.request.max_tokens";
inline constexpr std::string_view kGenAiRequestFrequencyPenalty =
    "gen_ai.request.frequency_penalty";
inline constexpr std::string_view kGenAiRequestPresencePenalty = "gen_ai.request.presence_penalty";
inline constexpr std::string_view kGenAiUsageInputTokens = "gen_ai.usage.input_tokens";
inline constexpr std::string_view kGenAiUsageOutputTokens = "gen_ai.usage.output_tokens";
inline constexpr std::string_view kGenAiUsageCacheReadInputTokens =
    "gen_ai.usage.cache.read_input_tokens";
inline constexpr std::string_view kGenAiResponseFinishReasons = "gen_ai.response.finish_reasons";
inline constexpr std::string_view kGenAiResponseId = "gen_ai.response.id";
inline constexpr std::string_view kGenAiToolName = "gen_ai.tool.name";
inline constexpr std::string_view kGenAiToolCallId = "gen_ai.tool.call.id";
// gen_ai.prompt.<N>.role / gen_ai.prompt.<N>.content.
std::string gen_ai_prompt_role(std::size_t index);
std::string gen_ai_prompt_content(std::size_t index);

// ---- AI-agent pack: MCP
// --------------------------------------------------------------------------
inline constexpr std::string_view kMcpServerName = "mcp.server.name";
inline constexpr std::string_view kMcpServerVersion = "mcp.server.version";
inline constexpr std::string_view kMcpMethodName = "mcp.method.name";
inline constexpr std::string_view kMcpRequestId = "mcp.request.id";
inline constexpr std::string_view kMcpToolName = "mcp.tool.name";
inline constexpr std::string_view kMcpResponseIsError = "mcp.response.is_error";
inline constexpr std::string_view kMcpTransport = "mcp.transport";

// ---- AI-agent pack: RAG ----------------------------------------------------------------------
inline constexpr std::string_view kRagQueryOriginal = "rag.query.original";
inline constexpr std::string_view kRagQueryRewritten = "rag.query.rewritten";
inline constexpr std::string_view kRagRetrievalTopK = "rag.retrieval.top_k";
inline constexpr std::string_view kRagRetrievalMinScore = "rag.retrieval.min_score";
inline constexpr std::string_view kRagRetrievalResultsCount = "rag.retrieval.results_count";
inline constexpr std::string_view kRagRetrievalCollections = "rag.retrieval.collections";
inline constexpr std::string_view kRagChunkId = "rag.chunk.id";
inline constexpr std::string_view kRagChunkScore = "rag.chunk.score";
inline constexpr std::string_view kRagChunkRepo = "rag.chunk.repo";
inline constexpr std::string_view kRagChunkPath = "rag.chunk.path";
inline constexpr std::string_view kRagChunkLineRange = "rag.chunk.line_range";
inline constexpr std::string_view kRagRerankerModel = "rag.reranker.model";
inline constexpr std::string_view kRagRerankerTopNBeforeRerank = "rag.reranker.top_n_before_rerank";

// ---- AI-agent pack: agent --------------------------------------------------------------------
inline constexpr std::string_view kAgentPipeline = "agent.pipeline";
inline constexpr std::string_view kAgentRole = "agent.role";
inline constexpr std::string_view kAgentIteration = "agent.iteration";
inline constexpr std::string_view kAgentIterationMax = "agent.iteration.max";
inline constexpr std::string_view kAgentDecision = "agent.decision";
inline constexpr std::string_view kAgentDecisionRationale = "agent.decision.rationale";

// ---- AI-agent pack: prompt -------------------------------------------------------------------
inline constexpr std::string_view kPromptTemplateId = "prompt.template.id";
inline constexpr std::string_view kPromptTemplateVersion = "prompt.template.version";
inline constexpr std::string_view kPromptSectionSystemTokens = "prompt.section.system.tokens";
inline constexpr std::string_view kPromptSectionUserTokens = "prompt.section.user.tokens";
inline constexpr std::string_view kPromptSectionHistoryTokens = "prompt.section.history.tokens";
inline constexpr std::string_view kPromptSectionToolsTokens = "prompt.section.tools.tokens";
inline constexpr std::string_view kPromptTotalTokens = "prompt.total_tokens";
inline constexpr std::string_view kPromptTokenBudget = "prompt.token_budget";
inline constexpr std::string_view kPromptTruncated = "prompt.truncated";
inline constexpr std::string_view kPromptContentMarkdown = "prompt.content.markdown";

// ---- AI-agent events and correlation --------------------------------------------------------
inline constexpr std::string_view kAiAgentDomain = "ai_agent";  // the event.domain value
inline constexpr std::string_view kSessionId = "session.id";
inline constexpr std::string_view kConversationId = "conversation.id";
inline constexpr std::string_view kAgentRunId = "agent.run.id";

// ---- truncation of large bodies (§9.4) -----------------------------------------------------
inline constexpr std::size_t kDefaultMaxBodyBytes = 4096;
inline constexpr std::string_view kTruncatedSuffix = "_truncated";
inline constexpr std::string_view kOriginalBytesSuffix = "_original_bytes";

// The result of cutting a string to a byte budget.
struct Truncated {
  std::string value;               // at most max_bytes bytes, cut on a UTF-8 character boundary
  bool truncated = false;          // true when something was cut off
  std::size_t original_bytes = 0;  // the input's size in bytes
};

// Cuts `value` to at most `max_bytes` bytes without splitting a UTF-8 sequence (a character
// that does not fit is dropped whole). Thread-safe (pure).
Truncated truncate(std::string_view value, std::size_t max_bytes);

// Stores `value` under `key` in `attrs`, cut to `max_bytes`; when it was cut, also stores
// `<key>_truncated` = true and `<key>_original_bytes` = the original size. Returns whether it
// was cut. Thread-compatible (mutates `attrs`).
bool put_truncated(Value::Map& attrs, std::string_view key, std::string_view value,
                   std::size_t max_bytes = kDefaultMaxBodyBytes);

// True for keys whose values are bodies subject to truncation: names ending in ".content",
// ".markdown", ".code", ".table_json" or ".html" (or equal to those names without the dot).
bool is_body_key(std::string_view key) noexcept;

// Applies put_truncated to every string value under a body key of `attrs` (top level only).
// Returns how many values were cut.
std::size_t truncate_bodies(Value::Map& attrs, std::size_t max_bytes = kDefaultMaxBodyBytes);

// ---- progress (§9.2) -------------------------------------------------------------------------

// ProgressOptions: how a Progress reporter behaves.
struct ProgressOptions {
  std::string unit = std::string(kUnitItems);   // progress.unit
  std::optional<std::int64_t> total;            // progress.total; unknown by default
  std::string phase;                            // progress.phase; "" = omitted
  std::string operation_id;                     // operation.id; "" = the current span's id, if any
  std::chrono::milliseconds min_interval{500};  // ticks closer together than this are dropped
  // The time source for the interval and the rate (tests inject one); default steady_clock.
  std::function<std::chrono::steady_clock::time_point()> now;
};

// Progress
//
// Reports the progress of one operation as `event.domain = "progress"` records through a
// logger: started (INFO), tick (DEBUG), completed (INFO) and failed (ERROR), with
// progress.current, progress.total, progress.unit, progress.phase, progress.rate (units per
// second since started, or since the first report), progress.eta_ms (when the total is known)
// and operation.id. Ticks that come sooner than min_interval after the last emitted tick are
// dropped; started, completed and failed are never dropped. Thread-safe: workers may report
// from several threads.
class Progress {
 public:
  Progress(Logger logger, ProgressOptions options = {});

  // Emits "started" (INFO) with current = 0.
  void started(AttributeSpan attrs = {});
  // A tick (DEBUG) at `current`, unless the previous emitted tick is less than min_interval
  // ago. Returns whether it was emitted. A non-empty `unit` or a `total` replaces the
  // configured one from now on.
  bool progress(std::int64_t current, std::optional<std::int64_t> total = std::nullopt,
                std::string_view unit = {});
  // Emits "completed" (INFO); `current` defaults to the last reported value (or the total).
  void completed(std::optional<std::int64_t> current = std::nullopt, AttributeSpan attrs = {});
  // Emits "failed" (ERROR) with `reason` as operation.status.message.
  void failed(std::string_view reason, AttributeSpan attrs = {});

  // Counters, for tests and dashboards.
  std::size_t emitted_ticks() const;
  std::size_t dropped_ticks() const;

 private:
  using Clock = std::chrono::steady_clock;
  void emit_locked(int severity, std::string_view event, std::int64_t current, AttributeSpan extra);

  Logger logger_;
  ProgressOptions options_;
  mutable std::mutex mutex_;
  std::optional<Clock::time_point> first_;      // started() or the first report
  std::optional<Clock::time_point> last_tick_;  // the last emitted tick
  std::int64_t last_current_ = 0;
  std::size_t emitted_ticks_ = 0;
  std::size_t dropped_ticks_ = 0;
};

}  // namespace dagstack::logger::conventions
