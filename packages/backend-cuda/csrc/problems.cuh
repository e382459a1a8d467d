// The GEMM problems behind matmul and the three convolutions (see gemm.cuh). Every member is
// __host__ __device__ so that test/gemm_host.cu checks the implicit-GEMM index maps against direct loops
// on the CPU, without a GPU.
#pragma once
#include <cuda_runtime.h>

namespace tessera {

/** out[b] (M×N) = op(A[b]) · op(B[b]); A stored M×K (K×M when TA), B K×N (N×K when TB). */
template <bool TA, bool TB>
struct MatmulProblem {
  static constexpr bool A_M_FAST = TA;  // which index walks memory contiguously
  static constexpr bool B_K_FAST = TB;
  const float* A;
  const float* B;
  float* C;
  int M, N, K;
  long long aBatchStride, bBatchStride;
  __host__ __device__ float a(int bz, int m, int k) const { return A[bz * aBatchStride + (TA ? (long long)k * M + m : (long long)m * K + k)]; }
  __host__ __device__ float b(int bz, int k, int n) const { return B[bz * bBatchStride + (TB ? (long long)n * K + k : (long long)k * N + n)]; }
  __host__ __device__ void store(int bz, int m, int n, float v) const { C[((long long)bz * M + m) * N + n] = v; }
};

struct ConvGeometry {
  int n, cIn, h, w, cOut, kh, kw, outH, outW, sh, sw, ph, pw, dh, dw, groups;
  __host__ __device__ int cinG() const { return cIn / groups; }
  __host__ __device__ int coutG() const { return cOut / groups; }
};

/** y_g (cOut/g × n·outH·outW) = W_g (cOut/g × cIn/g·kh·kw) · patches(x_g); the batch index is the group. */
struct ConvForwardProblem {
  static constexpr bool A_M_FAST = false;
  static constexpr bool B_K_FAST = false;
  const float* x;
  const float* wt;
  const float* bias;
  float* y;
  ConvGeometry g;
  int M, N, K;
  __host__ __device__ float a(int grp, int m, int k) const { return wt[((long long)grp * g.coutG() + m) * K + k]; }
  __host__ __device__ float b(int grp, int k, int col) const {
    const int khkw = g.kh * g.kw, P = g.outH * g.outW;
    const int ci = k / khkw, rs = k % khkw, r = rs / g.kw, s = rs % g.kw;
    const int img = col / P, pp = col % P, oh = pp / g.outW, ow = pp % g.outW;
    const int ih = oh * g.sh - g.ph + r * g.dh, iw = ow * g.sw - g.pw + s * g.dw;
    if (ih < 0 || ih >= g.h || iw < 0 || iw >= g.w) return 0.0f;
    return x[(((long long)img * g.cIn + grp * g.cinG() + ci) * g.h + ih) * g.w + iw];
  }
  __host__ __device__ void store(int grp, int m, int col, float v) const {
    const int P = g.outH * g.outW, img = col / P, pp = col % P, co = grp * g.coutG() + m;
    y[((long long)img * g.cOut + co) * P + pp] = bias ? v + bias[co] : v;
  }
};

/** dx_g (cIn/g × n·h·w) = W_gᵀ · dy, reading dy through the transposed convolution's index map. */
struct ConvBackwardInputProblem {
  static constexpr bool A_M_FAST = false;
  static constexpr bool B_K_FAST = false;
  const float* dy;
  const float* wt;
  float* dx;
  ConvGeometry g;
  int M, N, K;
  __host__ __device__ float a(int grp, int ci, int k) const {
    const int khkw = g.kh * g.kw, co = k / khkw, rs = k % khkw;
    return wt[(((long long)grp * g.coutG() + co) * g.cinG() + ci) * khkw + rs];
  }
  __host__ __device__ float b(int grp, int k, int col) const {
    const int khkw = g.kh * g.kw, co = k / khkw, rs = k % khkw, r = rs / g.kw, s = rs % g.kw;
    const int hw = g.h * g.w, img = col / hw, q = col % hw, ih = q / g.w, iw = q % g.w;
    const int th = ih + g.ph - r * g.dh, tw = iw + g.pw - s * g.dw;
    if (th < 0 || tw < 0 || th % g.sh != 0 || tw % g.sw != 0) return 0.0f;
    const int oh = th / g.sh, ow = tw / g.sw;
    if (oh >= g.outH || ow >= g.outW) return 0.0f;
    return dy[(((long long)img * g.cOut + grp * g.coutG() + co) * g.outH + oh) * g.outW + ow];
  }
  __host__ __device__ void store(int grp, int ci, int col, float v) const {
    const int hw = g.h * g.w, img = col / hw, q = col % hw;
    dx[((long long)img * g.cIn + grp * g.cinG() + ci) * hw + q] = v;
  }
};

/** dW_g (cOut/g × cIn/g·kh·kw) = dy_g (cOut/g × n·outH·outW) · patches(x_g)ᵀ. */
struct ConvBackwardFilterProblem {
  static constexpr bool A_M_FAST = false;
  static constexpr bool B_K_FAST = true;
  const float* x;
  const float* dy;
  float* dw;
  ConvGeometry g;
  int M, N, K;
  __host__ __device__ float a(int grp, int co, int k) const {
    const int P = g.outH * g.outW, img = k / P, pp = k % P;
    return dy[((long long)img * g.cOut + grp * g.coutG() + co) * P + pp];
  }
  __host__ __device__ float b(int grp, int k, int col) const {
    const int khkw = g.kh * g.kw, ci = col / khkw, rs = col % khkw, r = rs / g.kw, s = rs % g.kw;
    const int P = g.outH * g.outW, img = k / P, pp = k % P, oh = pp / g.outW, ow = pp % g.outW;
    const int ih = oh * g.sh - g.ph + r * g.dh, iw = ow * g.sw - g.pw + s * g.dw;
    if (ih < 0 || ih >= g.h || iw < 0 || iw >= g.w) return 0.0f;
    return x[(((long long)img * g.cIn + grp * g.cinG() + ci) * g.h + ih) * g.w + iw];
  }
  __host__ __device__ void store(int grp, int co, int col, float v) const { dw[((long long)grp * g.coutG() + co) * N + col] = v; }
};

inline ConvForwardProblem conv_forward_problem(const float* x, const float* wt, const float* bias, float* y, const ConvGeometry& g) {
  ConvForwardProblem p{x, wt, bias, y, g, g.coutG(), g.n * g.outH * g.outW, g.cinG() * g.kh * g.kw};
  return p;
}
inline ConvBackwardInputProblem conv_backward_input_problem(const float* dy, const float* wt, float* dx, const ConvGeometry& g) {
  ConvBackwardInputProblem p{dy, wt, dx, g, g.cinG(), g.n * g.h * g.w, g.coutG() * g.kh * g.kw};
  return p;
}
inline ConvBackwardFilterProblem conv_backward_filter_problem(const float* x, const float* dy, float* dw, const ConvGeometry& g) {
  ConvBackwardFilterProblem p{x, dy, dw, g, g.coutG(), g.cinG() * g.kh * g.kw, g.n * g.outH * g.outW};
  return p;
}

}  // namespace tessera
