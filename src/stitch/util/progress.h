#pragma once
// A small progress reporter (Debian has no progress-bar package): a one-line bar with rate and
// ETA on a terminal, plain periodic log lines otherwise (files, CI, Slurm logs).
#include <chrono>
#include <cstdint>
#include <string>

namespace stitch {

class Progress {
 public:
  Progress(std::string label, int64_t total);
  // Advances to `done` items; `status` (e.g. "loss 0.31") is shown next to the bar.
  void update(int64_t done, const std::string& status = "");
  void finish(const std::string& status = "");

 private:
  std::string label_;
  int64_t total_;
  bool tty_;
  std::chrono::steady_clock::time_point start_, last_;
  bool finished_ = false;
};

// Formats seconds as "1m05s" / "12.3s".
std::string duration_format(double seconds);
// Formats bytes as "1.2 GB" / "340 MB".
std::string bytes_format(double bytes);

}  // namespace stitch
