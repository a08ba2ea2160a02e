// file_sink.h: declares `FileSinkOptions`, `FileSink` and `make_file_sink()`, the buffered
// JSON-lines file sink with size rotation.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "dagstack/logger/severity.h"
#include "dagstack/logger/sink.h"

namespace dagstack::logger {

struct FileSinkOptions {
  std::string path;             // required; relative paths are made absolute at construction
  std::uint64_t max_bytes = 0;  // default 0: no rotation; else rotate before a line would pass it
  int keep = 0;                 // default 0: rotation truncates; N > 0 keeps path.1 .. path.N
  int min_severity = kSeverityTrace;     // default 1: everything the logger lets through
  std::size_t buffer_bytes = 64 * 1024;  // default 64 KiB; 0 writes every record at once
  int flush_severity = kSeverityError;   // default 17: records at or above it are written at once
  std::chrono::milliseconds flush_interval{
      1000};           // default 1 s: max age of a buffered record; 0 = no timer
  bool fsync = false;  // default false: true also fsyncs on every flush (not on buffer-full writes)
};

// Counters kept by a FileSink (all monotonic since construction).
struct FileSinkStats {
  std::uint64_t records_written = 0;  // records whose bytes the kernel accepted
  std::uint64_t bytes_written = 0;    // bytes the kernel accepted
  std::uint64_t write_errors = 0;     // failed write(2)/fsync(2)/open(2) attempts
  std::uint64_t records_dropped = 0;  // records discarded after a write failure left no buffer room
  std::uint64_t rotations = 0;        // completed size rotations
  std::uint64_t reopens = 0;  // reopens after the file was removed or the descriptor was lost
};

// FileSink
//
// Writes each record as one dagstack JSON line (contract §4.4) to a file opened with
// O_APPEND|O_CREAT|O_CLOEXEC, mode 0644. Records are encoded outside the lock and collected in a
// buffer of `buffer_bytes`; the buffer goes to the kernel in one write(2) when it is full, on
// flush()/close(), for a record at or above `flush_severity`, and from a small timer thread so
// that no record stays buffered longer than `flush_interval`.
//
// Rotation follows the Go binding: before a line of L bytes, rotate when
// `size > 0 && size + L > max_bytes` (size counts the buffered bytes too). With keep > 0:
// delete path.keep, rename path.i -> path.i+1 (i = keep-1 .. 1), path -> path.1; with keep == 0
// the live file is deleted. Then path is reopened.
//
// A failed write (disk full, descriptor lost, ...) never throws or blocks the caller: it is
// counted in stats().write_errors, reported on `dagstack.logger.internal`, and the buffered bytes
// are kept and retried on the next write; when a new record no longer fits next to them, they
// are dropped (stats().records_dropped) so memory stays bounded. A file that was unlinked
// (st_nlink == 0) or whose descriptor went bad is reopened before the next write. flush()
// reports a failed write in its FlushResult.
//
// In steady state emit() does no heap allocation (a per-thread encode buffer and the sink buffer
// are reused). id "file:<absolute path>". Thread-safe (one mutex around the buffer and the file).
//
// fork(): in the child, every inherited FileSink starts with an empty buffer (what was buffered
// is the parent's to write) and a fresh lock, and appends to the same open file. The child has no
// timer thread: its buffered records are written when the buffer fills, at flush_severity, on
// flush() or on close().
class FileSink final : public Sink {
 public:
  // Opens (creating if needed) the file. Throws ConfigError naming the path and the system error
  // when the path is empty or the file cannot be opened.
  explicit FileSink(const FileSinkOptions& options);
  // Closes the sink (see close()).
  ~FileSink() override;

  std::string_view id() const noexcept override { return id_; }
  void emit(const LogRecord& record) override;
  // Writes the buffer (and fsyncs when configured). Fails when the write fails; the timeout is
  // not needed (a write to a local file is not waited on).
  FlushResult flush(std::chrono::milliseconds timeout) override;
  // Writes the buffer, stops the timer thread and closes the file. Idempotent; later emits are
  // silently ignored.
  void close() override;
  bool supports_severity(int severity_number) const noexcept override {
    return severity_number >= min_severity_;
  }

  // The absolute path written to.
  const std::string& path() const noexcept { return path_; }
  // A snapshot of the counters.
  FileSinkStats stats() const;

 private:
  struct Failure;  // an error collected under the lock, reported after it is released

  bool open_locked(Failure& failure);
  bool write_buffer_locked(Failure& failure);
  void sync_locked(Failure& failure);
  void rotate_locked(Failure& failure);
  void reopen_if_gone_locked(Failure& failure);
  void report(const Failure& failure) const noexcept;
  void timer_loop();
  static void after_fork_child() noexcept;

  const std::string path_;
  const std::string id_;
  const std::uint64_t max_bytes_;
  const int keep_;
  const int min_severity_;
  const std::size_t buffer_bytes_;
  const int flush_severity_;
  const std::chrono::milliseconds flush_interval_;
  const bool fsync_;
  const bool timer_enabled_;  // buffer_bytes > 0 and flush_interval > 0

  mutable std::mutex mutex_;
  std::condition_variable timer_cv_;
  int fd_ = -1;
  bool closed_ = false;
  std::uint64_t file_size_ = 0;  // bytes in the live file (as far as this sink knows)
  int highest_archive_ = -1;     // highest path.N that may exist; -1 = not probed yet
  std::string buffer_;           // pending bytes, reserved once
  std::uint64_t pending_records_ = 0;
  std::chrono::steady_clock::time_point first_pending_{};
  FileSinkStats stats_;
  std::string rotate_from_, rotate_to_;  // reserved scratch for the numbered archive names
  std::thread timer_;
};

// A FileSink behind the Sink interface (std::dynamic_pointer_cast<FileSink> reaches stats()).
// Throws ConfigError like the constructor.
std::shared_ptr<Sink> make_file_sink(const FileSinkOptions& options);

}  // namespace dagstack::logger
