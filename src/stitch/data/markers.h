#pragma once
// Shortcut markers (docs/methods.md, shortcut testbed): a class-specific 4x4
// binary pattern pasted into the image, grey on 1 channel, in the class colour on RGB.
#include <cstdint>
#include <string>

#include <ATen/core/Tensor.h>

#include "stitch/data/marker_mode.h"

namespace stitch {

inline constexpr int64_t kMarkerSize = 4;

// [K, 4, 4] binary (0/1) patterns chosen by farthest-point sampling in Hamming distance from a
// fixed candidate pool, so codes are far apart (min pairwise distance is reported by tests).
at::Tensor marker_patterns(int64_t num_classes = 10);

// Class-specific top-left corners [K, 2] (row, col) for kPixelLoc along the border of an HxW
// image (at most 10 classes).
at::Tensor marker_locations(int64_t num_classes = 10, int64_t height = 28, int64_t width = 28);

// Returns a copy of images [N,C,H,W] with the marker of class marker_class[n] pasted into
// sample n (marker_class < 0 or mode kNone: no marker). Locations and Rand patterns come from
// `seed`. On RGB images a marker's bright cells take its class colour (hue k/K; Rand: a random
// hue), as in the FuLA testbed; other channel counts get the grey pattern on every channel.
// `level`: on 1-channel images a marker is a solid 4x4 square at the class's grey level
// (k + 1) / (K + 1) (Rand: a random level) instead of the binary pattern — the grey analogue of
// the FuLA testbed's class colours, readable by a 1x1 stitch from one position's channels.
at::Tensor markers_apply(const at::Tensor& images, const at::Tensor& marker_class, MarkerMode mode,
                         uint64_t seed, int64_t num_classes = 10, bool level = false);

// Per-sample marker classes: each sample's label with probability p, else -1 (no marker).
at::Tensor marker_classes(const at::Tensor& labels, double p, uint64_t seed);

// (labels + shift) mod K: the "rolled" wrong-class markers used by excess agreement.
at::Tensor labels_roll(const at::Tensor& labels, int64_t shift = 1, int64_t num_classes = 10);

}  // namespace stitch
