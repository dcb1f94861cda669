#pragma once
// Writing models: re-initialisation from a seed, training metadata, atomic save.
#include <cstdint>
#include <string>

#include "stitch/model/staged_model.h"

namespace stitch {

// Resolves an architecture name (mlp, cnn, resnet, vit) to its exported file: `arch_dir`
// if given, else ./models/arch, else <source>/models/arch. Throws naming the script to run.
std::string arch_path(const std::string& arch, const std::string& arch_dir = "");

// Re-initialises every parameter as PyTorch does by default, from `seed`: Conv/Linear weights
// Kaiming-uniform(a=sqrt(5)) and biases U(+-1/sqrt(fan_in)); norm layers weight 1, bias 0;
// other parameters (position embeddings) N(0, 0.02^2). BatchNorm running stats are reset.
void model_reinit(StagedModel& m, uint64_t seed);

// Stores the training fields of `meta` in the module's attributes. Throws StitchError naming
// scripts/export_architectures.py when the model lacks the declared attributes.
void model_meta_write(StagedModel& m, const ModelMeta& meta);

// Saves the module (in eval mode, on CPU) atomically: a temporary file renamed into place.
void model_save(StagedModel& m, const std::string& path);

}  // namespace stitch
