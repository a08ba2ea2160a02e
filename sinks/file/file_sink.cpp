// file_sink.cpp: the JSON-lines file sink: write-through or buffered, torn-tail repair, exact
// counters across partial writes, Go-style size rotation coordinated between processes
// (contract §4.4).
#include "dagstack/logger/sinks/file_sink.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <new>
#include <system_error>
#include <vector>

#include "dagstack/logger/canonical_json.h"
#include "dagstack/logger/config_error.h"
#include "detail/crash_handler.h"
#include "detail/internal_channel.h"

namespace dagstack::logger {

// An error found under the lock; reported on the internal channel once the lock is released, so
// a sink that receives internal reports can never deadlock on this one.
struct FileSink::Failure {
  int err = 0;                   // errno of the first failure
  const char* what = nullptr;    // what failed, e.g. "file write failed"
  std::uint64_t dropped = 0;     // records discarded because of it
  bool torn_tail = false;        // a file was found ending in a partial line
  std::uint64_t torn_bytes = 0;  // the partial line's bytes, removed (0: ended with a newline)
  bool after_close = false;      // a record arrived after close()

  explicit operator bool() const noexcept {
    return what != nullptr || dropped != 0 || torn_tail || after_close;
  }
  void set(const char* w, int e) noexcept {
    if (what == nullptr) {
      what = w;
      err = e;
    }
  }
};

namespace {

constexpr std::size_t kEmergencyLineBytes = 256 * 1024;
constexpr int kEmergencyLockTries = 100;  // x 1 ms

std::string absolute_path(const std::string& path) {
  if (path.empty()) throw ConfigError("file sink: path is empty");
  std::error_code ec;
  std::filesystem::path abs = std::filesystem::absolute(path, ec);
  if (ec) throw ConfigError("file sink: cannot resolve path '" + path + "': " + ec.message());
  return abs.lexically_normal().string();
}

std::string error_text(int err) { return std::error_code(err, std::generic_category()).message(); }

// `out` = path + "." + n, without allocating once `out` has the capacity.
void numbered(const std::string& path, int n, std::string& out) {
  out.assign(path);
  out.push_back('.');
  char digits[16];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, n);
  (void)ec;
  out.append(digits, end);
}

// Every live FileSink, for the fork handlers.
struct LiveFileSinks {
  std::mutex mutex;
  std::vector<FileSink*> sinks;
};

LiveFileSinks& live_file_sinks() {
  static LiveFileSinks* live = new LiveFileSinks();  // leaked: used by fork handlers
  return *live;
}

// The per-thread encode buffer: records are encoded outside the sink's lock.
std::string& encode_buffer() {
  thread_local std::string buf = [] {
    std::string s;
    s.reserve(1024);
    return s;
  }();
  return buf;
}

// The crash handler's encode buffer (it runs once per process, on one thread): reserved up
// front so that encoding a record there does not allocate.
std::string& emergency_line() {
  static std::string* line = [] {
    auto* s = new std::string();
    s->reserve(kEmergencyLineBytes);
    return s;
  }();
  return *line;
}

// The thread inside an AsyncSink writer's batch, and the sink it is delivering to.
thread_local const FileSink* tl_batching = nullptr;

// The calling thread's identity for FileSink::batch_owner_ (an address no other thread has).
const void* thread_tag() noexcept {
  thread_local const char tag = 0;
  return &tag;
}

// The smallest buffer_bytes with which a batch is written behind (smaller: by the batch thread).
constexpr std::size_t kMinWriteBehindBytes = 4096;

std::size_t count_newlines(const char* p, std::size_t n) noexcept {
  std::size_t count = 0;
  const char* end = p + n;
  while (p < end) {
    const void* hit = std::memchr(p, '\n', static_cast<std::size_t>(end - p));
    if (hit == nullptr) break;
    ++count;
    p = static_cast<const char*>(hit) + 1;
  }
  return count;
}

// The rotation lock file: ".<name>.lock" next to the log, hidden so that globs such as
// "app.jsonl.*" (archives) do not pick it up.
std::string lock_path_for(const std::string& path) {
  const std::filesystem::path p(path);
  return (p.parent_path() / ("." + p.filename().string() + ".lock")).string();
}

// Whether the file ends in a partial line. Another process may be appending a line right now
// (the kernel copies a write page by page, so its first part can be visible): a last byte that
// is not a newline counts only when the size stays the same for a few milliseconds.
bool ends_mid_line(int fd, off_t size) noexcept {
  for (int attempt = 0; attempt < 4; ++attempt) {
    char last = '\n';
    if (::pread(fd, &last, 1, size - 1) != 1 || last == '\n') return false;
    const struct timespec pause { 0, 2 * 1000 * 1000 };
    ::nanosleep(&pause, nullptr);
    struct stat st {};
    if (::fstat(fd, &st) != 0) return false;
    if (st.st_size == size) return true;
    size = st.st_size;
  }
  return false;
}

// The offset just past the last newline before `size` (0 when the file holds none), reading
// back at most 1 MiB; -1 when the tail cannot be read or the partial line is longer than that.
off_t last_line_end(int fd, off_t size) noexcept {
  constexpr off_t kChunk = 4096;
  constexpr off_t kMaxPartial = off_t{1} << 20;
  char buf[kChunk];
  off_t end = size;
  while (end > 0 && size - end < kMaxPartial) {
    const off_t begin = end > kChunk ? end - kChunk : 0;
    const auto want = static_cast<std::size_t>(end - begin);
    if (::pread(fd, buf, want, begin) != static_cast<ssize_t>(want)) return -1;
    if (const void* nl = ::memrchr(buf, '\n', want)) {
      return begin + static_cast<off_t>(static_cast<const char*>(nl) - buf) + 1;
    }
    end = begin;
  }
  return end == 0 ? 0 : -1;
}

int flock_retry(int fd, int op) noexcept {
  for (;;) {
    const int rc = ::flock(fd, op);
    if (rc == 0 || errno != EINTR) return rc;
  }
}

// Writes [data, data + size) to fd, retrying short writes and EINTR. Returns the bytes written;
// err is 0 when all were, else the errno that stopped it (EIO for a write that wrote nothing).
std::size_t write_fully(int fd, const char* data, std::size_t size, int& err) noexcept {
  std::size_t off = 0;
  err = 0;
  while (off < size) {
    const ssize_t n = ::write(fd, data + off, size - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      err = errno;
      break;
    }
    if (n == 0) {
      err = EIO;
      break;
    }
    off += static_cast<std::size_t>(n);
  }
  return off;
}

}  // namespace

FileSink::FileSink(const FileSinkOptions& options)
    : path_(absolute_path(options.path)),
      id_("file:" + path_),
      lock_path_(options.max_bytes > 0 ? lock_path_for(path_) : std::string()),
      max_bytes_(options.max_bytes),
      keep_(options.keep < 0 ? 0 : options.keep),
      min_severity_(options.min_severity),
      durability_(options.durability),
      buffer_bytes_(options.buffer_bytes),
      flush_severity_(options.flush_severity),
      flush_interval_(options.flush_interval),
      fsync_(options.fsync),
      timer_enabled_(options.durability == FileDurability::kBuffered && options.buffer_bytes > 0 &&
                     options.flush_interval.count() > 0),
      check_interval_(std::max(options.reopen_check_interval, std::chrono::milliseconds(0))),
      batch_limit_(options.write_behind && options.durability == FileDurability::kWriteThrough &&
                           options.max_bytes == 0 && options.buffer_bytes >= kMinWriteBehindBytes
                       ? options.buffer_bytes
                       : 0) {
  Failure failure;
  if (max_bytes_ > 0) {
    lock_fd_ = ::open(lock_path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lock_fd_ < 0) {
      throw ConfigError("file sink: cannot open the rotation lock file '" + lock_path_ +
                        "': " + error_text(errno));
    }
  }
  if (!open_locked(failure, /*check_tail=*/true)) {
    if (lock_fd_ >= 0) ::close(lock_fd_);
    throw ConfigError("file sink: cannot open '" + path_ + "': " + error_text(failure.err));
  }
  static const bool fork_hooks = [] {
    ::pthread_atfork(nullptr, nullptr, &FileSink::after_fork_child);
    return true;
  }();
  (void)fork_hooks;
  auto& live = live_file_sinks();
  try {
    buffer_.reserve(buffer_bytes_ + 4096);
    if (batch_limit_ != 0) {
      batch_.reserve(buffer_bytes_ + 4096);  // never grows past it
      io_buf_.reserve(buffer_bytes_ + 4096);
    }
    rotate_from_.reserve(path_.size() + 16);
    rotate_to_.reserve(path_.size() + 16);
    (void)emergency_line();
    {
      std::lock_guard<std::mutex> lock(live.mutex);
      live.sinks.push_back(this);
    }
    if (timer_enabled_) timer_ = std::thread([this] { timer_loop(); });
  } catch (...) {
    std::lock_guard<std::mutex> lock(live.mutex);
    live.sinks.erase(std::remove(live.sinks.begin(), live.sinks.end(), this), live.sinks.end());
    ::close(fd_);
    if (lock_fd_ >= 0) ::close(lock_fd_);
    throw;
  }
  detail::register_crash_sink(this, detail::CrashPhase::kBuffer);
  detail::ensure_crash_handler();
  if (failure) report(failure);
}

FileSink::~FileSink() {
  detail::unregister_crash_sink(this);
  {
    auto& live = live_file_sinks();
    std::lock_guard<std::mutex> lock(live.mutex);
    live.sinks.erase(std::remove(live.sinks.begin(), live.sinks.end(), this), live.sinks.end());
  }
  close();
}

// In the child of fork() only this thread exists. As glibc does for stdio streams, the locks
// are re-initialised (their holder, if any, is gone), and the buffered bytes are dropped: they
// are the parent's, and the parent writes them. The rotation lock file is opened again: flock()
// locks belong to the open file description, which the child would otherwise share with the
// parent. (No prepare handler: holding these locks across fork() would invert the order with the
// core's registry lock, under which sinks are destroyed.)
void FileSink::after_fork_child() noexcept {
  auto& live = live_file_sinks();
  new (&live.mutex) std::mutex();
  for (FileSink* sink : live.sinks) {
    new (&sink->mutex_) std::mutex();
    new (&sink->timer_cv_) std::condition_variable();
    // The timer thread does not exist here; forget its handle (never joined, never destroyed).
    if (sink->timer_.joinable()) new std::thread(std::move(sink->timer_));
    sink->buffer_.clear();
    sink->head_started_ = false;
    sink->pending_records_ = 0;
    // The write-behind thread and the batch thread are the parent's, and so is their chunk.
    new (&sink->io_cv_) std::condition_variable();
    new (&sink->io_done_cv_) std::condition_variable_any();
    sink->io_busy_.store(false, std::memory_order_relaxed);
    sink->io_buf_.clear();
    if (sink->io_.joinable()) new std::thread(std::move(sink->io_));
    sink->io_started_ = sink->io_wanted_ = sink->io_stop_ = false;
    sink->batch_owner_.store(nullptr, std::memory_order_relaxed);
    sink->batch_.clear();
    sink->batch_records_ = 0;
    sink->batch_committed_.store(0, std::memory_order_relaxed);
    sink->handed_written_ = sink->handed_;
    if (sink->lock_fd_ >= 0) {
      ::close(sink->lock_fd_);
      sink->lock_fd_ = ::open(sink->lock_path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    }
  }
}

bool FileSink::open_locked(Failure& failure, bool check_tail) {
  // A line started in the previous file cannot be finished in this one: give it up.
  if (head_started_) {
    const std::size_t end = buffer_.find('\n');
    buffer_.erase(0, end == std::string::npos ? buffer_.size() : end + 1);
    head_started_ = false;
    if (pending_records_ > 0) --pending_records_;
    ++stats_.records_dropped;
    ++failure.dropped;
  }
  fd_ = ::open(path_.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0 && errno == EACCES) {
    fd_ = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  }
  if (fd_ < 0) {
    ++stats_.write_errors;
    failure.set("file open failed", errno);
    return false;
  }
  struct stat st {};
  if (::fstat(fd_, &st) == 0) {
    dev_ = static_cast<std::uint64_t>(st.st_dev);
    ino_ = static_cast<std::uint64_t>(st.st_ino);
    file_size_ = static_cast<std::uint64_t>(st.st_size);
  } else {
    dev_ = ino_ = file_size_ = 0;
  }
  if (check_interval_.count() > 0) next_check_ = std::chrono::steady_clock::now() + check_interval_;
  // Torn tail: a writer died mid-line (its emit never returned). The partial line is cut off, so
  // the file holds whole records only and the next one starts on a line of its own; when it
  // cannot be cut (unreadable, or longer than 1 MiB), it is ended with a newline instead.
  if (check_tail && S_ISREG(st.st_mode) && st.st_size > 0 && ends_mid_line(fd_, st.st_size)) {
    ++stats_.torn_tails;
    failure.torn_tail = true;
    const off_t keep = last_line_end(fd_, st.st_size);
    if (keep >= 0 && ::ftruncate(fd_, keep) == 0) {
      failure.torn_bytes = static_cast<std::uint64_t>(st.st_size - keep);
      file_size_ = static_cast<std::uint64_t>(keep);
    } else {
      ssize_t n = -1;
      do {
        n = ::write(fd_, "\n", 1);
      } while (n < 0 && errno == EINTR);
      if (n == 1) {
        ++stats_.bytes_written;
        ++file_size_;
      } else {
        ++stats_.write_errors;
        failure.set("file write failed", n < 0 ? errno : EIO);
      }
    }
  }
  return true;
}

void FileSink::close_fd_locked() noexcept {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

// The file is there to write to: a removed one is replaced, a lost descriptor reopened.
bool FileSink::prepare_fd_locked(Failure& failure) {
  if (fd_ >= 0) {
    struct stat st {};
    if (::fstat(fd_, &st) == 0) {
      if (st.st_nlink == 0) {
        close_fd_locked();  // removed: write to a new file at the path
      } else {
        file_size_ = static_cast<std::uint64_t>(st.st_size);  // other writers' bytes included
      }
    } else if (errno == EBADF) {
      fd_ = -1;  // closed behind our back
    }
  }
  if (fd_ < 0) {
    if (!open_locked(failure, /*check_tail=*/false)) return false;
    ++stats_.reopens;
  }
  return true;
}

bool FileSink::write_buffer_locked(Failure& failure) {
  if (!buffer_.empty() && !prepare_fd_locked(failure)) return false;
  if (buffer_.empty()) {  // nothing pending, or only a started line given up by a reopen
    handed_written_ = handed_;
    return true;
  }
  int err = 0;
  const std::size_t off = write_fully(fd_, buffer_.data(), buffer_.size(), err);
  stats_.bytes_written += off;
  file_size_ += off;
  // Every pending record ends in the buffer's only newlines (JSON escapes its own): all of them
  // were written when the whole buffer was.
  const std::size_t lines =
      off == buffer_.size() ? pending_records_ : count_newlines(buffer_.data(), off);
  stats_.records_written += lines;
  pending_records_ -= std::min<std::uint64_t>(pending_records_, lines);
  if (off == buffer_.size()) {
    buffer_.clear();
    head_started_ = false;
    handed_written_ = handed_;
    return true;
  }
  // Keep what the kernel refused, for the next attempt; a line cut in two is finished first.
  if (off > 0) head_started_ = buffer_[off - 1] != '\n';
  buffer_.erase(0, off);
  ++stats_.write_errors;
  failure.set("file write failed", err);
  if (err == EBADF) fd_ = -1;
  return false;
}

// No room after a failed write: drop the records not yet begun; a started line is kept, so the
// file never holds half a record once the disk accepts bytes again.
void FileSink::drop_unstarted_locked(Failure& failure) noexcept {
  std::uint64_t dropped = pending_records_;
  if (head_started_) {
    const std::size_t end = buffer_.find('\n');
    buffer_.resize(end == std::string::npos ? buffer_.size() : end + 1);
    dropped = pending_records_ > 0 ? pending_records_ - 1 : 0;
    pending_records_ = pending_records_ > 0 ? 1 : 0;
  } else {
    buffer_.clear();
    pending_records_ = 0;
  }
  stats_.records_dropped += dropped;
  failure.dropped += dropped;
}

void FileSink::sync_locked(Failure& failure) {
  if (!fsync_ || fd_ < 0) return;
  if (::fsync(fd_) != 0) {
    ++stats_.write_errors;
    failure.set("file fsync failed", errno);
  }
}

// Renamed or removed by another program: the pending bytes go to the old file (a started line
// belongs there), then the path is opened again.
void FileSink::check_path_locked(Failure& failure) {
  if (fd_ < 0) return;  // the next write opens the path anyway
  if (check_interval_.count() > 0) {
    const auto now = std::chrono::steady_clock::now();
    if (now < next_check_) return;
    next_check_ = now + check_interval_;
  }
  struct stat st {};
  if (::stat(path_.c_str(), &st) == 0 && static_cast<std::uint64_t>(st.st_dev) == dev_ &&
      static_cast<std::uint64_t>(st.st_ino) == ino_) {
    return;
  }
  write_buffer_locked(failure);
  close_fd_locked();
  if (open_locked(failure, /*check_tail=*/false)) ++stats_.reopens;
}

void FileSink::rotate_if_needed_locked(std::size_t len, Failure& failure) {
  if (max_bytes_ == 0) return;
  struct stat now {};
  if (fd_ >= 0 && ::fstat(fd_, &now) == 0) {
    file_size_ = static_cast<std::uint64_t>(now.st_size);  // other processes' lines included
  }
  const std::uint64_t size = file_size_ + buffer_.size();
  if (size == 0 || size + len <= max_bytes_) return;
  write_buffer_locked(failure);  // what is pending belongs to the old file
  // Under the lock file, look at the real state: another process may have rotated already.
  const bool locked = lock_fd_ >= 0 && flock_retry(lock_fd_, LOCK_EX) == 0;
  struct stat cur {};
  struct stat live {};
  const bool have_cur = fd_ >= 0 && ::fstat(fd_, &cur) == 0;
  const bool same = have_cur && ::stat(path_.c_str(), &live) == 0 && live.st_dev == cur.st_dev &&
                    live.st_ino == cur.st_ino;
  if (!same) {
    close_fd_locked();
    if (open_locked(failure, /*check_tail=*/false)) ++stats_.reopens;
  } else {
    file_size_ = static_cast<std::uint64_t>(cur.st_size);
  }
  const std::uint64_t now_size = file_size_ + buffer_.size();
  if (fd_ >= 0 && now_size > 0 && now_size + len > max_bytes_) rotate_locked(failure);
  if (locked) (void)flock_retry(lock_fd_, LOCK_UN);
}

void FileSink::rotate_locked(Failure& failure) {
  close_fd_locked();
  if (keep_ > 0) {
    // Find the highest archive (other processes may have rotated since the last look).
    highest_archive_ = 0;
    for (int i = keep_; i >= 1; --i) {
      numbered(path_, i, rotate_to_);
      if (::access(rotate_to_.c_str(), F_OK) == 0) {
        highest_archive_ = i;
        break;
      }
    }
    if (highest_archive_ >= keep_) {
      numbered(path_, keep_, rotate_to_);
      ::unlink(rotate_to_.c_str());
    }
    // Renaming a missing archive is a no-op in the Go algorithm, so start at the highest one.
    for (int i = std::min(highest_archive_, keep_ - 1); i >= 1; --i) {
      numbered(path_, i, rotate_from_);
      numbered(path_, i + 1, rotate_to_);
      if (::rename(rotate_from_.c_str(), rotate_to_.c_str()) != 0 && errno != ENOENT) {
        ++stats_.write_errors;
        failure.set("file rotation rename failed", errno);
      }
    }
    numbered(path_, 1, rotate_to_);
    if (::rename(path_.c_str(), rotate_to_.c_str()) != 0 && errno != ENOENT) {
      ++stats_.write_errors;
      failure.set("file rotation rename failed", errno);
    }
  } else if (::unlink(path_.c_str()) != 0 && errno != ENOENT) {
    ++stats_.write_errors;
    failure.set("file rotation delete failed", errno);
  }
  if (open_locked(failure, /*check_tail=*/false)) {
    // A rename or delete that failed leaves the old file in place; start counting from it.
    ++stats_.rotations;
  }
}

void FileSink::emit(const LogRecord& record) {
  if (record.severity_number < min_severity_) return;
  std::string& line = encode_buffer();
  line.clear();
  Failure failure;
  if (tl_batching == this && emit_in_batch(record, line, failure)) {
    if (failure) report(failure);
    return;
  }
  if (line.empty()) {
    append_jsonl_record(record, line);
    line.push_back('\n');
  }

  if (batch_limit_ != 0 && batch_owner_.load(std::memory_order_relaxed) == thread_tag()) {
    // The batch thread: appended without the lock; a full chunk is handed on first. A line
    // longer than a chunk goes the locked way below (written at once, after the chunk).
    if (batch_.size() + line.size() > batch_limit_) hand_off(failure);
    if (line.size() <= batch_limit_) {
      batch_.append(line);
      ++batch_records_;
      batch_committed_.store(batch_.size(), std::memory_order_release);
      if (failure) report(failure);
      return;
    }
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    await_io_locked();
    if (closed_) {
      // Counted, and reported once: a record that arrives after close() is lost.
      failure.after_close = stats_.records_dropped == 0;
      ++stats_.records_dropped;
    } else {
      const std::size_t len = line.size();
      // The path check (a clock read, and a stat(2) once per interval) matters only when bytes
      // are about to reach the file: a buffered record that stays in the buffer skips it.
      // Inside a writer's batch the bytes reach the file at end_batch(), which checks then.
      if ((durability_ == FileDurability::kWriteThrough && tl_batching != this) ||
          record.severity_number >= flush_severity_ || buffer_.size() + len >= buffer_bytes_) {
        check_path_locked(failure);
      }
      rotate_if_needed_locked(len, failure);
      if (!buffer_.empty() && buffer_.size() + len > buffer_bytes_) {
        if (!write_buffer_locked(failure) && buffer_.size() + len > buffer_bytes_) {
          drop_unstarted_locked(failure);  // no room: the new record wins over the unstarted ones
        }
      }
      if (buffer_.empty() && timer_enabled_) first_pending_ = std::chrono::steady_clock::now();
      buffer_.append(line);
      ++pending_records_;
      const bool now = durability_ == FileDurability::kWriteThrough
                           ? tl_batching != this
                           : record.severity_number >= flush_severity_;
      if (now) {
        if (write_buffer_locked(failure) && durability_ == FileDurability::kBuffered) {
          sync_locked(failure);
        }
      } else if (buffer_.size() >= buffer_bytes_) {
        write_buffer_locked(failure);
      }
    }
  }
  if (failure) report(failure);
}

// Inside this thread's batch (write-through, written by this thread): the record is encoded
// straight into the pending buffer, one copy fewer than through the line buffer. False when the
// general way must take it: a closed sink, a size limit, a record written at once, or a line
// that would overfill the chunk (then left in `line`, already encoded).
bool FileSink::emit_in_batch(const LogRecord& record, std::string& line, Failure& failure) {
  std::lock_guard<std::mutex> lock(mutex_);
  await_io_locked();
  if (closed_ || max_bytes_ != 0 || record.severity_number >= flush_severity_) return false;
  const std::size_t before = buffer_.size();
  try {
    append_jsonl_record(record, buffer_);
    buffer_.push_back('\n');
  } catch (...) {
    buffer_.resize(before);  // nothing half-encoded stays pending
    throw;
  }
  if (before != 0 && buffer_.size() > buffer_bytes_) {
    line.assign(buffer_, before);  // written after the chunk it would overfill
    buffer_.resize(before);
    return false;
  }
  ++pending_records_;
  if (buffer_.size() >= buffer_bytes_) {
    check_path_locked(failure);  // a renamed file is noticed once per chunk, as per record
    write_buffer_locked(failure);
  }
  return true;
}

void FileSink::begin_batch() noexcept {
  if (durability_ != FileDurability::kWriteThrough) return;
  if (batch_limit_ != 0) {
    const void* me = thread_tag();
    const void* none = nullptr;
    if (batch_owner_.load(std::memory_order_relaxed) == me ||
        batch_owner_.compare_exchange_strong(none, me, std::memory_order_acquire)) {
      return;
    }
  }
  tl_batching = this;  // another thread's batch is written behind: this one writes its own
}

void FileSink::end_batch() noexcept {
  if (batch_limit_ != 0 && batch_owner_.load(std::memory_order_relaxed) == thread_tag()) {
    Failure failure;
    hand_off(failure);
    batch_owner_.store(nullptr, std::memory_order_release);
    if (failure) report(failure);
    return;
  }
  if (tl_batching != this) return;
  tl_batching = nullptr;
  Failure failure;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    await_io_locked();
    if (!closed_ && !buffer_.empty()) {
      check_path_locked(failure);  // a renamed file is noticed once per batch, as per record
      write_buffer_locked(failure);
    }
  }
  if (failure) report(failure);
}

std::uint64_t FileSink::batch_ticket() const noexcept {
  return ticket_.load(std::memory_order_relaxed);
}

void FileSink::settle_batches(std::uint64_t ticket) noexcept {
  if (ticket == 0) return;
  Failure failure;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closed_ || handed_written_ >= ticket) return;
    await_io_locked();
    if (closed_ || handed_written_ >= ticket) return;
    check_path_locked(failure);
    write_buffer_locked(failure);  // the write-behind thread has not got to it yet
  }
  if (failure) report(failure);
}

// Called by the batch thread (batch_owner_) only. The chunk joins buffer_ (in order after what is
// pending there) and the write-behind thread writes it; the batch thread writes instead when the
// previous chunk is still pending or the thread cannot be started.
void FileSink::hand_off(Failure& failure) noexcept {
  if (batch_.empty()) return;
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!closed_ && !buffer_.empty() && buffer_.size() + batch_.size() > 2 * batch_limit_) {
      // Two chunks wait already (the write-behind thread lags, or failed writes left bytes).
      await_io_locked();
      if (!closed_) {
        check_path_locked(failure);
        if (!write_buffer_locked(failure) && buffer_.size() + batch_.size() > 2 * batch_limit_) {
          drop_unstarted_locked(failure);  // no room: the new records win over the unstarted ones
        }
      }
    }
    if (closed_) {
      failure.after_close = stats_.records_dropped == 0;
      stats_.records_dropped += batch_records_;
    } else {
      if (buffer_.empty()) {
        buffer_.swap(batch_);  // both keep their reserved capacity
      } else {
        buffer_.append(batch_);
      }
      pending_records_ += batch_records_;
      ++handed_;
      ticket_.store(handed_, std::memory_order_relaxed);
      if (!io_started_ && !io_stop_) {
        try {
          io_ = std::thread([this] { io_loop(); });
          io_started_ = true;
        } catch (...) {
          // No thread now: written here, and tried again at the next chunk.
        }
      }
      if (io_started_) {
        io_wanted_ = true;
        wake = true;
      } else {
        check_path_locked(failure);
        write_buffer_locked(failure);
      }
    }
    batch_.clear();
    batch_records_ = 0;
    batch_committed_.store(0, std::memory_order_release);
  }
  if (wake) io_cv_.notify_one();
}

void FileSink::await_io_locked() noexcept {
  while (io_busy_.load(std::memory_order_acquire)) io_done_cv_.wait(mutex_);
}

// The write-behind thread: writes what batch threads hand on, until close().
void FileSink::io_loop() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    io_cv_.wait(lock, [this] { return io_wanted_ || io_stop_; });
    if (io_stop_) return;  // close() has written what was pending
    io_wanted_ = false;
    Failure failure;
    while (!closed_ && !buffer_.empty() && io_write_one(lock, failure)) {
    }
    if (failure) {
      lock.unlock();
      report(failure);
      lock.lock();
    }
  }
}

// Takes buffer_ and writes it with the lock released. False when the write failed: what the
// kernel refused goes back in front of buffer_ (a cut line first), as write_buffer_locked() keeps
// it, and is tried again with the next chunk.
bool FileSink::io_write_one(std::unique_lock<std::mutex>& lock, Failure& failure) {
  check_path_locked(failure);  // a renamed file is noticed once per chunk, as per record
  if (!prepare_fd_locked(failure)) return false;
  if (buffer_.empty()) {
    handed_written_ = handed_;
    return true;
  }
  io_buf_.swap(buffer_);
  const std::uint64_t records = pending_records_;
  const bool started = head_started_;
  const std::uint64_t handed = handed_;
  const int fd = fd_;
  pending_records_ = 0;
  head_started_ = false;
  io_busy_.store(true, std::memory_order_relaxed);
  lock.unlock();
  int err = 0;
  const std::size_t off = write_fully(fd, io_buf_.data(), io_buf_.size(), err);
  lock.lock();
  io_busy_.store(false, std::memory_order_release);
  stats_.bytes_written += off;
  file_size_ += off;
  const std::size_t lines = off == io_buf_.size() ? records : count_newlines(io_buf_.data(), off);
  stats_.records_written += lines;
  bool ok = true;
  if (off == io_buf_.size()) {
    handed_written_ = std::max(handed_written_, handed);
  } else {
    try {
      buffer_.insert(0, io_buf_, off, std::string::npos);
      pending_records_ += records - lines;
      head_started_ = off > 0 ? io_buf_[off - 1] != '\n' : started;
    } catch (...) {
      stats_.records_dropped += records - lines;
      failure.dropped += records - lines;
    }
    ++stats_.write_errors;
    failure.set("file write failed", err);
    if (err == EBADF) fd_ = -1;
    ok = false;
  }
  io_buf_.clear();
  io_done_cv_.notify_all();
  return ok;
}

void FileSink::report(const Failure& failure) const noexcept {
  try {
    if (failure.torn_tail) {
      detail::report_internal(
          kSeverityWarn,
          failure.torn_bytes != 0
              ? "file sink found a partial last line (a writer died mid-record) and removed it"
              : "file sink found a partial last line (a writer died mid-record); ended it with a "
                "newline",
          {{"sink.id", std::string_view(id_)}, {"bytes.removed", failure.torn_bytes}});
    }
    if (failure.what != nullptr) {
      detail::report_sink_error(id_, failure.what, error_text(failure.err));
    }
    if (failure.dropped != 0) {
      detail::report_internal(
          kSeverityError, "file sink dropped records after a write failure",
          {{"sink.id", std::string_view(id_)}, {"records.dropped", failure.dropped}});
    }
    if (failure.after_close) {
      detail::report_internal(kSeverityWarn, "file sink dropped a record emitted after close()",
                              {{"sink.id", std::string_view(id_)}});
    }
  } catch (...) {
    // error_text may throw bad_alloc; nothing more can be done.
  }
}

FlushResult FileSink::flush(std::chrono::milliseconds /*timeout*/) {
  Failure failure;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closed_) return FlushResult::ok();
    await_io_locked();
    if (closed_) return FlushResult::ok();
    check_path_locked(failure);
    if (write_buffer_locked(failure)) sync_locked(failure);
  }
  if (!failure) return FlushResult::ok();
  report(failure);
  if (failure.what == nullptr && failure.dropped == 0) return FlushResult::ok();
  std::string error =
      failure.what != nullptr ? std::string(failure.what) : std::string("records dropped");
  if (failure.what != nullptr) error += ": " + error_text(failure.err);
  return FlushResult::failed(id_, error);
}

void FileSink::close() {
  Failure failure;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closed_) return;
    await_io_locked();
    if (closed_) return;
    closed_ = true;
    if (write_buffer_locked(failure)) sync_locked(failure);
    if (pending_records_ != 0) {
      stats_.records_dropped += pending_records_;
      failure.dropped += pending_records_;
      pending_records_ = 0;
    }
    buffer_.clear();
    head_started_ = false;
    close_fd_locked();
    if (lock_fd_ >= 0) {
      ::close(lock_fd_);
      lock_fd_ = -1;
    }
    io_stop_ = true;
  }
  timer_cv_.notify_all();
  io_cv_.notify_all();
  if (timer_.joinable() && timer_.get_id() != std::this_thread::get_id()) timer_.join();
  if (io_.joinable() && io_.get_id() != std::this_thread::get_id()) io_.join();
  if (failure) report(failure);
}

bool FileSink::reopen() {
  Failure failure;
  bool ok = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closed_) return false;
    await_io_locked();
    if (closed_) return false;
    write_buffer_locked(failure);  // pending bytes belong to the old file
    close_fd_locked();
    ok = open_locked(failure, /*check_tail=*/true);
    if (ok) ++stats_.reopens;
  }
  if (failure) report(failure);
  return ok;
}

FileSinkStats FileSink::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stats_;
}

void FileSink::timer_loop() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!closed_) {
    if (buffer_.empty()) {
      timer_cv_.wait_for(lock, flush_interval_);
      continue;
    }
    const auto deadline = first_pending_ + flush_interval_;
    if (std::chrono::steady_clock::now() < deadline) {
      timer_cv_.wait_until(lock, deadline);
      continue;
    }
    Failure failure;
    if (write_buffer_locked(failure)) {
      sync_locked(failure);
    } else {
      first_pending_ = std::chrono::steady_clock::now();  // retry one interval later
    }
    if (failure) {
      lock.unlock();
      report(failure);
      lock.lock();
    }
  }
}

// A bounded try-lock for the crash handler: the holder is either another thread, which lets go
// within microseconds, or the crashed thread itself, which never will (then: give up).
bool FileSink::emergency_lock() noexcept {
  for (int i = 0; i < kEmergencyLockTries; ++i) {
    if (mutex_.try_lock()) return true;
    const struct timespec pause { 0, 1000 * 1000 };
    ::nanosleep(&pause, nullptr);
  }
  return false;
}

// Crash handler only. write_buffer_locked() uses fstat/open/pread/write and moves bytes within
// the reserved buffer: no allocation, no lock; nothing is reported (no logging in a handler).
void FileSink::emergency_flush() noexcept {
  emergency_await_io();
  if (!emergency_lock()) return;
  if (!closed_ && !buffer_.empty()) {
    Failure ignored;
    (void)write_buffer_locked(ignored);
  }
  if (!closed_) emergency_write_batch_locked();
  mutex_.unlock();
}

// A chunk being written behind is older than what is pending: let the write-behind thread finish
// it (bounded; if it does not, the pending bytes are written anyway).
void FileSink::emergency_await_io() noexcept {
  for (int i = 0; i < kEmergencyLockTries && io_busy_.load(std::memory_order_acquire); ++i) {
    const struct timespec pause { 0, 1000 * 1000 };
    ::nanosleep(&pause, nullptr);
  }
}

// The records a batch thread has put in its chunk but not handed on (it died mid-batch, or is
// stopped by the crash handler), written once after buffer_. The chunk is not reallocated while
// it fills and is swapped only under the lock, so its committed bytes are whole lines.
void FileSink::emergency_write_batch_locked() noexcept {
  const std::size_t n = batch_committed_.load(std::memory_order_acquire);
  if (n == 0 || fd_ < 0 || emergency_batch_done_) return;
  emergency_batch_done_ = true;
  int err = 0;
  const std::size_t off = write_fully(fd_, batch_.data(), n, err);
  stats_.bytes_written += off;
  file_size_ += off;
  stats_.records_written += count_newlines(batch_.data(), off);
}

bool FileSink::emergency_emit(const LogRecord& record) noexcept {
  if (record.severity_number < min_severity_) return true;
  emergency_await_io();
  std::string& line = emergency_line();
  line.clear();
  try {
    append_jsonl_record(record, line);
    line.push_back('\n');
  } catch (...) {
    return false;
  }
  if (!emergency_lock()) return false;
  bool ok = false;
  Failure ignored;
  if (!closed_ && write_buffer_locked(ignored) && fd_ >= 0) {
    emergency_write_batch_locked();
    int err = 0;
    const std::size_t off = write_fully(fd_, line.data(), line.size(), err);
    stats_.bytes_written += off;
    file_size_ += off;
    ok = off == line.size();
    if (ok) {
      ++stats_.records_written;
    } else {
      ++stats_.records_dropped;
      ++stats_.write_errors;
    }
  }
  mutex_.unlock();
  return ok;
}

std::shared_ptr<Sink> make_file_sink(const FileSinkOptions& options) {
  return std::make_shared<FileSink>(options);
}

}  // namespace dagstack::logger
