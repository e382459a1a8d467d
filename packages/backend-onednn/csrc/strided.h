// A strided walk over a collapsed shape, split across OpenMP threads by innermost runs: every run starts
// at offsets computed from its own index, so threads need no shared odometer.
#pragma once
#include <cstdint>
#include <vector>

#include "common.h"

namespace tessera {

struct StridedLoop {
  std::vector<int64_t> shape;
  std::vector<std::vector<int64_t>> strides;  // one stride set per operand, same rank as shape

  int rank() const { return static_cast<int>(shape.size()); }
  int64_t inner() const { return shape.empty() ? 1 : shape.back(); }
  int64_t innerStride(size_t s) const { return shape.empty() ? 0 : strides[s].back(); }
  int64_t runs() const {
    int64_t r = 1;
    for (int d = 0; d + 1 < rank(); d++) r *= shape[d];
    return shape.empty() ? 1 : r;
  }
  /** Start offset (relative to the operand's base) of run `r` in stride set `s`. */
  int64_t offset(size_t s, int64_t r) const {
    int64_t off = 0;
    for (int d = rank() - 2; d >= 0; d--) {
      int64_t ext = shape[d];
      off += (r % ext) * strides[s][d];
      r /= ext;
    }
    return off;
  }
  int64_t total() const {
    int64_t t = 1;
    for (auto e : shape) t *= e;
    return t;
  }
};

/** Runs fn(run index) for every run, in parallel when the loop holds enough elements. */
template <class Fn>
inline void forEachRun(const StridedLoop& loop, Fn fn) {
  const int64_t runs = loop.runs();
  if (loop.total() == 0) return;
#pragma omp parallel for schedule(static) if (loop.total() >= kParallelMin && runs > 1)
  for (int64_t r = 0; r < runs; r++) fn(r);
}

}  // namespace tessera
