#include "stitch/util/fs.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "stitch/util/error.h"
#include "stitch/util/progress.h"

namespace stitch {
namespace fs = std::filesystem;

void file_check_writable(const std::string& path) {
  const fs::path target(path);
  fs::path dir = target.parent_path();
  if (dir.empty()) dir = ".";
  if (!fs::is_directory(dir))
    throw StitchError(fmt::format(
        "cannot write '{}': folder '{}' does not exist (create it or choose another output path)",
        path, dir.string()));
  if (::access(dir.c_str(), W_OK) != 0)
    throw StitchError(
        fmt::format("cannot write '{}': folder '{}' is not writable (choose another output path)",
                    path, dir.string()));
  if (fs::is_directory(target))
    throw StitchError(fmt::format("cannot write '{}': it is a folder (give a file name)", path));
}

namespace {
std::atomic<bool> g_exit_fast{false};
}  // namespace

void disk_check_free(const std::string& path, double bytes, const std::string& what) {
  fs::path dir = fs::path(path).parent_path();
  if (dir.empty()) dir = ".";
  struct statvfs st {};
  if (::statvfs(dir.c_str(), &st) != 0) return;  // unknown: let the write report it
  const double free_bytes = static_cast<double>(st.f_bavail) * static_cast<double>(st.f_frsize);
  const double need = bytes * 1.02 + 1048576.0;
  if (free_bytes < need)
    throw StitchError(fmt::format(
        "not enough disk space for {} '{}': about {} needed, {} free in '{}'; free some space or "
        "write elsewhere",
        what, path, bytes_format(need), bytes_format(free_bytes), dir.string()));
}

void exit_fast_request() {
  g_exit_fast = true;
}

bool exit_fast_requested() {
  return g_exit_fast;
}

namespace {
// fsync of a file or folder by path; a failure to open (e.g. a folder on a file system that does
// not allow it) is ignored, a failing fsync is not.
void fsync_path(const std::string& path, bool folder) {
  const int fd = ::open(path.c_str(), folder ? O_RDONLY | O_DIRECTORY : O_RDONLY);
  if (fd < 0) return;
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0 && !folder)
    throw StitchError(fmt::format("cannot write '{}': fsync failed (disk full?)", path));
}

}  // namespace

std::string file_temp_name(const std::string& path) {
  static std::atomic<unsigned> counter{0};
  char host[64] = "host";
  ::gethostname(host, sizeof(host) - 1);
  return fmt::format("{}.tmp.{}.{}.{}", path, host, ::getpid(), counter.fetch_add(1));
}

void file_commit(const std::string& tmp, const std::string& path) {
  try {
    fsync_path(tmp, false);
  } catch (...) {
    std::remove(tmp.c_str());
    throw;
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    std::remove(tmp.c_str());
    throw StitchError(fmt::format("cannot write '{}': {}", path, ec.message()));
  }
  const std::string dir = fs::path(path).parent_path().string();
  fsync_path(dir.empty() ? "." : dir, true);
}

void file_remove_temps(const std::string& dir) {
  std::error_code ec;
  for (const auto& f : fs::directory_iterator(dir, ec))
    if (f.path().filename().string().find(".tmp.") != std::string::npos) fs::remove(f.path(), ec);
}

void file_remove_stale_temps(const std::string& dir) {
  char host[64] = "host";
  ::gethostname(host, sizeof(host) - 1);
  const std::string mark = fmt::format(".tmp.{}.", host);
  std::error_code ec;
  for (const auto& f : fs::directory_iterator(dir, ec)) {
    const std::string name = f.path().filename().string();
    const size_t at = name.find(mark);
    if (at == std::string::npos) continue;
    const std::string rest = name.substr(at + mark.size());  // <pid>.<counter>
    const long pid = std::strtol(rest.c_str(), nullptr, 10);
    if (pid > 0 && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH)
      fs::remove(f.path(), ec);
  }
}

void file_write_atomic(const std::string& path,
                       const std::function<void(const std::string&)>& write) {
  file_check_writable(path);
  const std::string tmp = file_temp_name(path);
  try {
    write(tmp);
  } catch (...) {
    std::remove(tmp.c_str());
    throw;
  }
  file_commit(tmp, path);
}

void file_append_line(const std::string& path, const std::string& line) {
  FileLock lock(path + ".lock");
  const int fd = ::open(path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0)
    throw StitchError(fmt::format("cannot append to '{}': {}", path, std::strerror(errno)));
  // A line cut short by a killed or failed writer has no newline: start ours on a line of its
  // own, so the cut one stays unreadable alone (readers skip it) instead of taking ours with it.
  const off_t size = ::lseek(fd, 0, SEEK_END);
  char last = '\n';
  if (size > 0 && ::pread(fd, &last, 1, size - 1) != 1) last = '\n';
  const std::string text = (last == '\n' ? "" : "\n") + line + "\n";
  const ssize_t n = ::write(fd, text.data(), text.size());
  const int rc = n == static_cast<ssize_t>(text.size()) ? ::fsync(fd) : -1;
  if (rc != 0 && size >= 0 && ::ftruncate(fd, size) != 0)  // take the partial line back
    spdlog::debug("'{}': a partial line stays; the next append starts a new line", path);
  ::close(fd);
  if (rc != 0) throw StitchError(fmt::format("cannot append to '{}' (disk full?)", path));
}

namespace {
// The lock file's descriptor (created if missing); throws naming the path.
int lock_file_open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0)
    throw StitchError(fmt::format("cannot create lock file '{}': {} (is the folder writable?)",
                                  path, std::strerror(errno)));
  return fd;
}
}  // namespace

FileLock::FileLock(const std::string& path, const std::string& waiting) {
  fd_ = lock_file_open(path);
  bool told = false;
  // Polled rather than blocking, so Ctrl-C still stops a process that waits for another one.
  while (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK && errno != EINTR) {
      const int err = errno;
      ::close(fd_);
      throw StitchError(fmt::format("cannot lock '{}': {}", path, std::strerror(err)));
    }
    if (!told && !waiting.empty()) spdlog::info("{}", waiting);
    told = true;
    if (interrupt_requested()) {
      ::close(fd_);
      interrupt_throw_if_requested();
    }
    ::usleep(200 * 1000);
  }
}

std::unique_ptr<FileLock> FileLock::try_lock(const std::string& path) {
  std::unique_ptr<FileLock> lock(new FileLock());
  lock->fd_ = lock_file_open(path);  // the destructor closes it
  while (::flock(lock->fd_, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) return nullptr;  // another process holds it
    if (errno != EINTR)
      throw StitchError(fmt::format("cannot lock '{}': {}", path, std::strerror(errno)));
  }
  return lock;
}

FileLock::~FileLock() {
  if (fd_ >= 0) ::close(fd_);  // closing releases the lock
}

void file_write_text(const std::string& path, const std::string& text) {
  file_write_atomic(path, [&](const std::string& tmp) {
    std::ofstream out(tmp, std::ios::binary);
    out << text;
    out.close();
    if (!out)
      throw StitchError(fmt::format("cannot write '{}' (disk full or not writable?)", path));
  });
}

void file_check_readable(const std::string& path, const std::string& what) {
  if (!fs::exists(path)) throw StitchError(fmt::format("{} '{}' does not exist", what, path));
  if (fs::is_directory(path))
    throw StitchError(fmt::format("{} '{}' is a folder, not a file", what, path));
  std::ifstream in(path, std::ios::binary);
  if (!in) throw StitchError(fmt::format("{} '{}' cannot be read (check permissions)", what, path));
}

namespace {
std::atomic<bool> g_interrupted{false};
extern "C" void on_signal(int) {
  g_interrupted.store(true);
}
}  // namespace

void interrupt_install() {
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
}

bool interrupt_requested() {
  return g_interrupted.load();
}

void interrupt_throw_if_requested() {
  if (g_interrupted.load())
    throw StitchError("interrupted (Ctrl-C / SIGTERM): stopped cleanly, no partial output written");
}

}  // namespace stitch
