// The fused SGD step in place, in the catalogue's two formulations (SgdParams in kernels.ts):
//   paper:   v ← m·v − wd·lr·w − lr·g; w ← w + v
//   pytorch: g' = g + wd·w; v ← m·v + (1 − dampening)·g' (g' on the first step); d = nesterov ? g' + m·v : v;
//            w ← w − lr·d
// Arithmetic in double per element, rounded once on store, like the CPU reference backend.
#include "kernels.h"

namespace tessera {

void sgdUpdate(Buf* b, Params& p) {
  const int rule = p.i32();  // 0 paper, 1 pytorch
  const double lr = p.num(), m = p.num(), wd = p.num(), dampening = p.num();
  const bool nesterov = p.flag(), firstStep = p.flag();
  float* W = b[0].f();
  const float* G = b[1].f();
  float* V = b[2].present ? b[2].f() : nullptr;
  const int64_t n = b[0].size;
  if (m != 0 && !V) throw KernelError("momentum " + std::to_string(m) + " needs a velocity buffer");
  if (rule == 0) {
    const double a = wd * lr;
#pragma omp parallel for simd schedule(static) if (n >= kParallelMin)
    for (int64_t i = 0; i < n; i++) {
      const double w = W[i];
      if (V) {
        const double v = m * V[i] - a * w - lr * G[i];
        V[i] = static_cast<float>(v);
        W[i] = static_cast<float>(w + v);
      } else {
        W[i] = static_cast<float>(w - a * w - lr * G[i]);
      }
    }
    return;
  }
  if (rule != 1) throw KernelError("unknown SGD rule " + std::to_string(rule));
  const double damp = 1 - dampening;
#pragma omp parallel for simd schedule(static) if (n >= kParallelMin)
  for (int64_t i = 0; i < n; i++) {
    const double w = W[i];
    const double g = G[i] + wd * w;
    if (!V) {
      W[i] = static_cast<float>(w - lr * g);
    } else {
      const double v = firstStep ? g : m * V[i] + damp * g;
      V[i] = static_cast<float>(v);
      W[i] = static_cast<float>(w - lr * (nesterov ? g + m * v : v));
    }
  }
}

}  // namespace tessera
