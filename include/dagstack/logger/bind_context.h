// bind_context.h: declares `bind_context`, which wraps a callable so that it runs under the
// Context that was current where it was wrapped (for handing work to another thread).
#pragma once

#include <functional>
#include <type_traits>
#include <utility>

#include "dagstack/logger/context.h"

namespace dagstack::logger {

// Returns a callable that makes `ctx` the current context of whichever thread calls it, runs
// `fn` with the given arguments, and restores that thread's previous context (also when `fn`
// throws). The result is copyable when `fn` is, so it fits std::function, std::thread, thread
// pools and executors. Thread-safe to call from any thread; each call is independent.
template <typename Fn>
auto bind_context(Context ctx, Fn&& fn) {
  return
      [ctx = std::move(ctx), fn = std::forward<Fn>(fn)](auto&&... args) mutable -> decltype(auto) {
        ScopedContext scope(ctx);
        return std::invoke(fn, std::forward<decltype(args)>(args)...);
      };
}

// The same, capturing the calling thread's current context:
// `pool.submit(bind_context([&] { log.info("inside the request's trace"); }));`
template <typename Fn>
auto bind_context(Fn&& fn) {
  return bind_context(Context::current(), std::forward<Fn>(fn));
}

}  // namespace dagstack::logger
