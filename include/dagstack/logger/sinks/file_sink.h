// file_sink.h: declares `FileSink`, the JSON-lines file sink with size rotation, its options
// (`FileSinkOptions`, `FileDurability`), `FileSinkStats` and `make_file_sink()`.
#pragma once

#include <atomic>
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

// When a FileSink hands records to the kernel.
enum class FileDurability {
  // Every record reaches the kernel (one write(2)) before emit() returns, so a crash, abort(),
  // _Exit or SIGKILL of the process loses nothing emit() returned (a power loss can: add fsync).
  // Behind an AsyncSink or the deferred path the writer's batch goes to the kernel in chunks of
  // buffer_bytes, by the writer's thread or the sink's own (FileSinkOptions::write_behind).
  kWriteThrough,
  // Throughput opt-out: records collect in `buffer_bytes` and are written when it is full, for a
  // record at or above `flush_severity`, every `flush_interval`, on flush() and close(). The crash
  // handler writes the buffer on a fatal signal or std::terminate; _Exit and SIGKILL lose it.
  kBuffered,
};

struct FileSinkOptions {
  std::string path;             // required; relative paths are made absolute at construction
  std::uint64_t max_bytes = 0;  // default 0: no rotation; else rotate before a line would pass it
  int keep = 0;                 // default 0: rotation truncates; N > 0 keeps path.1 .. path.N
  int min_severity = kSeverityTrace;  // default 1: everything the logger lets through
  FileDurability durability = FileDurability::kWriteThrough;  // default: nothing lost on a crash
  // default 64 KiB. kBuffered: the buffer (0 writes every record at once). kWriteThrough: the
  // most bytes kept for a retry after a failed write (older whole records are dropped, counted)
  std::size_t buffer_bytes = 64 * 1024;
  int flush_severity = kSeverityError;  // kBuffered, default 17: written at once at or above it
  std::chrono::milliseconds flush_interval{
      1000};           // kBuffered, default 1 s: max age of a buffered record; 0 = no timer
  bool fsync = false;  // default false: true also fsyncs on every flush (not on buffer-full writes)
  // default 1 s: how often the path is checked (one stat(2)) for a rename or removal by another
  // program (logrotate without copytruncate); a changed path is reopened. 0 = before every write
  std::chrono::milliseconds reopen_check_interval{1000};
  // default false: the writer's thread writes a batch's chunks of buffer_bytes as they fill and
  // at end_batch(). true (kWriteThrough without rotation, inside a writer's batch: AsyncSink, the
  // deferred path): a thread of the sink's own (started at the first batch) writes them while
  // the writer encodes the next records. At most two chunks wait besides the one being written;
  // flush(), settle_batches() and the crash handler write them. It pays where the writer's and
  // that thread's cores share a cache, and costs where they do not (bench/README.md).
  bool write_behind = false;
};

// Counters kept by a FileSink (all monotonic since construction). Records are counted whole:
// records_written is the number of complete lines this sink put in its files, and once the sink
// is closed records_written + records_dropped is every record it accepted.
struct FileSinkStats {
  std::uint64_t records_written = 0;  // records whose whole line the kernel accepted
  std::uint64_t bytes_written = 0;    // bytes the kernel accepted
  std::uint64_t write_errors = 0;     // failed write(2)/fsync(2)/open(2) attempts
  std::uint64_t records_dropped = 0;  // records given up after write failures (none half-written)
  std::uint64_t rotations = 0;        // completed size rotations (by this process)
  std::uint64_t reopens = 0;  // reopens: file removed/renamed, descriptor lost, reopen(), rotation
                              // by another process
  std::uint64_t torn_tails = 0;  // files found ending in a partial line (a writer died mid-line)
};

// FileSink
//
// Writes each record as one dagstack JSON line (contract §4.4) to a file opened with
// O_APPEND|O_CREAT|O_CLOEXEC, mode 0644. Records are encoded outside the lock. By default
// (FileDurability::kWriteThrough) each line goes to the kernel before emit() returns; with
// kBuffered lines collect in a buffer (see FileDurability).
//
// Torn tails: a file that ends in a partial line when the sink opens it (at construction and on
// reopen(); a writer was killed mid-line) has that line cut off (ftruncate), so the file holds
// whole records only; one that cannot be cut (over 1 MiB, unreadable) is ended with a newline.
// Counted in stats().torn_tails and reported on `dagstack.logger.internal`.
//
// Partial and failed writes never tear a line: a short write or EINTR continues where it
// stopped; after a failure (disk full, EIO, ...) the unwritten bytes are kept (up to
// buffer_bytes) and written first next time, so a half-written line is completed before anything
// else. When no room is left, whole records that have not been started are dropped and counted.
// Failures never throw or block the caller; they are counted in stats().write_errors, reported
// on the internal channel, and flush() reports them in its FlushResult.
//
// Rotation follows the Go binding: before a line of L bytes, rotate when
// `size > 0 && size + L > max_bytes`. With keep > 0: delete path.keep, rename path.i -> path.i+1
// (i = keep-1 .. 1), path -> path.1; with keep == 0 the live file is deleted. Then path is
// reopened. Several processes may write one rotating path (a pre-fork server, or independent
// processes): rotation is coordinated through an flock(2) on a hidden lock file next to it
// (`.<name>.lock`), `size` is the file's real size (fstat after each write), and a process whose
// file was rotated by another one reopens the new live file instead of rotating again; every record
// lands in exactly one file.
//
// Renamed or removed files (logrotate without copytruncate, rm): a removed file is noticed before
// the next write, a renamed one within reopen_check_interval, and the path is reopened (created
// again); reopen() does it at once (call it from a SIGHUP handler's thread, e.g. after
// logrotate's postrotate). While the path cannot be opened (directory removed), records wait in
// the retry buffer and every write tries again.
//
// Write-behind (FileSinkOptions::write_behind): inside a writer's batch the records are encoded
// into a chunk without the lock, and each full chunk (and the last one at end_batch()) is handed
// to the sink's write-behind thread, which writes it without the lock while the writer goes on.
// One thread at a time writes behind; another thread's batch is written by that thread. Every
// other use of the file (emit outside a batch, flush, rotation, reopen, close) first waits for
// the chunk being written, so lines never interleave and records keep their order. After
// end_batch(), settle_batches(batch_ticket()) returns once the batch is in the file; the
// deferred writer does that before a flush sees the records (AsyncSink's flush calls flush()).
//
// Crash handler: emergency_flush() writes the pending bytes, emergency_emit() writes one record
// (used to drain an AsyncSink in front), both with a bounded try-lock and write(2) only; a chunk
// being written behind is let finish first (bounded). _Exit and SIGKILL lose the chunks not yet
// written, as they lose a queue in front.
//
// In steady state emit() does no heap allocation (a per-thread encode buffer and the sink buffer
// are reused). id "file:<absolute path>". Thread-safe (one mutex around the buffer and the file).
//
// fork(): in the child, every inherited FileSink starts with an empty buffer (what was buffered
// is the parent's to write), a fresh lock and its own descriptor for the rotation lock file, and
// appends to the same open file. The child has no timer thread: its buffered records are written
// when the buffer fills, at flush_severity, on flush() or on close().
class FileSink final : public Sink {
 public:
  // Opens (creating if needed) the file. Throws ConfigError naming the path and the system error
  // when the path is empty or the file (or, with rotation, its lock file) cannot be opened.
  explicit FileSink(const FileSinkOptions& options);
  // Closes the sink (see close()).
  ~FileSink() override;

  std::string_view id() const noexcept override { return id_; }
  void emit(const LogRecord& record) override;
  // Writes the pending bytes (and fsyncs when configured). Fails when the write fails; the
  // timeout is not needed (a write to a local file is not waited on).
  FlushResult flush(std::chrono::milliseconds timeout) override;
  // Writes the pending bytes, stops the timer thread and closes the file. Idempotent; later
  // emits are counted in records_dropped and otherwise ignored.
  void close() override;
  bool supports_severity(int severity_number) const noexcept override {
    return severity_number >= min_severity_;
  }
  // kWriteThrough: records emitted by this thread until end_batch() are written in one go, by
  // the sink's write-behind thread when write_behind is set (one batch thread at a time; another
  // thread's batch is written at its end_batch() by that thread).
  void begin_batch() noexcept override;
  void end_batch() noexcept override;
  std::uint64_t batch_ticket() const noexcept override;
  void settle_batches(std::uint64_t ticket) noexcept override;
  void emergency_flush() noexcept override;
  bool emergency_emit(const LogRecord& record) noexcept override;

  // Writes what is pending to the current file, then closes it and opens `path` again (creating
  // it). For logrotate's postrotate step. Returns false (and reports) when the open fails; the
  // sink then keeps trying before each write.
  bool reopen();
  // The absolute path written to.
  const std::string& path() const noexcept { return path_; }
  // A snapshot of the counters.
  FileSinkStats stats() const;

 private:
  struct Failure;  // an error collected under the lock, reported after it is released

  bool open_locked(Failure& failure, bool check_tail);
  void close_fd_locked() noexcept;
  bool write_buffer_locked(Failure& failure);
  void drop_unstarted_locked(Failure& failure) noexcept;
  void sync_locked(Failure& failure);
  void rotate_if_needed_locked(std::size_t len, Failure& failure);
  void rotate_locked(Failure& failure);
  void check_path_locked(Failure& failure);
  void report(const Failure& failure) const noexcept;
  void timer_loop();
  bool emergency_lock() noexcept;
  void emergency_write_batch_locked() noexcept;
  void emergency_await_io() noexcept;
  static void after_fork_child() noexcept;
  // Write-behind: the batch thread's chunk moves to buffer_ and the write-behind thread is told.
  void hand_off(Failure& failure) noexcept;
  bool emit_in_batch(const LogRecord& record, std::string& line, Failure& failure);
  void io_loop();
  bool io_write_one(std::unique_lock<std::mutex>& lock, Failure& failure);
  // Waits (the lock released meanwhile) until the write-behind thread is not writing.
  void await_io_locked() noexcept;
  bool prepare_fd_locked(Failure& failure);

  const std::string path_;
  const std::string id_;
  const std::string lock_path_;
  const std::uint64_t max_bytes_;
  const int keep_;
  const int min_severity_;
  const FileDurability durability_;
  const std::size_t buffer_bytes_;
  const int flush_severity_;
  const std::chrono::milliseconds flush_interval_;
  const bool fsync_;
  const bool timer_enabled_;  // kBuffered, buffer_bytes > 0 and flush_interval > 0
  const std::chrono::nanoseconds check_interval_;

  mutable std::mutex mutex_;
  std::condition_variable timer_cv_;
  int fd_ = -1;
  int lock_fd_ = -1;  // the rotation lock file (rotation only)
  bool closed_ = false;
  std::uint64_t dev_ = 0, ino_ = 0;  // identity of the open file
  std::uint64_t file_size_ = 0;      // bytes in the live file (fstat after each write)
  std::chrono::steady_clock::time_point next_check_{};
  int highest_archive_ = -1;   // highest path.N that may exist; -1 = not probed yet
  std::string buffer_;         // pending bytes (reserved once); may start with a line's rest
  bool head_started_ = false;  // buffer_ starts with the rest of a line already partly written
  std::uint64_t pending_records_ = 0;  // lines (whole or partial) in buffer_
  std::chrono::steady_clock::time_point first_pending_{};
  FileSinkStats stats_;
  std::string rotate_from_, rotate_to_;  // reserved scratch for the numbered archive names
  std::thread timer_;

  // Write-behind (see FileSinkOptions::write_behind). The batch thread (batch_owner_) appends to
  // batch_ without the lock, up to batch_limit_ bytes, and hands the chunk to buffer_ under it.
  // io_ takes buffer_ into io_buf_ under the lock and writes it without: while io_busy_, io_ owns
  // fd_ and io_buf_, and every other user of the file first waits in await_io_locked().
  // batch_committed_ is what the crash handler may write of batch_.
  const std::size_t batch_limit_;  // 0: write-behind off
  std::atomic<const void*> batch_owner_{nullptr};
  std::string batch_;
  std::uint64_t batch_records_ = 0;
  std::atomic<std::size_t> batch_committed_{0};
  std::string io_buf_;
  std::condition_variable io_cv_;           // io_wanted_ or io_stop_ was set
  std::condition_variable_any io_done_cv_;  // io_busy_ went false
  std::thread io_;
  bool io_started_ = false;
  bool io_wanted_ = false;
  bool io_stop_ = false;
  std::atomic<bool> io_busy_{false};
  std::uint64_t handed_ = 0;              // chunks handed to buffer_ by batch threads
  std::uint64_t handed_written_ = 0;      // chunks (counted in handed_) the kernel has whole
  std::atomic<std::uint64_t> ticket_{0};  // handed_, for batch_ticket() without the lock
  bool emergency_batch_done_ = false;     // the crash handler wrote batch_ (once)
};

// A FileSink behind the Sink interface (std::dynamic_pointer_cast<FileSink> reaches stats()).
// Throws ConfigError like the constructor.
std::shared_ptr<Sink> make_file_sink(const FileSinkOptions& options);

}  // namespace dagstack::logger
