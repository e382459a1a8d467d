// The fused SGD step in place, in the catalogue's two formulations (SgdParams in kernels.ts):
//   paper:   v ← m·v − wd·lr·w − lr·g; w ← w + v
//   pytorch: g' = g + wd·w; v ← m·v + (1 − dampening)·g' (g' on the first step); d = nesterov ? g' + m·v : v;
//            w ← w − lr·d
// Arithmetic in double per element, rounded once on store, like the CPU reference backend. One branch-free
// loop per case so each vectorises: the step streams every parameter, gradient and velocity once and is
// memory-bound (61 M parameters in AlexNet).
#include "kernels.h"

namespace tessera {

namespace {

// Each case is its own loop (a macro rather than a lambda: GCC leaves a lambda body inside an OpenMP simd
// loop scalar).
#define TESSERA_SGD_LOOP(n, body)                                         \
  _Pragma("omp parallel for simd schedule(static) if (n >= kParallelMin)") \
  for (int64_t i = 0; i < n; i++) body

}  // namespace

void sgdUpdate(Buf* b, Params& p) {
  const int rule = p.i32();  // 0 paper, 1 pytorch
  const double lr = p.num(), m = p.num(), wd = p.num(), dampening = p.num();
  const bool nesterov = p.flag(), firstStep = p.flag();
  float* __restrict W = b[0].f();
  const float* __restrict G = b[1].f();
  float* __restrict V = b[2].present ? b[2].f() : nullptr;
  const int64_t n = b[0].size;
  if (m != 0 && !V) throw KernelError("momentum " + std::to_string(m) + " needs a velocity buffer");
  if (rule == 0) {
    const double a = wd * lr;
    if (V) {
      TESSERA_SGD_LOOP(n, {
        const double w = W[i];
        const double v = m * V[i] - a * w - lr * G[i];
        V[i] = static_cast<float>(v);
        W[i] = static_cast<float>(w + v);
      })
    } else {
      TESSERA_SGD_LOOP(n, {
        const double w = W[i];
        W[i] = static_cast<float>(w - a * w - lr * G[i]);
      })
    }
    return;
  }
  if (rule != 1) throw KernelError("unknown SGD rule " + std::to_string(rule));
  const double damp = 1 - dampening;
  if (!V) {
    TESSERA_SGD_LOOP(n, {
      const double w = W[i];
      W[i] = static_cast<float>(w - lr * (G[i] + wd * w));
    })
  } else if (firstStep) {
    TESSERA_SGD_LOOP(n, {
      const double w = W[i];
      const double g = G[i] + wd * w;
      V[i] = static_cast<float>(g);
      W[i] = static_cast<float>(w - lr * (nesterov ? g + m * g : g));
    })
  } else if (nesterov) {
    TESSERA_SGD_LOOP(n, {
      const double w = W[i];
      const double g = G[i] + wd * w;
      const double v = m * V[i] + damp * g;
      V[i] = static_cast<float>(v);
      W[i] = static_cast<float>(w - lr * (g + m * v));
    })
  } else {
    TESSERA_SGD_LOOP(n, {
      const double w = W[i];
      const double v = m * V[i] + damp * (G[i] + wd * w);
      V[i] = static_cast<float>(v);
      W[i] = static_cast<float>(w - lr * v);
    })
  }
}

}  // namespace tessera
