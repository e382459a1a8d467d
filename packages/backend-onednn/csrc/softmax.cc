// Softmax / log-softmax over rows and the cross-entropy loss and gradient, max-shifted, summed in double.
// Rows are short (classes), so plain loops beat a oneDNN primitive's setup; labels are checked before any
// output is written, and a bad one is an error naming the row.
#include <cmath>
#include <limits>

#include "kernels.h"

namespace tessera {

namespace {

/** max (the shift) and log Σ exp(x − max) of one row; an all −∞ row shifts by 0 for an honest −∞. */
inline void rowStats(const float* x, int64_t cols, double& shift, double& logSum) {
  double max = -std::numeric_limits<double>::infinity();
  for (int64_t j = 0; j < cols; j++) {
    const double v = x[j];
    if (v > max || v != v) max = v;
  }
  shift = max == -std::numeric_limits<double>::infinity() ? 0.0 : max;
  double sum = 0;
  for (int64_t j = 0; j < cols; j++) sum += std::exp(static_cast<double>(x[j]) - shift);
  logSum = std::log(sum);
}

void checkLabels(const int32_t* labels, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; r++) {
    const int32_t l = labels[r];
    if (l < 0 || l >= cols) throw KernelError("label " + std::to_string(l) + " at row " + std::to_string(r) + " is outside [0, " + std::to_string(cols) + ")");
  }
}

}  // namespace

void softmax(Buf* b, Params& p) {
  const int64_t rows = p.i64(), cols = p.i64();
  const bool log = p.flag();
  const float* x = b[0].f();
  float* out = b[1].f();
#pragma omp parallel for schedule(static) if (rows * cols >= kParallelMin && rows > 1)
  for (int64_t r = 0; r < rows; r++) {
    const float* xr = x + r * cols;
    float* o = out + r * cols;
    double shift, logSum;
    rowStats(xr, cols, shift, logSum);
    if (log) {
      const double c = shift + logSum;
      for (int64_t j = 0; j < cols; j++) o[j] = static_cast<float>(xr[j] - c);
    } else {
      const double inv = std::exp(-logSum);
      for (int64_t j = 0; j < cols; j++) o[j] = static_cast<float>(std::exp(xr[j] - shift) * inv);
    }
  }
}

void crossEntropy(Buf* b, Params& p) {
  const int64_t rows = p.i64(), cols = p.i64();
  const float* x = b[0].f();
  const int32_t* labels = b[1].i();
  float* losses = b[2].f();
  checkLabels(labels, rows, cols);
#pragma omp parallel for schedule(static) if (rows * cols >= kParallelMin && rows > 1)
  for (int64_t r = 0; r < rows; r++) {
    double shift, logSum;
    rowStats(x + r * cols, cols, shift, logSum);
    losses[r] = static_cast<float>(shift + logSum - x[r * cols + labels[r]]);
  }
}

void crossEntropyBackward(Buf* b, Params& p) {
  const int64_t rows = p.i64(), cols = p.i64();
  const float* x = b[0].f();
  const int32_t* labels = b[1].i();
  const float* dlosses = b[2].f();
  float* dlogits = b[3].f();
  checkLabels(labels, rows, cols);
#pragma omp parallel for schedule(static) if (rows * cols >= kParallelMin && rows > 1)
  for (int64_t r = 0; r < rows; r++) {
    const float* xr = x + r * cols;
    float* o = dlogits + r * cols;
    double shift, logSum;
    rowStats(xr, cols, shift, logSum);
    const double g = dlosses[r];
    const double inv = std::exp(-logSum);
    const int32_t label = labels[r];
    for (int64_t j = 0; j < cols; j++) {
      const double prob = std::exp(xr[j] - shift) * inv;
      o[j] = static_cast<float>((j == label ? prob - 1 : prob) * g);
    }
  }
}

}  // namespace tessera
