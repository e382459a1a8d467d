/** Shared test helpers: temporary directories, random images, and a bridge to Python (numpy/torchvision). */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Image } from '../src/index.js';

export function tempDir(prefix: string): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), `tessera-data-${prefix}-`));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** A deterministic pseudo-random uint8 image (xorshift), for exact comparisons. */
export function randomImage(height: number, width: number, channels: number, seed = 1): Image {
  const data = new Uint8Array(height * width * channels);
  let s = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < data.length; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    data[i] = (s >>> 0) & 0xff;
  }
  return { data, height, width, channels };
}

const PYTHON = '/usr/bin/python3';

function pythonHas(modules: string): boolean {
  const r = spawnSync(PYTHON, ['-c', `import ${modules}`], { stdio: 'ignore' });
  return r.status === 0;
}

export const hasNumpy = pythonHas('numpy');
export const hasTorchvision = pythonHas('torch, torchvision, PIL');

/** Runs a Python snippet that reads JSON `inp` from stdin and prints JSON; returns the parsed output. */
export function python<T>(code: string, input: unknown): T {
  const prelude = 'import sys, json, base64\ninp = json.loads(sys.stdin.read())\n';
  const r = spawnSync(PYTHON, ['-c', prelude + code], { input: JSON.stringify(input), encoding: 'utf8', maxBuffer: 256 * 2 ** 20 });
  if (r.status !== 0) throw new Error(`python failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

export function b64(bytes: Uint8Array | Float32Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

export function fromB64u8(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, 'base64'));
}

export function fromB64f32(s: string): Float32Array {
  const b = Buffer.from(s, 'base64');
  const out = new Float32Array(b.length / 4);
  new Uint8Array(out.buffer).set(b);
  return out;
}

/** Exact comparison of byte arrays, reporting the first difference (vitest's deep equality is slow on big arrays). */
export function firstDifference(a: Uint8Array, b: Uint8Array): string | null {
  if (a.length !== b.length) return `lengths differ: ${a.length} vs ${b.length}`;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return `byte ${i}: ${a[i]} vs ${b[i]}`;
  return null;
}
