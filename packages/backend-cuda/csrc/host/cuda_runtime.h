// Host emulation of the CUDA runtime and device language, for building the unchanged kernel sources with the
// host C++ compiler (TESSERA_HOST_EMULATION). On this include path in place of the toolkit's cuda_runtime.h:
// qualifiers, built-in variables, intrinsics and the runtime calls the addon makes, with device semantics.
// Kernels run on an emulated stream (one worker thread): blocks one after another, a block's threads as
// cooperative fibers (fiber_executor.cc), so __syncthreads, __shared__ memory and warp collectives behave as
// on the device. Not for speed.
#pragma once
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <tuple>
#include <type_traits>
#include <utility>

#define TESSERA_HOST_EMULATION 1
#define CUDART_VERSION 13000

// ------------------------------------------------------------------ qualifiers
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __align__(n) __attribute__((aligned(n)))
// Blocks run one after another on one thread, so block-shared storage can be a function-local static: every
// fiber of the block sees the same object, as the block's threads see one __shared__ array.
#define __shared__ static
#define __constant__ static

// ------------------------------------------------------------------ vector types
struct uint3 {
  unsigned x, y, z;
};
struct dim3 {
  unsigned x, y, z;
  constexpr dim3(unsigned vx = 1, unsigned vy = 1, unsigned vz = 1) : x(vx), y(vy), z(vz) {}
  constexpr dim3(uint3 v) : x(v.x), y(v.y), z(v.z) {}
};

// ------------------------------------------------------------------ runtime types
enum cudaError_t {
  cudaSuccess = 0,
  cudaErrorInvalidValue = 1,
  cudaErrorMemoryAllocation = 2,
  cudaErrorInitializationError = 3,
  cudaErrorInvalidConfiguration = 9,
  cudaErrorInvalidDevicePointer = 17,
  cudaErrorInvalidDevice = 101,
  cudaErrorInvalidResourceHandle = 400,
  cudaErrorNotReady = 600,
  cudaErrorIllegalAddress = 700,
  cudaErrorLaunchFailure = 719,
};
typedef cudaError_t cudaError;

enum cudaMemcpyKind { cudaMemcpyHostToHost = 0, cudaMemcpyHostToDevice = 1, cudaMemcpyDeviceToHost = 2, cudaMemcpyDeviceToDevice = 3, cudaMemcpyDefault = 4 };

struct CUstream_st;
struct CUevent_st;
typedef CUstream_st* cudaStream_t;
typedef CUevent_st* cudaEvent_t;

#define cudaStreamDefault 0x00
#define cudaStreamNonBlocking 0x01
#define cudaEventDefault 0x00
#define cudaEventBlockingSync 0x01
#define cudaEventDisableTiming 0x02
#define cudaHostAllocDefault 0x00
#define cudaHostAllocPortable 0x01
#define cudaHostAllocMapped 0x02

struct cudaDeviceProp {
  char name[256];
  size_t totalGlobalMem;
  size_t sharedMemPerBlock;
  int warpSize;
  int maxThreadsPerBlock;
  int maxThreadsDim[3];
  int maxGridSize[3];
  int major;
  int minor;
  int multiProcessorCount;
};

// ------------------------------------------------------------------ runtime API (runtime.cc)
const char* cudaGetErrorName(cudaError_t e);
const char* cudaGetErrorString(cudaError_t e);
cudaError_t cudaGetLastError();
cudaError_t cudaPeekAtLastError();
cudaError_t cudaGetDeviceCount(int* count);
cudaError_t cudaSetDevice(int device);
cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int device);
cudaError_t cudaDriverGetVersion(int* v);
cudaError_t cudaRuntimeGetVersion(int* v);
cudaError_t cudaMalloc(void** ptr, size_t bytes);
cudaError_t cudaFree(void* ptr);
cudaError_t cudaMemGetInfo(size_t* freeBytes, size_t* totalBytes);
cudaError_t cudaHostAlloc(void** ptr, size_t bytes, unsigned flags);
cudaError_t cudaFreeHost(void* ptr);
cudaError_t cudaHostGetDevicePointer(void** device, void* host, unsigned flags);
cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind, cudaStream_t stream = nullptr);
cudaError_t cudaMemsetAsync(void* dst, int value, size_t bytes, cudaStream_t stream = nullptr);
cudaError_t cudaStreamCreateWithFlags(cudaStream_t* stream, unsigned flags);
cudaError_t cudaStreamDestroy(cudaStream_t stream);
cudaError_t cudaStreamSynchronize(cudaStream_t stream);
cudaError_t cudaDeviceSynchronize();
cudaError_t cudaEventCreateWithFlags(cudaEvent_t* event, unsigned flags);
cudaError_t cudaEventDestroy(cudaEvent_t event);
cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream = nullptr);
cudaError_t cudaEventQuery(cudaEvent_t event);
cudaError_t cudaEventSynchronize(cudaEvent_t event);

// ------------------------------------------------------------------ the executor (fiber_executor.cc)
namespace tessera_host {

/** What each fiber (emulated device thread) knows about itself. */
struct ThreadState {
  uint3 tid;  // threadIdx
  unsigned lane;  // linear thread index % 32
  unsigned warp;  // linear thread index / 32
  unsigned linear;
};

extern thread_local ThreadState* current_thread;
extern thread_local uint3 current_block_idx;
extern thread_local dim3 current_block_dim;
extern thread_local dim3 current_grid_dim;

/** One kernel launch as the executor sees it: a callable every emulated thread runs. */
struct KernelBody {
  virtual ~KernelBody() = default;
  virtual void run() = 0;
};

/** Enqueues a kernel on the stream; returns the launch error (bad configuration), as <<<…>>> would set it. */
cudaError_t enqueue_kernel(const char* name, dim3 grid, dim3 block, size_t sharedBytes, cudaStream_t stream, KernelBody* body);

void syncthreads();
void syncwarp();
/**
 * A warp collective: every active lane of the calling warp deposits `in` and waits; once all have arrived,
 * `combine(ins, outs, active)` runs once and each lane gets outs[lane]. The lane-level barrier that warp
 * shuffles, votes and WMMA operations need.
 */
uint64_t warp_collective(uint64_t in, void (*combine)(const uint64_t* ins, uint64_t* outs, unsigned active, void* ctx), void* ctx);
/** Reports a device-side fault (like a trap): the launch fails and the stream's next sync returns the error. */
[[noreturn]] void device_fault(const char* what);

template <class F, class... P>
struct BoundKernel final : KernelBody {
  F fn;
  std::tuple<P...> args;
  BoundKernel(F f, std::tuple<P...> a) : fn(f), args(std::move(a)) {}
  void run() override {
    std::tuple<P...> copy = args;  // each device thread gets its own copy of the parameters
    std::apply(fn, copy);
  }
};

/** What TESSERA_LAUNCH(grid, block, shmem, stream, kernel)(args…) builds: converts args to the kernel's parameter types. */
template <class... P>
struct Launch {
  const char* name;
  dim3 grid, block;
  size_t shared;
  cudaStream_t stream;
  void (*fn)(P...);
  template <class... A>
  void operator()(A&&... a) const {
    static_assert(sizeof...(A) == sizeof...(P), "kernel launched with the wrong number of arguments");
    auto* body = new BoundKernel<void (*)(P...), std::decay_t<P>...>(fn, std::tuple<std::decay_t<P>...>(std::decay_t<P>(std::forward<A>(a))...));
    enqueue_kernel(name, grid, block, shared, stream, body);
  }
};

template <class... P>
Launch<P...> make_launch(const char* name, dim3 grid, dim3 block, size_t shared, cudaStream_t stream, void (*fn)(P...)) {
  return Launch<P...>{name, grid, block, shared, stream, fn};
}

}  // namespace tessera_host

#define threadIdx (::tessera_host::current_thread->tid)
#define blockIdx (::tessera_host::current_block_idx)
#define blockDim (::tessera_host::current_block_dim)
#define gridDim (::tessera_host::current_grid_dim)
constexpr int warpSize = 32;

// ------------------------------------------------------------------ synchronisation and memory ordering
inline void __syncthreads() { ::tessera_host::syncthreads(); }
inline void __syncwarp(unsigned mask = 0xffffffffu) {
  (void)mask;
  ::tessera_host::syncwarp();
}
// One OS thread runs every fiber of a launch, so plain loads and stores are already ordered.
inline void __threadfence() {}
inline void __threadfence_block() {}
inline void __threadfence_system() {}

// ------------------------------------------------------------------ warp shuffles and votes
namespace tessera_host {
struct ShuffleArgs {
  int mode;  // 0 idx, 1 up, 2 down, 3 xor
  int value;
  int width;
};
void shuffle_combine(const uint64_t* ins, uint64_t* outs, unsigned active, void* ctx);
void ballot_combine(const uint64_t* ins, uint64_t* outs, unsigned active, void* ctx);

template <class T>
T shuffle(int mode, T v, int value, int width) {
  static_assert(sizeof(T) <= 8, "shuffles move up to 64 bits");
  uint64_t bits = 0;
  memcpy(&bits, &v, sizeof(T));
  ShuffleArgs args{mode, value, width};
  uint64_t out = warp_collective(bits, shuffle_combine, &args);
  T r;
  memcpy(&r, &out, sizeof(T));
  return r;
}
}  // namespace tessera_host

template <class T>
inline T __shfl_sync(unsigned, T v, int src, int width = 32) {
  return ::tessera_host::shuffle(0, v, src, width);
}
template <class T>
inline T __shfl_up_sync(unsigned, T v, unsigned delta, int width = 32) {
  return ::tessera_host::shuffle(1, v, (int)delta, width);
}
template <class T>
inline T __shfl_down_sync(unsigned, T v, unsigned delta, int width = 32) {
  return ::tessera_host::shuffle(2, v, (int)delta, width);
}
template <class T>
inline T __shfl_xor_sync(unsigned, T v, int mask, int width = 32) {
  return ::tessera_host::shuffle(3, v, mask, width);
}
inline unsigned __ballot_sync(unsigned mask, int pred) {
  return (unsigned)::tessera_host::warp_collective(pred ? 1u : 0u, ::tessera_host::ballot_combine, nullptr) & mask;
}
inline int __any_sync(unsigned mask, int pred) { return __ballot_sync(mask, pred) != 0; }
inline int __all_sync(unsigned mask, int pred) {
  const unsigned b = __ballot_sync(mask, 1), p = __ballot_sync(mask, pred);
  return b == p;
}

// ------------------------------------------------------------------ atomics (fibers never preempt each other)
template <class T>
inline T atomicAdd(T* p, T v) {
  T old = *p;
  *p = old + v;
  return old;
}
template <class T>
inline T atomicCAS(T* p, T compare, T v) {
  T old = *p;
  if (old == compare) *p = v;
  return old;
}
template <class T>
inline T atomicExch(T* p, T v) {
  T old = *p;
  *p = v;
  return old;
}
template <class T>
inline T atomicMax(T* p, T v) {
  T old = *p;
  if (v > old) *p = v;
  return old;
}
template <class T>
inline T atomicMin(T* p, T v) {
  T old = *p;
  if (v < old) *p = v;
  return old;
}

// ------------------------------------------------------------------ intrinsics
inline float __expf(float x) { return expf(x); }
inline float __logf(float x) { return logf(x); }
inline float __sinf(float x) { return sinf(x); }
inline float __cosf(float x) { return cosf(x); }
inline float __fdividef(float a, float b) { return a / b; }
inline float rsqrtf(float x) { return 1.0f / sqrtf(x); }
inline double rsqrt(double x) { return 1.0 / sqrt(x); }
// The _rn forms are single, separately rounded operations: volatile keeps the compiler from contracting
// them into a fused multiply-add.
inline float __fmul_rn(float a, float b) {
  volatile float r = a * b;
  return r;
}
inline float __fadd_rn(float a, float b) {
  volatile float r = a + b;
  return r;
}
inline float __fsub_rn(float a, float b) {
  volatile float r = a - b;
  return r;
}
inline float __fmaf_rn(float a, float b, float c) { return fmaf(a, b, c); }
inline int __float_as_int(float f) {
  int i;
  memcpy(&i, &f, 4);
  return i;
}
inline unsigned __float_as_uint(float f) {
  unsigned i;
  memcpy(&i, &f, 4);
  return i;
}
inline float __int_as_float(int i) {
  float f;
  memcpy(&f, &i, 4);
  return f;
}
inline float __uint_as_float(unsigned i) {
  float f;
  memcpy(&f, &i, 4);
  return f;
}
inline unsigned __umulhi(unsigned a, unsigned b) { return (unsigned)(((unsigned long long)a * b) >> 32); }
inline int __popc(unsigned v) { return __builtin_popcount(v); }
inline int __clz(int v) { return v == 0 ? 32 : __builtin_clz((unsigned)v); }
template <class T>
inline T __ldg(const T* p) {
  return *p;
}
inline int min(int a, int b) { return a < b ? a : b; }
inline int max(int a, int b) { return a > b ? a : b; }
inline unsigned min(unsigned a, unsigned b) { return a < b ? a : b; }
inline unsigned max(unsigned a, unsigned b) { return a > b ? a : b; }
inline long long min(long long a, long long b) { return a < b ? a : b; }
inline long long max(long long a, long long b) { return a > b ? a : b; }
inline float min(float a, float b) { return fminf(a, b); }
inline float max(float a, float b) { return fmaxf(a, b); }
inline double min(double a, double b) { return fmin(a, b); }
inline double max(double a, double b) { return fmax(a, b); }
