// Device code checked on the host, no GPU needed: csrc/philox.cuh (the random kernel's generator) against
// the CPU backend's stream, and csrc/problems.cuh (the implicit-GEMM index maps of the three convolutions
// and matmul) against direct loops. Both programs are compiled by nvcc for the host; skipped without nvcc.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { philoxFill } from '@tessera/tensor';
import type { RandomParams } from '@tessera/tensor';
import { beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const nvcc = [
  process.env.CUDA_HOME && `${process.env.CUDA_HOME}/bin/nvcc`,
  '/usr/local/cuda/bin/nvcc',
  ...(process.env.PATH ?? '').split(':').map((d) => `${d}/nvcc`),
].find((p): p is string => !!p && existsSync(p));
const outDir = `${root}build/host-tests`;

function compile(name: string): string {
  mkdirSync(outDir, { recursive: true });
  const exe = `${outDir}/${name}`;
  const res = spawnSync(nvcc!, ['-std=c++17', '-O2', '-x', 'cu', `csrc/test/${name}.cu`, '-o', exe], { cwd: root, encoding: 'utf8' });
  if (res.status !== 0) throw new Error(`nvcc ${name}.cu failed:\n${res.stderr}`);
  return exe;
}

describe.skipIf(!nvcc)('device code on the host (nvcc)', () => {
  let philox = '';
  let gemm = '';
  beforeAll(() => {
    philox = compile('philox_host');
    gemm = compile('gemm_host');
  });

  it('implicit-GEMM convolution and matmul index maps match direct loops', () => {
    const res = spawnSync(gemm, [], { encoding: 'utf8' });
    expect(res.stdout).toMatch(/ 0 failures/);
    expect(res.status).toBe(0);
  });

  const cases: RandomParams[] = [
    { dist: 'uniform', seed: 0, offset: 0, low: 0, high: 1 },
    { dist: 'uniform', seed: 2 ** 40 + 12345, offset: 2 ** 33 + 7, low: -1, high: 3 },
    { dist: 'uniform', seed: 99, offset: 5, low: 1, high: 1.0000001 },
    { dist: 'normal', seed: 7, offset: 3, mean: 1, std: 2 },
    { dist: 'normal', seed: 2 ** 45, offset: 2 ** 32 - 1, mean: 0, std: 1 },
    { dist: 'bernoulli', seed: 42, offset: 0, p: 0.3, scale: 2 },
    { dist: 'bernoulli', seed: 123456789, offset: 77, p: 0.5, scale: 1 / 0.5 },
  ];
  for (const p of cases) {
    it(`philox.cuh matches the CPU stream: ${JSON.stringify(p)}`, () => {
      for (const n of [1, 3, 4, 5, 1001]) {
        const want = new Float32Array(n);
        philoxFill(want, p);
        const seed = [p.seed % 2 ** 32, Math.floor(p.seed / 2 ** 32)];
        const off = [p.offset % 2 ** 32, Math.floor(p.offset / 2 ** 32)];
        const [dist, a, b] = p.dist === 'uniform' ? [0, p.low, p.high] : p.dist === 'normal' ? [1, p.mean, p.std] : [2, p.p, p.scale];
        const res = spawnSync(
          philox,
          [dist, ...seed, ...off, n, a, b].map((v) => String(v)),
          { encoding: 'utf8' },
        );
        expect(res.status).toBe(0);
        const got = new Float32Array(Uint32Array.from(res.stdout.trim().split('\n').map(Number)).buffer);
        expect(got.length).toBe(n);
        for (let i = 0; i < n; i++) {
          if (p.dist === 'normal') expect(Math.abs(got[i]! - want[i]!), `element ${i}`).toBeLessThanOrEqual(2e-6 * Math.max(1, Math.abs(want[i]!)));
          else expect(got[i], `element ${i}`).toBe(want[i]);
        }
      }
    });
  }
});
