// The kernel table: ids in the catalogue's order (src/kernels.ts mirrors this enum; a test checks both),
// op codes in UNARY_OPS / BINARY_OPS order, and one entry point per kernel. A kernel receives up to five
// buffers (absent ones have present == false) and reads its metadata from Params in the order src/kernels.ts
// writes it.
#pragma once
#include "common.h"

namespace tessera {

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

enum UnaryOp { U_NEG = 0, U_ABS, U_SIGN, U_EXP, U_LOG, U_SQRT, U_RSQRT, U_SQUARE, U_RECIPROCAL, U_RELU, U_TANH, U_SIGMOID };
enum BinaryOpCode { B_ADD = 0, B_SUB, B_MUL, B_DIV, B_POW, B_MAXIMUM, B_MINIMUM, B_EQ, B_NE, B_LT, B_LE, B_GT, B_GE };

constexpr int kMaxBuffers = 5;

using KernelFn = void (*)(Buf* buffers, Params& p);

// elementwise.cc
void fill(Buf* b, Params& p);
void unary(Buf* b, Params& p);
void binary(Buf* b, Params& p);
void copy(Buf* b, Params& p);
// reduce.cc
void reduce(Buf* b, Params& p);
void argReduce(Buf* b, Params& p);
void topk(Buf* b, Params& p);
// softmax.cc
void softmax(Buf* b, Params& p);
void crossEntropy(Buf* b, Params& p);
void crossEntropyBackward(Buf* b, Params& p);
// dnnl_gemm.cc, dnnl_conv.cc (oneDNN)
void matmul(Buf* b, Params& p);
void conv2d(Buf* b, Params& p);
void conv2dBackwardInput(Buf* b, Params& p);
void conv2dBackwardFilter(Buf* b, Params& p);
// pool.cc
void maxPool2d(Buf* b, Params& p);
void maxPool2dBackward(Buf* b, Params& p);
void avgPool2d(Buf* b, Params& p);
void avgPool2dBackward(Buf* b, Params& p);
void adaptiveAvgPool2d(Buf* b, Params& p);
void adaptiveAvgPool2dBackward(Buf* b, Params& p);
// lrn.cc
void lrn(Buf* b, Params& p);
void lrnBackward(Buf* b, Params& p);
// random.cc
void random(Buf* b, Params& p);
// gather.cc
void gather(Buf* b, Params& p);
void gatherBackward(Buf* b, Params& p);
void oneHot(Buf* b, Params& p);
// sgd.cc
void sgdUpdate(Buf* b, Params& p);

/** Drops cached oneDNN primitives and reordered weights (dnnl_conv.cc). */
void clearPrimitiveCache();
/** Entries and bytes held by the primitive / weight caches. */
void primitiveCacheStats(int64_t& primitives, int64_t& bytes);

}  // namespace tessera
