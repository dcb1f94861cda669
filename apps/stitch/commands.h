#pragma once
// Subcommand registration: each add_* adds one CLI11 subcommand whose callback sets `run`.
#include <functional>

namespace CLI {
class App;
}

namespace stitch::cli {

void add_layers(CLI::App& app, std::function<int()>& run);       // stitch layers model.pt
void add_train_model(CLI::App& app, std::function<int()>& run);  // stitch train-model
void add_run(CLI::App& app, std::function<int()>& run);          // stitch run experiment.yaml
void add_similarity(CLI::App& app, std::function<int()>& run);   // stitch similarity A.pt B.pt
void add_activations(CLI::App& app, std::function<int()>& run);  // stitch activations M.pt
void add_sweep(CLI::App& app, std::function<int()>& run);        // stitch sweep plan|run|collect
void add_report(CLI::App& app, std::function<int()>& run);       // stitch report runs/<sweep>

}  // namespace stitch::cli
