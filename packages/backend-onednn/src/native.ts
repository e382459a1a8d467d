/**
 * Finds and loads the addon (build/Release/tessera_onednn.node beside dist/, located via import.meta.url), or
 * explains why it cannot: build/native-status.json, written by scripts/build-native.mjs, says why the native
 * build was skipped or failed.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { TesseraError } from '@tessera/tensor/backend';

export interface NativeProbe {
  /** Kernels in the addon's table (csrc/kernels.h). */
  kernels: number;
  /** oneDNN version the addon runs against, e.g. "2.6.3". */
  dnnlVersion: string;
  /** OpenMP threads oneDNN and the plain kernels use. */
  threads: number;
  /** The instruction set oneDNN's JIT targets on this machine, e.g. "avx512_core". */
  isa: string;
}

type NativeBuffer = Float32Array | Int32Array | null;

/** The addon's exports (csrc/addon.cc). */
export interface NativeAddon {
  launch(kernel: number, b0: NativeBuffer, b1: NativeBuffer, b2: NativeBuffer, b3: NativeBuffer, b4: NativeBuffer, params: Float64Array): void;
  probe(): NativeProbe;
  setThreads(threads: number): void;
  cacheStats(): { primitives: number; bytes: number };
  clearCache(): void;
}

export interface NativeStatus {
  built: boolean;
  reason: string;
  dnnl?: string;
  seconds?: number;
}

const ADDON_NAME = 'tessera_onednn.node';

/** Where the addon may be: TESSERA_ONEDNN_ADDON, or the package's build/ (from dist/ or src/). */
export function addonCandidates(): string[] {
  const out: string[] = [];
  const env = typeof process !== 'undefined' ? process.env.TESSERA_ONEDNN_ADDON : undefined;
  if (env) out.push(env);
  out.push(fileURLToPath(new URL(`../build/Release/${ADDON_NAME}`, import.meta.url)));
  return out;
}

/** The native build's own account (build/native-status.json), or null where there is none. */
export function nativeStatus(): NativeStatus | null {
  const file = fileURLToPath(new URL('../build/native-status.json', import.meta.url));
  if (!existsSync(file)) return null;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as NativeStatus;
  } catch {
    return null;
  }
}

let cached: NativeAddon | null = null;

/** Loads the addon; throws a TesseraError('onednn', reason) when it was not built or cannot load. */
export function loadNative(): NativeAddon {
  if (cached) return cached;
  const path = addonCandidates().find((p) => existsSync(p));
  if (!path) {
    const status = nativeStatus();
    const reason =
      status && !status.built ? status.reason : 'the addon build/Release/tessera_onednn.node is missing (run npm run build -w @tessera/backend-onednn)';
    throw new TesseraError('onednn', `the oneDNN backend was not built: ${reason}`);
  }
  // OpenMP's default, spinning for a while after each parallel region, steals the core the JS thread needs
  // between kernels; on the 2-core dev machine under load it made a 2-thread AlexNet forward 1.7× slower
  // than sleeping at once (README). libgomp reads this when the addon loads it, so it is set first.
  if (typeof process !== 'undefined' && process.env.OMP_WAIT_POLICY === undefined) process.env.OMP_WAIT_POLICY = 'PASSIVE';
  try {
    cached = createRequire(import.meta.url)(path) as NativeAddon;
  } catch (err) {
    throw new TesseraError('onednn', `the oneDNN addon ${path} failed to load: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  return cached;
}
