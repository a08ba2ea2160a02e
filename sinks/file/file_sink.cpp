// file_sink.cpp: the buffered JSON-lines file sink with Go-style size rotation (contract §4.4).
#include "dagstack/logger/sinks/file_sink.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
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
#include "detail/internal_channel.h"

namespace dagstack::logger {

// An error found under the lock; reported on the internal channel once the lock is released, so
// a sink that receives internal reports can never deadlock on this one.
struct FileSink::Failure {
  int err = 0;                 // errno of the first failure
  const char* what = nullptr;  // what failed, e.g. "file write failed"
  std::uint64_t dropped = 0;   // records discarded because of it

  explicit operator bool() const noexcept { return what != nullptr || dropped != 0; }
  void set(const char* w, int e) noexcept {
    if (what == nullptr) {
      what = w;
      err = e;
    }
  }
};

namespace {

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

}  // namespace

FileSink::FileSink(const FileSinkOptions& options)
    : path_(absolute_path(options.path)),
      id_("file:" + path_),
      max_bytes_(options.max_bytes),
      keep_(options.keep < 0 ? 0 : options.keep),
      min_severity_(options.min_severity),
      buffer_bytes_(options.buffer_bytes),
      flush_severity_(options.flush_severity),
      flush_interval_(options.flush_interval),
      fsync_(options.fsync),
      timer_enabled_(options.buffer_bytes > 0 && options.flush_interval.count() > 0) {
  Failure failure;
  if (!open_locked(failure)) {
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
    rotate_from_.reserve(path_.size() + 16);
    rotate_to_.reserve(path_.size() + 16);
    {
      std::lock_guard<std::mutex> lock(live.mutex);
      live.sinks.push_back(this);
    }
    if (timer_enabled_) timer_ = std::thread([this] { timer_loop(); });
  } catch (...) {
    std::lock_guard<std::mutex> lock(live.mutex);
    live.sinks.erase(std::remove(live.sinks.begin(), live.sinks.end(), this), live.sinks.end());
    ::close(fd_);
    throw;
  }
}

FileSink::~FileSink() {
  {
    auto& live = live_file_sinks();
    std::lock_guard<std::mutex> lock(live.mutex);
    live.sinks.erase(std::remove(live.sinks.begin(), live.sinks.end(), this), live.sinks.end());
  }
  close();
}

// In the child of fork() only this thread exists. As glibc does for stdio streams, the locks
// are re-initialised (their holder, if any, is gone), and the buffered bytes are dropped: they
// are the parent's, and the parent writes them. (No prepare handler: holding these locks across
// fork() would invert the order with the core's registry lock, under which sinks are destroyed.)
void FileSink::after_fork_child() noexcept {
  auto& live = live_file_sinks();
  new (&live.mutex) std::mutex();
  for (FileSink* sink : live.sinks) {
    new (&sink->mutex_) std::mutex();
    new (&sink->timer_cv_) std::condition_variable();
    // The timer thread does not exist here; forget its handle (never joined, never destroyed).
    if (sink->timer_.joinable()) new std::thread(std::move(sink->timer_));
    sink->buffer_.clear();
    sink->pending_records_ = 0;
  }
}

bool FileSink::open_locked(Failure& failure) {
  fd_ = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    ++stats_.write_errors;
    failure.set("file open failed", errno);
    return false;
  }
  struct stat st {};
  file_size_ = ::fstat(fd_, &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
  return true;
}

void FileSink::reopen_if_gone_locked(Failure& failure) {
  if (fd_ >= 0) {
    struct stat st {};
    if (::fstat(fd_, &st) == 0) {
      if (st.st_nlink > 0) return;  // still linked: keep writing
    } else if (errno != EBADF) {
      return;  // cannot tell; let the write report it
    }
    ::close(fd_);
    fd_ = -1;
  }
  if (open_locked(failure)) ++stats_.reopens;
}

bool FileSink::write_buffer_locked(Failure& failure) {
  if (buffer_.empty()) return true;
  reopen_if_gone_locked(failure);
  if (fd_ < 0) return false;
  std::size_t off = 0;
  int err = 0;
  while (off < buffer_.size()) {
    ssize_t n = ::write(fd_, buffer_.data() + off, buffer_.size() - off);
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
  stats_.bytes_written += off;
  file_size_ += off;
  if (off == buffer_.size()) {
    stats_.records_written += pending_records_;
    pending_records_ = 0;
    buffer_.clear();
    return true;
  }
  // Keep what the kernel refused, for the next attempt.
  buffer_.erase(0, off);
  ++stats_.write_errors;
  failure.set("file write failed", err);
  if (err == EBADF) {
    ::close(fd_);
    fd_ = -1;
  }
  return false;
}

void FileSink::sync_locked(Failure& failure) {
  if (!fsync_ || fd_ < 0) return;
  if (::fsync(fd_) != 0) {
    ++stats_.write_errors;
    failure.set("file fsync failed", errno);
  }
}

void FileSink::rotate_locked(Failure& failure) {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
  if (keep_ > 0) {
    if (highest_archive_ < 0) {
      // First rotation: find the highest archive left by earlier runs (probed once).
      highest_archive_ = 0;
      for (int i = keep_; i >= 1; --i) {
        numbered(path_, i, rotate_to_);
        if (::access(rotate_to_.c_str(), F_OK) == 0) {
          highest_archive_ = i;
          break;
        }
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
    highest_archive_ = std::min(highest_archive_ + 1, keep_);
  } else if (::unlink(path_.c_str()) != 0 && errno != ENOENT) {
    ++stats_.write_errors;
    failure.set("file rotation delete failed", errno);
  }
  if (open_locked(failure)) {
    // A rename or delete that failed leaves the old file in place; start counting from it.
    ++stats_.rotations;
  }
}

void FileSink::emit(const LogRecord& record) {
  if (record.severity_number < min_severity_) return;
  std::string& line = encode_buffer();
  line.clear();
  append_jsonl_record(record, line);
  line.push_back('\n');

  Failure failure;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closed_) return;
    const std::size_t len = line.size();
    if (max_bytes_ > 0) {
      const std::uint64_t size = file_size_ + buffer_.size();
      if (size > 0 && size + len > max_bytes_) {
        write_buffer_locked(failure);  // what is pending belongs to the old file
        rotate_locked(failure);
      }
    }
    if (!buffer_.empty() && buffer_.size() + len > buffer_bytes_) {
      if (!write_buffer_locked(failure) && buffer_.size() + len > buffer_bytes_) {
        // The retry failed and there is no room: give up on the old bytes, keep the new record.
        stats_.records_dropped += pending_records_;
        failure.dropped += pending_records_;
        pending_records_ = 0;
        buffer_.clear();
      }
    }
    if (buffer_.empty() && timer_enabled_) first_pending_ = std::chrono::steady_clock::now();
    buffer_.append(line);
    ++pending_records_;
    if (record.severity_number >= flush_severity_) {
      if (write_buffer_locked(failure)) sync_locked(failure);
    } else if (buffer_.size() >= buffer_bytes_) {
      write_buffer_locked(failure);
    }
  }
  if (failure) report(failure);
}

void FileSink::report(const Failure& failure) const noexcept {
  try {
    if (failure.what != nullptr) {
      detail::report_sink_error(id_, failure.what, error_text(failure.err));
    }
    if (failure.dropped != 0) {
      detail::report_internal(
          kSeverityError, "file sink dropped records after a write failure",
          {{"sink.id", std::string_view(id_)}, {"records.dropped", failure.dropped}});
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
    if (write_buffer_locked(failure)) sync_locked(failure);
  }
  if (!failure) return FlushResult::ok();
  report(failure);
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
    closed_ = true;
    if (write_buffer_locked(failure)) sync_locked(failure);
    if (pending_records_ != 0) {
      stats_.records_dropped += pending_records_;
      failure.dropped += pending_records_;
      pending_records_ = 0;
      buffer_.clear();
    }
    if (fd_ >= 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  timer_cv_.notify_all();
  if (timer_.joinable() && timer_.get_id() != std::this_thread::get_id()) timer_.join();
  if (failure) report(failure);
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

std::shared_ptr<Sink> make_file_sink(const FileSinkOptions& options) {
  return std::make_shared<FileSink>(options);
}

}  // namespace dagstack::logger
