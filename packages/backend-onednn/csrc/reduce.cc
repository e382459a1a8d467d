// sum / max / min over any axis set, argmax / argmin over one axis, and topk — accumulating in double and
// propagating NaN the way the CPU reference backend (and PyTorch) do.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "kernels.h"

namespace tessera {

namespace {

template <class S>
void reduceTyped(int op, const S* x, S* out, const std::vector<int64_t>& shape, const std::vector<bool>& reduced) {
  const int rank = static_cast<int>(shape.size());
  std::vector<int64_t> strides(rank);
  for (int d = rank - 1, s = 1; d >= 0; d--) {
    strides[d] = s;
    s *= static_cast<int>(shape[d]);
  }
  std::vector<int64_t> keptShape, keptStride, redShape, redStride;
  for (int d = 0; d < rank; d++) {
    if (reduced[d]) {
      redShape.push_back(shape[d]);
      redStride.push_back(strides[d]);
    } else {
      keptShape.push_back(shape[d]);
      keptStride.push_back(strides[d]);
    }
  }
  int64_t outCount = 1, redCount = 1;
  for (auto e : keptShape) outCount *= e;
  for (auto e : redShape) redCount *= e;
  const double init = op == 0 ? 0.0 : op == 1 ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
  const int kr = static_cast<int>(redShape.size());
  // The innermost reduced dimension is walked as a run; the others by an odometer.
  const int64_t runLen = kr ? redShape[kr - 1] : 1;
  const int64_t runStride = kr ? redStride[kr - 1] : 0;
  const int64_t runs = kr ? redCount / std::max<int64_t>(runLen, 1) : 1;
#pragma omp parallel for schedule(static) if (outCount * redCount >= kParallelMin && outCount > 1)
  for (int64_t o = 0; o < outCount; o++) {
    int64_t base = 0;
    for (int64_t d = static_cast<int64_t>(keptShape.size()) - 1, r = o; d >= 0; d--) {
      base += (r % keptShape[d]) * keptStride[d];
      r /= keptShape[d];
    }
    double acc = init;
    for (int64_t q = 0; q < runs && redCount > 0; q++) {
      int64_t off = base;
      for (int d = kr - 2, r = static_cast<int>(q); d >= 0; d--) {
        off += (r % redShape[d]) * redStride[d];
        r /= static_cast<int>(redShape[d]);
      }
      const S* p = x + off;
      if (op == 0) {
        for (int64_t t = 0; t < runLen; t++) acc += static_cast<double>(p[t * runStride]);
      } else if (op == 1) {
        for (int64_t t = 0; t < runLen; t++) {
          const double v = p[t * runStride];
          if (v > acc || v != v) acc = v;
        }
      } else {
        for (int64_t t = 0; t < runLen; t++) {
          const double v = p[t * runStride];
          if (v < acc || v != v) acc = v;
        }
      }
    }
    out[o] = storeAs<S>(acc);
  }
}

}  // namespace

void reduce(Buf* b, Params& p) {
  const int op = p.i32();
  const int rank = p.i32();
  std::vector<int64_t> shape = p.vec(rank);
  std::vector<bool> reduced(rank);
  for (int d = 0; d < rank; d++) reduced[d] = p.flag();
  if (op < 0 || op > 2) throw KernelError("unknown reduce op " + std::to_string(op));
  const Buf &x = b[0], &out = b[1];
  if (x.dtype != out.dtype) throw KernelError("input and output dtypes differ");
  if (x.dtype == F32) reduceTyped(op, x.f(), out.f(), shape, reduced);
  else reduceTyped(op, x.i(), out.i(), shape, reduced);
}

namespace {

template <class S>
void argReduceTyped(bool isMax, const S* x, int32_t* idx, int64_t outer, int64_t size, int64_t inner) {
  const double sign = isMax ? 1.0 : -1.0;
#pragma omp parallel for schedule(static) if (outer * size * inner >= kParallelMin && outer > 1)
  for (int64_t o = 0; o < outer; o++) {
    const S* base = x + o * size * inner;
    int32_t* ob = idx + o * inner;
    for (int64_t j = 0; j < inner; j++) {
      double best = sign * static_cast<double>(base[j]);
      int32_t arg = 0;
      // The first NaN wins (NaN is the extreme, as in PyTorch); otherwise the first extreme value.
      for (int64_t s = 1; s < size; s++) {
        const double v = sign * static_cast<double>(base[s * inner + j]);
        if (v > best || (v != v && best == best)) {
          best = v;
          arg = static_cast<int32_t>(s);
        }
      }
      ob[j] = arg;
    }
  }
}

}  // namespace

void argReduce(Buf* b, Params& p) {
  const bool isMax = p.i32() == 0;
  const int64_t outer = p.i64(), size = p.i64(), inner = p.i64();
  const Buf &x = b[0], &out = b[1];
  if (size == 0) {
    if (outer * inner > 0) throw KernelError("cannot take an arg-reduction over an empty dimension");
    return;
  }
  if (x.dtype == F32) argReduceTyped(isMax, x.f(), out.i(), outer, size, inner);
  else argReduceTyped(isMax, x.i(), out.i(), outer, size, inner);
}

namespace {

template <class S>
void topkTyped(const S* x, S* values, int32_t* indices, int64_t rows, int64_t cols, int64_t k, bool largest) {
  // Rank keys, larger is better; NaN is the greatest value and tracked by its own flag.
  auto key = [largest](double v) {
    const double w = v != v ? std::numeric_limits<double>::infinity() : v;
    return largest ? w : -w;
  };
  auto before = [largest](double ka, int64_t ia, bool na, double kb, int64_t ib, bool nb) {
    if (na != nb) return largest ? na : nb;
    if (ka != kb) return ka > kb;
    return ia < ib;
  };
#pragma omp parallel for schedule(static) if (rows * cols >= kParallelMin && rows > 1)
  for (int64_t r = 0; r < rows; r++) {
    const S* row = x + r * cols;
    S* vo = values + r * k;
    int32_t* io = indices + r * k;
    if (k > 32) {
      std::vector<int64_t> order(cols);
      std::iota(order.begin(), order.end(), 0);
      std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
        const double va = row[a], vb = row[b];
        return before(key(va), a, va != va, key(vb), b, vb != vb);
      });
      for (int64_t t = 0; t < k; t++) {
        vo[t] = row[order[t]];
        io[t] = static_cast<int32_t>(order[t]);
      }
      continue;
    }
    double bestKey[32];
    bool bestNaN[32];
    int64_t bestIdx[32];
    int64_t filled = 0;
    for (int64_t j = 0; j < cols; j++) {
      const double v = row[j];
      const bool nan = v != v;
      const double kv = key(v);
      if (filled == k && (k == 0 || !before(kv, j, nan, bestKey[k - 1], bestIdx[k - 1], bestNaN[k - 1]))) continue;
      int64_t pos = filled < k ? filled++ : k - 1;
      while (pos > 0 && before(kv, j, nan, bestKey[pos - 1], bestIdx[pos - 1], bestNaN[pos - 1])) {
        bestKey[pos] = bestKey[pos - 1];
        bestIdx[pos] = bestIdx[pos - 1];
        bestNaN[pos] = bestNaN[pos - 1];
        pos--;
      }
      bestKey[pos] = kv;
      bestIdx[pos] = j;
      bestNaN[pos] = nan;
    }
    for (int64_t t = 0; t < k; t++) {
      vo[t] = row[bestIdx[t]];
      io[t] = static_cast<int32_t>(bestIdx[t]);
    }
  }
}

}  // namespace

void topk(Buf* b, Params& p) {
  const int64_t rows = p.i64(), cols = p.i64(), k = p.i64();
  const bool largest = p.flag();
  const Buf &x = b[0], &values = b[1], &indices = b[2];
  if (k > cols) throw KernelError("k " + std::to_string(k) + " exceeds the row length " + std::to_string(cols));
  if (x.dtype != values.dtype) throw KernelError("values must have the input's dtype");
  if (x.dtype == F32) topkTyped(x.f(), values.f(), indices.i(), rows, cols, k, largest);
  else topkTyped(x.i(), values.i(), indices.i(), rows, cols, k, largest);
}

}  // namespace tessera
