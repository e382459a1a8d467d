// Products of a few rows (m ≤ 16) with the transpose of a large matrix — a fully connected layer's forward at
// batch 8: out = A·Bᵀ, B [n, k]. oneDNN 2.6's sgemm packs all of B on every call and ran AlexNet's fc1
// (8 × 9216 · 9216 × 4096) in 113–149 ms here; this kernel streams B once from memory, two rows at a time, and
// keeps the few rows of A in cache (45 ms in the same session): AVX2 + FMA intrinsics, chosen at run time on
// CPUs that have them (elsewhere the caller keeps sgemm). The un-transposed case (the input gradient) stays on
// sgemm: a column walk down B at a large stride was slower than sgemm's packing.
#include <immintrin.h>

#include <algorithm>

#include "small_m_gemm.h"

namespace tessera {

bool smallMGemmSupported() {
  static const bool ok = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return ok;
}

namespace {

__attribute__((target("avx2,fma"))) inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

/** out[i, j] for rows i0 … i0+R−1 of A and columns j, j+1: dot products over k, two rows of B at a time. */
template <int R>
__attribute__((target("avx2,fma"))) void dotBlock(const float* a, int64_t lda, const float* b0, const float* b1, int64_t k, float* out, int64_t ldc) {
  __m256 acc0[R], acc1[R];
  for (int r = 0; r < R; r++) acc0[r] = acc1[r] = _mm256_setzero_ps();
  int64_t t = 0;
  for (; t + 8 <= k; t += 8) {
    const __m256 w0 = _mm256_loadu_ps(b0 + t);
    const __m256 w1 = _mm256_loadu_ps(b1 + t);
    for (int r = 0; r < R; r++) {
      const __m256 x = _mm256_loadu_ps(a + r * lda + t);
      acc0[r] = _mm256_fmadd_ps(x, w0, acc0[r]);
      acc1[r] = _mm256_fmadd_ps(x, w1, acc1[r]);
    }
  }
  for (int r = 0; r < R; r++) {
    float s0 = hsum(acc0[r]), s1 = hsum(acc1[r]);
    for (int64_t u = t; u < k; u++) {
      s0 += a[r * lda + u] * b0[u];
      s1 += a[r * lda + u] * b1[u];
    }
    out[r * ldc] = s0;
    out[r * ldc + 1] = s1;
  }
}

template <int R>
__attribute__((target("avx2,fma"))) void dotRow(const float* a, int64_t lda, const float* b0, int64_t k, float* out, int64_t ldc) {
  for (int r = 0; r < R; r++) {
    __m256 acc = _mm256_setzero_ps();
    int64_t t = 0;
    for (; t + 8 <= k; t += 8) acc = _mm256_fmadd_ps(_mm256_loadu_ps(a + r * lda + t), _mm256_loadu_ps(b0 + t), acc);
    float s = hsum(acc);
    for (; t < k; t++) s += a[r * lda + t] * b0[t];
    out[r * ldc] = s;
  }
}

__attribute__((target("avx2,fma"))) void rowsTimesBt(const float* a, const float* b, float* c, int64_t m, int64_t n, int64_t k) {
  // Pairs of B rows are split across threads; each pair is read from memory once and reused from cache for
  // every block of four rows of A.
  const int64_t pairs = n / 2;
#pragma omp parallel for schedule(static)
  for (int64_t q = 0; q < pairs; q++) {
    const int64_t j = 2 * q;
    int64_t i = 0;
    for (; i + 4 <= m; i += 4) dotBlock<4>(a + i * k, k, b + j * k, b + (j + 1) * k, k, c + i * n + j, n);
    for (; i < m; i++) dotBlock<1>(a + i * k, k, b + j * k, b + (j + 1) * k, k, c + i * n + j, n);
  }
  if (n % 2) {
    const int64_t j = n - 1;
    int64_t i = 0;
    for (; i + 4 <= m; i += 4) dotRow<4>(a + i * k, k, b + j * k, k, c + i * n + j, n);
    for (; i < m; i++) dotRow<1>(a + i * k, k, b + j * k, k, c + i * n + j, n);
  }
}

}  // namespace

void smallMGemmBt(const float* a, const float* b, float* c, int64_t m, int64_t n, int64_t k) { rowsTimesBt(a, b, c, m, n, k); }

}  // namespace tessera
