/**
 * The catalogue's kernels in one fixed order, for backends that dispatch by number across a native boundary
 * (an N-API addon's `launch(id, args)`): their C++ side keeps an enum in this order, and their tests check it.
 */
import type { Kernels } from '../backend/kernels.js';

export const KERNEL_NAMES = [
  'fill',
  'unary',
  'binary',
  'copy',
  'reduce',
  'argReduce',
  'matmul',
  'conv2d',
  'conv2dBackwardInput',
  'conv2dBackwardFilter',
  'maxPool2d',
  'maxPool2dBackward',
  'avgPool2d',
  'avgPool2dBackward',
  'adaptiveAvgPool2d',
  'adaptiveAvgPool2dBackward',
  'lrn',
  'lrnBackward',
  'softmax',
  'crossEntropy',
  'crossEntropyBackward',
  'random',
  'gather',
  'gatherBackward',
  'oneHot',
  'topk',
  'sgdUpdate',
] as const satisfies readonly (keyof Kernels)[];

export type KernelName = (typeof KERNEL_NAMES)[number];

/** Compiles only while every kernel of the catalogue is listed above. */
const everyKernelListed: Exclude<keyof Kernels, KernelName> extends never ? true : never = true;
void everyKernelListed;

/** Each kernel's number: `KERNEL_IDS.conv2d` is its index in KERNEL_NAMES. */
export const KERNEL_IDS = Object.freeze(Object.fromEntries(KERNEL_NAMES.map((name, id) => [name, id]))) as { readonly [N in KernelName]: number };
