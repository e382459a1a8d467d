// Max (with the catalogue's argmax: flat row·w + col within the input plane), average (count_include_pad
// either way) and adaptive average pooling, forward and backward, one (image, channel) plane per OpenMP
// iteration. oneDNN's pooling keeps its own workspace layout rather than the argmax the core's gradient and
// other backends share, so these stay plain loops; they are a few percent of AlexNet's time.
#include <algorithm>
#include <cmath>
#include <limits>

#include "kernels.h"

namespace tessera {

namespace {

struct Pool {
  int64_t n, c, h, w, kh, kw, outH, outW, strideH, strideW, padH, padW;
  bool countIncludePad = false;
  static Pool read(Params& p, bool avg) {
    Pool q;
    q.n = p.i64(), q.c = p.i64(), q.h = p.i64(), q.w = p.i64(), q.kh = p.i64(), q.kw = p.i64();
    q.outH = p.i64(), q.outW = p.i64(), q.strideH = p.i64(), q.strideW = p.i64(), q.padH = p.i64(), q.padW = p.i64();
    if (avg) q.countIncludePad = p.flag();
    return q;
  }
  int64_t planes() const { return n * c; }
  int64_t divisor(int64_t h0, int64_t w0) const {
    if (countIncludePad) return kh * kw;
    const int64_t rows = std::min(h, h0 + kh) - std::max<int64_t>(0, h0);
    const int64_t cols = std::min(w, w0 + kw) - std::max<int64_t>(0, w0);
    return std::max<int64_t>(0, rows) * std::max<int64_t>(0, cols);
  }
};

}  // namespace

void maxPool2d(Buf* b, Params& p) {
  const Pool q = Pool::read(p, false);
  const float* x = b[0].f();
  float* y = b[1].f();
  int32_t* argmax = b[2].i();
  const int64_t plane = q.h * q.w, outPlane = q.outH * q.outW;
#pragma omp parallel for schedule(static) if (q.planes() * plane >= kParallelMin)
  for (int64_t pl = 0; pl < q.planes(); pl++) {
    const float* X = x + pl * plane;
    float* Y = y + pl * outPlane;
    int32_t* A = argmax + pl * outPlane;
    for (int64_t oh = 0; oh < q.outH; oh++) {
      const int64_t h0 = oh * q.strideH - q.padH;
      const int64_t r0 = std::max<int64_t>(0, h0), r1 = std::min(q.h, h0 + q.kh);
      for (int64_t ow = 0; ow < q.outW; ow++) {
        const int64_t w0 = ow * q.strideW - q.padW;
        const int64_t c0 = std::max<int64_t>(0, w0), c1 = std::min(q.w, w0 + q.kw);
        float best = -std::numeric_limits<float>::infinity();
        int64_t arg = -1;
        if (r0 < r1 && c0 < c1) {
          // The first maximum wins; the first NaN is kept (PyTorch propagates NaN): a value is taken when it
          // is not ≤ the best so far and the best is not NaN yet. Selects, not branches: on real activations
          // the comparison's outcome is unpredictable.
          arg = r0 * q.w + c0;
          best = X[arg];
          for (int64_t r = r0; r < r1; r++)
            for (int64_t col = (r == r0 ? c0 + 1 : c0); col < c1; col++) {
              const float v = X[r * q.w + col];
              const bool take = !(v <= best) & (best == best);
              best = take ? v : best;
              arg = take ? r * q.w + col : arg;
            }
        }
        Y[oh * q.outW + ow] = best;
        A[oh * q.outW + ow] = static_cast<int32_t>(arg);
      }
    }
  }
}

void maxPool2dBackward(Buf* b, Params& p) {
  const Pool q = Pool::read(p, false);
  const float* dy = b[0].f();
  const int32_t* argmax = b[1].i();
  float* dx = b[2].f();
  const int64_t plane = q.h * q.w, outPlane = q.outH * q.outW;
#pragma omp parallel for schedule(static) if (q.planes() * plane >= kParallelMin)
  for (int64_t pl = 0; pl < q.planes(); pl++) {
    float* DX = dx + pl * plane;
    std::fill(DX, DX + plane, 0.0f);
    const float* DY = dy + pl * outPlane;
    const int32_t* A = argmax + pl * outPlane;
    for (int64_t t = 0; t < outPlane; t++)
      if (A[t] >= 0 && A[t] < plane) DX[A[t]] += DY[t];
  }
}

void avgPool2d(Buf* b, Params& p) {
  const Pool q = Pool::read(p, true);
  const float* x = b[0].f();
  float* y = b[1].f();
  const int64_t plane = q.h * q.w, outPlane = q.outH * q.outW;
#pragma omp parallel for schedule(static) if (q.planes() * plane >= kParallelMin)
  for (int64_t pl = 0; pl < q.planes(); pl++) {
    const float* X = x + pl * plane;
    float* Y = y + pl * outPlane;
    for (int64_t oh = 0; oh < q.outH; oh++) {
      const int64_t h0 = oh * q.strideH - q.padH;
      const int64_t r0 = std::max<int64_t>(0, h0), r1 = std::min(q.h, h0 + q.kh);
      for (int64_t ow = 0; ow < q.outW; ow++) {
        const int64_t w0 = ow * q.strideW - q.padW;
        const int64_t c0 = std::max<int64_t>(0, w0), c1 = std::min(q.w, w0 + q.kw);
        double sum = 0;
        for (int64_t r = r0; r < r1; r++)
          for (int64_t col = c0; col < c1; col++) sum += X[r * q.w + col];
        const int64_t div = q.divisor(h0, w0);
        // A window wholly in the padding averages nothing: 0 rather than 0/0.
        Y[oh * q.outW + ow] = div > 0 ? static_cast<float>(sum / div) : 0.0f;
      }
    }
  }
}

void avgPool2dBackward(Buf* b, Params& p) {
  const Pool q = Pool::read(p, true);
  const float* dy = b[0].f();
  float* dx = b[1].f();
  const int64_t plane = q.h * q.w, outPlane = q.outH * q.outW;
#pragma omp parallel for schedule(static) if (q.planes() * plane >= kParallelMin)
  for (int64_t pl = 0; pl < q.planes(); pl++) {
    float* DX = dx + pl * plane;
    std::fill(DX, DX + plane, 0.0f);
    const float* DY = dy + pl * outPlane;
    for (int64_t oh = 0; oh < q.outH; oh++) {
      const int64_t h0 = oh * q.strideH - q.padH;
      const int64_t r0 = std::max<int64_t>(0, h0), r1 = std::min(q.h, h0 + q.kh);
      for (int64_t ow = 0; ow < q.outW; ow++) {
        const int64_t w0 = ow * q.strideW - q.padW;
        const int64_t c0 = std::max<int64_t>(0, w0), c1 = std::min(q.w, w0 + q.kw);
        const int64_t div = q.divisor(h0, w0);
        if (div == 0) continue;
        const float g = static_cast<float>(static_cast<double>(DY[oh * q.outW + ow]) / div);
        for (int64_t r = r0; r < r1; r++)
          for (int64_t col = c0; col < c1; col++) DX[r * q.w + col] += g;
      }
    }
  }
}

namespace {

/** Adaptive bin i of `out` over `size` cells: [⌊i·size/out⌋, ⌈(i+1)·size/out⌉). */
inline void bin(int64_t i, int64_t size, int64_t out, int64_t& lo, int64_t& hi) {
  lo = (i * size) / out;
  hi = ((i + 1) * size + out - 1) / out;
}

}  // namespace

void adaptiveAvgPool2d(Buf* b, Params& p) {
  const int64_t n = p.i64(), c = p.i64(), h = p.i64(), w = p.i64(), outH = p.i64(), outW = p.i64();
  const float* x = b[0].f();
  float* y = b[1].f();
  const int64_t planes = n * c, plane = h * w, outPlane = outH * outW;
#pragma omp parallel for schedule(static) if (planes * plane >= kParallelMin)
  for (int64_t pl = 0; pl < planes; pl++) {
    const float* X = x + pl * plane;
    float* Y = y + pl * outPlane;
    for (int64_t oh = 0; oh < outH; oh++) {
      int64_t r0, r1;
      bin(oh, h, outH, r0, r1);
      for (int64_t ow = 0; ow < outW; ow++) {
        int64_t c0, c1;
        bin(ow, w, outW, c0, c1);
        double sum = 0;
        for (int64_t r = r0; r < r1; r++)
          for (int64_t col = c0; col < c1; col++) sum += X[r * w + col];
        const int64_t count = (r1 - r0) * (c1 - c0);
        Y[oh * outW + ow] = count > 0 ? static_cast<float>(sum / count) : 0.0f;
      }
    }
  }
}

void adaptiveAvgPool2dBackward(Buf* b, Params& p) {
  const int64_t n = p.i64(), c = p.i64(), h = p.i64(), w = p.i64(), outH = p.i64(), outW = p.i64();
  const float* dy = b[0].f();
  float* dx = b[1].f();
  const int64_t planes = n * c, plane = h * w, outPlane = outH * outW;
#pragma omp parallel for schedule(static) if (planes * plane >= kParallelMin)
  for (int64_t pl = 0; pl < planes; pl++) {
    float* DX = dx + pl * plane;
    std::fill(DX, DX + plane, 0.0f);
    const float* DY = dy + pl * outPlane;
    for (int64_t oh = 0; oh < outH; oh++) {
      int64_t r0, r1;
      bin(oh, h, outH, r0, r1);
      for (int64_t ow = 0; ow < outW; ow++) {
        int64_t c0, c1;
        bin(ow, w, outW, c0, c1);
        const int64_t count = (r1 - r0) * (c1 - c0);
        if (count == 0) continue;
        const float g = static_cast<float>(static_cast<double>(DY[oh * outW + ow]) / count);
        for (int64_t r = r0; r < r1; r++)
          for (int64_t col = c0; col < c1; col++) DX[r * w + col] += g;
      }
    }
  }
}

}  // namespace tessera
