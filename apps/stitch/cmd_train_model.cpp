#include <CLI/CLI.hpp>

#include "commands.h"

namespace stitch::cli {
void add_train_model(CLI::App& app, std::function<int()>& run) {}
}  // namespace stitch::cli
