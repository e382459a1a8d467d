// Few-row products streamed against a large matrix (small_m_gemm.cc), for fully connected layers at small batch.
#pragma once
#include <cstdint>

namespace tessera {

/** Whether this CPU has the AVX2 + FMA the kernels need. */
bool smallMGemmSupported();

/** c [m, n] = a [m, k] · bᵀ with b [n, k]; all dense row-major. */
void smallMGemmBt(const float* a, const float* b, float* c, int64_t m, int64_t n, int64_t k);

/** Rows of A below which smallMGemm beats sgemm, and the least n·k worth leaving sgemm for. */
constexpr int64_t kSmallM = 16;
constexpr int64_t kSmallMMinWork = 1 << 16;

}  // namespace tessera
