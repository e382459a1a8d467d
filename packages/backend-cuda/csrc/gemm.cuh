// One tiled shared-memory GEMM for matmul and all three convolutions. A problem type supplies element
// loaders for A (M×K) and B (K×N) and an epilogue store, so a convolution is an implicit GEMM: its patch
// matrix is never materialised. Two inner loops share the tiles: TF32 tensor cores (WMMA m16n16k8, fp32
// accumulate) and exact fp32 FFMA. Large-K, small-M·N problems (filter gradients) split K over blocks and
// sum the partials in a fixed order, so results are deterministic.
#pragma once
#include <mma.h>

#include "common.cuh"

namespace tessera {

constexpr int GEMM_THREADS = 256;
constexpr int GEMM_BK = 16;
constexpr int GEMM_PAD = 4;

template <class P, int BM, int BN, bool TF32>
__global__ void __launch_bounds__(GEMM_THREADS) gemm_kernel(P p, int splits, int kChunk, float* __restrict__ partial) {
  using namespace nvcuda;
  constexpr int EA = BM * GEMM_BK / GEMM_THREADS;  // A elements each thread stages per tile
  constexpr int EB = BN * GEMM_BK / GEMM_THREADS;
  __shared__ __align__(32) float As[GEMM_BK][BM + GEMM_PAD];  // k-major: As[k][m]
  __shared__ __align__(32) float Bs[GEMM_BK][BN + GEMM_PAD];  // Bs[k][n]

  const int tid = threadIdx.x;
  const int z = blockIdx.z;
  const int bz = z / splits, split = z % splits;
  const int m0 = blockIdx.y * BM, n0 = blockIdx.x * BN;
  const int kBegin = split * kChunk;
  const int kEnd = min(p.K, kBegin + kChunk);

  float ra[EA], rb[EB];
  auto loadTiles = [&](int k0) {
#pragma unroll
    for (int i = 0; i < EA; i++) {
      const int e = tid + i * GEMM_THREADS;
      int mm, kk;
      if (P::A_M_FAST) {
        mm = e % BM;
        kk = e / BM;
      } else {
        kk = e % GEMM_BK;
        mm = e / GEMM_BK;
      }
      const int m = m0 + mm, k = k0 + kk;
      ra[i] = (m < p.M && k < kEnd) ? p.a(bz, m, k) : 0.0f;
    }
#pragma unroll
    for (int i = 0; i < EB; i++) {
      const int e = tid + i * GEMM_THREADS;
      int nn, kk;
      if (P::B_K_FAST) {
        kk = e % GEMM_BK;
        nn = e / GEMM_BK;
      } else {
        nn = e % BN;
        kk = e / BN;
      }
      const int n = n0 + nn, k = k0 + kk;
      rb[i] = (n < p.N && k < kEnd) ? p.b(bz, k, n) : 0.0f;
    }
  };
  auto storeTiles = [&]() {
#pragma unroll
    for (int i = 0; i < EA; i++) {
      const int e = tid + i * GEMM_THREADS;
      if (P::A_M_FAST) As[e / BM][e % BM] = ra[i];
      else As[e % GEMM_BK][e / GEMM_BK] = ra[i];
    }
#pragma unroll
    for (int i = 0; i < EB; i++) {
      const int e = tid + i * GEMM_THREADS;
      if (P::B_K_FAST) Bs[e % GEMM_BK][e / GEMM_BK] = rb[i];
      else Bs[e / BN][e % BN] = rb[i];
    }
  };

  // Stores one result: straight through the problem's epilogue, or into this split's partial sums.
  auto emit = [&](int m, int n, float v) {
    if (m >= p.M || n >= p.N) return;
    if (splits == 1) p.store(bz, m, n, v);
    else partial[((long long)z * p.M + m) * p.N + n] = v;
  };

  if (TF32) {
    constexpr int WM = BM / 2, WN = BN / 4;  // 8 warps as 2 × 4
    constexpr int FM = WM / 16, FN = WN / 16;
    __shared__ __align__(32) float stage[GEMM_THREADS / 32][16 * 16];
    const int warp = tid / 32, lane = tid % 32;
    const int wm = (warp / 4) * WM, wn = (warp % 4) * WN;
    wmma::fragment<wmma::accumulator, 16, 16, 8, float> acc[FM][FN];
#pragma unroll
    for (int i = 0; i < FM; i++)
#pragma unroll
      for (int j = 0; j < FN; j++) wmma::fill_fragment(acc[i][j], 0.0f);
    if (kBegin < kEnd) loadTiles(kBegin);
    for (int k0 = kBegin; k0 < kEnd; k0 += GEMM_BK) {
      __syncthreads();
      storeTiles();
      __syncthreads();
      if (k0 + GEMM_BK < kEnd) loadTiles(k0 + GEMM_BK);  // the next tile's loads overlap this tile's math
#pragma unroll
      for (int kk = 0; kk < GEMM_BK; kk += 8) {
        wmma::fragment<wmma::matrix_a, 16, 16, 8, wmma::precision::tf32, wmma::col_major> fa[FM];
        wmma::fragment<wmma::matrix_b, 16, 16, 8, wmma::precision::tf32, wmma::row_major> fb[FN];
#pragma unroll
        for (int i = 0; i < FM; i++) {
          wmma::load_matrix_sync(fa[i], &As[kk][wm + i * 16], BM + GEMM_PAD);
#pragma unroll
          for (int t = 0; t < fa[i].num_elements; t++) fa[i].x[t] = wmma::__float_to_tf32(fa[i].x[t]);
        }
#pragma unroll
        for (int j = 0; j < FN; j++) {
          wmma::load_matrix_sync(fb[j], &Bs[kk][wn + j * 16], BN + GEMM_PAD);
#pragma unroll
          for (int t = 0; t < fb[j].num_elements; t++) fb[j].x[t] = wmma::__float_to_tf32(fb[j].x[t]);
        }
#pragma unroll
        for (int i = 0; i < FM; i++)
#pragma unroll
          for (int j = 0; j < FN; j++) wmma::mma_sync(acc[i][j], fa[i], fb[j], acc[i][j]);
      }
    }
    // Epilogue through a per-warp 16×16 staging tile: lanes then write neighbouring columns.
    float* st = stage[warp];
#pragma unroll
    for (int i = 0; i < FM; i++)
#pragma unroll
      for (int j = 0; j < FN; j++) {
        wmma::store_matrix_sync(st, acc[i][j], 16, wmma::mem_row_major);
        __syncwarp();
#pragma unroll
        for (int t = 0; t < 8; t++) {
          const int e = lane + 32 * t;
          emit(m0 + wm + i * 16 + e / 16, n0 + wn + j * 16 + e % 16, st[e]);
        }
        __syncwarp();
      }
  } else {
    constexpr int TM = BM / 16, TN = BN / 16;  // 16 × 16 threads, each a TM × TN strided micro-tile
    const int tx = tid % 16, ty = tid / 16;
    float acc[TM][TN];
#pragma unroll
    for (int i = 0; i < TM; i++)
#pragma unroll
      for (int j = 0; j < TN; j++) acc[i][j] = 0.0f;
    if (kBegin < kEnd) loadTiles(kBegin);
    for (int k0 = kBegin; k0 < kEnd; k0 += GEMM_BK) {
      __syncthreads();
      storeTiles();
      __syncthreads();
      if (k0 + GEMM_BK < kEnd) loadTiles(k0 + GEMM_BK);
#pragma unroll
      for (int kk = 0; kk < GEMM_BK; kk++) {
        float av[TM], bv[TN];
#pragma unroll
        for (int i = 0; i < TM; i++) av[i] = As[kk][ty + 16 * i];
#pragma unroll
        for (int j = 0; j < TN; j++) bv[j] = Bs[kk][tx + 16 * j];
#pragma unroll
        for (int i = 0; i < TM; i++)
#pragma unroll
          for (int j = 0; j < TN; j++) acc[i][j] = fmaf(av[i], bv[j], acc[i][j]);
      }
    }
#pragma unroll
    for (int i = 0; i < TM; i++)
#pragma unroll
      for (int j = 0; j < TN; j++) emit(m0 + ty + 16 * i, n0 + tx + 16 * j, acc[i][j]);
  }
}

/** Sums the K-split partials in split order and applies the problem's epilogue. */
template <class P>
__global__ void gemm_finish_kernel(P p, int batch, int splits, const float* __restrict__ partial) {
  const long long mn = (long long)p.M * p.N;
  TESSERA_LOOP(i, (long long)batch * mn) {
    const int bz = (int)(i / mn);
    const long long r = i % mn;
    float s = 0;
    for (int t = 0; t < splits; t++) s += partial[((long long)bz * splits + t) * mn + r];
    p.store(bz, (int)(r / p.N), (int)(r % p.N), s);
  }
}

template <class P, int BM, int BN>
cudaError_t gemm_launch_tiles(const LaunchContext& ctx, const P& p, int batch, int splits, int kChunk, float* partial) {
  dim3 grid((p.N + BN - 1) / BN, (p.M + BM - 1) / BM, batch * splits);
  if (ctx.tf32) TESSERA_LAUNCH(grid, GEMM_THREADS, 0, ctx.stream, gemm_kernel<P, BM, BN, true>)(p, splits, kChunk, partial);
  else TESSERA_LAUNCH(grid, GEMM_THREADS, 0, ctx.stream, gemm_kernel<P, BM, BN, false>)(p, splits, kChunk, partial);
  return cudaGetLastError();
}

/** Picks the tile shape and K split for a problem, then launches (and finishes the split, if any). */
template <class P>
cudaError_t gemm_run(const LaunchContext& ctx, const P& p, int batch) {
  if (p.M == 0 || p.N == 0 || batch == 0) return cudaSuccess;
  const bool narrow = p.M <= 64;
  const int BM = narrow ? 64 : 128, BN = 128;
  const long long tiles = (long long)((p.M + BM - 1) / BM) * ((p.N + BN - 1) / BN) * batch;
  const long long target = 2LL * (ctx.smCount > 0 ? ctx.smCount : 80);
  int splits = 1;
  if (tiles < target && p.K >= 512) {
    long long want = (target + tiles - 1) / tiles;
    long long most = p.K / 256;  // keep at least 256 of K per split
    splits = (int)(want < most ? want : most);
    if (splits > 64) splits = 64;
    if (splits < 1) splits = 1;
  }
  int kChunk = (p.K + splits - 1) / splits;
  kChunk = (kChunk + GEMM_BK - 1) / GEMM_BK * GEMM_BK;
  if (kChunk == 0) kChunk = GEMM_BK;
  splits = p.K == 0 ? 1 : (p.K + kChunk - 1) / kChunk;
  if ((long long)batch * splits > 65535 || (p.M + BM - 1) / BM > 65535) return cudaErrorInvalidConfiguration;
  float* partial = nullptr;
  if (splits > 1) {
    cudaError_t err = cudaSuccess;
    partial = (float*)ctx.scratchAlloc((size_t)batch * splits * p.M * p.N * sizeof(float), &err);
    if (!partial) return err == cudaSuccess ? cudaErrorMemoryAllocation : err;
  }
  cudaError_t e = narrow ? gemm_launch_tiles<P, 64, 128>(ctx, p, batch, splits, kChunk, partial) : gemm_launch_tiles<P, 128, 128>(ctx, p, batch, splits, kChunk, partial);
  if (e == cudaSuccess && splits > 1) {
    long long n = (long long)batch * p.M * p.N;
    TESSERA_LAUNCH(grid_for(n), THREADS, 0, ctx.stream, gemm_finish_kernel<P>)(p, batch, splits, partial);
    e = cudaGetLastError();
  }
  if (partial) ctx.scratchFree(partial);  // stream-ordered: reused only by later work on the same stream
  return e;
}

}  // namespace tessera
