#include "stitch/data/markers.h"

#include <ATen/ATen.h>

#include <array>
#include <bitset>
#include <cmath>
#include <random>

#include <fmt/format.h>

#include "stitch/util/error.h"

namespace stitch {

const std::vector<std::string>& EnumNames<MarkerMode>::names() {
  static const std::vector<std::string> n{"none", "pixel", "pixel_loc", "rand"};
  return n;
}
const std::vector<std::string>& EnumNames<MarkerStyle>::names() {
  static const std::vector<std::string> n{"pattern", "level"};
  return n;
}

at::Tensor marker_patterns(int64_t num_classes) {
  // Candidate pool of 16-bit codes with 5..11 bright cells (visible on any background).
  std::mt19937_64 rng(20260101);
  std::vector<uint32_t> pool;
  while (pool.size() < 4096) {
    const auto c = static_cast<uint32_t>(rng() & 0xFFFF);
    const size_t ones = std::bitset<16>(c).count();
    if (ones >= 5 && ones <= 11) pool.push_back(c);
  }
  std::vector<uint32_t> chosen{pool[0]};
  std::vector<int> dmin(pool.size(), 99);
  while (static_cast<int64_t>(chosen.size()) < num_classes) {
    size_t best = 0;
    for (size_t i = 0; i < pool.size(); ++i) {
      dmin[i] =
          std::min(dmin[i], static_cast<int>(std::bitset<16>(pool[i] ^ chosen.back()).count()));
      if (dmin[i] > dmin[best]) best = i;
    }
    chosen.push_back(pool[best]);
  }
  at::Tensor out = at::zeros({num_classes, kMarkerSize, kMarkerSize}, at::kFloat);
  auto a = out.accessor<float, 3>();
  for (int64_t k = 0; k < num_classes; ++k)
    for (int64_t b = 0; b < 16; ++b)
      a[k][b / 4][b % 4] = (chosen[static_cast<size_t>(k)] >> b) & 1U ? 1.0f : 0.0f;
  return out;
}

at::Tensor marker_locations(int64_t num_classes, int64_t height, int64_t width) {
  // Border positions (the garment sits in the centre): corners first, then edges.
  const int64_t r1 = height - kMarkerSize, c1 = width - kMarkerSize, rm = r1 / 2, c3 = c1 / 3;
  const std::vector<std::pair<int64_t, int64_t>> spots{{0, 0},   {0, c1},     {r1, 0}, {r1, c1},
                                                       {rm, 0},  {rm, c1},    {0, c3}, {0, 2 * c3},
                                                       {r1, c3}, {r1, 2 * c3}};
  if (num_classes > static_cast<int64_t>(spots.size()))
    throw StitchError(fmt::format("pixel_loc markers support at most {} classes", spots.size()));
  at::Tensor out = at::empty({num_classes, 2}, at::kLong);
  for (int64_t k = 0; k < num_classes; ++k) {
    out[k][0] = spots[static_cast<size_t>(k)].first;
    out[k][1] = spots[static_cast<size_t>(k)].second;
  }
  return out;
}

namespace {
// Fully saturated colour of hue h in [0, 1) as RGB in [0, 1].
std::array<float, 3> hue_rgb(double h) {
  const double x = 6.0 * (h - std::floor(h));
  const auto seg = static_cast<int>(x);
  const auto f = static_cast<float>(x - seg);
  switch (seg % 6) {
    case 0:
      return {1.f, f, 0.f};
    case 1:
      return {1.f - f, 1.f, 0.f};
    case 2:
      return {0.f, 1.f, f};
    case 3:
      return {0.f, 1.f - f, 1.f};
    case 4:
      return {f, 0.f, 1.f};
    default:
      return {1.f, 0.f, 1.f - f};
  }
}

// The [C, 4, 4] patch of a 4x4 binary pattern: grey on 1-channel images, the colour `rgb` on the
// bright cells of 3-channel ones, the pattern on every channel otherwise.
at::Tensor marker_patch(const at::Tensor& pattern, int64_t channels,
                        const std::array<float, 3>& rgb) {
  if (channels != 3) return pattern.unsqueeze(0).expand({channels, kMarkerSize, kMarkerSize});
  const at::Tensor colour = at::tensor(std::vector<float>(rgb.begin(), rgb.end()), at::kFloat);
  return pattern.unsqueeze(0) * colour.view({3, 1, 1}).to(pattern.device());
}
}  // namespace

at::Tensor markers_apply(const at::Tensor& images, const at::Tensor& marker_class, MarkerMode mode,
                         uint64_t seed, int64_t num_classes, bool level) {
  if (mode == MarkerMode::kNone) return images.clone();
  const int64_t n = images.size(0), ch = images.size(1), h = images.size(2), w = images.size(3);
  if (h < kMarkerSize || w < kMarkerSize)
    throw StitchError(fmt::format("images of {}x{} are too small for {}x{} markers", h, w,
                                  kMarkerSize, kMarkerSize));
  const at::Tensor patterns = marker_patterns(num_classes).to(images.device());
  const at::Tensor locations =
      mode == MarkerMode::kPixelLoc ? marker_locations(num_classes, h, w) : at::Tensor();
  at::Tensor out = images.clone();
  at::Tensor cls = marker_class.to(at::kCPU, at::kLong);
  auto c = cls.accessor<int64_t, 1>();
  std::mt19937_64 rng(seed);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t k = c[i];
    const uint64_t r = rng(),
                   code = rng();  // drawn for every sample: positions do not depend on skips
    if (k < 0) continue;
    if (k >= num_classes)
      throw StitchError(fmt::format("marker class {} out of range 0..{}", k, num_classes - 1));
    int64_t row, col;
    if (mode == MarkerMode::kPixelLoc) {
      row = locations[k][0].item<int64_t>();
      col = locations[k][1].item<int64_t>();
    } else {
      row = static_cast<int64_t>(r % static_cast<uint64_t>(h - kMarkerSize + 1));
      col = static_cast<int64_t>((r >> 32) % static_cast<uint64_t>(w - kMarkerSize + 1));
    }
    at::Tensor patch;
    if (level && ch == 1) {
      const double v = mode == MarkerMode::kRand
                           ? static_cast<double>((code >> 16) % 1000) / 1000.0
                           : static_cast<double>(k + 1) / static_cast<double>(num_classes + 1);
      patch = at::full({1, kMarkerSize, kMarkerSize}, v, images.options());
    } else if (mode == MarkerMode::kRand) {
      at::Tensor pat = at::empty({kMarkerSize, kMarkerSize}, at::kFloat);
      auto p = pat.accessor<float, 2>();
      for (int64_t b = 0; b < 16; ++b) p[b / 4][b % 4] = (code >> b) & 1U ? 1.0f : 0.0f;
      patch = marker_patch(pat.to(images.device()), ch,
                           hue_rgb(static_cast<double>((code >> 16) % 360) / 360.0));
    } else {
      patch = marker_patch(patterns[k], ch,
                           hue_rgb(static_cast<double>(k) / static_cast<double>(num_classes)));
    }
    out[i].narrow(1, row, kMarkerSize).narrow(2, col, kMarkerSize).copy_(patch);
  }
  return out;
}

at::Tensor marker_classes(const at::Tensor& labels, double p, uint64_t seed) {
  std::mt19937_64 rng(seed);
  at::Tensor cls = labels.to(at::kCPU).clone();
  auto a = cls.accessor<int64_t, 1>();
  for (int64_t i = 0; i < cls.size(0); ++i)
    if (static_cast<double>(rng() >> 11) * 0x1.0p-53 >= p) a[i] = -1;
  return cls;
}

at::Tensor labels_roll(const at::Tensor& labels, int64_t shift, int64_t num_classes) {
  return (labels + shift).remainder(num_classes);
}

}  // namespace stitch
