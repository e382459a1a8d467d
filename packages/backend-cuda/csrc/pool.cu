// Max / average / adaptive-average pooling and their gradients, and cross-channel LRN with its gradient.
// Backward kernels run one thread per input element and gather from the windows that cover it (no atomics,
// deterministic, summed in the CPU backend's window order).
#include "common.cuh"

namespace tessera {

struct PoolGeometry {
  int n, c, h, w, kh, kw, outH, outW, sh, sw, ph, pw;
  bool countIncludePad;
};

static PoolGeometry read_pool(Args& a, bool avg) {
  PoolGeometry g;
  g.n = a.n();
  g.c = a.n();
  g.h = a.n();
  g.w = a.n();
  g.kh = a.n();
  g.kw = a.n();
  g.outH = a.n();
  g.outW = a.n();
  g.sh = a.n();
  g.sw = a.n();
  g.ph = a.n();
  g.pw = a.n();
  g.countIncludePad = avg ? a.b() : false;
  return g;
}

/** Output windows along one axis that cover input position i: [lo, hi] (empty when lo > hi). */
__device__ inline void covering(int i, int pad, int k, int stride, int out, int& lo, int& hi) {
  const int num = i + pad - k + 1;
  lo = num <= 0 ? 0 : (num + stride - 1) / stride;
  hi = (i + pad) / stride;
  if (hi > out - 1) hi = out - 1;
}

__global__ void max_pool_kernel(const float* __restrict__ x, float* __restrict__ y, int32_t* __restrict__ argmax, PoolGeometry g) {
  const long long total = (long long)g.n * g.c * g.outH * g.outW;
  TESSERA_LOOP(o, total) {
    const int ow = (int)(o % g.outW);
    const int oh = (int)((o / g.outW) % g.outH);
    const long long q = o / ((long long)g.outW * g.outH);
    const float* plane = x + q * g.h * g.w;
    const int h0 = oh * g.sh - g.ph, w0 = ow * g.sw - g.pw;
    const int r0 = max(0, h0), r1 = min(g.h, h0 + g.kh);
    const int c0 = max(0, w0), c1 = min(g.w, w0 + g.kw);
    float best = -INFINITY;
    int arg = -1;
    if (r0 < r1 && c0 < c1) {
      // The first maximum wins; the first NaN ends the search (PyTorch propagates NaN).
      arg = r0 * g.w + c0;
      best = plane[arg];
      bool done = best != best;
      for (int r = r0; r < r1 && !done; r++)
        for (int col = (r == r0 ? c0 + 1 : c0); col < c1; col++) {
          const float v = plane[r * g.w + col];
          if (!(v <= best)) {
            best = v;
            arg = r * g.w + col;
            if (v != v) {
              done = true;
              break;
            }
          }
        }
    }
    y[o] = best;
    argmax[o] = arg;
  }
}

__global__ void max_pool_backward_kernel(const float* __restrict__ dy, const int32_t* __restrict__ argmax, float* __restrict__ dx, PoolGeometry g) {
  const long long total = (long long)g.n * g.c * g.h * g.w;
  TESSERA_LOOP(i, total) {
    const int iw = (int)(i % g.w);
    const int ih = (int)((i / g.w) % g.h);
    const long long q = i / ((long long)g.w * g.h);
    const int self = ih * g.w + iw;
    int ohLo, ohHi, owLo, owHi;
    covering(ih, g.ph, g.kh, g.sh, g.outH, ohLo, ohHi);
    covering(iw, g.pw, g.kw, g.sw, g.outW, owLo, owHi);
    const long long ob = q * g.outH * g.outW;
    double acc = 0;
    for (int oh = ohLo; oh <= ohHi; oh++)
      for (int ow = owLo; ow <= owHi; ow++) {
        const long long o = ob + (long long)oh * g.outW + ow;
        if (argmax[o] == self) acc += (double)dy[o];
      }
    dx[i] = (float)acc;
  }
}

__device__ inline int avg_divisor(const PoolGeometry& g, int h0, int w0) {
  if (g.countIncludePad) return g.kh * g.kw;
  const int rows = min(g.h, h0 + g.kh) - max(0, h0);
  const int cols = min(g.w, w0 + g.kw) - max(0, w0);
  return max(0, rows) * max(0, cols);
}

__global__ void avg_pool_kernel(const float* __restrict__ x, float* __restrict__ y, PoolGeometry g) {
  const long long total = (long long)g.n * g.c * g.outH * g.outW;
  TESSERA_LOOP(o, total) {
    const int ow = (int)(o % g.outW);
    const int oh = (int)((o / g.outW) % g.outH);
    const long long q = o / ((long long)g.outW * g.outH);
    const float* plane = x + q * g.h * g.w;
    const int h0 = oh * g.sh - g.ph, w0 = ow * g.sw - g.pw;
    const int r0 = max(0, h0), r1 = min(g.h, h0 + g.kh);
    const int c0 = max(0, w0), c1 = min(g.w, w0 + g.kw);
    double sum = 0;
    for (int r = r0; r < r1; r++)
      for (int col = c0; col < c1; col++) sum += (double)plane[r * g.w + col];
    const int div = avg_divisor(g, h0, w0);
    y[o] = div > 0 ? (float)(sum / div) : 0.0f;
  }
}

__global__ void avg_pool_backward_kernel(const float* __restrict__ dy, float* __restrict__ dx, PoolGeometry g) {
  const long long total = (long long)g.n * g.c * g.h * g.w;
  TESSERA_LOOP(i, total) {
    const int iw = (int)(i % g.w);
    const int ih = (int)((i / g.w) % g.h);
    const long long q = i / ((long long)g.w * g.h);
    int ohLo, ohHi, owLo, owHi;
    covering(ih, g.ph, g.kh, g.sh, g.outH, ohLo, ohHi);
    covering(iw, g.pw, g.kw, g.sw, g.outW, owLo, owHi);
    const long long ob = q * g.outH * g.outW;
    double acc = 0;
    for (int oh = ohLo; oh <= ohHi; oh++)
      for (int ow = owLo; ow <= owHi; ow++) {
        const int div = avg_divisor(g, oh * g.sh - g.ph, ow * g.sw - g.pw);
        if (div == 0) continue;
        acc += (double)dy[ob + (long long)oh * g.outW + ow] / div;
      }
    dx[i] = (float)acc;
  }
}

cudaError_t launch_max_pool2d(const LaunchContext& ctx, const double* args) {
  Args a(args);
  const float* x = a.p<const float>();
  float* y = a.p<float>();
  int32_t* arg = a.p<int32_t>();
  PoolGeometry g = read_pool(a, false);
  long long total = (long long)g.n * g.c * g.outH * g.outW;
  if (total == 0) return cudaSuccess;
  TESSERA_LAUNCH(grid_for(total), THREADS, 0, ctx.stream, max_pool_kernel)(x, y, arg, g);
  return launched();
}

cudaError_t launch_max_pool2d_backward(const LaunchContext& ctx, const double* args) {
  Args a(args);
  const float* dy = a.p<const float>();
  const int32_t* arg = a.p<const int32_t>();
  float* dx = a.p<float>();
  PoolGeometry g = read_pool(a, false);
  long long total = (long long)g.n * g.c * g.h * g.w;
  if (total == 0) return cudaSuccess;
  TESSERA_LAUNCH(grid_for(total), THREADS, 0, ctx.stream, max_pool_backward_kernel)(dy, arg, dx, g);
  return launched();
}

cudaError_t launch_avg_pool2d(const LaunchContext& ctx, const double* args) {
  Args a(args);
  const float* x = a.p<const float>();
  float* y = a.p<float>();
  PoolGeometry g = read_pool(a, true);
  long long total = (long long)g.n * g.c * g.outH * g.outW;
  if (total == 0) return cudaSuccess;
  TESSERA_LAUNCH(grid_for(total), THREADS, 0, ctx.stream, avg_pool_kernel)(x, y, g);
  return launched();
}

cudaError_t launch_avg_pool2d_backward(const LaunchContext& ctx, const double* args) {
  Args a(args);
  const float* dy = a.p<const float>();
  float* dx = a.p<float>();
  PoolGeometry g = read_pool(a, true);
  long long total = (long long)g.n * g.c * g.h * g.w;
  if (total == 0) return cudaSuccess;
  TESSERA_LAUNCH(grid_for(total), THREADS, 0, ctx.stream, avg_pool_backward_kernel)(dy, dx, g);
  return launched();
}

// ---------------------------------------------------------------- adaptive average pooling
struct AdaptiveGeometry {
  int n, c, h, w, outH, outW;
};

__device__ inline int bin_start(int i, int size, int out) { return (int)(((long long)i * size) / out); }
__device__ inline int bin_end(int i, int size, int out) { return (int)(((long long)(i + 1) * size + out - 1) / out); }

__global__ void adaptive_pool_kernel(const float* __restrict__ x, float* __restrict__ y, AdaptiveGeometry g) {
  const long long total = (long long)g.n * g.c * g.outH * g.outW;
  TESSERA_LOOP(o, total) {
    const int ow = (int)(o % g.outW);
    const int oh = (int)((o / g.outW) % g.outH);
    const long long q = o / ((long long)g.outW * g.outH);
    const float* plane = x + q * g.h * g.w;
    const int r0 = bin_start(oh, g.h, g.outH), r1 = bin_end(oh, g.h, g.outH);
    const int c0 = bin_start(ow, g.w, g.outW), c1 = bin_end(ow, g.w, g.outW);
    double sum = 0;
    for (int r = r0; r < r1; r++)
      for (int col = c0; col < c1; col++) sum += (double)plane[r * g.w + col];
    const int count = (r1 - r0) * (c1 - c0);
    y[o] = count > 0 ? (float)(sum / count) : 0.0f;
  }
}

/** Adaptive bins covering input position i: a short run starting at or after ⌊i·out/size⌋ − 1. */
__device__ inline void adaptive_covering(int i, int size, int out, int& lo, int& hi) {
  lo = max(0, (int)(((long long)i * out) / size) - 1);
  while (lo < out && bin_end(lo, size, out) <= i) lo++;
  hi = lo - 1;
  while (hi + 1 < out && bin_start(hi + 1, size, out) <= i) hi++;
}

__global__ void adaptive_pool_backward_kernel(const float* __restrict__ dy, float* __restrict__ dx, AdaptiveGeometry g) {
  const long long total = (long long)g.n * g.c * g.h * g.w;
  TESSERA_LOOP(i, total) {
    const int iw = (int)(i % g.w);
    const int ih = (int)((i / g.w) % g.h);
    const long long q = i / ((long long)g.w * g.h);
    int ohLo, ohHi, owLo, owHi;
    adaptive_covering(ih, g.h, g.outH, ohLo, ohHi);
    adaptive_covering(iw, g.w, g.outW, owLo, owHi);
    const long long ob = q * g.outH * g.outW;
    double acc = 0;
    for (int oh = ohLo; oh <= ohHi; oh++)
      for (int ow = owLo; ow <= owHi; ow++) {
        const int count = (bin_end(oh, g.h, g.outH) - bin_start(oh, g.h, g.outH)) * (bin_end(ow, g.w, g.outW) - bin_start(ow, g.w, g.outW));
        if (count == 0) continue;
        acc += (double)dy[ob + (long long)oh * g.outW + ow] / count;
      }
    dx[i] = (float)acc;
  }
}

static AdaptiveGeometry read_adaptive(Args& a) {
  AdaptiveGeometry g;
  g.n = a.n();
  g.c = a.n();
  g.h = a.n();
  g.w = a.n();
  g.outH = a.n();
  g.outW = a.n();
  return g;
}

cudaError_t launch_adaptive_avg_pool2d(const LaunchContext& ctx, const double* args) {
  Args a(args);
  const float* x = a.p<const float>();
  float* y = a.p<float>();
  AdaptiveGeometry g = read_adaptive(a);
  long long total = (long long)g.n * g.c * g.outH * g.outW;
  if (total == 0) return cudaSuccess;
  TESSERA_LAUNCH(grid_for(total), THREADS, 0, ctx.stream, adaptive_pool_kernel)(x, y, g);
  return launched();
}

cudaError_t launch_adaptive_avg_pool2d_backward(const LaunchContext& ctx, const double* args) {
  Args a(args);
  const float* dy = a.p<const float>();
  float* dx = a.p<float>();
  AdaptiveGeometry g = read_adaptive(a);
  long long total = (long long)g.n * g.c * g.h * g.w;
  if (total == 0) return cudaSuccess;
  TESSERA_LAUNCH(grid_for(total), THREADS, 0, ctx.stream, adaptive_pool_backward_kernel)(dy, dx, g);
  return launched();
}

// ---------------------------------------------------------------- local response normalisation
struct LrnGeometry {
  int n, c, h, w, size;
  float alpha, beta, k;
};

__device__ inline float neg_pow(float s, float beta) {
  if (beta == 0.75f) {
    const float r = sqrtf(s);
    return 1.0f / (r * sqrtf(r));
  }
  return powf(s, -beta);
}

/** s_ch = k + α/size · Σ x_j² over channels ch−⌊size/2⌋ … ch+⌊(size−1)/2⌋ at one pixel. */
__device__ inline float lrn_scale(const float* __restrict__ img, int ch, long long plane, const LrnGeometry& g) {
  const int lo = g.size / 2, hi = (g.size - 1) / 2;
  const int j0 = max(0, ch - lo), j1 = min(g.c - 1, ch + hi);
  float acc = 0;
  for (int j = j0; j <= j1; j++) {
    const float v = img[j * plane];
    acc += v * v;
  }
  return g.k + (g.alpha / g.size) * acc;
}

__global__ void lrn_kernel(const float* __restrict__ x, float* __restrict__ y, LrnGeometry g) {
  const long long plane = (long long)g.h * g.w;
  const long long total = (long long)g.n * g.c * plane;
  TESSERA_LOOP(i, total) {
    const long long t = i % plane;
    const int ch = (int)((i / plane) % g.c);
    const long long img = i / (plane * g.c);
    const float* base = x + img * g.c * plane + t;
    y[i] = x[i] * neg_pow(lrn_scale(base, ch, plane, g), g.beta);
  }
}

// dx_i = dy_i · s_i^−β − (2αβ/size) · x_i · Σ_{j=i−hi}^{i+lo} dy_j · y_j / s_j
__global__ void lrn_backward_kernel(const float* __restrict__ x, const float* __restrict__ y, const float* __restrict__ dy, float* __restrict__ dx, LrnGeometry g) {
  const long long plane = (long long)g.h * g.w;
  const long long total = (long long)g.n * g.c * plane;
  const int lo = g.size / 2, hi = (g.size - 1) / 2;
  const float coef = 2.0f * g.alpha * g.beta / g.size;
  TESSERA_LOOP(i, total) {
    const long long t = i % plane;
    const int ch = (int)((i / plane) % g.c);
    const long long img = i / (plane * g.c);
    const long long off = img * g.c * plane + t;
    const float* xb = x + off;
    float acc = 0;
    const int j0 = max(0, ch - hi), j1 = min(g.c - 1, ch + lo);
    for (int j = j0; j <= j1; j++) acc += dy[off + j * plane] * y[off + j * plane] / lrn_scale(xb, j, plane, g);
    dx[i] = dy[i] * neg_pow(lrn_scale(xb, ch, plane, g), g.beta) - coef * x[i] * acc;
  }
}

static LrnGeometry read_lrn(Args& a) {
  LrnGeometry g;
  g.n = a.n();
  g.c = a.n();
  g.h = a.n();
  g.w = a.n();
  g.size = a.n();
  g.alpha = (float)a.f();
  g.beta = (float)a.f();
  g.k = (float)a.f();
  return g;
}

cudaError_t launch_lrn(const LaunchContext& ctx, const double* args) {
  Args a(args);
  const float* x = a.p<const float>();
  float* y = a.p<float>();
  LrnGeometry g = read_lrn(a);
  long long total = (long long)g.n * g.c * g.h * g.w;
  if (total == 0) return cudaSuccess;
  TESSERA_LAUNCH(grid_for(total), THREADS, 0, ctx.stream, lrn_kernel)(x, y, g);
  return launched();
}

cudaError_t launch_lrn_backward(const LaunchContext& ctx, const double* args) {
  Args a(args);
  const float* x = a.p<const float>();
  const float* y = a.p<const float>();
  const float* dy = a.p<const float>();
  float* dx = a.p<float>();
  LrnGeometry g = read_lrn(a);
  long long total = (long long)g.n * g.c * g.h * g.w;
  if (total == 0) return cudaSuccess;
  TESSERA_LAUNCH(grid_for(total), THREADS, 0, ctx.stream, lrn_backward_kernel)(x, y, dy, dx, g);
  return launched();
}

}  // namespace tessera
