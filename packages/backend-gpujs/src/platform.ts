/**
 * Finding a real GL context for gpu.js. In Node that is headless-gl (npm `gl`, built from source), which
 * needs an X display; without one gpu.js silently runs its WebAssembly or CPU kernels while still calling
 * itself a GPU, so the backend checks the class of the kernel gpu.js really built and reports itself
 * unavailable, with the reason, unless it is a GL kernel with true float32 textures.
 */
import { TesseraError } from '@tessera/tensor/backend';
import type { GpuJs, GpuJsModule, GpuKernel } from './gpujs-types.js';

const isNode = typeof process !== 'undefined' && typeof process.versions?.node === 'string' && typeof window === 'undefined';

async function loadGpuJs(): Promise<GpuJsModule> {
  try {
    const mod = (await import('gpu.js')) as unknown as GpuJsModule & { default?: GpuJsModule };
    return mod.GPU ? mod : (mod.default as GpuJsModule);
  } catch (err) {
    throw new TesseraError('gpujs', `the gpu.js package cannot be loaded: ${(err as Error).message}`, { cause: err });
  }
}

function nodeHint(): string {
  if (!process.env.DISPLAY) return 'no X display (DISPLAY is unset): headless-gl needs one; run under `xvfb-run -a`';
  return (
    `headless-gl (npm "gl") could not create a context on DISPLAY=${process.env.DISPLAY}: either its native build is missing ` +
    '(it needs pkg-config libx11-dev libxi-dev libxext-dev libgl-dev and python3/make/g++ at install time) or the X server refused it'
  );
}

/** The real kernel class of a built gpu.js kernel, or null when it is not a GL one. */
function glKernelClass(mod: GpuJsModule, kernel: GpuKernel): string | null {
  const k = kernel.kernel;
  if (!k) return null;
  if (k instanceof mod.HeadlessGLKernel) return 'HeadlessGLKernel (WebGL1 via headless-gl)';
  if (k instanceof mod.WebGL2Kernel) return 'WebGL2Kernel';
  if (k instanceof mod.WebGLKernel) return 'WebGLKernel (WebGL1)';
  return null;
}

function rendererOf(kernel: GpuKernel): string {
  const gl = (kernel.kernel as { context?: WebGLRenderingContext } | undefined)?.context;
  if (!gl) return 'unknown renderer';
  const ext = gl.getExtension('WEBGL_debug_renderer_info') as { UNMASKED_RENDERER_WEBGL: number } | null;
  const renderer = ext ? gl.getParameter(ext.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER);
  return String(renderer);
}

/**
 * A gpu.js instance on a real GL context and a description of it, or a TesseraError saying why there is
 * none. `prepare` runs before the first kernel is built (gpu.js takes functions only then). The probe kernel checks that outputs stay on the GPU as float32 textures and that values survive.
 */
export async function openGpuJs(prepare: (gpu: GpuJs) => void = () => {}): Promise<{ gpu: GpuJs; description: string }> {
  const mod = await loadGpuJs();
  const mode = isNode ? 'headlessgl' : 'webgl2';
  if (isNode && !mod.GPU.isHeadlessGLSupported) throw new TesseraError('gpujs', nodeHint());
  let gpu: GpuJs;
  try {
    gpu = new mod.GPU({ mode });
  } catch (err) {
    if (isNode) throw new TesseraError('gpujs', `${nodeHint()} (${(err as Error).message})`, { cause: err });
    throw new TesseraError('gpujs', `this browser offers no WebGL2 context to gpu.js: ${(err as Error).message}`, { cause: err });
  }
  prepare(gpu);
  const probe = gpu.createKernel('function (a) { return a[this.thread.x] / 3.0; }', {
    output: [4],
    pipeline: true,
    immutable: true,
    precision: 'single',
    tactic: 'precision',
  });
  let description: string;
  try {
    const tex = probe(new Float32Array([3, 16777215, -6, 0.5])) as { toArray(): Float32Array; delete(): void };
    const cls = glKernelClass(mod, probe);
    if (!cls) throw new TesseraError('gpujs', `gpu.js did not build a GL kernel in mode "${mode}" (it fell back to a CPU or WebAssembly kernel)`);
    const precision = (probe.kernel as { precision?: string }).precision;
    if (precision !== 'single') {
      throw new TesseraError('gpujs', `the GL context offers no float32 textures (gpu.js chose precision "${String(precision)}")`);
    }
    const got = Array.from(tex.toArray());
    tex.delete();
    const want = [1, 16777215 / 3, -2, 0.5 / 3].map(Math.fround);
    if (got.some((v, i) => Math.abs(v - want[i]!) > 1e-6 * Math.max(1, Math.abs(want[i]!)))) {
      throw new TesseraError('gpujs', `the probe kernel returned ${got.join(', ')} instead of ${want.join(', ')}`);
    }
    description = `${cls} on ${rendererOf(probe)}`;
  } catch (err) {
    probe.destroy?.();
    void gpu.destroy();
    if (err instanceof TesseraError) throw err;
    throw new TesseraError('gpujs', `gpu.js could not run a kernel: ${(err as Error).message}${isNode ? ` (${nodeHint()})` : ''}`, { cause: err });
  }
  probe.destroy?.();
  return { gpu, description };
}
