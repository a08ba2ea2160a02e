// file_and_async: JSON-lines to a rotating file behind an AsyncSink, then the file read back.
//
//   ./file_and_async [directory]     (default: a new temporary directory)
#include <dagstack/logger.hpp>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace dl = dagstack::logger;

int main(int argc, char** argv) {
  std::string dir;
  if (argc > 1) {
    dir = argv[1];
  } else {
    char tmpl[] = "/tmp/dagstack_example_XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) return 1;
    dir = tmpl;
  }
  const std::string path = dir + "/app.jsonl";

  // The file sink buffers and rotates at 64 KiB keeping 3 archives; the async wrapper moves the
  // encoding and the write(2) calls to its own thread, and blocks rather than drop when full.
  auto file = dl::make_file_sink({.path = path, .max_bytes = 64 * 1024, .keep = 3});
  auto async = dl::make_async_sink(file, {.queue_capacity = 4096,
                                          .overflow = dl::OverflowPolicy::kBlock});
  dl::ConfigureOptions options;
  options.sinks = dl::SinkList{async};
  options.resource_attributes = dl::Value::Map{{"service.name", "file-example"}};
  dl::configure(options);

  std::vector<std::thread> workers;
  for (int w = 0; w < 4; ++w) {
    workers.emplace_back([w] {
      auto log = dl::Logger::get("worker").child({{"worker.id", w}});
      for (int i = 0; i < 500; ++i) log.info("job done", {{"job.id", i}, {"duration_ms", 3.5}});
    });
  }
  for (auto& t : workers) t.join();

  const dl::FlushResult flushed = dl::Logger::get().flush(std::chrono::seconds(5));
  const dl::AsyncSinkStats stats = async->stats();
  std::printf("flushed: %s, delivered %llu, dropped %llu\n", flushed.success ? "yes" : "no",
              static_cast<unsigned long long>(stats.delivered),
              static_cast<unsigned long long>(stats.dropped_newest + stats.dropped_oldest));

  // Every line of the live file parses back into a record.
  std::ifstream in(path);
  std::string line;
  int lines = 0;
  while (std::getline(in, line)) {
    (void)dl::parse_jsonl_record(line);
    ++lines;
  }
  std::printf("%s holds %d records (older ones are in %s.1 .. %s.3)\n", path.c_str(), lines,
              path.c_str(), path.c_str());
  dl::shutdown();
  return flushed.success ? 0 : 1;
}
