#pragma once
// The kinds of shortcut marker (docs/methods.md, shortcut testbed), named in configs as
// none | pixel | pixel_loc | rand, and their style (pattern | level). Torch-free: settings tables
// include it.
#include <string>
#include <vector>

#include "stitch/config/config_table.h"

namespace stitch {

enum class MarkerMode {
  kNone,      // no markers (the settings' default)
  kPixel,     // class pattern at a random location
  kPixelLoc,  // class pattern at a class-specific fixed location
  kRand,      // random pattern at a random location (control: carries no label information)
};

template <>
struct EnumNames<MarkerMode> {
  static const std::vector<std::string>& names();  // "none", "pixel", "pixel_loc", "rand"
};

// marker_style: the class's binary pattern, or (grey images) a solid square at the class's grey
// level (markers_apply's `level`).
enum class MarkerStyle { kPattern, kLevel };
template <>
struct EnumNames<MarkerStyle> {
  static const std::vector<std::string>& names();  // "pattern", "level"
};

}  // namespace stitch
