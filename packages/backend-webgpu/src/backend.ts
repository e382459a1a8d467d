/**
 * The WebGPU backend: device-resident buffers from a bucketed pool, every kernel a WGSL compute shader
 * recorded into batched command buffers, and `read` (a pooled staging buffer, mapped asynchronously) the only
 * way back to the host.
 */
import { TesseraError, type Backend, type BackendMemory, type DType, type Kernels, type TypedArray } from '@tessera/tensor';
import { convKernels } from './kernels/conv.js';
import { elementwiseKernels } from './kernels/elementwise.js';
import { gatherKernels } from './kernels/gather.js';
import { lrnKernels } from './kernels/lrn.js';
import { matmulKernels } from './kernels/matmul.js';
import { poolKernels } from './kernels/pooling.js';
import { randomKernels } from './kernels/random.js';
import { reduceKernels } from './kernels/reduce.js';
import { sgdKernels } from './kernels/sgd.js';
import { softmaxKernels } from './kernels/softmax.js';
import { topkKernels } from './kernels/topk.js';
import { NODE_NO_ADAPTER_HINT, platformGpu, throttleDawnPolling } from './platform.js';
import { GpuBuffer, Runtime, type RuntimeOptions } from './runtime.js';

export { GpuBuffer };

export interface WebGpuBackendOptions extends RuntimeOptions {
  /** Name the backend reports (default "webgpu"). */
  name?: string;
  powerPreference?: GPUPowerPreference;
  /** Options for Dawn's `create()` in Node, e.g. `['enable-dawn-features=…']`. */
  dawnOptions?: string[];
  /** Run on an existing device instead of requesting one. */
  device?: GPUDevice;
  /**
   * In Node, throttle Dawn's busy-wait polling once a wait lasts longer than ~64 ticks (default true; see
   * `throttleDawnPolling`). It frees a CPU core while the GPU works, at the cost of up to 1 ms of latency.
   */
  throttleDawnPolling?: boolean;
}

/** Limits worth raising to what the adapter offers (the defaults cap bindings at 128 MiB). */
const WANTED_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBuffersPerShaderStage',
  'maxUniformBufferBindingSize',
] as const;

function describeAdapter(adapter: GPUAdapter): string {
  const info = (adapter as { info?: GPUAdapterInfo }).info;
  if (!info) return 'unknown adapter';
  const parts = [info.vendor, info.architecture, info.device, info.description].filter((s) => typeof s === 'string' && s.length > 0);
  return parts.length > 0 ? [...new Set(parts)].join(' / ') : 'unknown adapter';
}

export class WebGpuBackend implements Backend<GpuBuffer> {
  readonly dtypes: readonly DType[] = ['float32', 'int32'];
  readonly kernels: Kernels<GpuBuffer>;

  constructor(
    readonly rt: Runtime,
    readonly name = 'webgpu',
  ) {
    this.kernels = {
      ...elementwiseKernels(rt),
      ...reduceKernels(rt),
      ...matmulKernels(rt),
      ...convKernels(rt),
      ...poolKernels(rt),
      ...lrnKernels(rt),
      ...softmaxKernels(rt),
      ...randomKernels(rt),
      ...gatherKernels(rt),
      ...topkKernels(rt),
      ...sgdKernels(rt),
    };
  }

  /** The adapter this backend runs on, as the platform describes it. */
  get adapter(): string {
    return this.rt.adapterDescription;
  }

  get device(): GPUDevice {
    return this.rt.device;
  }

  alloc(dtype: DType, size: number): GpuBuffer {
    if (dtype !== 'float32' && dtype !== 'int32') {
      throw new TesseraError('alloc', `the webgpu backend holds float32 and int32 tensors only (WebGPU has no float64), got ${String(dtype)}`);
    }
    if (!Number.isInteger(size) || size < 0) throw new TesseraError('alloc', `size must be a non-negative integer, got ${size}`);
    return this.rt.alloc(dtype, size);
  }

  free(buffer: GpuBuffer): void {
    if (!(buffer instanceof GpuBuffer)) throw new TesseraError('free', 'the buffer does not belong to the webgpu backend');
    if (buffer.freed) throw new TesseraError('free', 'the buffer was already freed');
    this.rt.release(buffer);
  }

  write(buffer: GpuBuffer, data: TypedArray): void {
    if (data.length !== buffer.size) throw new TesseraError('write', `expected ${buffer.size} elements, got ${data.length}`);
    const ok = buffer.dtype === 'float32' ? data instanceof Float32Array : data instanceof Int32Array;
    if (!ok) throw new TesseraError('write', `expected ${buffer.dtype} data, got ${data.constructor.name}`);
    if (buffer.freed) throw new TesseraError('write', 'the buffer was freed');
    this.rt.write(buffer, data);
  }

  async read(buffer: GpuBuffer): Promise<TypedArray> {
    if (buffer.freed) throw new TesseraError('read', 'the buffer was freed');
    const bytes = await this.rt.read(buffer);
    return buffer.dtype === 'int32' ? new Int32Array(bytes) : new Float32Array(bytes);
  }

  sync(): Promise<void> {
    return this.rt.sync();
  }

  memory(): BackendMemory {
    return this.rt.memory();
  }

  dispose(): void {
    this.rt.dispose();
  }
}

/**
 * Requests an adapter and a device with the adapter's real limits and wraps them as a backend. Throws a
 * TesseraError saying why when the platform has no WebGPU adapter.
 */
export async function createWebGpuBackend(opts: WebGpuBackendOptions = {}): Promise<WebGpuBackend> {
  if (opts.device) {
    if (opts.throttleDawnPolling ?? true) throttleDawnPolling();
    return new WebGpuBackend(new Runtime(opts.device, 'caller-provided device', opts), opts.name);
  }
  const { gpu, platform } = await platformGpu(opts.dawnOptions, opts.throttleDawnPolling ?? true);
  const adapter = await gpu.requestAdapter(opts.powerPreference ? { powerPreference: opts.powerPreference } : undefined);
  if (!adapter) {
    throw new TesseraError(
      'webgpu',
      `no WebGPU adapter found (${platform === 'node' ? NODE_NO_ADAPTER_HINT : 'the browser exposes navigator.gpu but offers no adapter; see chrome://gpu'})`,
    );
  }
  const requiredLimits: Record<string, number> = {};
  const limits = adapter.limits as unknown as Record<string, number | undefined>;
  for (const key of WANTED_LIMITS) {
    const v = limits[key];
    if (typeof v === 'number') requiredLimits[key] = v;
  }
  let device: GPUDevice;
  try {
    device = await adapter.requestDevice({ requiredLimits, label: 'tessera' });
  } catch (err) {
    throw new TesseraError('webgpu', `the adapter refused a device with its own limits: ${(err as Error).message}`, { cause: err });
  }
  return new WebGpuBackend(new Runtime(device, describeAdapter(adapter), opts), opts.name);
}
