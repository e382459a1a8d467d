// Batched matmul on oneDNN's JIT sgemm (row-major); products of a few rows with the transpose of a large
// matrix on the streaming kernel of small_m_gemm.cc. A batch whose right operand is shared and whose left
// operands are stacked densely is one tall GEMM; many small products run one per OpenMP thread (sgemm
// called inside a parallel region runs sequentially), large ones use the whole team each.
#include <algorithm>

#include "dnnl_context.h"
#include "kernels.h"
#include "small_m_gemm.h"

namespace tessera {

namespace {

void sgemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const float* a, const float* b, float* c) {
  const int64_t lda = ta ? m : k, ldb = tb ? k : n;
  const dnnl_status_t st = dnnl_sgemm(ta ? 'T' : 'N', tb ? 'T' : 'N', m, n, k, 1.0f, a, std::max<int64_t>(lda, 1), b,
                                      std::max<int64_t>(ldb, 1), 0.0f, c, std::max<int64_t>(n, 1));
  if (st != dnnl_success) throw KernelError("oneDNN sgemm failed (status " + std::to_string(static_cast<int>(st)) + ")");
}

}  // namespace

void matmul(Buf* buf, Params& p) {
  const int64_t batch = p.i64(), m = p.i64(), n = p.i64(), k = p.i64();
  const bool ta = p.flag(), tb = p.flag();
  const int64_t aStride = p.i64(), bStride = p.i64();
  const float* a = buf[0].f();
  const float* b = buf[1].f();
  float* c = buf[2].f();
  if (m == 0 || n == 0 || batch == 0) return;
  if (k == 0) {
    std::fill(c, c + batch * m * n, 0.0f);
    return;
  }
  if (!ta && tb && m <= kSmallM && n * k >= kSmallMMinWork && smallMGemmSupported()) {
    for (int64_t i = 0; i < batch; i++) smallMGemmBt(a + i * aStride, b + i * bStride, c + i * m * n, m, n, k);
    return;
  }
  if (batch > 1 && bStride == 0 && !ta && aStride == m * k) {
    sgemm(false, tb, batch * m, n, k, a, b, c);
    return;
  }
  if (batch > 1 && m * n * k < (1 << 18)) {
    bool failed = false;
#pragma omp parallel for schedule(static) reduction(|| : failed)
    for (int64_t i = 0; i < batch; i++) {
      try {
        sgemm(ta, tb, m, n, k, a + i * aStride, b + i * bStride, c + i * m * n);
      } catch (...) {
        failed = true;
      }
    }
    if (failed) throw KernelError("oneDNN sgemm failed in a batched product");
    return;
  }
  for (int64_t i = 0; i < batch; i++) sgemm(ta, tb, m, n, k, a + i * aStride, b + i * bStride, c + i * m * n);
}

}  // namespace tessera
