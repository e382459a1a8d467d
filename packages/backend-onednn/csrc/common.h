// Shared by every kernel file: the buffer view the glue hands a kernel, the parameter reader, the error a
// kernel throws (the glue turns it into a JS Error naming the kernel), and JavaScript's number conversions,
// which the CPU reference backend applies on every store and which this backend must reproduce.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

namespace tessera {

enum DType : int { F32 = 0, I32 = 1 };

struct Buf {
  void* data = nullptr;
  int64_t size = 0;
  DType dtype = F32;
  bool present = false;
  float* f() const { return static_cast<float*>(data); }
  int32_t* i() const { return static_cast<int32_t*>(data); }
};

struct KernelError : std::runtime_error {
  explicit KernelError(const std::string& m) : std::runtime_error(m) {}
};

/** Sequential reader over the Float64Array of plain metadata that accompanies each launch. */
class Params {
 public:
  Params(const double* p, size_t n) : p_(p), n_(n) {}
  double num() {
    if (i_ >= n_) throw KernelError("too few kernel parameters");
    return p_[i_++];
  }
  int64_t i64() { return static_cast<int64_t>(num()); }
  int i32() { return static_cast<int>(num()); }
  bool flag() { return num() != 0; }
  std::vector<int64_t> vec(size_t n) {
    std::vector<int64_t> v(n);
    for (auto& x : v) x = i64();
    return v;
  }

 private:
  const double* p_;
  size_t n_;
  size_t i_ = 0;
};

/** ECMAScript ToInt32: truncate, wrap modulo 2³², NaN and ±∞ become 0 (what an Int32Array store does). */
inline int32_t jsToInt32(double v) {
  if (!std::isfinite(v)) return 0;
  double t = std::trunc(v);
  if (t >= -2147483648.0 && t <= 2147483647.0) return static_cast<int32_t>(t);
  double m = std::fmod(t, 4294967296.0);
  if (m < 0) m += 4294967296.0;
  return static_cast<int32_t>(static_cast<uint32_t>(m));
}

template <class T>
inline T storeAs(double v);
template <>
inline float storeAs<float>(double v) {
  return static_cast<float>(v);
}
template <>
inline int32_t storeAs<int32_t>(double v) {
  return jsToInt32(v);
}

/** Parallelise a loop only when it has enough work to pay for waking the OpenMP team (~a few µs). */
constexpr int64_t kParallelMin = 1 << 15;

}  // namespace tessera
