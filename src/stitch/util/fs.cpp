#include "stitch/util/fs.h"

#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "stitch/util/error.h"

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

void file_write_atomic(const std::string& path,
                       const std::function<void(const std::string&)>& write) {
  file_check_writable(path);
  const std::string tmp = fmt::format("{}.tmp.{}", path, ::getpid());
  try {
    write(tmp);
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
