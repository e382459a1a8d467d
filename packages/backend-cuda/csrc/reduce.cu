// Reductions (sum/max/min over any axes, argmax/argmin), softmax / log-softmax, cross-entropy and its
// gradient, and topk. Accumulation is in double, as on the CPU backend, so results round once.
#include "common.cuh"

namespace tessera {

enum { DT_F32 = 0, DT_I32 = 1 };
enum { R_SUM = 0, R_MAX = 1, R_MIN = 2 };

/** NaN-propagating fold for max/min; plain addition for sum. */
__device__ inline double fold(int op, double acc, double v) {
  if (op == R_SUM) return acc + v;
  if (acc != acc) return acc;
  if (v != v) return v;
  return op == R_MAX ? (v > acc ? v : acc) : (v < acc ? v : acc);
}

__device__ inline double warp_fold(int op, double v) {
  for (int off = 16; off > 0; off >>= 1) v = fold(op, v, __shfl_down_sync(0xffffffffu, v, off));
  return v;
}

/** Folds one value per thread across the block; the result is valid in thread 0 (and returned to all). */
__device__ inline double block_fold(int op, double v) {
  __shared__ double part[32];
  __shared__ double result;
  v = warp_fold(op, v);
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  __syncthreads();
  if (lane == 0) part[warp] = v;
  __syncthreads();
  if (warp == 0) {
    const int warps = (blockDim.x + 31) >> 5;
    double w = lane < warps ? part[lane] : (op == R_SUM ? 0.0 : part[0]);
    w = warp_fold(op, w);
    if (lane == 0) result = w;
  }
  __syncthreads();
  return result;
}

struct ReduceGeometry {
  int keptRank, redRank;
  int keptShape[MAX_RANK];
  long long keptStrides[MAX_RANK];
  int redShape[MAX_RANK];
  long long redStrides[MAX_RANK];
};

__device__ inline long long offset_of(long long idx, int rank, const int* shape, const long long* strides) {
  long long off = 0;
  for (int d = rank - 1; d >= 0; d--) {
    off += (idx % shape[d]) * strides[d];
    idx /= shape[d];
  }
  return off;
}

template <class T>
__device__ inline void store_acc(T* out, long long i, double v) {
  out[i] = (T)v;
}
template <>
__device__ inline void store_acc<int32_t>(int32_t* out, long long i, double v) {
  out[i] = js_toint32(v);
}

/** One block per output element: the reduced elements are contiguous or nearly so. */
template <class T>
__global__ void reduce_block(int op, const T* __restrict__ x, T* __restrict__ out, long long outCount, long long redCount, ReduceGeometry g) {
  const double init = op == R_SUM ? 0.0 : op == R_MAX ? -INFINITY : INFINITY;
  for (long long o = blockIdx.x; o < outCount; o += gridDim.x) {
    const long long base = offset_of(o, g.keptRank, g.keptShape, g.keptStrides);
    double acc = init;
    for (long long r = threadIdx.x; r < redCount; r += blockDim.x) acc = fold(op, acc, (double)x[base + offset_of(r, g.redRank, g.redShape, g.redStrides)]);
    acc = block_fold(op, acc);
    if (threadIdx.x == 0) store_acc<T>(out, o, acc);
  }
}

/** One thread per output element: neighbouring outputs read neighbouring inputs (the kept axis is innermost). */
template <class T>
__global__ void reduce_thread(int op, const T* __restrict__ x, T* __restrict__ out, long long outCount, long long redCount, ReduceGeometry g) {
  const double init = op == R_SUM ? 0.0 : op == R_MAX ? -INFINITY : INFINITY;
  TESSERA_LOOP(o, outCount) {
    const long long base = offset_of(o, g.keptRank, g.keptShape, g.keptStrides);
    double acc = init;
    for (long long r = 0; r < redCount; r++) acc = fold(op, acc, (double)x[base + offset_of(r, g.redRank, g.redShape, g.redStrides)]);
    store_acc<T>(out, o, acc);
  }
}

cudaError_t launch_reduce(const LaunchContext& ctx, const double* args) {
  Args a(args);
  int op = a.n();
  int dtype = a.n();
  void* x = a.p<void>();
  void* out = a.p<void>();
  long long outCount = a.l();
  long long redCount = a.l();
  ReduceGeometry g;
  g.keptRank = a.n();
  if (g.keptRank > MAX_RANK) return cudaErrorInvalidValue;
  for (int d = 0; d < g.keptRank; d++) g.keptShape[d] = a.n();
  for (int d = 0; d < g.keptRank; d++) g.keptStrides[d] = a.l();
  g.redRank = a.n();
  if (g.redRank > MAX_RANK) return cudaErrorInvalidValue;
  for (int d = 0; d < g.redRank; d++) g.redShape[d] = a.n();
  for (int d = 0; d < g.redRank; d++) g.redStrides[d] = a.l();
  if (outCount == 0) return cudaSuccess;
  const bool keptInnermost = g.keptRank > 0 && g.keptStrides[g.keptRank - 1] == 1;
  const bool perThread = redCount <= 32 || (keptInnermost && outCount >= 1024);
  if (perThread) {
    unsigned grid = grid_for(outCount);
    if (dtype == DT_F32) TESSERA_LAUNCH(grid, THREADS, 0, ctx.stream, reduce_thread<float>)(op, (const float*)x, (float*)out, outCount, redCount, g);
    else TESSERA_LAUNCH(grid, THREADS, 0, ctx.stream, reduce_thread<int32_t>)(op, (const int32_t*)x, (int32_t*)out, outCount, redCount, g);
  } else {
    unsigned grid = (unsigned)(outCount < 65535 ? outCount : 65535);
    if (dtype == DT_F32) TESSERA_LAUNCH(grid, THREADS, 0, ctx.stream, reduce_block<float>)(op, (const float*)x, (float*)out, outCount, redCount, g);
    else TESSERA_LAUNCH(grid, THREADS, 0, ctx.stream, reduce_block<int32_t>)(op, (const int32_t*)x, (int32_t*)out, outCount, redCount, g);
  }
  return launched();
}

// ---------------------------------------------------------------- argmax / argmin
template <class T>
__global__ void arg_reduce_kernel(bool isMax, const T* __restrict__ x, int32_t* __restrict__ out, long long outer, int size, long long inner) {
  const double sign = isMax ? 1.0 : -1.0;
  TESSERA_LOOP(i, outer * inner) {
    const long long o = i / inner, j = i % inner;
    const T* row = x + o * size * inner + j;
    double best = sign * (double)row[0];
    int arg = 0;
    for (int s = 1; s < size; s++) {
      double v = sign * (double)row[(long long)s * inner];
      if (v > best || (v != v && best == best)) {
        best = v;
        arg = s;
      }
    }
    out[i] = arg;
  }
}

cudaError_t launch_arg_reduce(const LaunchContext& ctx, const double* args) {
  Args a(args);
  bool isMax = a.n() == 0;
  int dtype = a.n();
  void* x = a.p<void>();
  int32_t* out = a.p<int32_t>();
  long long outer = a.l();
  int size = a.n();
  long long inner = a.l();
  long long n = outer * inner;
  if (n == 0 || size == 0) return cudaSuccess;
  if (dtype == DT_F32) TESSERA_LAUNCH(grid_for(n), THREADS, 0, ctx.stream, arg_reduce_kernel<float>)(isMax, (const float*)x, out, outer, size, inner);
  else TESSERA_LAUNCH(grid_for(n), THREADS, 0, ctx.stream, arg_reduce_kernel<int32_t>)(isMax, (const int32_t*)x, out, outer, size, inner);
  return launched();
}

// ---------------------------------------------------------------- softmax family
/** max (NaN wins) and log Σ exp(x − shift) of one row, computed by the whole block. */
__device__ inline void row_stats(const float* __restrict__ row, int cols, double& shift, double& logSum) {
  double m = -INFINITY;
  for (int j = threadIdx.x; j < cols; j += blockDim.x) m = fold(R_MAX, m, (double)row[j]);
  m = block_fold(R_MAX, m);
  // An all −∞ row would give −∞ − (−∞) = NaN; shifting by 0 yields an honest −∞ log-sum instead.
  shift = m == -INFINITY ? 0.0 : m;
  double s = 0;
  for (int j = threadIdx.x; j < cols; j += blockDim.x) s += exp((double)row[j] - shift);
  s = block_fold(R_SUM, s);
  logSum = log(s);
}

__global__ void softmax_kernel(const float* __restrict__ x, float* __restrict__ out, long long rows, int cols, bool logSoftmax) {
  for (long long r = blockIdx.x; r < rows; r += gridDim.x) {
    const float* row = x + r * cols;
    float* o = out + r * cols;
    double shift, logSum;
    row_stats(row, cols, shift, logSum);
    if (logSoftmax) {
      const double c = shift + logSum;
      for (int j = threadIdx.x; j < cols; j += blockDim.x) o[j] = (float)((double)row[j] - c);
    } else {
      const double inv = exp(-logSum);
      for (int j = threadIdx.x; j < cols; j += blockDim.x) o[j] = (float)(exp((double)row[j] - shift) * inv);
    }
  }
}

cudaError_t launch_softmax(const LaunchContext& ctx, const double* args) {
  Args a(args);
  const float* x = a.p<const float>();
  float* out = a.p<float>();
  long long rows = a.l();
  int cols = a.n();
  bool log = a.b();
  if (rows == 0 || cols == 0) return cudaSuccess;
  TESSERA_LAUNCH((unsigned)(rows < 65535 ? rows : 65535), THREADS, 0, ctx.stream, softmax_kernel)(x, out, rows, cols, log);
  return launched();
}

__global__ void cross_entropy_kernel(const float* __restrict__ x, const int32_t* __restrict__ labels, float* __restrict__ losses, long long rows, int cols, DeviceErrorRecord* err) {
  for (long long r = blockIdx.x; r < rows; r += gridDim.x) {
    const float* row = x + r * cols;
    double shift, logSum;
    row_stats(row, cols, shift, logSum);
    if (threadIdx.x == 0) {
      int l = labels[r];
      if (l < 0 || l >= cols) {
        report_index_error(err, K_CROSS_ENTROPY, l, r, cols);
        losses[r] = NAN;
      } else {
        losses[r] = (float)(shift + logSum - (double)row[l]);
      }
    }
  }
}

__global__ void cross_entropy_backward_kernel(const float* __restrict__ x, const int32_t* __restrict__ labels, const float* __restrict__ dl, float* __restrict__ dx, long long rows,
                                              int cols, DeviceErrorRecord* err) {
  for (long long r = blockIdx.x; r < rows; r += gridDim.x) {
    const float* row = x + r * cols;
    float* o = dx + r * cols;
    double shift, logSum;
    row_stats(row, cols, shift, logSum);
    const int l = labels[r];
    if (l < 0 || l >= cols) {
      if (threadIdx.x == 0) report_index_error(err, K_CROSS_ENTROPY_BACKWARD, l, r, cols);
      for (int j = threadIdx.x; j < cols; j += blockDim.x) o[j] = NAN;
      continue;
    }
    const double g = dl[r];
    const double inv = exp(-logSum);
    for (int j = threadIdx.x; j < cols; j += blockDim.x) {
      const double prob = exp((double)row[j] - shift) * inv;
      o[j] = (float)((j == l ? prob - 1.0 : prob) * g);
    }
  }
}

cudaError_t launch_cross_entropy(const LaunchContext& ctx, const double* args) {
  Args a(args);
  const float* x = a.p<const float>();
  const int32_t* labels = a.p<const int32_t>();
  float* losses = a.p<float>();
  long long rows = a.l();
  int cols = a.n();
  if (rows == 0) return cudaSuccess;
  TESSERA_LAUNCH((unsigned)(rows < 65535 ? rows : 65535), THREADS, 0, ctx.stream, cross_entropy_kernel)(x, labels, losses, rows, cols, ctx.errors);
  return launched();
}

cudaError_t launch_cross_entropy_backward(const LaunchContext& ctx, const double* args) {
  Args a(args);
  const float* x = a.p<const float>();
  const int32_t* labels = a.p<const int32_t>();
  const float* dl = a.p<const float>();
  float* dx = a.p<float>();
  long long rows = a.l();
  int cols = a.n();
  if (rows == 0) return cudaSuccess;
  TESSERA_LAUNCH((unsigned)(rows < 65535 ? rows : 65535), THREADS, 0, ctx.stream, cross_entropy_backward_kernel)(x, labels, dl, dx, rows, cols, ctx.errors);
  return launched();
}

// ---------------------------------------------------------------- topk
/**
 * Every element computes its rank in the row's order (NaN greatest, then value, ties by index: a strict
 * total order, so ranks are a permutation) and, when the rank is below k, writes itself at that rank.
 */
template <class T>
__global__ void topk_kernel(const T* __restrict__ x, T* __restrict__ values, int32_t* __restrict__ indices, int cols, int k, bool largest) {
  __shared__ double keys[THREADS];
  __shared__ unsigned char nans[THREADS];
  const long long r = blockIdx.y;
  const T* row = x + r * cols;
  const int j = blockIdx.x * blockDim.x + threadIdx.x;
  double kj = 0;
  bool nj = false;
  if (j < cols) {
    double v = (double)row[j];
    nj = v != v;
    double w = nj ? INFINITY : v;
    kj = largest ? w : -w;
  }
  int rank = 0;
  for (int t0 = 0; t0 < cols; t0 += THREADS) {
    __syncthreads();
    int t = t0 + threadIdx.x;
    if (t < cols) {
      double v = (double)row[t];
      bool n = v != v;
      double w = n ? INFINITY : v;
      keys[threadIdx.x] = largest ? w : -w;
      nans[threadIdx.x] = n;
    }
    __syncthreads();
    const int lim = cols - t0 < THREADS ? cols - t0 : THREADS;
    if (j < cols)
      for (int q = 0; q < lim; q++) {
        const int i = t0 + q;
        const bool ni = nans[q];
        const double ki = keys[q];
        bool before;  // whether element i comes before element j
        if (ni != nj) before = largest ? ni : nj;
        else if (ki != kj) before = ki > kj;
        else before = i < j;
        rank += before;
      }
  }
  if (j < cols && rank < k) {
    values[r * k + rank] = row[j];
    indices[r * k + rank] = j;
  }
}

cudaError_t launch_topk(const LaunchContext& ctx, const double* args) {
  Args a(args);
  void* x = a.p<void>();
  int dtype = a.n();
  void* values = a.p<void>();
  int32_t* indices = a.p<int32_t>();
  long long rows = a.l();
  int cols = a.n();
  int k = a.n();
  bool largest = a.b();
  if (rows == 0 || k == 0) return cudaSuccess;
  if (rows > 65535) return cudaErrorInvalidConfiguration;
  dim3 grid(grid_for(cols), (unsigned)rows);
  if (dtype == DT_F32) TESSERA_LAUNCH(grid, THREADS, 0, ctx.stream, topk_kernel<float>)((const float*)x, (float*)values, indices, cols, k, largest);
  else TESSERA_LAUNCH(grid, THREADS, 0, ctx.stream, topk_kernel<int32_t>)((const int32_t*)x, (int32_t*)values, indices, cols, k, largest);
  return launched();
}

}  // namespace tessera
