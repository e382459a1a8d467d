/** The CPU kernel table: one module per kernel family, bound to the backend's runtime where they need it. */
import type { Kernels } from '../../backend/kernels.js';
import type { CpuBuffer } from '../backend.js';
import { conv2d, conv2dBackwardFilter, conv2dBackwardInput } from './conv.js';
import { copy } from './copy.js';
import { binary, fill, unary } from './elementwise.js';
import { gather, gatherBackward, oneHot } from './gather.js';
import { lrn, lrnBackward } from './lrn.js';
import { matmul } from './matmul.js';
import { adaptiveAvgPool2d, adaptiveAvgPool2dBackward, avgPool2d, avgPool2dBackward, maxPool2d, maxPool2dBackward } from './pool.js';
import { random } from './random.js';
import { argReduce, reduce } from './reduce.js';
import type { CpuRuntime } from './runtime.js';
import { sgdUpdate } from './sgd.js';
import { crossEntropy, crossEntropyBackward, softmax } from './softmax.js';
import { topk } from './topk.js';

export type { CpuRuntime } from './runtime.js';
export { createGemmScratch, gemm, type GemmFn, type GemmScratch } from './matmul.js';

export function createCpuKernels(rt: CpuRuntime): Kernels<CpuBuffer> {
  return {
    fill,
    unary,
    binary,
    copy,
    reduce,
    argReduce,
    matmul: (a, b, out, p) => matmul(a, b, out, p, rt.gemm),
    conv2d: (x, weight, bias, y, p) => conv2d(x, weight, bias, y, p, rt),
    conv2dBackwardInput: (dy, weight, dx, p) => conv2dBackwardInput(dy, weight, dx, p, rt),
    conv2dBackwardFilter: (x, dy, dw, p) => conv2dBackwardFilter(x, dy, dw, p, rt),
    maxPool2d,
    maxPool2dBackward,
    avgPool2d,
    avgPool2dBackward,
    adaptiveAvgPool2d,
    adaptiveAvgPool2dBackward,
    lrn,
    lrnBackward,
    softmax,
    crossEntropy,
    crossEntropyBackward,
    random,
    gather,
    gatherBackward,
    oneHot,
    topk,
    sgdUpdate,
  };
}
