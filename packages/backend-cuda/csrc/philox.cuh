// Philox 4x32-10 and its float32 stream, bit-identical to packages/tensor/src/random/philox.ts (normal: up to
// the device's logf/sqrtf/cosf/sinf, within NORMAL_TOLERANCE). __host__ __device__ so that the same
// code is unit-tested on the host (test/philox_host.cu) without a GPU.
#pragma once
#include <cuda_runtime.h>
#include <math.h>
#include <stdint.h>

namespace tessera {

struct Philox4 {
  uint32_t x[4];
};

__host__ __device__ inline uint32_t philox_mulhi(uint32_t a, uint32_t b) {
#ifdef __CUDA_ARCH__
  return __umulhi(a, b);
#else
  return (uint32_t)(((uint64_t)a * (uint64_t)b) >> 32);
#endif
}

__host__ __device__ inline Philox4 philox4x32_10(uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3, uint32_t k0, uint32_t k1) {
  const uint32_t M0 = 0xd2511f53u, M1 = 0xcd9e8d57u, W0 = 0x9e3779b9u, W1 = 0xbb67ae85u;
#pragma unroll
  for (int round = 0; round < 10; round++) {
    const uint32_t hi0 = philox_mulhi(M0, c0), lo0 = M0 * c0;
    const uint32_t hi1 = philox_mulhi(M1, c2), lo1 = M1 * c2;
    c0 = hi1 ^ c1 ^ k0;
    c1 = lo1;
    c2 = hi0 ^ c3 ^ k1;
    c3 = lo0;
    k0 += W0;
    k1 += W1;
  }
  Philox4 r;
  r.x[0] = c0;
  r.x[1] = c1;
  r.x[2] = c2;
  r.x[3] = c3;
  return r;
}

/**
 * The float32 stream, exactly as packages/tensor/src/random/philox.ts's header defines it from the raw words:
 * u(x) = bitcast((x >> 9) | 0x3f800000) − 1, and products and sums rounded separately (__fmul_rn /
 * __fadd_rn, never contracted into a fused multiply-add), ftz on outputs, sincospif for the Box–Muller
 * angle. The host computes the constants (randomConstants of @tessera/tensor/backend).
 */
__host__ __device__ inline float philox_mul(float a, float b) {
#ifdef __CUDA_ARCH__
  return __fmul_rn(a, b);
#else
  volatile float r = a * b;  // volatile: no contraction with a following add
  return r;
#endif
}
__host__ __device__ inline float philox_add(float a, float b) {
#ifdef __CUDA_ARCH__
  return __fadd_rn(a, b);
#else
  volatile float r = a + b;
  return r;
#endif
}

/** u(x) ∈ [0, 1): the top 23 bits of a word as the mantissa of a float in [1, 2), minus 1 (exact). */
__host__ __device__ inline float philox_unit(uint32_t x) {
  union {
    uint32_t u;
    float f;
  } v;
  v.u = (x >> 9) | 0x3f800000u;
  return v.f - 1.0f;
}

/** ftz(v): +0 where |v| < 2⁻¹²⁶ — subnormals never reach an output, whether or not the device flushes. */
__host__ __device__ inline float philox_ftz(float v) { return fabsf(v) < 1.17549435082228751e-38f ? 0.0f : v; }

/** sin(πx) and cos(πx) for x ∈ [−1, 1): sincospif on the device; in double, rounded once, on the host. */
__host__ __device__ inline void philox_sincospi(float x, float* s, float* c) {
#ifdef __CUDA_ARCH__
  sincospif(x, s, c);
#else
  const double a = 3.14159265358979323846 * (double)x;
  *s = (float)sin(a);
  *c = (float)cos(a);
#endif
}

enum RandomDist { DIST_UNIFORM = 0, DIST_NORMAL = 1, DIST_BERNOULLI = 2 };

struct RandomArgs {
  int dist;
  uint32_t k0, k1;
  uint64_t offset;  // first counter block
  // The host constants, already float32: uniform lo, range, threshold (+∞ when high ≤ low), replacement;
  // normal mean, std; bernoulli p, scale.
  float c0, c1, c2, c3;
};

/** Writes the (up to 4) elements of counter block `blk` (elements 4·blk … 4·blk+lanes−1 of the output). */
__host__ __device__ inline void philox_block(const RandomArgs& r, uint64_t blk, int lanes, float* out) {
  const uint64_t b = r.offset + blk;
  Philox4 w = philox4x32_10((uint32_t)(b & 0xffffffffu), (uint32_t)(b >> 32), 0u, 0u, r.k0, r.k1);
  if (r.dist == DIST_NORMAL) {
    const float mean = r.c0, std = r.c1;
    for (int pair = 0; pair < lanes; pair += 2) {
      const float u1 = 1.0f - philox_unit(w.x[pair]);           // [2⁻²³, 1], exact
      const float t = philox_unit(w.x[pair + 1]) - 0.5f;        // [−½, ½), exact
      const float rad = sqrtf(fmaxf(-2.0f * logf(u1), 0.0f));  // ×(−2) is exact
      float sn, cs;
      philox_sincospi(2.0f * t, &sn, &cs);  // 2πt, reduced exactly (2t is exact)
      out[pair] = philox_ftz(philox_add(mean, philox_mul(std, philox_mul(rad, cs))));
      if (pair + 1 < lanes) out[pair + 1] = philox_ftz(philox_add(mean, philox_mul(std, philox_mul(rad, sn))));
    }
  } else if (r.dist == DIST_UNIFORM) {
    const float lo = r.c0, range = r.c1, threshold = r.c2, replacement = r.c3;
    for (int l = 0; l < lanes; l++) {
      const float v = philox_ftz(philox_add(lo, philox_mul(range, philox_unit(w.x[l]))));
      out[l] = v >= threshold ? replacement : v;
    }
  } else {
    const float p = r.c0, scale = r.c1;
    for (int l = 0; l < lanes; l++) out[l] = philox_unit(w.x[l]) < p ? scale : 0.0f;
  }
}

}  // namespace tessera
