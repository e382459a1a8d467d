// The backend's own contract beyond the kernels: registration and availability, int32 through float textures
// (exact range enforced both ways), label and index errors deferred to the next read, the Philox words at
// counters and keys the conformance kit rarely reaches, and texture lifetime under tidy/dispose.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { F, TesseraError, availableBackends, backendByName, registeredBackends, tensor, tidy } from '@tessera/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import type { GpujsBackend } from '../src/index.js';
import { skipReason } from './available.js';
import { RANDOM_CASES, compareRandom } from './shared/random-check.js';

let skip: string | null = null;
let gpu: GpujsBackend;
beforeAll(async () => {
  skip = await skipReason();
  if (!skip) gpu = (await backendByName('gpujs')) as GpujsBackend;
});

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

describe('gpujs backend', () => {
  it('registers itself as "gpujs" and reports whether it is available, with the reason', async () => {
    expect(registeredBackends()).toContain('gpujs');
    const found = (await availableBackends()).find((b) => b.name === 'gpujs');
    expect(found).toBeDefined();
    if (skip) expect(found).toMatchObject({ available: false, reason: expect.stringMatching(/.+/) });
    else expect(found).toEqual({ name: 'gpujs', available: true, reason: '' });
  });

  it('runs on a real GL kernel class, never gpu.js’s WebAssembly or CPU fallback', (ctx) => {
    if (skip) return ctx.skip(skip);
    expect(gpu.adapter).toMatch(/^(HeadlessGLKernel|WebGL2Kernel|WebGLKernel)/);
    expect(gpu.dtypes).toEqual(['float32', 'int32']);
  });

  it('is unavailable, saying why, without an X display', (ctx) => {
    const dist = fileURLToPath(new URL('../dist/index.js', import.meta.url));
    if (!existsSync(dist)) return ctx.skip('the package is not built (npm run build)');
    const script =
      `import('@tessera/tensor').then(async (t) => { await import(${JSON.stringify(dist)});` +
      ` const b = (await t.availableBackends()).find((x) => x.name === 'gpujs'); console.log(JSON.stringify(b)); });`;
    const env = { ...process.env };
    delete env.DISPLAY;
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      env,
      encoding: 'utf8',
      cwd: fileURLToPath(new URL('..', import.meta.url)),
    });
    const line = run.stdout.trim().split('\n').at(-1) ?? '';
    expect(JSON.parse(line)).toMatchObject({ name: 'gpujs', available: false, reason: expect.stringMatching(/X display|headless-gl|gl/) });
  });

  it('holds int32 exactly within ±2^24 and refuses values beyond it', async (ctx) => {
    if (skip) return ctx.skip(skip);
    const edge = new Int32Array([0, -1, 16777216, -16777216, 12345678, 7]);
    const t = tensor(edge, [6], { backend: 'gpujs' });
    expect(Array.from(await t.data())).toEqual(Array.from(edge));
    const err = (() => {
      try {
        tensor(new Int32Array([1, 16777217]), [2], { backend: 'gpujs' });
      } catch (e) {
        return e;
      }
      return null;
    })();
    expect(err).toBeInstanceOf(TesseraError);
    expect(String(err)).toMatch(/16777217.*2\^24/);
    // A kernel result beyond the exact range is an error at read, not a silently rounded integer.
    const big = tidy(() => t.mul(t));
    expect(await rejection(big.data())).toBeInstanceOf(TesseraError);
    t.dispose();
    big.dispose();
  });

  it('integer division truncates exactly, also where float division is not correctly rounded', async (ctx) => {
    if (skip) return ctx.skip(skip);
    const n = 4096;
    const a = new Int32Array(n).map((_, i) => 16777216 - 3 * i);
    const b = new Int32Array(n).map((_, i) => (i % 2 ? -3 : 3));
    const q = tidy(() => tensor(a, [n], { backend: 'gpujs' }).div(tensor(b, [n], { backend: 'gpujs' })));
    const got = await q.data();
    for (let i = 0; i < n; i++) expect(got[i]).toBe(Math.trunc(a[i]! / b[i]!));
    q.dispose();
  });

  it('reports a bad label or index at the next read as a TesseraError, then recovers', async (ctx) => {
    if (skip) return ctx.skip(skip);
    const logits = tensor(new Float32Array(6), [2, 3], { backend: 'gpujs' });
    const labels = tensor(new Int32Array([1, 3]), [2], { backend: 'gpujs' });
    const loss = tidy(() => F.crossEntropy(logits, labels));
    const err = await rejection(loss.data());
    expect(err).toBeInstanceOf(TesseraError);
    expect(String(err)).toMatch(/crossEntropy.*row 1.*\[0, 3\)/);
    const x = tensor(new Float32Array([1, 2, 3]), [3], { backend: 'gpujs' });
    const idx = tensor(new Int32Array([0, -1]), [2], { backend: 'gpujs' });
    const picked = tidy(() => x.indexSelect(0, idx));
    expect(String(await rejection(picked.data()))).toMatch(/gather.*position 1/);
    // The failure is consumed: later reads work.
    expect(Array.from(await x.data())).toEqual([1, 2, 3]);
    [logits, labels, loss, x, idx, picked].forEach((t) => t.dispose());
  });

  it('Philox fills match the CPU at seeds above 2^32 and counters crossing word boundaries', async (ctx) => {
    if (skip) return ctx.skip(skip);
    for (const c of RANDOM_CASES) expect(await compareRandom('gpujs', c)).toBeNull();
  });

  it('frees every texture a tidy scope created', async (ctx) => {
    if (skip) return ctx.skip(skip);
    const before = { textures: gpu.liveTextures, memory: gpu.memory() };
    const x = tensor(
      new Float32Array(4096).map((_, i) => i % 7),
      [64, 64],
      { backend: 'gpujs' },
    );
    const y = tidy(() => F.softmax(x.matmul(x).relu().sum(1), 0));
    await y.data();
    x.dispose();
    y.dispose();
    expect({ textures: gpu.liveTextures, memory: gpu.memory() }).toEqual(before);
  });
});
