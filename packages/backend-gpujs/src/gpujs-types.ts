/**
 * The slice of gpu.js this backend uses, typed loosely on purpose: kernels are given to gpu.js as source
 * strings (so that no transpiler or minifier can rewrite the functions gpu.js parses), which its own
 * declarations do not describe.
 */
export interface GpuTexture {
  readonly size: [number, number];
  readonly type: string;
  toArray(): Float32Array | Float32Array[];
  delete(): void;
}

export interface GpuKernel {
  (...args: unknown[]): unknown;
  setOutput(output: number[]): void;
  destroy?(): void;
  /** The real kernel instance, once the first call has built it. */
  kernel?: object;
}

export interface GpuJs {
  createKernel(source: string, settings: Record<string, unknown>): GpuKernel;
  addFunction(source: string): unknown;
  addNativeFunction(name: string, source: string): unknown;
  destroy(): Promise<void> | void;
}

/** The gpu.js module: the GPU class and the kernel classes a run can really use. */
export interface GpuJsModule {
  GPU: (new (settings: Record<string, unknown>) => GpuJs) & { isHeadlessGLSupported?: boolean };
  HeadlessGLKernel: new (...args: never[]) => object;
  WebGL2Kernel: new (...args: never[]) => object;
  WebGLKernel: new (...args: never[]) => object;
}
