#include "stitch/util/progress.h"

#include <unistd.h>

#include <cstdio>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace stitch {

std::string duration_format(double s) {
  if (s < 60) return fmt::format("{:.1f}s", s);
  const int total = static_cast<int>(s + 0.5);
  if (total < 3600) return fmt::format("{}m{:02d}s", total / 60, total % 60);
  return fmt::format("{}h{:02d}m", total / 3600, (total % 3600) / 60);
}

std::string bytes_format(double b) {
  if (b >= 1e9) return fmt::format("{:.1f} GB", b / 1e9);
  return fmt::format("{:.0f} MB", b / 1e6);
}

Progress::Progress(std::string label, int64_t total)
    : label_(std::move(label)),
      total_(total > 0 ? total : 1),
      tty_(::isatty(STDERR_FILENO) == 1),
      start_(std::chrono::steady_clock::now()),
      last_(start_) {}

void Progress::update(int64_t done, const std::string& status) {
  const auto now = std::chrono::steady_clock::now();
  const double since_last = std::chrono::duration<double>(now - last_).count();
  const bool last_item = done >= total_;
  if (tty_ ? since_last < 0.1 && !last_item : since_last < 10.0 && !last_item) return;
  last_ = now;
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double frac = static_cast<double>(done) / static_cast<double>(total_);
  const double eta = done > 0 ? elapsed * (1.0 - frac) / frac : 0.0;
  const double rate = elapsed > 0 ? static_cast<double>(done) / elapsed : 0.0;
  if (tty_) {
    const int width = 30;
    const int filled = static_cast<int>(frac * width);
    std::string bar(static_cast<size_t>(filled), '#');
    bar.resize(width, '.');
    std::fprintf(stderr, "\r%s [%s] %3d%% %.1f it/s ETA %s %s\033[K", label_.c_str(), bar.c_str(),
                 static_cast<int>(frac * 100), rate, duration_format(eta).c_str(), status.c_str());
    std::fflush(stderr);
  } else {
    spdlog::info("{}: {}/{} ({:.0f}%) {:.1f} it/s ETA {} {}", label_, done, total_, frac * 100,
                 rate, duration_format(eta), status);
  }
}

void Progress::finish(const std::string& status) {
  if (finished_) return;
  finished_ = true;
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  if (tty_) std::fprintf(stderr, "\r\033[K");
  spdlog::info("{}: done in {} {}", label_, duration_format(elapsed), status);
}

}  // namespace stitch
