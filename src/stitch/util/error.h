#pragma once
// The one exception type the library throws for user-facing problems. The message is a single
// line that names the problem and, where there is one, the fix. The CLI prints it and exits 2.
#include <stdexcept>
#include <string>

namespace stitch {

class StitchError : public std::runtime_error {
 public:
  explicit StitchError(const std::string& what) : std::runtime_error(what) {}
};

}  // namespace stitch
