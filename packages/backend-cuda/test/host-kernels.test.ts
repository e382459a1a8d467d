// Device code checked as plain host programs, no GPU or CUDA toolkit needed: csrc/philox.cuh (the random
// kernel's stream) against the CPU backend's, and csrc/problems.cuh (the implicit-GEMM index maps of the three
// convolutions and matmul) against direct loops. Compiled by the host C++ compiler against csrc/host/ (the
// emulation headers that supply __host__ __device__ and the CUDA types).
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { normalTolerance, philoxFill, randomConstants } from '@tessera/tensor/backend';
import type { RandomParams } from '@tessera/tensor/backend';
import { beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const cxx = process.env.CXX || 'g++';
const outDir = `${root}build/host-tests`;

function compile(name: string): string {
  mkdirSync(outDir, { recursive: true });
  const exe = `${outDir}/${name}`;
  const res = spawnSync(cxx, ['-std=c++17', '-O2', '-Icsrc/host', '-x', 'c++', `csrc/test/${name}.cu`, '-o', exe], { cwd: root, encoding: 'utf8' });
  if (res.status !== 0) throw new Error(`${cxx} ${name}.cu failed:\n${res.stderr}`);
  return exe;
}

describe('device code as host programs', () => {
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
    { dist: 'uniform', seed: 5, offset: 11, low: -1e-30, high: 1e-30 }, // outputs near 0: ftz matters
    { dist: 'normal', seed: 7, offset: 3, mean: 1, std: 2 },
    { dist: 'normal', seed: 2 ** 45, offset: 2 ** 32 - 1, mean: 0, std: 1 },
    { dist: 'bernoulli', seed: 42, offset: 0, p: 0.3, scale: 2 },
    { dist: 'bernoulli', seed: 123456789, offset: 77, p: 0.5, scale: 1 / 0.5 },
  ];
  for (const p of cases) {
    it(`philox.cuh matches the CPU stream: ${JSON.stringify(p)}`, () => {
      const tol = p.dist === 'normal' ? normalTolerance(p.mean, p.std) : { atol: 0, rtol: 0 };
      for (const n of [1, 3, 4, 5, 1001]) {
        const want = new Float32Array(n);
        philoxFill(want, p);
        const c = randomConstants(p, 'float32');
        const seed = [p.seed % 2 ** 32, Math.floor(p.seed / 2 ** 32)];
        const off = [p.offset % 2 ** 32, Math.floor(p.offset / 2 ** 32)];
        const consts =
          c.dist === 'uniform' ? [0, c.lo, c.range, c.threshold, c.replacement] : c.dist === 'normal' ? [1, c.mean, c.std, 0, 0] : [2, c.p, c.scale, 0, 0];
        const res = spawnSync(
          philox,
          [consts[0]!, ...seed, ...off, n, ...consts.slice(1)].map((v) => String(v)),
          { encoding: 'utf8' },
        );
        expect(res.status).toBe(0);
        const got = new Float32Array(Uint32Array.from(res.stdout.trim().split('\n').map(Number)).buffer);
        expect(got.length).toBe(n);
        for (let i = 0; i < n; i++) {
          if (p.dist === 'normal') expect(Math.abs(got[i]! - want[i]!), `element ${i}`).toBeLessThanOrEqual(tol.atol + tol.rtol * Math.abs(want[i]!));
          else expect(got[i], `element ${i}`).toBe(want[i]);
        }
      }
    });
  }
});
