/**
 * Finds and loads the addon (build/Release/tessera_cuda.node beside dist/, located via import.meta.url), or
 * explains why it cannot: build/native-status.json, written by scripts/build-native.mjs, says why the
 * native build was skipped or failed.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { TesseraError } from '@tessera/tensor';

export interface DeviceInfo {
  name: string;
  computeCapability: string;
  totalMemory: number;
  multiProcessors: number;
  driverVersion: number;
  runtimeVersion: number;
  deviceCount: number;
  device: number;
}

export interface NativeMemory {
  bytesReserved: number;
  bytesCached: number;
  mallocCalls: number;
  pinnedCached: number;
}

/** The addon's exports (csrc/addon.cc). Pointers travel as numbers (exact below 2⁵³). */
export interface NativeAddon {
  probe(): { runtimeVersionBuilt: number; kernels: number; driverVersion: number };
  init(device: number): DeviceInfo;
  alloc(bytes: number): number;
  free(ptr: number): void;
  write(ptr: number, data: ArrayBufferView): void;
  read(ptr: number, bytes: number): Promise<ArrayBuffer>;
  sync(): Promise<void>;
  launch(kernel: number, args: Float64Array): void;
  memory(): NativeMemory;
  setTf32(on: boolean): void;
  trim(): void;
  dispose(): void;
}

export interface NativeStatus {
  built: boolean;
  reason: string;
  archs?: string[];
  nvcc?: string;
  seconds?: number;
  nvccSeconds?: number;
}

const ADDON_NAME = 'tessera_cuda.node';

/** Where the addon may be: TESSERA_CUDA_ADDON, the package's build/ (from dist/ or src/), or beside a bundle. */
export function addonCandidates(): string[] {
  const out: string[] = [];
  const env = typeof process !== 'undefined' ? process.env.TESSERA_CUDA_ADDON : undefined;
  if (env) out.push(env);
  out.push(fileURLToPath(new URL(`../build/Release/${ADDON_NAME}`, import.meta.url)));
  out.push(fileURLToPath(new URL(`./${ADDON_NAME}`, import.meta.url)));
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

/** Loads the addon; throws a TesseraError('cuda', reason) when it was not built or cannot load. */
export function loadNative(): NativeAddon {
  if (cached) return cached;
  const path = addonCandidates().find((p) => existsSync(p));
  if (!path) {
    const status = nativeStatus();
    const reason =
      status && !status.built ? status.reason : 'the addon build/Release/tessera_cuda.node is missing (run npm run build -w @tessera/backend-cuda)';
    throw new TesseraError('cuda', `the CUDA backend was not built: ${reason}`);
  }
  try {
    cached = createRequire(import.meta.url)(path) as NativeAddon;
  } catch (err) {
    throw new TesseraError('cuda', `the CUDA addon ${path} failed to load: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  return cached;
}
