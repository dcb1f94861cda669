#pragma once
// The one provenance record every result carries (job rows, similarity rows, trained models).
#include <string>

#include <nlohmann/json.hpp>

namespace stitch {

// {git_commit (with "+dirty"), torch_version, stitch_version, device}.
nlohmann::json provenance(const std::string& device);

}  // namespace stitch
