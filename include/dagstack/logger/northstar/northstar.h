// northstar.h: includes the whole NorthStar API (sink, options, transport, tracing helpers).
#pragma once

#include "dagstack/logger/northstar/http_transport.h"
#include "dagstack/logger/northstar/log_helpers.h"
#include "dagstack/logger/northstar/model_call.h"
#include "dagstack/logger/northstar/northstar_options.h"
#include "dagstack/logger/northstar/northstar_sink.h"
#include "dagstack/logger/northstar/observe.h"
#include "dagstack/logger/northstar/pricing.h"
#include "dagstack/logger/northstar/record_convention.h"
#include "dagstack/logger/northstar/score.h"
#include "dagstack/logger/northstar/span_handle.h"
#include "dagstack/logger/northstar/span_kind.h"
#include "dagstack/logger/northstar/span_scope.h"
#include "dagstack/logger/northstar/trace.h"
#include "dagstack/logger/northstar/uuid.h"
