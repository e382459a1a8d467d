// What the browser tests share: the built app served locally, headless Chromium (Debian's, WebGPU on
// SwiftShader), async child processes (a long spawnSync would starve vitest's worker RPC), and fixtures.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

export const APP = fileURLToPath(new URL('..', import.meta.url));
export const REPO = fileURLToPath(new URL('../../..', import.meta.url));
export const DIST = join(APP, 'dist');
export const OUTPUT = join(APP, 'test-output');
export const CLI = join(REPO, 'apps/cli/bin/tessera.js');
export const CHROMIUM = process.env.TESSERA_CHROMIUM ?? '/usr/bin/chromium';
export const FLAGS = [
  '--no-sandbox',
  '--disable-gpu-sandbox',
  '--no-first-run',
  // Shared memory through /tmp: a container's /dev/shm can be as small as 64 MiB.
  '--disable-dev-shm-usage',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--enable-unsafe-webgpu',
  '--use-webgpu-adapter=swiftshader',
  '--enable-unsafe-swiftshader',
];

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function run(cmd: string, args: readonly string[], opts: { cwd?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd ?? REPO,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: opts.env ?? process.env,
      ...(opts.timeoutMs ? { timeout: opts.timeoutMs } : {}),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** Builds the app when dist/ is missing (CI builds it before the tests: `npm test` runs turbo's build first). */
export async function ensureBuilt(): Promise<void> {
  if (existsSync(join(DIST, 'index.html'))) return;
  const r = await run('npx', ['vite', 'build'], { cwd: APP, timeoutMs: 300_000 });
  if (r.status !== 0) throw new Error(`vite build failed:\n${r.stdout}\n${r.stderr}`);
}

function idx(type: 1 | 3, count: number, data: Uint8Array): Buffer {
  const dims = type === 3 ? [count, 28, 28] : [count];
  const header = Buffer.alloc(4 + 4 * dims.length);
  header[2] = 0x08;
  header[3] = dims.length;
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return gzipSync(Buffer.concat([header, data]));
}

/** A Fashion-MNIST directory (gzipped IDX files) with the first `train` / `test` images of the real splits. */
export function writeSubset(
  dir: string,
  images: { train: Uint8Array; trainLabels: Int32Array; test: Uint8Array; testLabels: Int32Array },
  train: number,
  test: number,
): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'train-images-idx3-ubyte.gz'), idx(3, train, images.train.subarray(0, train * 784)));
  writeFileSync(join(dir, 'train-labels-idx1-ubyte.gz'), idx(1, train, Uint8Array.from(images.trainLabels.subarray(0, train))));
  writeFileSync(join(dir, 't10k-images-idx3-ubyte.gz'), idx(3, test, images.test.subarray(0, test * 784)));
  writeFileSync(join(dir, 't10k-labels-idx1-ubyte.gz'), idx(1, test, Uint8Array.from(images.testLabels.subarray(0, test))));
}
