/**
 * The gpu.js backend: every buffer a float32 texture, every kernel a gpu.js kernel (WebGL2 in browsers,
 * headless-gl's WebGL1 in Node). int32 tensors live in the same float textures and are exact up to ±2²⁴;
 * writing a value beyond that, or reading one a kernel produced, is a TesseraError.
 */
import { TesseraError, type Backend, type BackendMemory, type DType, type Kernels, type TypedArray } from '@tessera/tensor/backend';
import { convKernels } from './kernels/conv.js';
import { ELEMENTWISE_HELPERS, elementwiseKernels } from './kernels/elementwise.js';
import { gatherKernels } from './kernels/gather.js';
import { HELPERS } from './kernels/helpers.js';
import { LRN_HELPERS, lrnKernels } from './kernels/lrn.js';
import { matmulKernels } from './kernels/matmul.js';
import { poolKernels } from './kernels/pool.js';
import { RANDOM_HELPERS, randomKernels } from './kernels/random.js';
import { reduceKernels } from './kernels/reduce.js';
import { PHILOX_GLSL } from './kernels/philox-glsl.js';
import { sgdKernels } from './kernels/sgd.js';
import { softmaxKernels } from './kernels/softmax.js';
import { topkKernels } from './kernels/topk.js';
import type { GpuJs } from './gpujs-types.js';
import { GpujsBuffer, MAX_EXACT, Runtime } from './runtime.js';

export { GpujsBuffer };

/** gpu.js functions (source strings) the kernels call; gpu.js compiles into a kernel only those it calls. */
const KERNEL_FUNCTIONS: readonly string[] = [...HELPERS, ...ELEMENTWISE_HELPERS, ...LRN_HELPERS, ...RANDOM_HELPERS];

/** Adds the kernels' functions to a fresh gpu.js instance (gpu.js accepts them only before its first kernel). */
export function installKernelFunctions(gpu: GpuJs): void {
  for (const fn of KERNEL_FUNCTIONS) gpu.addFunction(fn);
  gpu.addNativeFunction('philoxBits', PHILOX_GLSL);
}

export class GpujsBackend implements Backend<GpujsBuffer> {
  readonly dtypes: readonly DType[] = ['float32', 'int32'];
  readonly kernels: Kernels<GpujsBuffer>;
  readonly rt: Runtime;
  private bytesInUse = 0;
  private readonly upload;

  /** `gpu` must have had installKernelFunctions applied before it built any kernel. */
  constructor(
    gpu: GpuJs,
    /** The kernel class and renderer gpu.js really runs on. */
    readonly adapter: string,
    readonly name = 'gpujs',
  ) {
    this.rt = new Runtime(gpu, adapter);
    this.upload = this.rt.kernel('upload', () => 'function (a) { return a[this.thread.x]; }');
    this.kernels = {
      ...elementwiseKernels(this.rt),
      ...reduceKernels(this.rt),
      ...matmulKernels(this.rt),
      ...convKernels(this.rt),
      ...poolKernels(this.rt),
      ...lrnKernels(this.rt),
      ...softmaxKernels(this.rt),
      ...randomKernels(this.rt),
      ...gatherKernels(this.rt),
      ...topkKernels(this.rt),
      ...sgdKernels(this.rt),
    };
  }

  /** Live textures (buffers' and pending validations'); flat across training steps when nothing leaks. */
  get liveTextures(): number {
    return this.rt.liveTextures;
  }

  alloc(dtype: DType, size: number): GpujsBuffer {
    this.rt.alive('alloc');
    if (dtype !== 'float32' && dtype !== 'int32') {
      throw new TesseraError('alloc', `the gpujs backend holds float32 and int32 tensors only, got ${String(dtype)}`);
    }
    if (!Number.isInteger(size) || size < 0) throw new TesseraError('alloc', `size must be a non-negative integer, got ${size}`);
    if (size > MAX_EXACT) {
      throw new TesseraError('alloc', `the gpujs backend indexes tensors of up to 2^24 = ${MAX_EXACT} elements exactly (float32 arithmetic), got ${size}`);
    }
    this.bytesInUse += size * 4;
    return new GpujsBuffer(dtype, size);
  }

  free(buffer: GpujsBuffer): void {
    if (!(buffer instanceof GpujsBuffer)) throw new TesseraError('free', 'the buffer does not belong to the gpujs backend');
    if (buffer.freed) throw new TesseraError('free', 'the buffer was already freed');
    this.bytesInUse -= buffer.size * 4;
    this.rt.release(buffer);
  }

  write(buffer: GpujsBuffer, data: TypedArray): void {
    this.rt.alive('write');
    if (buffer.freed) throw new TesseraError('write', 'the buffer was freed');
    if (data.length !== buffer.size) throw new TesseraError('write', `expected ${buffer.size} elements, got ${data.length}`);
    let values: Float32Array;
    if (buffer.dtype === 'int32') {
      if (!(data instanceof Int32Array)) throw new TesseraError('write', `expected int32 data, got ${data.constructor.name}`);
      for (let i = 0; i < data.length; i++) {
        const v = data[i]!;
        if (v > MAX_EXACT || v < -MAX_EXACT) {
          throw new TesseraError('write', `int32 value ${v} at position ${i} is outside ±2^24, the integers the gpujs backend's float32 textures hold exactly`);
        }
      }
      values = Float32Array.from(data);
    } else {
      if (!(data instanceof Float32Array)) throw new TesseraError('write', `expected float32 data, got ${data.constructor.name}`);
      // gpu.js may keep the array until the upload; the caller may reuse `data` at once.
      values = Float32Array.from(data);
    }
    this.rt.run(this.upload, buffer, [values]);
  }

  async read(buffer: GpujsBuffer): Promise<TypedArray> {
    this.rt.alive('read');
    if (buffer.freed) throw new TesseraError('read', 'the buffer was freed');
    // GL work runs synchronously; yielding a macrotask keeps a read as asynchronous as on any GPU, so that
    // timers and message ports (a test runner's, a page's) are served between reads.
    await new Promise<void>((resolve) => setTimeout(resolve, 0));
    if (buffer.freed) throw new TesseraError('read', 'the buffer was freed');
    this.rt.settle();
    const values = this.rt.download(buffer);
    if (buffer.dtype === 'float32') return values;
    const out = new Int32Array(values.length);
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      if (!(Math.abs(v) <= MAX_EXACT)) {
        throw new TesseraError('read', `int32 element ${i} holds ${v}, beyond ±2^24 where the gpujs backend's float32 textures are exact`);
      }
      out[i] = v;
    }
    return out;
  }

  async sync(): Promise<void> {
    this.rt.alive('sync');
  }

  memory(): BackendMemory {
    return { bytesInUse: this.bytesInUse, bytesReserved: this.rt.liveBytes };
  }

  dispose(): void {
    this.rt.dispose();
  }
}
