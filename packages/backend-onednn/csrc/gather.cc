// Index selection along one axis, its adjoint (repeated indices add up) and one-hot; indices are checked
// before anything is written, and a bad one is an error naming its position.
#include <algorithm>
#include <cstring>

#include "kernels.h"

namespace tessera {

namespace {

void checkIndices(const int32_t* idx, int64_t count, int64_t size) {
  for (int64_t t = 0; t < count; t++)
    if (idx[t] < 0 || idx[t] >= size)
      throw KernelError("index " + std::to_string(idx[t]) + " at position " + std::to_string(t) + " is outside [0, " + std::to_string(size) + ")");
}

template <class S, class D>
void gatherTyped(const S* x, const int32_t* idx, D* out, int64_t outer, int64_t axisSize, int64_t inner, int64_t count) {
#pragma omp parallel for schedule(static) if (outer * count * inner >= kParallelMin && outer * count > 1)
  for (int64_t q = 0; q < outer * count; q++) {
    const int64_t o = q / count, t = q % count;
    const S* src = x + (o * axisSize + idx[t]) * inner;
    D* dst = out + q * inner;
    if constexpr (std::is_same_v<S, D>) std::memcpy(dst, src, inner * sizeof(S));
    else
      for (int64_t j = 0; j < inner; j++) dst[j] = static_cast<D>(src[j]);
  }
}

}  // namespace

void gather(Buf* b, Params& p) {
  const int64_t outer = p.i64(), axisSize = p.i64(), inner = p.i64(), count = p.i64();
  const Buf &x = b[0], &indices = b[1], &out = b[2];
  checkIndices(indices.i(), count, axisSize);
  if (x.dtype != out.dtype) throw KernelError("input and output dtypes differ");
  if (x.dtype == F32) gatherTyped(x.f(), indices.i(), out.f(), outer, axisSize, inner, count);
  else gatherTyped(x.i(), indices.i(), out.i(), outer, axisSize, inner, count);
}

void gatherBackward(Buf* b, Params& p) {
  const int64_t outer = p.i64(), axisSize = p.i64(), inner = p.i64(), count = p.i64();
  const float* dy = b[0].f();
  const int32_t* idx = b[1].i();
  float* dx = b[2].f();
  checkIndices(idx, count, axisSize);
  // Each outer slice is owned by one thread, so repeated indices accumulate without races.
#pragma omp parallel for schedule(static) if (outer * count * inner >= kParallelMin && outer > 1)
  for (int64_t o = 0; o < outer; o++) {
    float* DX = dx + o * axisSize * inner;
    std::fill(DX, DX + axisSize * inner, 0.0f);
    for (int64_t t = 0; t < count; t++) {
      const float* src = dy + (o * count + t) * inner;
      float* dst = DX + idx[t] * inner;
      for (int64_t j = 0; j < inner; j++) dst[j] += src[j];
    }
  }
}

void oneHot(Buf* b, Params& p) {
  const int64_t n = p.i64(), depth = p.i64();
  const int32_t* idx = b[0].i();
  float* out = b[1].f();
  checkIndices(idx, n, depth);
  std::fill(out, out + n * depth, 0.0f);
  for (int64_t t = 0; t < n; t++) out[t * depth + idx[t]] = 1.0f;
}

}  // namespace tessera
