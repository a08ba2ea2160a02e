// log_metric_bool.cpp: must NOT compile: NorthStar metrics reject bool (SDK: TypeError "metric
// value must be numeric"). Built with -fsyntax-only by CTest; with DAGSTACK_METRIC_CONTROL defined
// it must compile (the control proves the failure comes from the bool overload alone).
#include "dagstack/logger/northstar/log_helpers.h"
#include "dagstack/logger/northstar/trace.h"

void use(dagstack::logger::northstar::Trace& run) {
  dagstack::logger::northstar::log_metric("count", 5);
  dagstack::logger::northstar::log_metric("score", 0.86);
  run.log_metric("latency", 12.5f);
#ifndef DAGSTACK_METRIC_CONTROL
#ifdef DAGSTACK_METRIC_ON_HANDLE
  run.log_metric("ready", true);
#else
  dagstack::logger::northstar::log_metric("ready", true);
#endif
#endif
}
