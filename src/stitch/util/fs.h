#pragma once
// Atomic file writes and an interrupt flag, so that Ctrl-C or a crash never leaves a
// half-written file under its final name.
#include <functional>
#include <string>

namespace stitch {

// Calls write(tmp_path) with a temporary path beside `path`, then renames it onto `path`.
// If write throws, the temporary file is removed and the exception propagates. Throws
// StitchError when the folder of `path` does not exist or is not writable.
void file_write_atomic(const std::string& path,
                       const std::function<void(const std::string&)>& write);

// Throws StitchError naming the path when a file could not be written there: the folder is
// missing or not writable, or the path is a folder. Checked before long work starts.
void file_check_writable(const std::string& path);

// Writes text to path atomically.
void file_write_text(const std::string& path, const std::string& text);

// Throws StitchError naming the path when the file cannot be read.
void file_check_readable(const std::string& path, const std::string& what);

// Installs SIGINT/SIGTERM handlers that set a flag instead of killing the process; long loops
// poll interrupt_requested() and throw, so destructors and temp-file clean-up run.
void interrupt_install();
bool interrupt_requested();
void interrupt_throw_if_requested();  // throws StitchError("interrupted ...") if the flag is set

}  // namespace stitch
