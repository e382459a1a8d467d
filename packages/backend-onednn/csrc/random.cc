// Philox 4x32-10 fills following the stream specified in packages/tensor/src/random/philox.ts (header
// comment): words from counter offset + ⌊i/4⌋ under key seed, floats from raw bits by float32 operations,
// with the host constants the TS side takes from the toolkit (randomConstants ). Built with
// -ffp-contract=off so no float32 multiply and add are fused: uniform and bernoulli are bit-identical to
// the CPU backend; normal computes r·cos θ in double and rounds once, exactly as the reference does.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels.h"

namespace tessera {

namespace {

constexpr uint32_t M0 = 0xd2511f53u, M1 = 0xcd9e8d57u, W0 = 0x9e3779b9u, W1 = 0xbb67ae85u;
constexpr double kTwo32 = 4294967296.0;

inline void philox(uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3, uint32_t k0, uint32_t k1, uint32_t out[4]) {
  for (int round = 0; round < 10; round++) {
    const uint64_t p0 = static_cast<uint64_t>(M0) * c0;
    const uint64_t p1 = static_cast<uint64_t>(M1) * c2;
    const uint32_t hi0 = static_cast<uint32_t>(p0 >> 32), lo0 = static_cast<uint32_t>(p0);
    const uint32_t hi1 = static_cast<uint32_t>(p1 >> 32), lo1 = static_cast<uint32_t>(p1);
    c0 = hi1 ^ c1 ^ k0;
    c1 = lo1;
    c2 = hi0 ^ c3 ^ k1;
    c3 = lo0;
    k0 += W0;
    k1 += W1;
  }
  out[0] = c0, out[1] = c1, out[2] = c2, out[3] = c3;
}

/** (low, high) uint32 words of a non-negative integer below 2⁵³ carried in a double. */
inline void split(double x, uint32_t& lo, uint32_t& hi) {
  lo = static_cast<uint32_t>(std::fmod(x, kTwo32));
  hi = static_cast<uint32_t>(std::floor(x / kTwo32));
}

/** u(x) = bitcast((x >>> 9) | 0x3f800000) − 1 ∈ [0, 1), exact. */
inline float unitFromBits(uint32_t x) {
  const uint32_t bits = (x >> 9) | 0x3f800000u;
  float f;
  std::memcpy(&f, &bits, 4);
  return f - 1.0f;
}

/** A float32 product rounded on its own (the build's -ffp-contract=off keeps it from fusing with an add). */
inline float mulF32(float a, float b) { return a * b; }

}  // namespace

void random(Buf* b, Params& p) {
  const int dist = p.i32();  // 0 uniform, 1 normal, 2 bernoulli
  const double seed = p.num(), offset = p.num();
  // uniform: lo, range, threshold, replacement; normal: mean, std; bernoulli: p, scale (all float32 values).
  const float c0 = static_cast<float>(p.num()), c1 = static_cast<float>(p.num()), c2 = static_cast<float>(p.num()), c3 = static_cast<float>(p.num());
  float* out = b[0].f();
  const int64_t n = b[0].size;
  uint32_t k0, k1;
  split(seed, k0, k1);
  const int64_t blocks = (n + 3) / 4;
  const float twoPi = 6.28318548202514648438f;  // f32(2π), bits 0x40c90fdb
#pragma omp parallel for schedule(static) if (n >= kParallelMin)
  for (int64_t blk = 0; blk < blocks; blk++) {
    uint32_t lo, hi, words[4];
    split(offset + static_cast<double>(blk), lo, hi);
    philox(lo, hi, 0, 0, k0, k1, words);
    const int64_t i = blk * 4;
    const int lanes = static_cast<int>(std::min<int64_t>(4, n - i));
    if (dist == 1) {
      for (int pair = 0; pair < lanes; pair += 2) {
        const float u1 = 1.0f - unitFromBits(words[pair]);
        const float t = unitFromBits(words[pair + 1]) - 0.5f;
        const float theta = mulF32(twoPi, t);
        const double r = std::sqrt(std::max(-2.0 * std::log(static_cast<double>(u1)), 0.0));
        const float z0 = static_cast<float>(r * std::cos(static_cast<double>(theta)));
        out[i + pair] = c0 + mulF32(c1, z0);
        if (pair + 1 < lanes) {
          const float z1 = static_cast<float>(r * std::sin(static_cast<double>(theta)));
          out[i + pair + 1] = c0 + mulF32(c1, z1);
        }
      }
    } else if (dist == 0) {
      for (int l = 0; l < lanes; l++) {
        const float v = c0 + mulF32(c1, unitFromBits(words[l]));
        out[i + l] = v >= c2 ? c3 : v;
      }
    } else {
      for (int l = 0; l < lanes; l++) out[i + l] = unitFromBits(words[l]) < c0 ? c1 : 0.0f;
    }
  }
}

}  // namespace tessera
