// fill, unary, broadcasting binary and the strided (casting) copy, for float32 and int32. Int32 results are
// computed in double and stored with ECMAScript ToInt32, as the CPU reference backend's Int32Array stores do.
#include <algorithm>
#include <cmath>
#include <limits>

#include "kernels.h"
#include "strided.h"

namespace tessera {

void fill(Buf* b, Params& p) {
  const Buf& out = b[0];
  const double v = p.num();
  const int64_t n = out.size;
  if (out.dtype == F32) {
    const float f = static_cast<float>(v);
    float* o = out.f();
#pragma omp parallel for schedule(static) if (n >= kParallelMin)
    for (int64_t i = 0; i < n; i++) o[i] = f;
  } else {
    const int32_t f = jsToInt32(v);
    std::fill(out.i(), out.i() + n, f);
  }
}

namespace {

inline float sigmoidf(float v) {
  if (v >= 0) return 1.0f / (1.0f + std::exp(-v));
  const float e = std::exp(v);
  return e / (1.0f + e);
}

template <class F>
void mapFloat(const float* a, float* o, int64_t n, F f) {
#pragma omp parallel for simd schedule(static) if (n >= kParallelMin)
  for (int64_t i = 0; i < n; i++) o[i] = f(a[i]);
}

template <class F>
void mapInt(const int32_t* a, int32_t* o, int64_t n, F f) {
#pragma omp parallel for schedule(static) if (n >= kParallelMin)
  for (int64_t i = 0; i < n; i++) o[i] = jsToInt32(f(static_cast<double>(a[i])));
}

double signOf(double v) { return v > 0 ? 1.0 : v < 0 ? -1.0 : v; }

}  // namespace

void unary(Buf* b, Params& p) {
  const int op = p.i32();
  const Buf &x = b[0], &out = b[1];
  const int64_t n = std::min(x.size, out.size);
  if (x.dtype != out.dtype) throw KernelError("input and output dtypes differ");
  if (out.dtype == F32) {
    const float* a = x.f();
    float* o = out.f();
    switch (op) {
      case U_NEG: return mapFloat(a, o, n, [](float v) { return -v; });
      case U_ABS: return mapFloat(a, o, n, [](float v) { return std::fabs(v); });
      case U_SIGN: return mapFloat(a, o, n, [](float v) { return v > 0 ? 1.0f : v < 0 ? -1.0f : v; });
      case U_EXP: return mapFloat(a, o, n, [](float v) { return std::exp(v); });
      case U_LOG: return mapFloat(a, o, n, [](float v) { return std::log(v); });
      case U_SQRT: return mapFloat(a, o, n, [](float v) { return std::sqrt(v); });
      case U_RSQRT: return mapFloat(a, o, n, [](float v) { return static_cast<float>(1.0 / std::sqrt(static_cast<double>(v))); });
      case U_SQUARE: return mapFloat(a, o, n, [](float v) { return v * v; });
      case U_RECIPROCAL: return mapFloat(a, o, n, [](float v) { return 1.0f / v; });
      // `v < 0 ? 0 : v` keeps NaN as NaN (PyTorch semantics).
      case U_RELU: return mapFloat(a, o, n, [](float v) { return v < 0 ? 0.0f : v; });
      case U_TANH: return mapFloat(a, o, n, [](float v) { return std::tanh(v); });
      case U_SIGMOID: return mapFloat(a, o, n, sigmoidf);
    }
  } else {
    const int32_t* a = x.i();
    int32_t* o = out.i();
    switch (op) {
      case U_NEG: return mapInt(a, o, n, [](double v) { return -v; });
      case U_ABS: return mapInt(a, o, n, [](double v) { return std::fabs(v); });
      case U_SIGN: return mapInt(a, o, n, signOf);
      case U_EXP: return mapInt(a, o, n, [](double v) { return std::exp(v); });
      case U_LOG: return mapInt(a, o, n, [](double v) { return std::log(v); });
      case U_SQRT: return mapInt(a, o, n, [](double v) { return std::sqrt(v); });
      case U_RSQRT: return mapInt(a, o, n, [](double v) { return 1.0 / std::sqrt(v); });
      case U_SQUARE: return mapInt(a, o, n, [](double v) { return v * v; });
      case U_RECIPROCAL: return mapInt(a, o, n, [](double v) { return 1.0 / v; });
      case U_RELU: return mapInt(a, o, n, [](double v) { return v < 0 ? 0.0 : v; });
      case U_TANH: return mapInt(a, o, n, [](double v) { return std::tanh(v); });
      case U_SIGMOID: return mapInt(a, o, n, [](double v) { return 1.0 / (1.0 + std::exp(-v)); });
    }
  }
  throw KernelError("unknown unary op " + std::to_string(op));
}

namespace {

/** Math.max / Math.min: NaN wins. */
template <class T>
inline T jsMax(T a, T b) {
  if (a != a || b != b) return std::numeric_limits<T>::quiet_NaN();
  return a > b ? a : b;
}
template <class T>
inline T jsMin(T a, T b) {
  if (a != a || b != b) return std::numeric_limits<T>::quiet_NaN();
  return a < b ? a : b;
}

/** One run: o[t] = a[t·sa] op b[t·sb]; T is the arithmetic type, S the storage type. */
template <class S, class T, class F>
inline void runBinary(const S* a, int64_t sa, const S* b, int64_t sb, S* o, int64_t n, F f) {
  if (sa == 1 && sb == 1) {
#pragma omp simd
    for (int64_t t = 0; t < n; t++) o[t] = storeAs<S>(f(static_cast<T>(a[t]), static_cast<T>(b[t])));
  } else if (sa == 1 && sb == 0) {
    const T bv = static_cast<T>(b[0]);
#pragma omp simd
    for (int64_t t = 0; t < n; t++) o[t] = storeAs<S>(f(static_cast<T>(a[t]), bv));
  } else if (sa == 0 && sb == 1) {
    const T av = static_cast<T>(a[0]);
#pragma omp simd
    for (int64_t t = 0; t < n; t++) o[t] = storeAs<S>(f(av, static_cast<T>(b[t])));
  } else {
    for (int64_t t = 0; t < n; t++) o[t] = storeAs<S>(f(static_cast<T>(a[t * sa]), static_cast<T>(b[t * sb])));
  }
}

template <class S, class T, class F>
void binaryLoop(const StridedLoop& loop, const S* a, const S* b, S* o, F f) {
  const int64_t n = loop.inner();
  const int64_t sa = loop.innerStride(0), sb = loop.innerStride(1);
  forEachRun(loop, [&](int64_t r) { runBinary<S, T>(a + loop.offset(0, r), sa, b + loop.offset(1, r), sb, o + r * n, n, f); });
}

template <class S, class T>
void binaryTyped(int op, const StridedLoop& loop, const S* a, const S* b, S* o) {
  switch (op) {
    case B_ADD: return binaryLoop<S, T>(loop, a, b, o, [](T x, T y) { return x + y; });
    case B_SUB: return binaryLoop<S, T>(loop, a, b, o, [](T x, T y) { return x - y; });
    case B_MUL: return binaryLoop<S, T>(loop, a, b, o, [](T x, T y) { return x * y; });
    case B_DIV: return binaryLoop<S, T>(loop, a, b, o, [](T x, T y) { return x / y; });
    // pow in double, like Math.pow, then rounded to the storage type.
    case B_POW: return binaryLoop<S, T>(loop, a, b, o, [](T x, T y) { return static_cast<T>(std::pow(static_cast<double>(x), static_cast<double>(y))); });
    case B_MAXIMUM: return binaryLoop<S, T>(loop, a, b, o, [](T x, T y) { return jsMax(x, y); });
    case B_MINIMUM: return binaryLoop<S, T>(loop, a, b, o, [](T x, T y) { return jsMin(x, y); });
    case B_EQ: return binaryLoop<S, T>(loop, a, b, o, [](T x, T y) { return x == y ? T(1) : T(0); });
    case B_NE: return binaryLoop<S, T>(loop, a, b, o, [](T x, T y) { return x != y ? T(1) : T(0); });
    case B_LT: return binaryLoop<S, T>(loop, a, b, o, [](T x, T y) { return x < y ? T(1) : T(0); });
    case B_LE: return binaryLoop<S, T>(loop, a, b, o, [](T x, T y) { return x <= y ? T(1) : T(0); });
    case B_GT: return binaryLoop<S, T>(loop, a, b, o, [](T x, T y) { return x > y ? T(1) : T(0); });
    case B_GE: return binaryLoop<S, T>(loop, a, b, o, [](T x, T y) { return x >= y ? T(1) : T(0); });
  }
  throw KernelError("unknown binary op " + std::to_string(op));
}

StridedLoop readLoop(Params& p, int sets) {
  StridedLoop loop;
  const int rank = p.i32();
  loop.shape = p.vec(rank);
  for (int s = 0; s < sets; s++) loop.strides.push_back(p.vec(rank));
  return loop;
}

}  // namespace

void binary(Buf* b, Params& p) {
  const int op = p.i32();
  StridedLoop loop = readLoop(p, 2);
  const Buf &a = b[0], &bb = b[1], &out = b[2];
  if (a.dtype != out.dtype || bb.dtype != out.dtype) throw KernelError("operand dtypes differ from the output's");
  if (out.dtype == F32) binaryTyped<float, float>(op, loop, a.f(), bb.f(), out.f());
  else binaryTyped<int32_t, double>(op, loop, a.i(), bb.i(), out.i());
}

namespace {

template <class S, class D>
inline D castTo(S v) {
  if constexpr (std::is_same_v<D, int32_t> && std::is_same_v<S, float>) return jsToInt32(static_cast<double>(v));
  else return static_cast<D>(v);
}

template <class S, class D>
void copyTyped(const StridedLoop& loop, const S* x, D* o) {
  const int64_t n = loop.inner();
  const int64_t si = loop.innerStride(0), so = loop.innerStride(1);
  forEachRun(loop, [&](int64_t r) {
    const S* src = x + loop.offset(0, r);
    D* dst = o + loop.offset(1, r);
    if (si == 1 && so == 1) {
      if constexpr (std::is_same_v<S, D>) std::memcpy(dst, src, n * sizeof(S));
      else
        for (int64_t t = 0; t < n; t++) dst[t] = castTo<S, D>(src[t]);
    } else {
      for (int64_t t = 0; t < n; t++) dst[t * so] = castTo<S, D>(src[t * si]);
    }
  });
}

}  // namespace

void copy(Buf* b, Params& p) {
  const int64_t inOffset = p.i64(), outOffset = p.i64();
  StridedLoop loop = readLoop(p, 2);
  const Buf &x = b[0], &out = b[1];
  if (x.dtype == F32 && out.dtype == F32) copyTyped(loop, x.f() + inOffset, out.f() + outOffset);
  else if (x.dtype == F32) copyTyped(loop, x.f() + inOffset, out.i() + outOffset);
  else if (out.dtype == F32) copyTyped(loop, x.i() + inOffset, out.f() + outOffset);
  else copyTyped(loop, x.i() + inOffset, out.i() + outOffset);
}

}  // namespace tessera
