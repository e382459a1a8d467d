// Shared by every kernel file: the launch context, argument decoding, dtype helpers and JS number semantics.
#pragma once
#include <cuda_runtime.h>
#include <math.h>
#include <stdint.h>

#include "launch.h"

namespace tessera {

constexpr int THREADS = 256;
constexpr int MAX_RANK = 8;

/** Decodes the Float64Array a kernel call receives: pointers, integers and floats all travel as doubles. */
struct Args {
  const double* a;
  int i = 0;
  explicit Args(const double* args) : a(args) {}
  double f() { return a[i++]; }
  long long l() { return (long long)a[i++]; }
  int n() { return (int)a[i++]; }
  bool b() { return a[i++] != 0; }
  template <class T>
  T* p() {
    return reinterpret_cast<T*>((uintptr_t)(unsigned long long)a[i++]);
  }
};

inline unsigned grid_for(long long n, int threads = THREADS) {
  long long g = (n + threads - 1) / threads;
  if (g < 1) g = 1;
  if (g > 2147483647LL) g = 2147483647LL;
  return (unsigned)g;
}

/** JavaScript's ToInt32: how a number is stored into an Int32Array (truncate, wrap modulo 2³², NaN/∞ → 0). */
__host__ __device__ inline int32_t js_toint32(double v) {
  if (v > -2147483649.0 && v < 2147483648.0) return (int32_t)v;  // truncation, the common case
  if (!isfinite(v)) return 0;
  double t = trunc(v);
  double m = fmod(t, 4294967296.0);
  if (m < 0) m += 4294967296.0;
  return (int32_t)(uint32_t)m;
}

/** Records the first index-out-of-range error; the host turns it into a TesseraError at the next read/sync. */
__device__ inline void report_index_error(DeviceErrorRecord* rec, int op, int value, long long position, int bound) {
  if (atomicCAS(&rec->code, 0, 1) == 0) {
    rec->op = op;
    rec->value = value;
    rec->position = (int)position;
    rec->bound = bound;
    __threadfence_system();
  }
}

/**
 * Every kernel launch site: `TESSERA_LAUNCH(grid, block, sharedBytes, stream, kernel)(args…)`. nvcc gets
 * `kernel<<<…>>>(args…)`; the host build (csrc/host/, TESSERA_HOST_EMULATION) enqueues the same kernel on the
 * emulated stream, so both builds share the launch sites.
 */
#ifdef TESSERA_HOST_EMULATION
#define TESSERA_LAUNCH(grid, block, shared, stream, ...) ::tessera_host::make_launch(#__VA_ARGS__, grid, block, shared, stream, __VA_ARGS__)
#else
#define TESSERA_LAUNCH(grid, block, shared, stream, ...) __VA_ARGS__<<<grid, block, shared, stream>>>
#endif

/** Grid-stride loop over [0, n). */
#define TESSERA_LOOP(i, n) for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (long long)blockDim.x * gridDim.x)

inline cudaError_t launched() { return cudaGetLastError(); }

}  // namespace tessera
