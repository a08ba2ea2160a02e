// logger.hpp: the umbrella header of dagstack-logger-cpp; includes the whole core API.
#pragma once

#include "dagstack/logger/attribute.h"
#include "dagstack/logger/canonical_json.h"
#include "dagstack/logger/clock.h"
#include "dagstack/logger/config_error.h"
#include "dagstack/logger/configure.h"
#include "dagstack/logger/context.h"
#include "dagstack/logger/jsonl_reader.h"
#include "dagstack/logger/log_record.h"
#include "dagstack/logger/logger.h"
#include "dagstack/logger/redaction_config.h"
#include "dagstack/logger/severity.h"
#include "dagstack/logger/sink.h"
#include "dagstack/logger/sinks/console_sink.h"
#include "dagstack/logger/sinks/in_memory_sink.h"
#include "dagstack/logger/trace_ids.h"
#include "dagstack/logger/value.h"
