// The interface between the N-API glue (addon.cc, compiled by the host compiler) and the kernel files (.cu,
// compiled by nvcc). Every kernel entry decodes its own Float64Array of arguments (see src/kernels.ts for the
// layouts) and returns the CUDA error of its launch.
#pragma once
#include <cuda_runtime.h>
#include <stddef.h>

namespace tessera {

/** In mapped pinned memory: kernels that validate indices write the first violation here. */
struct DeviceErrorRecord {
  int code;  // 0: none, 1: index out of range
  int op;    // a KernelId
  int value;
  int position;
  int bound;
  int pad[3];
};

/** Kernel ids; src/kernels.ts holds the same list. */
enum KernelId {
  K_FILL = 0,
  K_UNARY,
  K_BINARY,
  K_COPY,
  K_REDUCE,
  K_ARG_REDUCE,
  K_MATMUL,
  K_CONV2D,
  K_CONV2D_BACKWARD_INPUT,
  K_CONV2D_BACKWARD_FILTER,
  K_MAX_POOL2D,
  K_MAX_POOL2D_BACKWARD,
  K_AVG_POOL2D,
  K_AVG_POOL2D_BACKWARD,
  K_ADAPTIVE_AVG_POOL2D,
  K_ADAPTIVE_AVG_POOL2D_BACKWARD,
  K_LRN,
  K_LRN_BACKWARD,
  K_SOFTMAX,
  K_CROSS_ENTROPY,
  K_CROSS_ENTROPY_BACKWARD,
  K_RANDOM,
  K_GATHER,
  K_GATHER_BACKWARD,
  K_ONE_HOT,
  K_TOPK,
  K_SGD_UPDATE,
  K_COUNT
};

/** What a kernel entry may use besides its arguments. */
struct LaunchContext {
  cudaStream_t stream;
  DeviceErrorRecord* errors;  // device pointer of the mapped record
  bool tf32;                  // tensor-core TF32 GEMMs (else exact fp32 FFMA)
  int smCount;
  /** Stream-ordered scratch from the caching allocator; free it right after enqueuing its last use. */
  void* (*scratchAlloc)(size_t bytes, cudaError_t* err);
  void (*scratchFree)(void* ptr);
};

typedef cudaError_t (*KernelEntry)(const LaunchContext& ctx, const double* args);

// elementwise.cu
cudaError_t launch_fill(const LaunchContext&, const double*);
cudaError_t launch_unary(const LaunchContext&, const double*);
cudaError_t launch_binary(const LaunchContext&, const double*);
cudaError_t launch_copy(const LaunchContext&, const double*);
cudaError_t launch_random(const LaunchContext&, const double*);
cudaError_t launch_sgd_update(const LaunchContext&, const double*);
cudaError_t launch_gather(const LaunchContext&, const double*);
cudaError_t launch_gather_backward(const LaunchContext&, const double*);
cudaError_t launch_one_hot(const LaunchContext&, const double*);
// reduce.cu
cudaError_t launch_reduce(const LaunchContext&, const double*);
cudaError_t launch_arg_reduce(const LaunchContext&, const double*);
cudaError_t launch_softmax(const LaunchContext&, const double*);
cudaError_t launch_cross_entropy(const LaunchContext&, const double*);
cudaError_t launch_cross_entropy_backward(const LaunchContext&, const double*);
cudaError_t launch_topk(const LaunchContext&, const double*);
// gemm.cu
cudaError_t launch_matmul(const LaunchContext&, const double*);
cudaError_t launch_conv2d(const LaunchContext&, const double*);
cudaError_t launch_conv2d_backward_input(const LaunchContext&, const double*);
cudaError_t launch_conv2d_backward_filter(const LaunchContext&, const double*);
// pool.cu
cudaError_t launch_max_pool2d(const LaunchContext&, const double*);
cudaError_t launch_max_pool2d_backward(const LaunchContext&, const double*);
cudaError_t launch_avg_pool2d(const LaunchContext&, const double*);
cudaError_t launch_avg_pool2d_backward(const LaunchContext&, const double*);
cudaError_t launch_adaptive_avg_pool2d(const LaunchContext&, const double*);
cudaError_t launch_adaptive_avg_pool2d_backward(const LaunchContext&, const double*);
cudaError_t launch_lrn(const LaunchContext&, const double*);
cudaError_t launch_lrn_backward(const LaunchContext&, const double*);

}  // namespace tessera
