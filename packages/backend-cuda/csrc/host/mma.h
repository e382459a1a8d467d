// Host emulation of nvcuda::wmma for the shapes the kernels use: m16n16k8 with TF32 inputs and fp32
// accumulation. A fragment is split over the warp's 32 lanes (lane l holds elements l·E … l·E+E−1 of the
// tile in row-major order, E = num_elements); mma_sync is a warp collective that multiplies the whole tile
// once every lane has arrived. load/store are collectives too (every lane must execute them) but, as on the
// device, they order nothing: a load reads the lane's part before the warp converges and a store writes it
// after, so a missing __syncwarp between a store and other lanes' reads gives wrong results. Inputs are used
// as TF32 (low 13 mantissa bits dropped, as the tensor cores read them); products are exact in fp32 and
// summed in k order onto C.
#pragma once
#include <stdint.h>
#include <string.h>

#include "cuda_runtime.h"

namespace nvcuda {
namespace wmma {

struct matrix_a {};
struct matrix_b {};
struct accumulator {};
struct row_major {};
struct col_major {};
namespace precision {
struct tf32 {};
}  // namespace precision
enum layout_t { mem_row_major, mem_col_major };

template <class Use, int M, int N, int K>
struct tile_shape;
template <int M, int N, int K>
struct tile_shape<matrix_a, M, N, K> {
  static constexpr int rows = M, cols = K;
};
template <int M, int N, int K>
struct tile_shape<matrix_b, M, N, K> {
  static constexpr int rows = K, cols = N;
};
template <int M, int N, int K>
struct tile_shape<accumulator, M, N, K> {
  static constexpr int rows = M, cols = N;
};

template <class Use, int M, int N, int K, class T, class Layout = void>
struct fragment {
  static constexpr int rows = tile_shape<Use, M, N, K>::rows, cols = tile_shape<Use, M, N, K>::cols;
  static constexpr int num_elements = rows * cols / 32;
  float x[num_elements];
};

/** Round to TF32 (10 mantissa bits), nearest with ties away from zero, as cvt.rna.tf32.f32 does. */
inline float __float_to_tf32(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  if ((u & 0x7f800000u) != 0x7f800000u) {  // finite: round; NaN and ∞ pass through
    u += 0x1000u;
    u &= 0xffffe000u;
  }
  float r;
  memcpy(&r, &u, 4);
  return r;
}

namespace detail {
inline float tf32_operand(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  u &= 0xffffe000u;
  float r;
  memcpy(&r, &u, 4);
  return r;
}
/** Element (row, col) of a tile held by the lane: the lane owns linear indices lane·E … lane·E+E−1. */
template <class Frag>
inline void element_position(int e, int& row, int& col) {
  const int idx = (int)::tessera_host::current_thread->lane * Frag::num_elements + e;
  row = idx / Frag::cols;
  col = idx % Frag::cols;
}
struct MmaOperands {
  float* d;
  const float* a;
  const float* b;
  const float* c;
};
template <int M, int N, int K>
void mma_combine(const uint64_t* ins, uint64_t*, unsigned active, void*) {
  if (active != 0xffffffffu) ::tessera_host::device_fault("wmma::mma_sync needs all 32 lanes of the warp");
  constexpr int EA = M * K / 32, EB = K * N / 32, EC = M * N / 32;
  float A[M][K], B[K][N], C[M][N];
  for (int l = 0; l < 32; l++) {
    const MmaOperands* op = reinterpret_cast<const MmaOperands*>(ins[l]);
    for (int e = 0; e < EA; e++) A[(l * EA + e) / K][(l * EA + e) % K] = tf32_operand(op->a[e]);
    for (int e = 0; e < EB; e++) B[(l * EB + e) / N][(l * EB + e) % N] = tf32_operand(op->b[e]);
    for (int e = 0; e < EC; e++) C[(l * EC + e) / N][(l * EC + e) % N] = op->c[e];
  }
  for (int i = 0; i < M; i++)
    for (int j = 0; j < N; j++) {
      float s = C[i][j];
      for (int k = 0; k < K; k++) s += A[i][k] * B[k][j];
      C[i][j] = s;
    }
  for (int l = 0; l < 32; l++) {
    const MmaOperands* op = reinterpret_cast<const MmaOperands*>(ins[l]);
    for (int e = 0; e < EC; e++) op->d[e] = C[(l * EC + e) / N][(l * EC + e) % N];
  }
}
}  // namespace detail

template <class Use, int M, int N, int K, class T, class Layout>
inline void fill_fragment(fragment<Use, M, N, K, T, Layout>& f, float v) {
  for (int e = 0; e < f.num_elements; e++) f.x[e] = v;
}

template <int M, int N, int K, class T>
inline void load_matrix_sync(fragment<matrix_a, M, N, K, T, col_major>& f, const float* p, unsigned ldm) {
  using F = fragment<matrix_a, M, N, K, T, col_major>;
  for (int e = 0; e < F::num_elements; e++) {
    int r, c;
    detail::element_position<F>(e, r, c);
    f.x[e] = p[r + (size_t)c * ldm];
  }
  __syncwarp();
}
template <int M, int N, int K, class T>
inline void load_matrix_sync(fragment<matrix_a, M, N, K, T, row_major>& f, const float* p, unsigned ldm) {
  using F = fragment<matrix_a, M, N, K, T, row_major>;
  for (int e = 0; e < F::num_elements; e++) {
    int r, c;
    detail::element_position<F>(e, r, c);
    f.x[e] = p[(size_t)r * ldm + c];
  }
  __syncwarp();
}
template <int M, int N, int K, class T>
inline void load_matrix_sync(fragment<matrix_b, M, N, K, T, row_major>& f, const float* p, unsigned ldm) {
  using F = fragment<matrix_b, M, N, K, T, row_major>;
  for (int e = 0; e < F::num_elements; e++) {
    int r, c;
    detail::element_position<F>(e, r, c);
    f.x[e] = p[(size_t)r * ldm + c];
  }
  __syncwarp();
}
template <int M, int N, int K, class T>
inline void load_matrix_sync(fragment<matrix_b, M, N, K, T, col_major>& f, const float* p, unsigned ldm) {
  using F = fragment<matrix_b, M, N, K, T, col_major>;
  for (int e = 0; e < F::num_elements; e++) {
    int r, c;
    detail::element_position<F>(e, r, c);
    f.x[e] = p[r + (size_t)c * ldm];
  }
  __syncwarp();
}

template <int M, int N, int K, class T>
inline void store_matrix_sync(float* p, const fragment<accumulator, M, N, K, T, void>& f, unsigned ldm, layout_t layout) {
  using F = fragment<accumulator, M, N, K, T, void>;
  __syncwarp();
  for (int e = 0; e < F::num_elements; e++) {
    int r, c;
    detail::element_position<F>(e, r, c);
    if (layout == mem_row_major) p[(size_t)r * ldm + c] = f.x[e];
    else p[r + (size_t)c * ldm] = f.x[e];
  }
}

template <int M, int N, int K, class LA, class LB>
inline void mma_sync(fragment<accumulator, M, N, K, float, void>& d, const fragment<matrix_a, M, N, K, precision::tf32, LA>& a,
                     const fragment<matrix_b, M, N, K, precision::tf32, LB>& b, const fragment<accumulator, M, N, K, float, void>& c) {
  // d may alias c; the combine reads every lane's c before writing any d.
  detail::MmaOperands op{d.x, a.x, b.x, c.x};
  ::tessera_host::warp_collective((uint64_t)(uintptr_t)&op, detail::mma_combine<M, N, K>, nullptr);
}

}  // namespace wmma
}  // namespace nvcuda
