// fill, unary, broadcasting binary, strided copy (with casts), Philox random, fused SGD, gather and one-hot.
// Float32 arithmetic matches the CPU backend's (double op then round, which for + − × ÷ is the correctly
// rounded float op); int32 results follow JavaScript's ToInt32 like an Int32Array store.
#include "common.cuh"
#include "philox.cuh"

namespace tessera {

enum { DT_F32 = 0, DT_I32 = 1 };

// ---------------------------------------------------------------- fill
__global__ void fill_f32(float* out, long long n, float v) {
  TESSERA_LOOP(i, n) out[i] = v;
}
__global__ void fill_i32(int32_t* out, long long n, int32_t v) {
  TESSERA_LOOP(i, n) out[i] = v;
}

cudaError_t launch_fill(const LaunchContext& ctx, const double* args) {
  Args a(args);
  void* out = a.p<void>();
  int dtype = a.n();
  long long n = a.l();
  double value = a.f();
  if (n == 0) return cudaSuccess;
  if (dtype == DT_F32) TESSERA_LAUNCH(grid_for(n), THREADS, 0, ctx.stream, fill_f32)((float*)out, n, (float)value);
  else TESSERA_LAUNCH(grid_for(n), THREADS, 0, ctx.stream, fill_i32)((int32_t*)out, n, js_toint32(value));
  return launched();
}

// ---------------------------------------------------------------- unary
enum UnaryOpId { U_NEG, U_ABS, U_SIGN, U_EXP, U_LOG, U_SQRT, U_RSQRT, U_SQUARE, U_RECIPROCAL, U_RELU, U_TANH, U_SIGMOID };

template <class T>
__device__ inline T js_sign(T v) {
  return v > 0 ? T(1) : v < 0 ? T(-1) : v;  // keeps ±0 and NaN, like Math.sign
}

__device__ inline float unary_f(int op, float v) {
  switch (op) {
    case U_NEG: return -v;
    case U_ABS: return fabsf(v);
    case U_SIGN: return js_sign(v);
    case U_EXP: return expf(v);
    case U_LOG: return logf(v);
    case U_SQRT: return sqrtf(v);
    case U_RSQRT: return 1.0f / sqrtf(v);
    case U_SQUARE: return v * v;
    case U_RECIPROCAL: return 1.0f / v;
    case U_RELU: return v < 0 ? 0.0f : v;
    case U_TANH: return tanhf(v);
    case U_SIGMOID:
      if (v >= 0) return 1.0f / (1.0f + expf(-v));
      else {
        float e = expf(v);
        return e / (1.0f + e);
      }
  }
  return NAN;
}

__device__ inline double unary_d(int op, double v) {
  switch (op) {
    case U_NEG: return -v;
    case U_ABS: return fabs(v);
    case U_SIGN: return js_sign(v);
    case U_EXP: return exp(v);
    case U_LOG: return log(v);
    case U_SQRT: return sqrt(v);
    case U_RSQRT: return 1.0 / sqrt(v);
    case U_SQUARE: return v * v;
    case U_RECIPROCAL: return 1.0 / v;
    case U_RELU: return v < 0 ? 0.0 : v;
    case U_TANH: return tanh(v);
    case U_SIGMOID: return v >= 0 ? 1.0 / (1.0 + exp(-v)) : exp(v) / (1.0 + exp(v));
  }
  return NAN;
}

template <int OP>
__global__ void unary_f32(const float* __restrict__ x, float* __restrict__ out, long long n) {
  TESSERA_LOOP(i, n) out[i] = unary_f(OP, x[i]);
}
__global__ void unary_i32(int op, const int32_t* __restrict__ x, int32_t* __restrict__ out, long long n) {
  TESSERA_LOOP(i, n) out[i] = js_toint32(unary_d(op, (double)x[i]));
}

cudaError_t launch_unary(const LaunchContext& ctx, const double* args) {
  Args a(args);
  int op = a.n();
  int dtype = a.n();
  void* x = a.p<void>();
  void* out = a.p<void>();
  long long n = a.l();
  if (n == 0) return cudaSuccess;
  unsigned g = grid_for(n);
  if (dtype == DT_I32) {
    TESSERA_LAUNCH(g, THREADS, 0, ctx.stream, unary_i32)(op, (const int32_t*)x, (int32_t*)out, n);
    return launched();
  }
  const float* xf = (const float*)x;
  float* of = (float*)out;
  // One instantiation per op keeps the per-element switch out of the loop.
  switch (op) {
#define TESSERA_UNARY_CASE(OP) \
  case OP: TESSERA_LAUNCH(g, THREADS, 0, ctx.stream, unary_f32<OP>)(xf, of, n); break;
    TESSERA_UNARY_CASE(U_NEG)
    TESSERA_UNARY_CASE(U_ABS)
    TESSERA_UNARY_CASE(U_SIGN)
    TESSERA_UNARY_CASE(U_EXP)
    TESSERA_UNARY_CASE(U_LOG)
    TESSERA_UNARY_CASE(U_SQRT)
    TESSERA_UNARY_CASE(U_RSQRT)
    TESSERA_UNARY_CASE(U_SQUARE)
    TESSERA_UNARY_CASE(U_RECIPROCAL)
    TESSERA_UNARY_CASE(U_RELU)
    TESSERA_UNARY_CASE(U_TANH)
    TESSERA_UNARY_CASE(U_SIGMOID)
#undef TESSERA_UNARY_CASE
    default: return cudaErrorInvalidValue;
  }
  return launched();
}

// ---------------------------------------------------------------- binary
enum BinaryOpId { B_ADD, B_SUB, B_MUL, B_DIV, B_POW, B_MAXIMUM, B_MINIMUM, B_EQ, B_NE, B_LT, B_LE, B_GT, B_GE };

struct Broadcast {
  int rank;
  int shape[MAX_RANK];
  long long as[MAX_RANK];
  long long bs[MAX_RANK];
};

__device__ inline float js_pow_f(float a, float b) {
  if (isnan(b)) return NAN;
  if (b == 0) return 1.0f;
  if (isinf(b) && fabsf(a) == 1.0f) return NAN;  // Math.pow(±1, ±∞) is NaN
  return powf(a, b);
}
__device__ inline double js_pow_d(double a, double b) {
  if (isnan(b)) return NAN;
  if (b == 0) return 1.0;
  if (isinf(b) && fabs(a) == 1.0) return NAN;
  return pow(a, b);
}

template <class T>
__device__ inline T js_max(T a, T b) {
  if (a != a) return a;
  if (b != b) return b;
  if (a == b) return signbit((double)a) ? b : a;  // Math.max(−0, 0) is 0
  return a > b ? a : b;
}
template <class T>
__device__ inline T js_min(T a, T b) {
  if (a != a) return a;
  if (b != b) return b;
  if (a == b) return signbit((double)a) ? a : b;
  return a < b ? a : b;
}

template <class T, class C>
__device__ inline C binary_op(int op, T a, T b) {
  switch (op) {
    case B_ADD: return (C)a + (C)b;
    case B_SUB: return (C)a - (C)b;
    case B_MUL: return (C)a * (C)b;
    case B_DIV: return (C)a / (C)b;
    case B_POW: return sizeof(C) == 4 ? (C)js_pow_f((float)a, (float)b) : (C)js_pow_d((double)a, (double)b);
    case B_MAXIMUM: return js_max<C>((C)a, (C)b);
    case B_MINIMUM: return js_min<C>((C)a, (C)b);
    case B_EQ: return a == b ? C(1) : C(0);
    case B_NE: return a != b ? C(1) : C(0);
    case B_LT: return a < b ? C(1) : C(0);
    case B_LE: return a <= b ? C(1) : C(0);
    case B_GT: return a > b ? C(1) : C(0);
    case B_GE: return a >= b ? C(1) : C(0);
  }
  return C(0);
}

template <int OP>
__global__ void binary_f32_flat(const float* __restrict__ a, long long sa, const float* __restrict__ b, long long sb, float* __restrict__ out, long long n) {
  TESSERA_LOOP(i, n) out[i] = binary_op<float, float>(OP, a[i * sa], b[i * sb]);
}

template <class T>
__global__ void binary_strided(int op, const T* __restrict__ a, const T* __restrict__ b, T* __restrict__ out, long long n, Broadcast bc) {
  TESSERA_LOOP(i, n) {
    long long rem = i, ia = 0, ib = 0;
    for (int d = bc.rank - 1; d >= 0; d--) {
      long long c = rem % bc.shape[d];
      rem /= bc.shape[d];
      ia += c * bc.as[d];
      ib += c * bc.bs[d];
    }
    if (sizeof(T) == 4 && ((T)0.5) != 0)  // float
      out[i] = (T)binary_op<T, float>(op, a[ia], b[ib]);
    else
      out[i] = (T)js_toint32(binary_op<T, double>(op, a[ia], b[ib]));
  }
}

cudaError_t launch_binary(const LaunchContext& ctx, const double* args) {
  Args a(args);
  int op = a.n();
  int dtype = a.n();
  void* pa = a.p<void>();
  void* pb = a.p<void>();
  void* out = a.p<void>();
  long long n = a.l();
  Broadcast bc;
  bc.rank = a.n();
  if (bc.rank > MAX_RANK) return cudaErrorInvalidValue;
  for (int d = 0; d < bc.rank; d++) bc.shape[d] = a.n();
  for (int d = 0; d < bc.rank; d++) bc.as[d] = a.l();
  for (int d = 0; d < bc.rank; d++) bc.bs[d] = a.l();
  if (n == 0) return cudaSuccess;
  unsigned g = grid_for(n);
  // Collapsed to one dimension (same shapes, or a scalar operand): no index arithmetic.
  if (dtype == DT_F32 && bc.rank <= 1) {
    long long sa = bc.rank == 1 ? bc.as[0] : 0, sb = bc.rank == 1 ? bc.bs[0] : 0;
    const float *fa = (const float*)pa, *fb = (const float*)pb;
    float* fo = (float*)out;
    switch (op) {
#define TESSERA_BINARY_CASE(OP) \
  case OP: TESSERA_LAUNCH(g, THREADS, 0, ctx.stream, binary_f32_flat<OP>)(fa, sa, fb, sb, fo, n); break;
      TESSERA_BINARY_CASE(B_ADD)
      TESSERA_BINARY_CASE(B_SUB)
      TESSERA_BINARY_CASE(B_MUL)
      TESSERA_BINARY_CASE(B_DIV)
      TESSERA_BINARY_CASE(B_POW)
      TESSERA_BINARY_CASE(B_MAXIMUM)
      TESSERA_BINARY_CASE(B_MINIMUM)
      TESSERA_BINARY_CASE(B_EQ)
      TESSERA_BINARY_CASE(B_NE)
      TESSERA_BINARY_CASE(B_LT)
      TESSERA_BINARY_CASE(B_LE)
      TESSERA_BINARY_CASE(B_GT)
      TESSERA_BINARY_CASE(B_GE)
#undef TESSERA_BINARY_CASE
      default: return cudaErrorInvalidValue;
    }
    return launched();
  }
  if (dtype == DT_F32) TESSERA_LAUNCH(g, THREADS, 0, ctx.stream, binary_strided<float>)(op, (const float*)pa, (const float*)pb, (float*)out, n, bc);
  else TESSERA_LAUNCH(g, THREADS, 0, ctx.stream, binary_strided<int32_t>)(op, (const int32_t*)pa, (const int32_t*)pb, (int32_t*)out, n, bc);
  return launched();
}

// ---------------------------------------------------------------- copy
struct CopyGeometry {
  int rank;
  int shape[MAX_RANK];
  long long is[MAX_RANK];
  long long os[MAX_RANK];
  long long inOffset, outOffset;
};

template <class I, class O>
__device__ inline O cast_value(I v) {
  return (O)v;
}
template <>
__device__ inline int32_t cast_value<float, int32_t>(float v) {
  return js_toint32((double)v);
}

template <class I, class O>
__global__ void copy_strided(const I* __restrict__ x, O* __restrict__ out, long long n, CopyGeometry g) {
  TESSERA_LOOP(i, n) {
    long long rem = i, ii = g.inOffset, oo = g.outOffset;
    for (int d = g.rank - 1; d >= 0; d--) {
      long long c = rem % g.shape[d];
      rem /= g.shape[d];
      ii += c * g.is[d];
      oo += c * g.os[d];
    }
    out[oo] = cast_value<I, O>(x[ii]);
  }
}

cudaError_t launch_copy(const LaunchContext& ctx, const double* args) {
  Args a(args);
  void* x = a.p<void>();
  int xd = a.n();
  void* out = a.p<void>();
  int od = a.n();
  long long n = a.l();
  CopyGeometry g;
  g.rank = a.n();
  if (g.rank > MAX_RANK) return cudaErrorInvalidValue;
  g.inOffset = a.l();
  g.outOffset = a.l();
  for (int d = 0; d < g.rank; d++) g.shape[d] = a.n();
  for (int d = 0; d < g.rank; d++) g.is[d] = a.l();
  for (int d = 0; d < g.rank; d++) g.os[d] = a.l();
  if (n == 0) return cudaSuccess;
  unsigned gr = grid_for(n);
  if (xd == DT_F32 && od == DT_F32) TESSERA_LAUNCH(gr, THREADS, 0, ctx.stream, copy_strided<float, float>)((const float*)x, (float*)out, n, g);
  else if (xd == DT_I32 && od == DT_I32) TESSERA_LAUNCH(gr, THREADS, 0, ctx.stream, copy_strided<int32_t, int32_t>)((const int32_t*)x, (int32_t*)out, n, g);
  else if (xd == DT_F32) TESSERA_LAUNCH(gr, THREADS, 0, ctx.stream, copy_strided<float, int32_t>)((const float*)x, (int32_t*)out, n, g);
  else TESSERA_LAUNCH(gr, THREADS, 0, ctx.stream, copy_strided<int32_t, float>)((const int32_t*)x, (float*)out, n, g);
  return launched();
}

// ---------------------------------------------------------------- random
__global__ void random_kernel(float* __restrict__ out, long long n, RandomArgs r) {
  const long long blocks = (n + 3) / 4;
  TESSERA_LOOP(blk, blocks) {
    float v[4];
    long long base = blk * 4;
    int lanes = (int)(n - base < 4 ? n - base : 4);
    philox_block(r, (uint64_t)blk, lanes, v);
    for (int l = 0; l < lanes; l++) out[base + l] = v[l];
  }
}

cudaError_t launch_random(const LaunchContext& ctx, const double* args) {
  Args a(args);
  float* out = a.p<float>();
  long long n = a.l();
  RandomArgs r;
  r.dist = a.n();
  r.k0 = (uint32_t)a.f();
  r.k1 = (uint32_t)a.f();
  uint64_t lo = (uint64_t)a.f();
  uint64_t hi = (uint64_t)a.f();
  r.offset = lo | (hi << 32);
  r.c0 = (float)a.f();
  r.c1 = (float)a.f();
  r.c2 = (float)a.f();
  r.c3 = (float)a.f();
  if (n == 0) return cudaSuccess;
  TESSERA_LAUNCH(grid_for((n + 3) / 4), THREADS, 0, ctx.stream, random_kernel)(out, n, r);
  return launched();
}

// ---------------------------------------------------------------- sgd
struct SgdArgs {
  int pytorch;
  double lr, m, wd, damp;
  bool nesterov, first;
};

// In double then rounded once per store, exactly as the CPU backend evaluates it on float32 arrays.
__global__ void sgd_kernel(float* __restrict__ w, const float* __restrict__ g, float* __restrict__ vel, long long n, SgdArgs s) {
  TESSERA_LOOP(i, n) {
    double wi = w[i];
    double gi = g[i];
    if (!s.pytorch) {
      double a = s.wd * s.lr;
      if (vel) {
        double v = s.m * (double)vel[i] - a * wi - s.lr * gi;
        vel[i] = (float)v;
        w[i] = (float)(wi + v);
      } else {
        w[i] = (float)(wi - a * wi - s.lr * gi);
      }
    } else if (!vel) {
      w[i] = (float)(wi - s.lr * (gi + s.wd * wi));
    } else {
      double gg = gi + s.wd * wi;
      double v = s.first ? gg : s.m * (double)vel[i] + (1.0 - s.damp) * gg;
      vel[i] = (float)v;
      w[i] = (float)(wi - s.lr * (s.nesterov ? gg + s.m * v : v));
    }
  }
}

cudaError_t launch_sgd_update(const LaunchContext& ctx, const double* args) {
  Args a(args);
  float* w = a.p<float>();
  const float* g = a.p<const float>();
  float* v = a.p<float>();
  long long n = a.l();
  SgdArgs s;
  s.pytorch = a.n();
  s.lr = a.f();
  s.m = a.f();
  s.wd = a.f();
  s.damp = a.f();
  s.nesterov = a.b();
  s.first = a.b();
  if (n == 0) return cudaSuccess;
  TESSERA_LAUNCH(grid_for(n), THREADS, 0, ctx.stream, sgd_kernel)(w, g, v, n, s);
  return launched();
}

// ---------------------------------------------------------------- gather, gatherBackward, oneHot
template <class I, class O>
__global__ void gather_kernel(const I* __restrict__ x, const int32_t* __restrict__ idx, O* __restrict__ out, long long outer, int axisSize, long long inner, int count,
                              DeviceErrorRecord* err, int op) {
  const long long n = outer * count * inner;
  TESSERA_LOOP(i, n) {
    long long j = i % inner;
    long long t = (i / inner) % count;
    long long o = i / (inner * count);
    int k = idx[t];
    if (k < 0 || k >= axisSize) {
      report_index_error(err, op, k, t, axisSize);
      out[i] = (O)0;
    } else {
      out[i] = cast_value<I, O>(x[(o * axisSize + k) * inner + j]);
    }
  }
}

__global__ void gather_backward_kernel(const float* __restrict__ dy, const int32_t* __restrict__ idx, float* __restrict__ dx, long long outer, int axisSize, long long inner,
                                       int count, DeviceErrorRecord* err, int op) {
  const long long n = outer * count * inner;
  TESSERA_LOOP(i, n) {
    long long j = i % inner;
    long long t = (i / inner) % count;
    long long o = i / (inner * count);
    int k = idx[t];
    if (k < 0 || k >= axisSize) report_index_error(err, op, k, t, axisSize);
    else atomicAdd(&dx[(o * axisSize + k) * inner + j], dy[i]);
  }
}

cudaError_t launch_gather(const LaunchContext& ctx, const double* args) {
  Args a(args);
  void* x = a.p<void>();
  int xd = a.n();
  const int32_t* idx = a.p<const int32_t>();
  void* out = a.p<void>();
  int od = a.n();
  long long outer = a.l();
  int axisSize = a.n();
  long long inner = a.l();
  int count = a.n();
  long long n = outer * count * inner;
  if (n == 0) return cudaSuccess;
  unsigned g = grid_for(n);
  if (xd == DT_F32 && od == DT_F32)
    TESSERA_LAUNCH(g, THREADS, 0, ctx.stream, gather_kernel<float, float>)((const float*)x, idx, (float*)out, outer, axisSize, inner, count, ctx.errors, K_GATHER);
  else if (xd == DT_I32 && od == DT_I32)
    TESSERA_LAUNCH(g, THREADS, 0, ctx.stream, gather_kernel<int32_t, int32_t>)((const int32_t*)x, idx, (int32_t*)out, outer, axisSize, inner, count, ctx.errors, K_GATHER);
  else if (xd == DT_F32)
    TESSERA_LAUNCH(g, THREADS, 0, ctx.stream, gather_kernel<float, int32_t>)((const float*)x, idx, (int32_t*)out, outer, axisSize, inner, count, ctx.errors, K_GATHER);
  else
    TESSERA_LAUNCH(g, THREADS, 0, ctx.stream, gather_kernel<int32_t, float>)((const int32_t*)x, idx, (float*)out, outer, axisSize, inner, count, ctx.errors, K_GATHER);
  return launched();
}

cudaError_t launch_gather_backward(const LaunchContext& ctx, const double* args) {
  Args a(args);
  const float* dy = a.p<const float>();
  const int32_t* idx = a.p<const int32_t>();
  float* dx = a.p<float>();
  long long outer = a.l();
  int axisSize = a.n();
  long long inner = a.l();
  int count = a.n();
  long long nx = outer * axisSize * inner;
  if (nx > 0) {
    cudaError_t e = cudaMemsetAsync(dx, 0, (size_t)nx * sizeof(float), ctx.stream);
    if (e != cudaSuccess) return e;
  }
  long long n = outer * count * inner;
  if (n == 0) return cudaSuccess;
  TESSERA_LAUNCH(grid_for(n), THREADS, 0, ctx.stream, gather_backward_kernel)(dy, idx, dx, outer, axisSize, inner, count, ctx.errors, K_GATHER_BACKWARD);
  return launched();
}

__global__ void one_hot_kernel(const int32_t* __restrict__ idx, float* __restrict__ out, int n, int depth, DeviceErrorRecord* err) {
  TESSERA_LOOP(t, (long long)n) {
    int k = idx[t];
    if (k < 0 || k >= depth) report_index_error(err, K_ONE_HOT, k, t, depth);
    else out[t * (long long)depth + k] = 1.0f;
  }
}

cudaError_t launch_one_hot(const LaunchContext& ctx, const double* args) {
  Args a(args);
  const int32_t* idx = a.p<const int32_t>();
  float* out = a.p<float>();
  int n = a.n();
  int depth = a.n();
  long long total = (long long)n * depth;
  if (total == 0) return cudaSuccess;
  cudaError_t e = cudaMemsetAsync(out, 0, (size_t)total * sizeof(float), ctx.stream);
  if (e != cudaSuccess) return e;
  TESSERA_LAUNCH(grid_for(n), THREADS, 0, ctx.stream, one_hot_kernel)(idx, out, n, depth, ctx.errors);
  return launched();
}

}  // namespace tessera
