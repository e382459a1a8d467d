// Host-side check of problems.cuh: the implicit-GEMM index maps behind conv2d, conv2dBackwardInput,
// conv2dBackwardFilter and matmul, evaluated as plain GEMMs on the CPU and compared with direct loops over
// the convolution's definition. Exits 1 on any mismatch.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "../problems.cuh"

using namespace tessera;

static unsigned long long rng = 88172645463325252ULL;
static unsigned next() {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (unsigned)rng;
}
static int pick(int lo, int hi) { return lo + (int)(next() % (unsigned)(hi - lo + 1)); }
static float value() { return (float)((next() % 2001) / 1000.0 - 1.0); }
static std::vector<float> values(size_t n) {
  std::vector<float> v(n);
  for (auto& x : v) x = value();
  return v;
}

/** Runs a problem as a naive GEMM through its loaders and epilogue, as the kernel does (per batch / group). */
template <class P>
static void naive(const P& p, int batch) {
  for (int bz = 0; bz < batch; bz++)
    for (int m = 0; m < p.M; m++)
      for (int n = 0; n < p.N; n++) {
        double s = 0;
        for (int k = 0; k < p.K; k++) s += (double)p.a(bz, m, k) * p.b(bz, k, n);
        p.store(bz, m, n, (float)s);
      }
}

static double maxDiff(const std::vector<float>& a, const std::vector<double>& b) {
  double worst = 0;
  for (size_t i = 0; i < a.size(); i++) worst = fmax(worst, fabs((double)a[i] - b[i]));
  return worst;
}

int main() {
  int failures = 0, cases = 0;
  for (int t = 0; t < 300; t++) {
    ConvGeometry g;
    g.groups = pick(1, 3);
    g.n = pick(1, 3);
    g.cIn = g.groups * pick(1, 3);
    g.cOut = g.groups * pick(1, 3);
    g.h = pick(1, 9);
    g.w = pick(1, 9);
    g.kh = pick(1, 4);
    g.kw = pick(1, 4);
    g.sh = pick(1, 3);
    g.sw = pick(1, 3);
    g.ph = pick(0, 2);
    g.pw = pick(0, 2);
    g.dh = pick(1, 2);
    g.dw = pick(1, 2);
    const int effH = (g.kh - 1) * g.dh + 1, effW = (g.kw - 1) * g.dw + 1;
    if (g.h + 2 * g.ph < effH || g.w + 2 * g.pw < effW) continue;
    g.outH = (g.h + 2 * g.ph - effH) / g.sh + 1;
    g.outW = (g.w + 2 * g.pw - effW) / g.sw + 1;
    cases++;
    const int cinG = g.cinG(), coutG = g.coutG();
    std::vector<float> x = values((size_t)g.n * g.cIn * g.h * g.w), w = values((size_t)g.cOut * cinG * g.kh * g.kw), bias = values(g.cOut),
                       dy = values((size_t)g.n * g.cOut * g.outH * g.outW);
    std::vector<double> yRef(dy.size(), 0.0), dxRef(x.size(), 0.0), dwRef(w.size(), 0.0);
    // The definition: y[i,co,oh,ow] = b[co] + Σ w[co,ci,r,s]·x[i, grp·cinG+ci, oh·sh−ph+r·dh, ow·sw−pw+s·dw].
    for (int i = 0; i < g.n; i++)
      for (int co = 0; co < g.cOut; co++) {
        const int grp = co / coutG;
        for (int oh = 0; oh < g.outH; oh++)
          for (int ow = 0; ow < g.outW; ow++) {
            const size_t yi = (((size_t)i * g.cOut + co) * g.outH + oh) * g.outW + ow;
            yRef[yi] += bias[co];
            for (int ci = 0; ci < cinG; ci++)
              for (int r = 0; r < g.kh; r++)
                for (int s = 0; s < g.kw; s++) {
                  const int ih = oh * g.sh - g.ph + r * g.dh, iw = ow * g.sw - g.pw + s * g.dw;
                  if (ih < 0 || ih >= g.h || iw < 0 || iw >= g.w) continue;
                  const size_t xi = (((size_t)i * g.cIn + grp * cinG + ci) * g.h + ih) * g.w + iw;
                  const size_t wi = (((size_t)co * cinG + ci) * g.kh + r) * g.kw + s;
                  yRef[yi] += (double)w[wi] * x[xi];
                  dxRef[xi] += (double)w[wi] * dy[yi];
                  dwRef[wi] += (double)dy[yi] * x[xi];
                }
          }
      }
    std::vector<float> y(dy.size(), NAN), dx(x.size(), NAN), dw(w.size(), NAN);
    naive(conv_forward_problem(x.data(), w.data(), bias.data(), y.data(), g), g.groups);
    naive(conv_backward_input_problem(dy.data(), w.data(), dx.data(), g), g.groups);
    naive(conv_backward_filter_problem(x.data(), dy.data(), dw.data(), g), g.groups);
    const double ey = maxDiff(y, yRef), edx = maxDiff(dx, dxRef), edw = maxDiff(dw, dwRef);
    if (!(ey < 1e-4 && edx < 1e-4 && edw < 1e-4)) {
      failures++;
      printf("FAIL conv n%d cIn%d cOut%d g%d %dx%d k%dx%d s%d,%d p%d,%d d%d,%d: |dy| %g |dx| %g |dw| %g\n", g.n, g.cIn, g.cOut, g.groups, g.h, g.w, g.kh, g.kw, g.sh, g.sw, g.ph,
             g.pw, g.dh, g.dw, ey, edx, edw);
    }
  }
  // matmul, all four transpose combinations, with batch strides (0 = broadcast).
  for (int t = 0; t < 80; t++) {
    const bool ta = t & 1, tb = t & 2;
    const int batch = pick(1, 3), m = pick(1, 7), n = pick(1, 7), k = pick(0, 7);
    const long long aBS = (t & 4) ? 0 : (long long)m * k, bBS = (t & 8) ? 0 : (long long)k * n;
    std::vector<float> A = values((size_t)batch * m * k + 1), B = values((size_t)batch * k * n + 1), C((size_t)batch * m * n, NAN);
    std::vector<double> ref(C.size(), 0.0);
    for (int bz = 0; bz < batch; bz++)
      for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++)
          for (int q = 0; q < k; q++) {
            const float av = A[bz * aBS + (ta ? (size_t)q * m + i : (size_t)i * k + q)];
            const float bv = B[bz * bBS + (tb ? (size_t)j * k + q : (size_t)q * n + j)];
            ref[((size_t)bz * m + i) * n + j] += (double)av * bv;
          }
#define RUN(TA, TB) naive(MatmulProblem<TA, TB>{A.data(), B.data(), C.data(), m, n, k, aBS, bBS}, batch)
    if (!ta && !tb) RUN(false, false);
    else if (!ta) RUN(false, true);
    else if (!tb) RUN(true, false);
    else RUN(true, true);
#undef RUN
    cases++;
    if (!(maxDiff(C, ref) < 1e-5)) {
      failures++;
      printf("FAIL matmul batch%d %dx%dx%d ta%d tb%d\n", batch, m, n, k, ta, tb);
    }
  }
  printf("%d cases, %d failures\n", cases, failures);
  return failures ? 1 : 0;
}
