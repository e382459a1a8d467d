// Local response normalisation across channels with the catalogue's window (c−⌊size/2⌋ … c+⌊(size−1)/2⌋,
// which for even sizes differs from oneDNN's centred window) and alpha/size convention:
//   s_c = k + α/size · Σ x_j²,  y_c = x_c · s_c^−β,
//   dx_i = dy_i · s_i^−β − (2αβ/size) · x_i · Σ_{j=i−hi}^{i+lo} dy_j · y_j / s_j.
// Work is split into (image, block of pixels) tiles so each thread streams contiguous runs of every channel
// plane; window sums slide along the channels in double.
#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels.h"

namespace tessera {

namespace {

constexpr int64_t kBlock = 256;

struct Lrn {
  int64_t n, c, h, w, size;
  double alpha, beta, k;
  static Lrn read(Params& p) {
    Lrn q;
    q.n = p.i64(), q.c = p.i64(), q.h = p.i64(), q.w = p.i64(), q.size = p.i64();
    q.alpha = p.num(), q.beta = p.num(), q.k = p.num();
    return q;
  }
  int64_t lo() const { return size / 2; }
  int64_t hi() const { return (size - 1) / 2; }
};

/** out[i] = s[i]^−β for i < len; β = 0.75 (AlexNet's) as a loop of square roots that vectorises. */
inline void negPowRow(const double* __restrict s, double* __restrict out, int64_t len, double beta) {
  if (beta == 0.75) {
#pragma omp simd
    for (int64_t i = 0; i < len; i++) {
      const double r = std::sqrt(s[i]);
      out[i] = 1.0 / (r * std::sqrt(r));
    }
  } else {
    for (int64_t i = 0; i < len; i++) out[i] = std::pow(s[i], -beta);
  }
}

/**
 * win[ch·B + t] = Σ_{j=ch−before}^{ch+after} v(j, t) for every channel, sliding the window: add the channel
 * entering, drop the one leaving.
 */
template <class V>
void slidingSums(int64_t c, int64_t len, int64_t before, int64_t after, V v, double* acc, double* out) {
  std::fill(acc, acc + len, 0.0);
  for (int64_t j = 0; j <= std::min(after, c - 1); j++)
    for (int64_t t = 0; t < len; t++) acc[t] += v(j, t);
  for (int64_t ch = 0; ch < c; ch++) {
    std::copy(acc, acc + len, out + ch * len);
    const int64_t enter = ch + 1 + after, leave = ch - before;
    if (enter < c)
      for (int64_t t = 0; t < len; t++) acc[t] += v(enter, t);
    if (leave >= 0)
      for (int64_t t = 0; t < len; t++) acc[t] -= v(leave, t);
  }
}

}  // namespace

void lrn(Buf* b, Params& p) {
  const Lrn q = Lrn::read(p);
  const float* x = b[0].f();
  float* y = b[1].f();
  const int64_t plane = q.h * q.w, blocks = (plane + kBlock - 1) / kBlock;
  const double a = q.alpha / q.size;
#pragma omp parallel
  {
    std::vector<double> acc(kBlock), win(q.c * kBlock), scale(q.c * kBlock);
#pragma omp for schedule(static)
    for (int64_t tile = 0; tile < q.n * blocks; tile++) {
      const int64_t img = tile / blocks, t0 = (tile % blocks) * kBlock, len = std::min(kBlock, plane - t0);
      const float* X = x + img * q.c * plane + t0;
      float* Y = y + img * q.c * plane + t0;
      auto sq = [&](int64_t j, int64_t t) {
        const double v = X[j * plane + t];
        return v * v;
      };
      slidingSums(q.c, len, q.lo(), q.hi(), sq, acc.data(), win.data());
      double* W = win.data();
      for (int64_t i = 0; i < q.c * len; i++) W[i] = q.k + a * W[i];
      negPowRow(W, scale.data(), q.c * len, q.beta);
      for (int64_t ch = 0; ch < q.c; ch++) {
        const float* __restrict Xc = X + ch * plane;
        float* __restrict Yc = Y + ch * plane;
        const double* __restrict S = scale.data() + ch * len;
#pragma omp simd
        for (int64_t t = 0; t < len; t++) Yc[t] = static_cast<float>(Xc[t] * S[t]);
      }
    }
  }
}

void lrnBackward(Buf* b, Params& p) {
  const Lrn q = Lrn::read(p);
  const float* x = b[0].f();
  const float* y = b[1].f();
  const float* dy = b[2].f();
  float* dx = b[3].f();
  const int64_t plane = q.h * q.w, blocks = (plane + kBlock - 1) / kBlock;
  const double a = q.alpha / q.size, coef = 2 * q.alpha * q.beta / q.size;
#pragma omp parallel
  {
    std::vector<double> acc(kBlock), scale(q.c * kBlock), work(q.c * kBlock), win(q.c * kBlock), powered(q.c * kBlock);
#pragma omp for schedule(static)
    for (int64_t tile = 0; tile < q.n * blocks; tile++) {
      const int64_t img = tile / blocks, t0 = (tile % blocks) * kBlock, len = std::min(kBlock, plane - t0);
      const int64_t base = img * q.c * plane + t0;
      const float *X = x + base, *Y = y + base, *DY = dy + base;
      float* DX = dx + base;
      // s is recomputed from x: recovering it from y = x·s^−β is ill-conditioned where x ≈ 0.
      auto sq = [&](int64_t j, int64_t t) {
        const double v = X[j * plane + t];
        return v * v;
      };
      slidingSums(q.c, len, q.lo(), q.hi(), sq, acc.data(), scale.data());
      for (int64_t i = 0; i < q.c * len; i++) scale[i] = q.k + a * scale[i];
      for (int64_t ch = 0; ch < q.c; ch++)
        for (int64_t t = 0; t < len; t++) work[ch * len + t] = static_cast<double>(DY[ch * plane + t]) * Y[ch * plane + t] / scale[ch * len + t];
      // x_i appears in the windows of channels i−hi … i+lo.
      auto wk = [&](int64_t j, int64_t t) { return work[j * len + t]; };
      slidingSums(q.c, len, q.hi(), q.lo(), wk, acc.data(), win.data());
      negPowRow(scale.data(), powered.data(), q.c * len, q.beta);
      for (int64_t ch = 0; ch < q.c; ch++) {
        const float* __restrict Xc = X + ch * plane;
        const float* __restrict DYc = DY + ch * plane;
        float* __restrict DXc = DX + ch * plane;
        const double* __restrict P = powered.data() + ch * len;
        const double* __restrict Wn = win.data() + ch * len;
#pragma omp simd
        for (int64_t t = 0; t < len; t++) DXc[t] = static_cast<float>(DYc[t] * P[t] - coef * Xc[t] * Wn[t]);
      }
    }
  }
}

}  // namespace tessera
