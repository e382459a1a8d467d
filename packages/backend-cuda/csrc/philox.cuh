// Philox 4x32-10, bit-identical to packages/tensor/src/random/philox.ts. __host__ __device__ so that the same
// code is unit-tested on the host (test/philox_host.cu) without a GPU.
#pragma once
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

/** The largest float32 strictly below x, exactly as philox.ts's below(x, true) computes it. */
__host__ __device__ inline float philox_below_f32(double x) {
  if (x == 0) return -1.401298464324817e-45f;
  float f = (float)x;
  union {
    float f;
    int32_t i;
  } u;
  u.f = f;
  u.i = x > 0 ? u.i - 1 : u.i + 1;
  return u.f;
}

enum RandomDist { DIST_UNIFORM = 0, DIST_NORMAL = 1, DIST_BERNOULLI = 2 };

struct RandomArgs {
  int dist;
  uint32_t k0, k1;
  uint64_t offset;  // first counter block
  double a, b;      // uniform: low, high; normal: mean, std; bernoulli: p, scale
};

/**
 * Writes the (up to 4) elements of counter block `blk` (elements 4·blk … 4·blk+lanes−1 of the output).
 * Arithmetic is in double and rounded once to float32, as the CPU backend does.
 */
__host__ __device__ inline void philox_block(const RandomArgs& r, uint64_t blk, int lanes, float* out) {
  const uint64_t b = r.offset + blk;
  Philox4 w = philox4x32_10((uint32_t)(b & 0xffffffffu), (uint32_t)(b >> 32), 0u, 0u, r.k0, r.k1);
  const double inv24 = 1.0 / 16777216.0;
  if (r.dist == DIST_NORMAL) {
    for (int pair = 0; pair < lanes; pair += 2) {
      const double u1 = ((double)(w.x[pair] >> 8) + 1.0) * inv24;
      const double u2 = (double)(w.x[pair + 1] >> 8) * inv24;
      const double rad = sqrt(-2.0 * log(u1));
      const double theta = 2.0 * 3.141592653589793 * u2;
      out[pair] = (float)(r.a + r.b * rad * cos(theta));
      if (pair + 1 < lanes) out[pair + 1] = (float)(r.a + r.b * rad * sin(theta));
    }
  } else if (r.dist == DIST_UNIFORM) {
    for (int l = 0; l < lanes; l++) {
      const double u = (double)(w.x[l] >> 8) * inv24;
      const float v = (float)(r.a + (r.b - r.a) * u);
      out[l] = ((double)v >= r.b && r.b > r.a) ? philox_below_f32(r.b) : v;
    }
  } else {
    const float pf = (float)r.a;
    const float scale = (float)r.b;
    for (int l = 0; l < lanes; l++) {
      const float u = (float)(w.x[l] >> 8) * (1.0f / 16777216.0f);  // exact: 24-bit integer times 2^-24
      out[l] = u < pf ? scale : 0.0f;
    }
  }
}

}  // namespace tessera
