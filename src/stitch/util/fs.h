#pragma once
// Atomic file writes and an interrupt flag, so that Ctrl-C or a crash never leaves a
// half-written file under its final name.
#include <functional>
#include <memory>
#include <string>

namespace stitch {

// Calls write(tmp_path) with a temporary path beside `path` (unique per host, process and call,
// so concurrent writers on shared storage never collide), fsyncs it, renames it onto `path` and
// fsyncs the folder: after a crash the file is either the old one or the whole new one. If write
// throws, the temporary file is removed and the exception propagates. Throws StitchError when the
// folder of `path` does not exist or is not writable.
void file_write_atomic(const std::string& path,
                       const std::function<void(const std::string&)>& write);

// The two halves of file_write_atomic for writers that keep several files open: a unique
// temporary name beside `path`, and fsync + rename onto `path` + fsync of the folder.
std::string file_temp_name(const std::string& path);
void file_commit(const std::string& tmp, const std::string& path);
// Removes the temporary files (file_temp_name) in `dir` that were made on this host by a process
// that no longer runs: safe while other processes write there (theirs are alive).
void file_remove_stale_temps(const std::string& dir);
// Removes the temporary files (file_temp_name) that processes killed mid-write left in `dir`.
// Only call it while no other process can be writing there (the writer holds a lock, or is the
// only one that writes that folder).
void file_remove_temps(const std::string& dir);

// Throws StitchError naming the path when a file could not be written there: the folder is
// missing or not writable, or the path is a folder. Checked before long work starts.
void file_check_writable(const std::string& path);

// Throws StitchError when the file system of `path`'s folder has less than `bytes` (plus 2 % and
// 1 MiB of slack) free for unprivileged writers: checked before writing a file whose size is
// known, so that a full disk gives our one-line error instead of a failure deep in a library.
void disk_check_free(const std::string& path, double bytes, const std::string& what);

// After a library left its state broken (HDF5 after a failed write cannot close the file, and
// its exit handler then crashes), main() ends the process with _Exit once the error is printed.
void exit_fast_request();
bool exit_fast_requested();

// Writes text to path atomically.
void file_write_text(const std::string& path, const std::string& text);

// Appends one line (a '\n' is added) to `path` with a single O_APPEND write under an exclusive
// lock, fsynced: lines from concurrent processes never interleave or get lost.
void file_append_line(const std::string& path, const std::string& line);

// An exclusive advisory lock (flock) on `path` (created if missing), held until destruction.
// Blocks while another process holds it; `waiting` (if not empty) is logged once when it does.
class FileLock {
 public:
  explicit FileLock(const std::string& path, const std::string& waiting = "");
  // The lock when no other process holds it, else nullptr (never waits).
  static std::unique_ptr<FileLock> try_lock(const std::string& path);
  ~FileLock();
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  FileLock() = default;
  int fd_ = -1;
};

// Throws StitchError naming the path when the file cannot be read.
void file_check_readable(const std::string& path, const std::string& what);

// Installs SIGINT/SIGTERM handlers that set a flag instead of killing the process; long loops
// poll interrupt_requested() and throw, so destructors and temp-file clean-up run.
void interrupt_install();
bool interrupt_requested();
void interrupt_throw_if_requested();  // throws StitchError("interrupted ...") if the flag is set

}  // namespace stitch
