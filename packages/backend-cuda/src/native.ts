/**
 * Finds and loads the addon (build/Release/tessera_cuda.node beside dist/, located via import.meta.url), or
 * explains why it cannot: build/native-status.json, written by scripts/build-native.mjs, says why the
 * native build was skipped or failed. With TESSERA_CUDA_EMULATE=1 it loads the host emulator instead
 * (build/Release/tessera_cuda_host.node, the same kernels built by the host compiler; scripts/build-host.mjs,
 * build/host-status.json): for tests, not speed.
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
  /** True for the host emulator (TESSERA_CUDA_EMULATE=1). */
  emulated: boolean;
}

/** The addon's own figures. */
export interface NativeMemory {
  /** Bytes obtained from cudaMalloc and not returned (pool blocks and kernel scratch). */
  bytesReserved: number;
  /** The grow-only kernel scratch block (split-K partials). */
  scratchBytes: number;
  /** cudaMalloc calls so far: constant in a steady training loop. */
  mallocCalls: number;
  /** Pinned host staging kept for reuse. */
  pinnedCached: number;
  /** cudaMemGetInfo. */
  deviceFree: number;
  deviceTotal: number;
}

/** The addon's exports (csrc/addon.cc). Pointers travel as numbers (exact below 2⁵³). */
export interface NativeAddon {
  probe(): { runtimeVersionBuilt: number; kernels: number; driverVersion: number; emulated: boolean };
  init(device: number): DeviceInfo;
  /** One cudaMalloc; an Error with code 'cudaErrorMemoryAllocation' when the device is full. */
  malloc(bytes: number): number;
  /** cudaFree of a block from malloc. */
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
const EMULATOR_NAME = 'tessera_cuda_host.node';

/** Whether TESSERA_CUDA_EMULATE=1 asks for the host emulator. */
export function emulationRequested(): boolean {
  return typeof process !== 'undefined' && process.env.TESSERA_CUDA_EMULATE === '1';
}

/** Where the addon may be: TESSERA_CUDA_ADDON, the package's build/ (from dist/ or src/), or beside a bundle. */
export function addonCandidates(emulated = emulationRequested()): string[] {
  const name = emulated ? EMULATOR_NAME : ADDON_NAME;
  const out: string[] = [];
  const env = typeof process !== 'undefined' ? process.env.TESSERA_CUDA_ADDON : undefined;
  if (env) out.push(env);
  out.push(fileURLToPath(new URL(`../build/Release/${name}`, import.meta.url)));
  out.push(fileURLToPath(new URL(`./${name}`, import.meta.url)));
  return out;
}

function readStatus(file: string): NativeStatus | null {
  const path = fileURLToPath(new URL(`../build/${file}`, import.meta.url));
  if (!existsSync(path)) return null;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as NativeStatus;
  } catch {
    return null;
  }
}

/** The GPU build's own account (build/native-status.json), or null where there is none. */
export function nativeStatus(): NativeStatus | null {
  return readStatus('native-status.json');
}

/** The host emulator build's account (build/host-status.json), or null where there is none. */
export function hostStatus(): (NativeStatus & { variants?: Record<string, NativeStatus & { addon?: string }> }) | null {
  return readStatus('host-status.json');
}

const loaded = new Map<string, NativeAddon>();

/**
 * Loads the addon (the host emulator with TESSERA_CUDA_EMULATE=1); throws a TesseraError('cuda', reason)
 * when it was not built or cannot load.
 */
export function loadNative(emulated = emulationRequested()): NativeAddon {
  const path = addonCandidates(emulated).find((p) => existsSync(p));
  if (!path) {
    const status = emulated ? hostStatus() : nativeStatus();
    const what = emulated ? 'the CUDA host emulator was not built' : 'the CUDA backend was not built';
    const file = emulated ? EMULATOR_NAME : ADDON_NAME;
    const reason = status && !status.built ? status.reason : `the addon build/Release/${file} is missing (run npm run build -w @tessera/backend-cuda)`;
    throw new TesseraError('cuda', `${what}: ${reason}`);
  }
  const cached = loaded.get(path);
  if (cached) return cached;
  let addon: NativeAddon;
  try {
    addon = createRequire(import.meta.url)(path) as NativeAddon;
  } catch (err) {
    throw new TesseraError('cuda', `the CUDA addon ${path} failed to load: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  loaded.set(path, addon);
  return addon;
}
