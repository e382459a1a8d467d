// matmul, conv2d, conv2dBackwardInput and conv2dBackwardFilter: each one GEMM launch (gemm.cuh).
#include "gemm.cuh"
#include "problems.cuh"

namespace tessera {

cudaError_t launch_matmul(const LaunchContext& ctx, const double* args) {
  Args a(args);
  const float* A = a.p<const float>();
  const float* B = a.p<const float>();
  float* C = a.p<float>();
  int batch = a.n(), m = a.n(), n = a.n(), k = a.n();
  bool ta = a.b(), tb = a.b();
  long long aBS = a.l(), bBS = a.l();
#define TESSERA_MATMUL(TA, TB)                             \
  {                                                        \
    MatmulProblem<TA, TB> p{A, B, C, m, n, k, aBS, bBS}; \
    return gemm_run(ctx, p, batch);                        \
  }
  if (!ta && !tb) TESSERA_MATMUL(false, false)
  if (!ta && tb) TESSERA_MATMUL(false, true)
  if (ta && !tb) TESSERA_MATMUL(true, false)
  TESSERA_MATMUL(true, true)
#undef TESSERA_MATMUL
}

static ConvGeometry read_conv(Args& a) {
  ConvGeometry g;
  g.n = a.n();
  g.cIn = a.n();
  g.h = a.n();
  g.w = a.n();
  g.cOut = a.n();
  g.kh = a.n();
  g.kw = a.n();
  g.outH = a.n();
  g.outW = a.n();
  g.sh = a.n();
  g.sw = a.n();
  g.ph = a.n();
  g.pw = a.n();
  g.dh = a.n();
  g.dw = a.n();
  g.groups = a.n();
  return g;
}

cudaError_t launch_conv2d(const LaunchContext& ctx, const double* args) {
  Args a(args);
  const float* x = a.p<const float>();
  const float* w = a.p<const float>();
  const float* bias = a.p<const float>();
  float* y = a.p<float>();
  ConvGeometry g = read_conv(a);
  return gemm_run(ctx, conv_forward_problem(x, w, bias, y, g), g.groups);
}

cudaError_t launch_conv2d_backward_input(const LaunchContext& ctx, const double* args) {
  Args a(args);
  const float* dy = a.p<const float>();
  const float* w = a.p<const float>();
  float* dx = a.p<float>();
  ConvGeometry g = read_conv(a);
  return gemm_run(ctx, conv_backward_input_problem(dy, w, dx, g), g.groups);
}

cudaError_t launch_conv2d_backward_filter(const LaunchContext& ctx, const double* args) {
  Args a(args);
  const float* x = a.p<const float>();
  const float* dy = a.p<const float>();
  float* dw = a.p<float>();
  ConvGeometry g = read_conv(a);
  return gemm_run(ctx, conv_backward_filter_problem(x, dy, dw, g), g.groups);
}

}  // namespace tessera
