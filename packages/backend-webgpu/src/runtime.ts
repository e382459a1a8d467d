/**
 * The device runtime every kernel records through: buffers from the bucketed pool, one command encoder per
 * batch (dispatches are recorded into a single compute pass and submitted together), per-dispatch uniforms
 * packed into one arena buffer uploaded at submit, pipelines and bind-group layouts cached by kernel variant,
 * binding windows for tensors larger than one storage binding, and the error plumbing: error scopes per
 * batch, `uncapturederror`, device loss, and a flag buffer through which kernels report bad indices.
 */
import { TesseraError, type DType } from '@tessera/tensor';
import type { BackendBuffer } from '@tessera/tensor';
import { BufferPool } from '@tessera/tensor/backend';

/** GPUBufferUsage / GPUMapMode bits (the globals are not defined in Node). */
export const Usage = { MAP_READ: 1, COPY_SRC: 4, COPY_DST: 8, UNIFORM: 64, STORAGE: 128 } as const;
const MAP_READ_MODE = 1;

/** A device allocation as the pool hands it out. `lastBatch` is the command batch that last used it. */
export interface Block {
  readonly gpu: GPUBuffer;
  readonly capacity: number;
  lastBatch: number;
}

/**
 * The toolkit's caching allocator over GPU buffers: size classes of 256 bytes (the storage-binding offset
 * alignment; no zero-sized buffers) up to 256 bytes, then eight per octave, never above the device's largest
 * buffer. After the first training step no `createBuffer` happens at all.
 */
function blockPool(device: GPUDevice, usage: GPUBufferUsageFlags, maxBufferSize: number, keepBytes: number, label: string): BufferPool<Block> {
  return new BufferPool<Block>(
    {
      allocate: (bytes) => ({ gpu: device.createBuffer({ size: bytes, usage, label: `${label} ${bytes}` }), capacity: bytes, lastBatch: 0 }),
      release: (block) => block.gpu.destroy(),
    },
    { name: 'webgpu', sizeClasses: { granule: 256, linearUpTo: 256, maxBytes: maxBufferSize }, keepBytes },
  );
}

export class GpuBuffer implements BackendBuffer {
  freed = false;
  constructor(
    readonly dtype: DType,
    readonly size: number,
    readonly block: Block,
  ) {}
  get gpu(): GPUBuffer {
    return this.block.gpu;
  }
}

/** How a kernel binds a storage buffer. */
export type BindingKind = 'read' | 'write';

export type ParamType = 'u32' | 'i32' | 'f32';

/**
 * A kernel's uniform parameters: 32-bit scalars packed in order into `array<vec4<u32>, N>`, so host
 * packing and the WGSL view can never disagree about layout.
 */
export class Params {
  readonly words: number;
  private readonly index = new Map<string, [number, ParamType]>();

  constructor(readonly fields: readonly (readonly [string, ParamType])[]) {
    fields.forEach(([name, type], i) => this.index.set(name, [i, type]));
    this.words = Math.max(4, Math.ceil(fields.length / 4) * 4);
  }

  /** The uniform declaration (binding 0). */
  decl(): string {
    return `@group(0) @binding(0) var<uniform> U: array<vec4<u32>, ${this.words / 4}>;\n`;
  }

  /** WGSL expression reading field `name`. */
  get(name: string): string {
    const f = this.index.get(name);
    if (!f) throw new Error(`internal: no uniform field ${name}`);
    const raw = `U[${f[0] >> 2}].${'xyzw'[f[0] & 3]}`;
    return f[1] === 'u32' ? raw : `bitcast<${f[1]}>(${raw})`;
  }

  /** `let name = …;` for every field (to paste at the top of main). */
  lets(): string {
    return this.fields.map(([name]) => `  let ${name} = ${this.get(name)};\n`).join('');
  }

  pack(values: Readonly<Record<string, number>>, u32: Uint32Array, i32: Int32Array, f32: Float32Array, at: number): void {
    this.fields.forEach(([name, type], i) => {
      const v = values[name];
      if (v === undefined) throw new Error(`internal: uniform field ${name} missing`);
      if (type === 'f32') f32[at + i] = v;
      else if (type === 'i32') i32[at + i] = v;
      else u32[at + i] = v;
    });
  }
}

export interface KernelSource {
  code: string;
  /** Storage bindings 1…n, in order. */
  kinds: readonly BindingKind[];
  params: Params;
}

export interface Kernel {
  readonly key: string;
  readonly pipeline: GPUComputePipeline;
  readonly layout: GPUBindGroupLayout;
  readonly kinds: readonly BindingKind[];
  readonly params: Params;
}

/** A bound range of a buffer: `base` is the element index of the range's first element. */
export interface Window {
  readonly gpu: GPUBuffer;
  readonly block?: Block;
  readonly offset: number;
  readonly size: number;
  readonly base: number;
}

export interface RuntimeOptions {
  /** Caps the storage binding size below the device's (to exercise the splitting paths, or mimic a smaller GPU). */
  maxStorageBufferBindingSize?: number;
  /** Free bytes the buffer pool keeps for reuse (default 1 GiB). */
  poolBytes?: number;
  /** Dispatches recorded before a batch is submitted without waiting for a read (default 96). */
  flushEvery?: number;
}

interface Check {
  op: string;
  message: (value: number, position: number) => string;
}

interface ErrorCapture {
  staging: Block;
  upto: number;
}

const ARENA_BYTES = 1 << 20;
const SLOT_ALIGN = 256;

export class Runtime {
  readonly limits: {
    maxStorageBufferBindingSize: number;
    maxBufferSize: number;
    maxComputeWorkgroupsPerDimension: number;
    maxComputeWorkgroupStorageSize: number;
    maxComputeInvocationsPerWorkgroup: number;
    minStorageBufferOffsetAlignment: number;
  };
  /** Largest storage binding, in 4-byte elements. */
  readonly maxBindingElems: number;
  readonly buffers: BufferPool<Block>;
  private readonly staging: BufferPool<Block>;

  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  /** Id of the batch being recorded; blocks remember the last batch that used them. */
  batch = 1;
  private commands = 0;
  private readonly flushEvery: number;

  private readonly arena: GPUBuffer;
  private readonly arenaBytes = new ArrayBuffer(ARENA_BYTES);
  private readonly arenaU32 = new Uint32Array(this.arenaBytes);
  private readonly arenaI32 = new Int32Array(this.arenaBytes);
  private readonly arenaF32 = new Float32Array(this.arenaBytes);
  private arenaUsed = 0;

  private readonly kernels = new Map<string, Kernel>();
  private readonly layouts = new Map<string, GPUBindGroupLayout>();
  private readonly tables = new Map<string, GpuBuffer>();

  private readonly errorFlags: GPUBuffer;
  private readonly checks = new Map<number, Check>();
  private nextCheck = 1;
  private scopeResults: Promise<string | null>[] = [];
  private uncaptured: string[] = [];
  private lostInfo: GPUDeviceLostInfo | null = null;
  disposed = false;

  constructor(
    readonly device: GPUDevice,
    readonly adapterDescription: string,
    opts: RuntimeOptions = {},
  ) {
    const l = device.limits;
    this.limits = {
      maxStorageBufferBindingSize: Math.min(l.maxStorageBufferBindingSize, opts.maxStorageBufferBindingSize ?? Infinity),
      maxBufferSize: l.maxBufferSize,
      maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
      maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
      maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
      minStorageBufferOffsetAlignment: l.minStorageBufferOffsetAlignment,
    };
    if (this.limits.maxStorageBufferBindingSize < 4 * this.limits.minStorageBufferOffsetAlignment) {
      throw new TesseraError(
        'webgpu',
        `maxStorageBufferBindingSize ${this.limits.maxStorageBufferBindingSize} is too small (at least ${4 * this.limits.minStorageBufferOffsetAlignment} bytes)`,
      );
    }
    this.maxBindingElems = Math.floor(this.limits.maxStorageBufferBindingSize / 4);
    this.flushEvery = opts.flushEvery ?? 96;
    this.buffers = blockPool(device, Usage.STORAGE | Usage.COPY_SRC | Usage.COPY_DST, l.maxBufferSize, opts.poolBytes ?? 2 ** 30, 'tessera');
    this.staging = blockPool(device, Usage.MAP_READ | Usage.COPY_DST, l.maxBufferSize, 256 * 2 ** 20, 'tessera staging');
    this.arena = device.createBuffer({ size: ARENA_BYTES, usage: Usage.UNIFORM | Usage.COPY_DST, label: 'tessera uniforms' });
    this.errorFlags = device.createBuffer({ size: 16, usage: Usage.STORAGE | Usage.COPY_SRC | Usage.COPY_DST, label: 'tessera error flags' });
    void device.lost.then((info) => {
      if (!this.disposed) this.lostInfo = info;
    });
    const onError = (ev: Event) => {
      const e = (ev as GPUUncapturedErrorEvent).error;
      this.uncaptured.push(`${errorKind(e)}: ${e.message}`);
    };
    if (typeof device.addEventListener === 'function') device.addEventListener('uncapturederror', onError);
    else (device as { onuncapturederror: unknown }).onuncapturederror = onError;
    this.pushScopes();
  }

  // ---- lifetime and errors ------------------------------------------------------------------------

  /** Throws when the device is gone (lost or disposed). */
  alive(op: string): void {
    if (this.disposed) throw new TesseraError(op, 'the webgpu backend has been disposed');
    if (this.lostInfo) {
      throw new TesseraError(op, `the WebGPU device was lost (${this.lostInfo.reason}): ${this.lostInfo.message || 'no message'}; create a new backend`);
    }
  }

  private pushScopes(): void {
    this.device.pushErrorScope('validation');
    this.device.pushErrorScope('out-of-memory');
    this.device.pushErrorScope('internal');
  }

  private popScopes(): Promise<string | null> {
    const internal = this.device.popErrorScope();
    const oom = this.device.popErrorScope();
    const validation = this.device.popErrorScope();
    return Promise.all([validation, oom, internal]).then(
      (errs) => {
        const e = errs.find((x) => x !== null);
        return e ? `${errorKind(e)}: ${e.message}` : null;
      },
      (err: unknown) => `error scope failed: ${(err as Error).message}`,
    );
  }

  /** Registers an index check; kernels pass the returned id and set the flag buffer on a bad index. */
  check(op: string, message: (value: number, position: number) => string): number {
    const id = this.nextCheck++;
    this.checks.set(id, { op, message });
    return id >>> 0;
  }

  get flagBuffer(): Window {
    return { gpu: this.errorFlags, offset: 0, size: 16, base: 0 };
  }

  /** Copies (and clears) the flag buffer when any checking kernel ran since the last capture. */
  private captureFlags(): ErrorCapture | null {
    if (this.checks.size === 0) return null;
    const staging = this.staging.acquire(16);
    this.copy(this.errorFlags, 0, staging.gpu, 0, 16);
    this.endPass();
    this.encoder!.clearBuffer(this.errorFlags);
    return { staging, upto: this.nextCheck - 1 };
  }

  private async settle(capture: ErrorCapture | null, scopes: Promise<string | null>[]): Promise<void> {
    let flagError: TesseraError | null = null;
    if (capture) {
      try {
        await capture.staging.gpu.mapAsync(MAP_READ_MODE, 0, 16);
        const words = new Int32Array(capture.staging.gpu.getMappedRange(0, 16).slice(0));
        capture.staging.gpu.unmap();
        if (words[0] !== 0) {
          const c = this.checks.get(words[0]! >>> 0);
          flagError = c
            ? new TesseraError(c.op, c.message(words[1]!, words[2]!))
            : new TesseraError('webgpu', `a kernel reported bad index ${words[1]} at position ${words[2]}`);
        }
      } finally {
        this.staging.release(capture.staging);
        for (const id of this.checks.keys()) {
          if (id > capture.upto) break;
          this.checks.delete(id);
        }
      }
    }
    const messages = (await Promise.all(scopes)).filter((m): m is string => m !== null);
    messages.push(...this.uncaptured.splice(0));
    if (messages.length > 0) {
      throw new TesseraError(
        'webgpu',
        `the GPU reported ${messages.length === 1 ? 'an error' : `${messages.length} errors`} in work enqueued before this read — ${messages.join('; ')}`,
      );
    }
    if (flagError) throw flagError;
    this.alive('read');
  }

  // ---- recording ----------------------------------------------------------------------------------

  private ensurePass(): GPUComputePassEncoder {
    this.encoder ??= this.device.createCommandEncoder();
    this.pass ??= this.encoder.beginComputePass();
    return this.pass;
  }

  private endPass(): void {
    this.encoder ??= this.device.createCommandEncoder();
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
  }

  /** Records a buffer-to-buffer copy (outside any compute pass). */
  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, bytes: number): void {
    this.endPass();
    this.encoder!.copyBufferToBuffer(src, srcOffset, dst, dstOffset, bytes);
    this.commands++;
  }

  /** Submits everything recorded so far. */
  flush(): void {
    if (!this.encoder) return;
    this.endPass();
    if (this.arenaUsed > 0) this.device.queue.writeBuffer(this.arena, 0, this.arenaBytes, 0, this.arenaUsed);
    this.device.queue.submit([this.encoder.finish()]);
    this.encoder = null;
    this.arenaUsed = 0;
    this.commands = 0;
    this.batch++;
    this.scopeResults.push(this.popScopes());
    this.pushScopes();
  }

  /** Marks a block as used by the batch being recorded. */
  touch(block: Block): void {
    block.lastBatch = this.batch;
  }

  /** Whether writing into `block` through the queue must first submit the recorded work that uses it. */
  pendingUse(block: Block): boolean {
    return this.encoder !== null && block.lastBatch === this.batch;
  }

  kernel(key: string, make: () => KernelSource): Kernel {
    const have = this.kernels.get(key);
    if (have) return have;
    const src = make();
    const layout = this.layoutFor(src.kinds);
    const module = this.device.createShaderModule({ code: src.code, label: key });
    const pipeline = this.device.createComputePipeline({
      label: key,
      layout: this.device.createPipelineLayout({ bindGroupLayouts: [layout] }),
      compute: { module, entryPoint: 'main' },
    });
    const k: Kernel = { key, pipeline, layout, kinds: src.kinds, params: src.params };
    this.kernels.set(key, k);
    return k;
  }

  private layoutFor(kinds: readonly BindingKind[]): GPUBindGroupLayout {
    const key = kinds.join(',');
    let layout = this.layouts.get(key);
    if (!layout) {
      const COMPUTE = 4;
      layout = this.device.createBindGroupLayout({
        entries: [
          { binding: 0, visibility: COMPUTE, buffer: { type: 'uniform' } },
          ...kinds.map((k, i) => ({
            binding: i + 1,
            visibility: COMPUTE,
            buffer: { type: k === 'read' ? ('read-only-storage' as const) : ('storage' as const) },
          })),
        ],
      });
      this.layouts.set(key, layout);
    }
    return layout;
  }

  /** Records one dispatch of `k` with uniforms `values` over `bindings` (in the kernel's binding order). */
  run(k: Kernel, values: Readonly<Record<string, number>>, bindings: readonly Window[], grid: readonly [number, number, number]): void {
    if (grid[0] === 0 || grid[1] === 0 || grid[2] === 0) return;
    const maxGroups = this.limits.maxComputeWorkgroupsPerDimension;
    if (grid[0] > maxGroups || grid[1] > maxGroups || grid[2] > maxGroups) {
      throw new TesseraError(k.key.split(':')[0]!, `needs [${grid}] workgroups, above this device's maxComputeWorkgroupsPerDimension of ${maxGroups}`);
    }
    const bytes = k.params.words * 4;
    if (this.arenaUsed + bytes > ARENA_BYTES) this.flush();
    const at = this.arenaUsed;
    k.params.pack(values, this.arenaU32, this.arenaI32, this.arenaF32, at / 4);
    this.arenaUsed += Math.ceil(bytes / SLOT_ALIGN) * SLOT_ALIGN;
    const entries: GPUBindGroupEntry[] = [{ binding: 0, resource: { buffer: this.arena, offset: at, size: bytes } }];
    bindings.forEach((b, i) => {
      if (b.block) b.block.lastBatch = this.batch;
      entries.push({ binding: i + 1, resource: { buffer: b.gpu, offset: b.offset, size: b.size } });
    });
    const group = this.device.createBindGroup({ layout: k.layout, entries });
    const pass = this.ensurePass();
    pass.setPipeline(k.pipeline);
    pass.setBindGroup(0, group);
    pass.dispatchWorkgroups(grid[0], grid[1], grid[2]);
    if (++this.commands >= this.flushEvery) this.flush();
  }

  /** Workgroups for `count` independent items of `perGroup` each: [x, y, 1] with x within the device limit. */
  grid(count: number, perGroup: number): [number, number, number] {
    const groups = Math.ceil(count / perGroup);
    if (groups === 0) return [0, 1, 1];
    const max = this.limits.maxComputeWorkgroupsPerDimension;
    if (groups <= max) return [groups, 1, 1];
    const y = Math.ceil(groups / max);
    return [Math.ceil(groups / y), y, 1];
  }

  // ---- buffers ----------------------------------------------------------------------------------

  alloc(dtype: DType, size: number, op = 'alloc'): GpuBuffer {
    this.alive(op);
    const bytes = size * 4;
    if (bytes > this.limits.maxBufferSize) {
      throw new TesseraError(
        op,
        `a ${dtype} tensor of ${size} elements (${bytes} bytes) exceeds this device's maxBufferSize of ${this.limits.maxBufferSize} bytes`,
      );
    }
    return new GpuBuffer(dtype, size, this.buffers.acquire(bytes));
  }

  release(buffer: GpuBuffer): void {
    buffer.freed = true;
    if (!this.disposed) this.buffers.release(buffer.block);
  }

  /** A cached constant int32 table (e.g. a convolution's im2col offsets), uploaded once. */
  table(key: string, make: () => Int32Array): GpuBuffer {
    let t = this.tables.get(key);
    if (!t) {
      const data = make();
      t = this.alloc('int32', Math.max(1, data.length), 'table');
      this.write(t, data);
      if (this.tables.size >= 256) {
        const [oldKey, old] = this.tables.entries().next().value as [string, GpuBuffer];
        this.tables.delete(oldKey);
        this.release(old);
      }
      this.tables.set(key, t);
    }
    return t;
  }

  /** Binds a whole buffer, or throws the TesseraError naming the limit when it is larger than one binding. */
  whole(buffer: GpuBuffer, op: string, role: string): Window {
    const bytes = buffer.size * 4;
    if (bytes > this.limits.maxStorageBufferBindingSize) {
      throw new TesseraError(
        op,
        `the ${role} (${buffer.dtype}, ${buffer.size} elements, ${bytes} bytes) is larger than this device's maxStorageBufferBindingSize ` +
          `of ${this.limits.maxStorageBufferBindingSize} bytes, and ${op} cannot split it across bindings`,
      );
    }
    return { gpu: buffer.gpu, block: buffer.block, offset: 0, size: Math.max(4, bytes), base: 0 };
  }

  /** Whether a range of `elems` elements starting anywhere can always be bound (alignment slack included). */
  fitsRange(elems: number): boolean {
    return elems * 4 + this.limits.minStorageBufferOffsetAlignment <= this.limits.maxStorageBufferBindingSize;
  }

  /** Binds elements [lo, hi) of a buffer (the offset aligned down); `base` tells the kernel where it starts. */
  window(buffer: GpuBuffer, lo: number, hi: number): Window {
    const align = this.limits.minStorageBufferOffsetAlignment;
    const offset = Math.floor((lo * 4) / align) * align;
    const end = Math.max(hi * 4, offset + 4);
    return { gpu: buffer.gpu, block: buffer.block, offset, size: end - offset, base: offset / 4 };
  }

  /** Whether the window [lo, hi) fits one binding. */
  windowFits(lo: number, hi: number): boolean {
    const align = this.limits.minStorageBufferOffsetAlignment;
    return Math.max(hi * 4, Math.floor((lo * 4) / align) * align + 4) - Math.floor((lo * 4) / align) * align <= this.limits.maxStorageBufferBindingSize;
  }

  // ---- host transfers ----------------------------------------------------------------------------

  write(buffer: GpuBuffer, data: ArrayBufferView): void {
    this.alive('write');
    // queue.writeBuffer runs before any work still being recorded: submit that work first if it uses the buffer.
    if (this.pendingUse(buffer.block)) this.flush();
    if (data.byteLength > 0) this.device.queue.writeBuffer(buffer.gpu, 0, data.buffer, data.byteOffset, data.byteLength);
  }

  async read(buffer: GpuBuffer): Promise<ArrayBuffer> {
    this.alive('read');
    const bytes = buffer.size * 4;
    let staging: Block | null = null;
    if (bytes > 0) {
      staging = this.staging.acquire(bytes);
      this.copy(buffer.gpu, 0, staging.gpu, 0, bytes);
      buffer.block.lastBatch = this.batch;
    }
    const capture = this.captureFlags();
    this.flush();
    const scopes = this.scopeResults.splice(0);
    let out = new ArrayBuffer(0);
    if (staging) {
      try {
        await staging.gpu.mapAsync(MAP_READ_MODE, 0, bytes);
        out = staging.gpu.getMappedRange(0, bytes).slice(0);
        staging.gpu.unmap();
        this.staging.release(staging);
      } catch (err) {
        this.staging.discard(staging);
        await this.settle(capture, scopes).catch(() => undefined);
        this.alive('read');
        throw new TesseraError('read', `mapping the staging buffer failed: ${(err as Error).message}`, { cause: err });
      }
    }
    await this.settle(capture, scopes);
    return out;
  }

  async sync(): Promise<void> {
    this.alive('sync');
    const capture = this.captureFlags();
    this.flush();
    const scopes = this.scopeResults.splice(0);
    await this.device.queue.onSubmittedWorkDone();
    await this.settle(capture, scopes);
  }

  memory(): { bytesInUse: number; bytesReserved: number } {
    const inUse = this.buffers.liveBytes;
    return { bytesInUse: inUse, bytesReserved: inUse + this.buffers.pooledBytes + this.staging.pooledBytes + this.staging.liveBytes + ARENA_BYTES };
  }

  dispose(): void {
    if (this.disposed) return;
    try {
      this.flush();
    } catch {
      // The device may already be gone; nothing left to submit to.
    }
    this.disposed = true;
    this.buffers.trim();
    this.staging.trim();
    this.tables.clear();
    this.kernels.clear();
    this.device.destroy();
  }
}

function errorKind(e: GPUError): string {
  const name = (e as { constructor?: { name?: string } }).constructor?.name ?? '';
  if (name.includes('Validation')) return 'validation error';
  if (name.includes('OutOfMemory')) return 'out-of-memory error';
  if (name.includes('Internal')) return 'internal error';
  return 'error';
}
