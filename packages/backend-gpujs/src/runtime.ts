/**
 * The gpu.js runtime: one GPU instance, a cache of compiled kernels, device-resident float textures behind
 * every buffer, and the deferred validation that index-taking kernels record for the next `read`.
 *
 * Every kernel is a gpu.js kernel over a 1-D output (`pipeline` + `immutable`, `precision: 'single'`): 2-D
 * outputs wider than MAX_TEXTURE_SIZE throw, 1-D ones gpu.js packs into a square-ish texture, so kernels
 * index their data themselves. A run returns a new texture that replaces the output buffer's previous one
 * (which is deleted); kernels therefore never write in place, even the "in-place" ones.
 */
import { TesseraError, type DType } from '@tessera/tensor/backend';
import type { GpuJs, GpuKernel, GpuTexture } from './gpujs-types.js';

/** Largest element count (and integer) every kernel indexes exactly: float32 holds integers up to 2²⁴. */
export const MAX_EXACT = 16777216;

export class GpujsBuffer {
  /** The texture holding the values; null until the buffer is first written (contents undefined). */
  texture: GpuTexture | null = null;
  freed = false;

  constructor(
    readonly dtype: DType,
    readonly size: number,
  ) {}
}

interface PendingCheck {
  flags: GpuTexture;
  count: number;
  error: (position: number) => TesseraError;
}

/** Arguments a kernel takes: a buffer (its texture is passed), a host array (uploaded), or a scalar. */
export type KernelArg = GpujsBuffer | Float32Array | number;

export class Runtime {
  private readonly kernels = new Map<string, GpuKernel>();
  private readonly keys = new WeakMap<GpuKernel, string>();
  private pending: PendingCheck[] = [];
  private zero: GpuTexture | null = null;
  private disposed = false;
  /** Textures this runtime holds for live buffers and pending checks. */
  liveTextures = 0;
  /** Bytes of those textures (RGBA float32 texels). */
  liveBytes = 0;

  constructor(
    readonly gpu: GpuJs,
    /** The real gpu.js kernel class in use, e.g. "WebGL2Kernel (WebGL2 on SwiftShader)". */
    readonly description: string,
  ) {}

  alive(op: string): void {
    if (this.disposed) throw new TesseraError(op, 'the gpujs backend was disposed');
  }

  /** The compiled kernel for `key`, created from `source` (a gpu.js kernel function as a string) on first use. */
  kernel(key: string, source: () => string): GpuKernel {
    let k = this.kernels.get(key);
    if (!k) {
      k = this.gpu.createKernel(source(), {
        output: [1],
        pipeline: true,
        immutable: true,
        precision: 'single',
        tactic: 'precision',
        dynamicOutput: true,
        dynamicArguments: true,
        // Loops with run-time bounds compile to a bounded loop with a break; the bound must cover every size.
        loopMaxIterations: MAX_EXACT,
      });
      this.kernels.set(key, k);
      this.keys.set(k, key);
    }
    return k;
  }

  /** The texture to pass for a buffer; a 1-texel stand-in when it was never written (contents undefined). */
  private textureOf(b: GpujsBuffer): GpuTexture {
    if (b.freed) throw new TesseraError('gpujs', 'a kernel received a freed buffer');
    if (b.texture) return b.texture;
    if (!this.zero)
      this.zero = this.runRaw(
        this.kernel('zeros', () => 'function () { return 0.0; }'),
        1,
        [],
      );
    return this.zero;
  }

  private runRaw(k: GpuKernel, size: number, args: KernelArg[]): GpuTexture {
    k.setOutput([size]);
    const values = args.map((a) => (a instanceof GpujsBuffer ? this.textureOf(a) : a));
    let tex: GpuTexture;
    try {
      tex = k(...values) as GpuTexture;
    } catch (err) {
      const shader = (k.kernel as { compiledFragmentShader?: string } | undefined)?.compiledFragmentShader;
      const line = /ERROR: 0:(\d+)/.exec(String(err))?.[1];
      const context =
        shader && line
          ? `\n${shader
              .split('\n')
              .slice(Number(line) - 4, Number(line) + 2)
              .join('\n')}`
          : '';
      throw new TesseraError('gpujs', `kernel "${this.keys.get(k)}" failed: ${(err as Error).message}${context}`, { cause: err });
    }
    if (!tex || typeof tex.delete !== 'function') throw new TesseraError('gpujs', 'a kernel did not return a texture (gpu.js pipeline mode is off)');
    return tex;
  }

  private account(tex: GpuTexture, sign: 1 | -1): void {
    this.liveTextures += sign;
    this.liveBytes += sign * tex.size[0] * tex.size[1] * 16;
  }

  /** Runs `k` over `size` elements and returns the new texture (null for none), for the caller to adopt. */
  produce(k: GpuKernel, size: number, args: KernelArg[]): GpuTexture | null {
    return size === 0 ? null : this.runRaw(k, size, args);
  }

  /** Runs `k` over `out.size` elements and makes the result `out`'s contents. */
  run(k: GpuKernel, out: GpujsBuffer, args: KernelArg[]): void {
    if (out.size === 0) return;
    const tex = this.runRaw(k, out.size, args);
    this.adopt(out, tex);
  }

  /** Makes `tex` the contents of `out`, deleting the texture it held. */
  adopt(out: GpujsBuffer, tex: GpuTexture): void {
    if (out.texture) {
      this.account(out.texture, -1);
      out.texture.delete();
    }
    out.texture = tex;
    this.account(tex, 1);
  }

  /**
   * Records a validation for the next `read`: `k` writes 1 at each of `count` positions that is invalid,
   * `error(position)` builds the TesseraError for the first one.
   */
  check(k: GpuKernel, count: number, args: KernelArg[], error: (position: number) => TesseraError): void {
    if (count === 0) return;
    const flags = this.runRaw(k, count, args);
    this.account(flags, 1);
    this.pending.push({ flags, count, error });
  }

  /** Reads the pending validations; throws the first failure's error (every pending check is consumed). */
  settle(): void {
    const pending = this.pending;
    this.pending = [];
    let failure: TesseraError | null = null;
    for (const c of pending) {
      if (!failure) {
        const flags = c.flags.toArray() as Float32Array;
        for (let i = 0; i < c.count; i++) {
          if (flags[i] !== 0) {
            failure = c.error(i);
            break;
          }
        }
      }
      this.account(c.flags, -1);
      c.flags.delete();
    }
    if (failure) throw failure;
  }

  /** Host copy of a buffer's float values (length `size`). */
  download(b: GpujsBuffer): Float32Array {
    if (!b.texture) return new Float32Array(b.size);
    const tex = b.texture;
    const values = tex.toArray() as Float32Array;
    return values.length === b.size ? Float32Array.from(values) : Float32Array.from(values.subarray(0, b.size));
  }

  release(b: GpujsBuffer): void {
    b.freed = true;
    if (b.texture) {
      this.account(b.texture, -1);
      b.texture.delete();
      b.texture = null;
    }
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const c of this.pending) c.flags.delete();
    this.pending = [];
    this.zero?.delete();
    for (const k of this.kernels.values()) k.destroy?.();
    this.kernels.clear();
    void this.gpu.destroy();
  }
}
