/**
 * Where the `GPU` object comes from. In a browser (or a worker) it is `navigator.gpu`; in Node it is Dawn,
 * from the npm package `webgpu`, loaded with a dynamic import whose specifier bundlers cannot see, so a
 * browser bundle of this package never contains (or tries to resolve) the Node-only addon.
 */
import { TesseraError } from '@tessera/tensor';

/** Options for `create()` of the npm package `webgpu` (Dawn toggles such as `enable-dawn-features=…`). */
export type DawnOptions = string[];

interface NavigatorLike {
  gpu?: GPU;
}

function isNode(): boolean {
  const p = (globalThis as { process?: { versions?: { node?: string } } }).process;
  return typeof p?.versions?.node === 'string';
}

/** Why Dawn in Node found no adapter, and what usually fixes it. */
export const NODE_NO_ADAPTER_HINT =
  'in Node, Dawn needs a Vulkan loader and driver: on Debian, `apt install chromium` ships SwiftShader; then set ' +
  'VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json (and LD_LIBRARY_PATH=/usr/lib/chromium when libvulkan1 is not installed)';

/** One Dawn instance per set of options. */
const nodeGpus = new Map<string, Promise<GPU>>();
let pollingThrottled = false;

/**
 * Dawn's Node binding waits for GPU work (mapAsync, onSubmittedWorkDone) by re-arming `setImmediate` with
 * a native tick until the work is done: a busy loop that keeps one core at 100% for as long as the GPU is
 * busy. On a CPU adapter (SwiftShader) that core is taken from the driver's own threads — measured here,
 * a 1024² matmul ran 1.6× slower. This wraps `setImmediate` so that native callbacks (Dawn's tick; ordinary
 * JavaScript callbacks pass through untouched) run immediately for the first ~64 ticks of a wait, then every
 * millisecond: short waits stay as fast, long waits stop burning a core.
 */
export function throttleDawnPolling(): void {
  const g = globalThis as unknown as { setImmediate?: (fn: (...a: unknown[]) => void, ...args: unknown[]) => unknown };
  const original = g.setImmediate;
  if (pollingThrottled || typeof original !== 'function') return;
  pollingThrottled = true;
  const toText = Function.prototype.toString;
  let burst = 0;
  let last = 0;
  g.setImmediate = function (fn: (...a: unknown[]) => void, ...args: unknown[]) {
    if (typeof fn === 'function' && toText.call(fn).endsWith('{ [native code] }')) {
      const now = performance.now();
      if (now - last > 4) burst = 0;
      last = now;
      if (burst++ >= 64) return setTimeout(fn, 1, ...args);
    }
    return original(fn, ...args);
  } as typeof original;
}

/** The platform's GPU entry point, or a TesseraError saying why there is none. */
export async function platformGpu(dawnOptions: DawnOptions = [], throttle = true): Promise<{ gpu: GPU; platform: 'browser' | 'node' }> {
  if (throttle && isNode()) throttleDawnPolling();
  const nav = (globalThis as { navigator?: NavigatorLike }).navigator;
  if (nav?.gpu) return { gpu: nav.gpu, platform: isNode() ? 'node' : 'browser' };
  if (!isNode()) {
    throw new TesseraError('webgpu', 'this JavaScript environment has no WebGPU (navigator.gpu is undefined); use a browser with WebGPU enabled');
  }
  const key = dawnOptions.join('\n');
  let pending = nodeGpus.get(key);
  if (!pending) {
    pending = (async () => {
      // A computed specifier: bundlers leave it alone, so browser bundles never see the Node addon.
      const specifier = ['web', 'gpu'].join('');
      let mod: { create: (options: string[]) => GPU };
      try {
        mod = (await import(/* @vite-ignore */ specifier)) as typeof mod;
      } catch (err) {
        throw new TesseraError('webgpu', `the npm package "webgpu" (Dawn for Node) could not be loaded: ${(err as Error).message}`, { cause: err });
      }
      return mod.create(dawnOptions);
    })();
    nodeGpus.set(key, pending);
  }
  try {
    return { gpu: await pending, platform: 'node' };
  } catch (err) {
    nodeGpus.delete(key);
    throw err;
  }
}
