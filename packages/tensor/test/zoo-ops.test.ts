// The ops the model zoo needs — batch normalisation, hardtanh/relu6 (and clamp at its bounds), Identity,
// ModuleList/ModuleDict/Sequential naming, pooling with ceilMode — checked by float64 gradcheck on cpu, by
// properties, and against PyTorch's numbers from scripts/zoo_ops_fixture.py (generated here when
// /usr/bin/python3 can import torch; skipped with a reason otherwise).
import { spawn } from 'node:child_process';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { F, Tensor, TesseraError, memory, noGrad, randn, tensor, tidy, zeros, type DType } from '../src/index.js';
import * as nn from '../src/nn/index.js';
import { gradcheck, mulberry32 } from '../src/testing/index.js';
import { expectTessera } from './helpers.js';

const cpu = { backend: 'cpu' } as const;

function t(values: readonly number[], shape: readonly number[], dtype: DType = 'float64', requiresGrad = false): Tensor {
  return tensor(Float64Array.from(values), shape, { dtype, ...cpu, requiresGrad });
}

async function host(x: Tensor): Promise<number[]> {
  return Array.from(await x.data());
}

/** max |got − want| / max |want|: the error relative to the tensor's scale. */
function relError(got: ArrayLike<number>, want: ArrayLike<number>): number {
  expect(got.length).toBe(want.length);
  let err = 0;
  let scale = 0;
  for (let i = 0; i < want.length; i++) {
    err = Math.max(err, Math.abs(got[i]! - want[i]!));
    scale = Math.max(scale, Math.abs(want[i]!));
  }
  return err / Math.max(scale, 1e-30);
}

function expectClose(what: string, got: ArrayLike<number>, want: ArrayLike<number>, tol: number): void {
  const e = relError(got, want);
  if (!(e <= tol)) throw new Error(`${what}: relative error ${e.toExponential(2)} exceeds ${tol}`);
}

function values(n: number, seed: number, scale = 2, offset = 0): number[] {
  const rng = mulberry32(seed);
  return Array.from({ length: n }, () => (rng() * 2 - 1) * scale + offset);
}

// ---- the PyTorch fixture -------------------------------------------------------------------------------

interface Fixture {
  torch: string;
  cases: FixtureCase[];
}
type Out = Record<string, number[] | number[][] | number | null>;
interface FixtureCase {
  name: string;
  op: string;
  shape?: number[];
  outShape?: number[];
  training?: boolean;
  momentum?: number | null;
  trackRunningStats?: boolean;
  kernel?: number | number[];
  stride?: number | number[];
  padding?: number | number[];
  ceilMode?: boolean;
  countIncludePad?: boolean;
  inputs: Record<string, number[] | number[][] | null>;
  out: Record<'float64' | 'float32', Out>;
}

function runPython(args: string[], timeoutMs: number): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('/usr/bin/python3', args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

const script = new URL('../scripts/zoo_ops_fixture.py', import.meta.url).pathname;
let fixture: Fixture | null = null;
let unavailable = '';

beforeAll(async () => {
  const probe = await runPython(['-c', 'import torch'], 60_000).catch((e: unknown) => ({ status: -1, stdout: '', stderr: String(e) }));
  if (probe.status !== 0) {
    unavailable = `PyTorch comparison skipped: /usr/bin/python3 cannot import torch (${probe.stderr.trim().split('\n').at(-1)}); install python3-torch`;
    console.log(unavailable);
    return;
  }
  const res = await runPython([script], 120_000);
  if (res.status !== 0) throw new Error(`zoo_ops_fixture.py failed (${res.status}): ${res.stderr}`);
  fixture = JSON.parse(res.stdout) as Fixture;
}, 180_000);

const TOL: Record<'float64' | 'float32', number> = { float64: 1e-10, float32: 1e-5 };

function nums(o: Out, key: string): number[] {
  const v = o[key];
  if (!Array.isArray(v)) throw new Error(`fixture output lacks ${key}`);
  return v as number[];
}

async function checkCase(c: FixtureCase, dtype: 'float64' | 'float32'): Promise<void> {
  const want = c.out[dtype];
  const tol = TOL[dtype];
  const inp = c.inputs;
  const label = `${c.name} (${dtype})`;
  const arr = (k: string) => inp[k] as number[];
  if (c.op === 'batchNorm') {
    const shape = c.shape!;
    const ch = shape[1]!;
    const x = t(arr('x'), shape, dtype, true);
    const w = inp.weight ? t(arr('weight'), [ch], dtype, true) : null;
    const b = inp.bias ? t(arr('bias'), [ch], dtype, true) : null;
    const rm = inp.runningMean ? t(arr('runningMean'), [ch], dtype) : null;
    const rv = inp.runningVar ? t(arr('runningVar'), [ch], dtype) : null;
    const y = F.batchNorm(x, rm, rv, w, b, { training: c.training!, momentum: c.momentum ?? 0.1, eps: 1e-5 });
    y.mul(t(arr('r'), shape, dtype))
      .sum()
      .backward();
    expectClose(`${label} y`, await y.data(), nums(want, 'y'), tol);
    expectClose(`${label} dx`, await x.grad!.data(), nums(want, 'dx'), tol);
    if (w) expectClose(`${label} dweight`, await w.grad!.data(), nums(want, 'dweight'), tol);
    if (b) expectClose(`${label} dbias`, await b.grad!.data(), nums(want, 'dbias'), tol);
    if (rm) expectClose(`${label} running mean`, await rm.data(), nums(want, 'runningMean'), tol);
    if (rv) expectClose(`${label} running var`, await rv.data(), nums(want, 'runningVar'), tol);
  } else if (c.op === 'BatchNorm2d') {
    const shape = c.shape!;
    const bn = new nn.BatchNorm2d(shape[1]!, { momentum: c.momentum ?? null, trackRunningStats: c.trackRunningStats ?? true, dtype, backend: 'cpu' });
    noGrad(() => {
      bn.weight!.copy_(t(arr('weight'), [shape[1]!], dtype));
      bn.bias!.copy_(t(arr('bias'), [shape[1]!], dtype));
    });
    const batches = inp.batches as number[][];
    const trainWant = want.train as number[][];
    for (let i = 0; i < batches.length; i++) {
      const y = noGrad(() => bn.forward(t(batches[i]!, shape, dtype)));
      expectClose(`${label} training step ${i}`, await y.data(), trainWant[i]!, tol);
    }
    bn.eval();
    expectClose(`${label} eval`, await noGrad(() => bn.forward(t(arr('probe'), shape, dtype))).data(), nums(want, 'eval'), tol);
    if (bn.trackRunningStats) {
      expectClose(`${label} running mean`, await bn.running_mean!.data(), nums(want, 'runningMean'), tol);
      expectClose(`${label} running var`, await bn.running_var!.data(), nums(want, 'runningVar'), tol);
      expect(await bn.num_batches_tracked!.item()).toBe(want.numBatchesTracked);
    } else {
      expect(bn.stateDict().size).toBe(2);
    }
  } else if (c.op.endsWith('Pool2d')) {
    const x = t(arr('x'), c.shape!, dtype, true);
    const opts = { kernelSize: c.kernel as number, stride: c.stride as number, padding: c.padding as number, ceilMode: c.ceilMode! };
    const y = c.op === 'maxPool2d' ? F.maxPool2d(x, opts) : F.avgPool2d(x, { ...opts, countIncludePad: c.countIncludePad! });
    expect(y.shape).toEqual(c.outShape);
    y.mul(t(arr('r'), c.outShape!, dtype))
      .sum()
      .backward();
    expectClose(`${label} y`, await y.data(), nums(want, 'y'), tol);
    expectClose(`${label} dx`, await x.grad!.data(), nums(want, 'dx'), tol);
  } else {
    const fns: Record<string, (x: Tensor) => Tensor> = {
      hardtanh: (x) => F.hardtanh(x),
      'hardtanh(-2, 3)': (x) => F.hardtanh(x, -2, 3),
      relu6: (x) => F.relu6(x),
      'clamp(-1, 1)': (x) => x.clamp(-1, 1),
      'clamp(min=0)': (x) => x.clamp(0),
      'clamp(max=0)': (x) => x.clamp(undefined, 0),
      'clamp(0.5, 0.5)': (x) => x.clamp(0.5, 0.5),
    };
    const fn = fns[c.op];
    if (!fn) throw new Error(`the test does not know fixture op ${c.op}`);
    const xs = arr('x');
    const x = t(xs, [xs.length], dtype, true);
    const y = fn(x);
    y.sum().backward();
    // Exact: these are selections and 0/1 masks.
    expect(await host(y)).toEqual(nums(want, 'y'));
    expect(await host(x.grad!)).toEqual(nums(want, 'dx'));
  }
}

describe('zoo ops against PyTorch (scripts/zoo_ops_fixture.py)', () => {
  it('every fixture case matches in float64 (rel 1e-10) and float32 (rel 1e-5)', async (ctx) => {
    if (unavailable) return ctx.skip(unavailable);
    expect(fixture!.cases.length).toBeGreaterThanOrEqual(20);
    const failures: string[] = [];
    for (const c of fixture!.cases) {
      for (const dtype of ['float64', 'float32'] as const) {
        try {
          await checkCase(c, dtype);
        } catch (e) {
          failures.push(`${c.name} (${dtype}): ${(e as Error).message}`);
        }
      }
    }
    expect(failures).toEqual([]);
  });
});

// ---- gradient checks (float64, cpu) ---------------------------------------------------------------------

function spec(shape: number[], seed: number, scale = 2, offset = 0) {
  return {
    values: Float64Array.from(
      values(
        shape.reduce((a, b) => a * b, 1),
        seed,
        scale,
        offset,
      ),
    ),
    shape,
  };
}

/** Values of `n` elements at least `gap` away from every kink. */
function awayFrom(kinks: number[], n: number, seed: number, gap = 0.05): { values: Float64Array; shape: number[] } {
  const v = values(n, seed, 4, 2).map((x) => {
    for (const k of kinks) if (Math.abs(x - k) < gap) return k + (x < k ? -gap : gap) * 2;
    return x;
  });
  return { values: Float64Array.from(v), shape: [n] };
}

describe('gradcheck (float64, cpu)', () => {
  it('batchNorm training, rank 2 and rank 4, with weight and bias', async () => {
    for (const shape of [
      [5, 3],
      [2, 3, 3, 2],
    ]) {
      const c = shape[1]!;
      await gradcheck(([x, w, b]) => F.batchNorm(x!, null, null, w!, b!, { training: true }), [spec(shape, 1), spec([c], 2, 0.5, 1), spec([c], 3)], {
        label: `batchNorm train ${shape}`,
      });
    }
  });

  it('batchNorm training with running statistics (rank 3) and without affine (rank 4)', async () => {
    const rm = zeros([4], { dtype: 'float64', ...cpu });
    const rv = t([1, 2, 0.5, 1], [4]);
    await gradcheck(
      ([x, w, b]) => F.batchNorm(x!, rm, rv, w!, b!, { training: true, momentum: 0.2 }),
      [spec([3, 4, 2], 4), spec([4], 5, 0.5, 1), spec([4], 6)],
      {
        label: 'batchNorm train rank 3 with stats',
      },
    );
    await gradcheck(([x]) => F.batchNorm(x!, null, null, null, null, { training: true, eps: 1e-3 }), [spec([2, 2, 2, 3], 7)], { label: 'batchNorm no affine' });
  });

  it('batchNorm eval, with and without affine', async () => {
    const rm = t([0.1, -0.2, 0.3], [3]);
    const rv = t([0.5, 1.5, 2], [3]);
    await gradcheck(([x, w, b]) => F.batchNorm(x!, rm, rv, w!, b!, { training: false }), [spec([2, 3, 2, 2], 8), spec([3], 9, 0.5, 1), spec([3], 10)], {
      label: 'batchNorm eval',
    });
    await gradcheck(([x]) => F.batchNorm(x!, rm, rv, null, null, { training: false }), [spec([4, 3], 11)], { label: 'batchNorm eval no affine' });
  });

  it('hardtanh and relu6 away from their kinks; avgPool2d with ceilMode', async () => {
    await gradcheck(([x]) => F.hardtanh(x!), [awayFrom([-1, 1], 40, 12)], { label: 'hardtanh' });
    await gradcheck(([x]) => F.hardtanh(x!, -0.5, 2.5), [awayFrom([-0.5, 2.5], 40, 13)], { label: 'hardtanh(-0.5, 2.5)' });
    const r6 = awayFrom([0, 6], 40, 14);
    r6.values = r6.values.map((v) => v * 2);
    await gradcheck(([x]) => F.relu6(x!), [r6], { label: 'relu6' });
    for (const countIncludePad of [true, false]) {
      await gradcheck(([x]) => F.avgPool2d(x!, { kernelSize: 3, stride: 2, padding: 1, ceilMode: true, countIncludePad }), [spec([1, 2, 6, 5], 15)], {
        label: `avgPool2d ceil countIncludePad=${countIncludePad}`,
      });
    }
  });
});

// ---- properties ----------------------------------------------------------------------------------------

/** Per-channel mean and biased variance of [N, C, …] in float64. */
function channelStats(v: ArrayLike<number>, shape: readonly number[]): { mean: number[]; var: number[]; count: number } {
  const c = shape[1]!;
  const inner = shape.slice(2).reduce((a, b) => a * b, 1);
  const count = shape[0]! * inner;
  const mean = new Array<number>(c).fill(0);
  const vr = new Array<number>(c).fill(0);
  const at = (n: number, ch: number, i: number) => v[(n * c + ch) * inner + i]!;
  for (let ch = 0; ch < c; ch++) {
    let s = 0;
    for (let n = 0; n < shape[0]!; n++) for (let i = 0; i < inner; i++) s += at(n, ch, i);
    mean[ch] = s / count;
    let q = 0;
    for (let n = 0; n < shape[0]!; n++) for (let i = 0; i < inner; i++) q += (at(n, ch, i) - mean[ch]!) ** 2;
    vr[ch] = q / count;
  }
  return { mean, var: vr, count };
}

const bnShape = fc.oneof(
  fc.tuple(fc.integer({ min: 2, max: 6 }), fc.integer({ min: 1, max: 4 })),
  fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 2, max: 5 })),
  fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 2, max: 4 })),
);

describe('batchNorm properties', () => {
  it('training output has per-channel mean 0 and biased variance v/(v + eps) before the affine', async () => {
    await fc.assert(
      fc.asyncProperty(bnShape, fc.integer(), fc.double({ min: 0.01, max: 100, noNaN: true }), async (shapeT, seed, scale) => {
        const shape = [...shapeT];
        const n = shape.reduce((a, b) => a * b, 1);
        const xs = values(n, seed, scale, scale / 3);
        const before = channelStats(xs, shape);
        fc.pre(before.var.every((v) => v > 1e-6 * scale * scale));
        const eps = 1e-5;
        for (const dtype of ['float64', 'float32'] as const) {
          const y = await tidy(() => F.batchNorm(t(xs, shape, dtype), null, null, null, null, { training: true, eps })).data();
          const after = channelStats(y, shape);
          const tol = dtype === 'float64' ? 1e-9 : 2e-5;
          after.mean.forEach((m) => expect(Math.abs(m)).toBeLessThan(tol));
          after.var.forEach((v, ch) => expect(Math.abs(v - before.var[ch]! / (before.var[ch]! + eps))).toBeLessThan(tol * 4));
        }
      }),
      { numRuns: 40 },
    );
  });

  it('running statistics follow (1 − m)·running + m·stat exactly (unbiased variance), float64', async () => {
    await fc.assert(
      fc.asyncProperty(bnShape, fc.integer(), fc.double({ min: 0, max: 1, noNaN: true }), async (shapeT, seed, m) => {
        const shape = [...shapeT];
        const c = shape[1]!;
        const n = shape.reduce((a, b) => a * b, 1);
        const xs = values(n, seed, 3, 1);
        const rm0 = values(c, seed + 1, 1);
        const rv0 = values(c, seed + 2, 0.5, 1);
        const rm = t(rm0, [c]);
        const rv = t(rv0, [c]);
        tidy(() => F.batchNorm(t(xs, shape), rm, rv, null, null, { training: true, momentum: m }));
        const s = channelStats(xs, shape);
        const wantMean = rm0.map((r, ch) => (1 - m) * r + m * s.mean[ch]!);
        const wantVar = rv0.map((r, ch) => (1 - m) * r + m * ((s.var[ch]! * s.count) / (s.count - 1)));
        expectClose('running mean', await rm.data(), wantMean, 1e-12);
        expectClose('running var', await rv.data(), wantVar, 1e-12);
        rm.dispose();
        rv.dispose();
      }),
      { numRuns: 40 },
    );
  });

  it('eval mode leaves running statistics untouched and uses them', async () => {
    const rm = t([1, -1], [2]);
    const rv = t([4, 0.25], [2]);
    const y = F.batchNorm(t([3, 0, 5, -2], [2, 2]), rm, rv, t([2, 1], [2]), t([0, 10], [2]), { training: false, eps: 0 });
    expect(await host(y)).toEqual([2 * ((3 - 1) / 2), 10 + (0 + 1) / 0.5, 2 * ((5 - 1) / 2), 10 + (-2 + 1) / 0.5]);
    expect(await host(rm)).toEqual([1, -1]);
    expect(await host(rv)).toEqual([4, 0.25]);
  });
});

// ---- layers --------------------------------------------------------------------------------------------

describe('nn.BatchNorm1d / BatchNorm2d', () => {
  it('has torch’s parameters, buffers and keys, and loads a torch-shaped state dict strictly', async () => {
    const bn = new nn.BatchNorm2d(3);
    expect([...bn.stateDict().keys()]).toEqual(['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked']);
    expect(bn.namedParameters().map(([k]) => k)).toEqual(['weight', 'bias']);
    expect(bn.namedBuffers().map(([k]) => k)).toEqual(['running_mean', 'running_var', 'num_batches_tracked']);
    expect(await host(bn.weight!)).toEqual([1, 1, 1]);
    expect(await host(bn.bias!)).toEqual([0, 0, 0]);
    expect(await host(bn.running_mean!)).toEqual([0, 0, 0]);
    expect(await host(bn.running_var!)).toEqual([1, 1, 1]);
    expect(bn.num_batches_tracked!.shape).toEqual([]);
    expect(bn.num_batches_tracked!.dtype).toBe('int32');
    expect(String(bn)).toBe('BatchNorm2d(3, eps=1e-5, momentum=0.1, affine=true, trackRunningStats=true)');
    expect(String(new nn.BatchNorm1d(4, { momentum: null, affine: false, trackRunningStats: false, eps: 1e-3 }))).toBe(
      'BatchNorm1d(4, eps=0.001, momentum=null, affine=false, trackRunningStats=false)',
    );

    const dict = new Map<string, Tensor>([
      ['weight', tensor([0.5, 1, 2])],
      ['bias', tensor([0.1, 0.2, 0.3])],
      ['running_mean', tensor([1, 2, 3])],
      ['running_var', tensor([4, 5, 6])],
      ['num_batches_tracked', tensor(7, [], { dtype: 'int32' })],
    ]);
    bn.loadStateDict(dict);
    expect(await host(bn.running_var!)).toEqual([4, 5, 6]);
    expect(await bn.num_batches_tracked!.item()).toBe(7);
    bn.forward(randn([2, 3, 2, 2]));
    expect(await bn.num_batches_tracked!.item()).toBe(8);
    dict.delete('num_batches_tracked');
    expectTessera(() => bn.loadStateDict(dict), 'missing key', 'num_batches_tracked');
    dict.set('num_batches_tracked', tensor([7], [1], { dtype: 'int32' }));
    expectTessera(() => bn.loadStateDict(dict), 'size mismatch', 'num_batches_tracked');
    expect([...new nn.BatchNorm1d(2, { affine: false }).stateDict().keys()]).toEqual(['running_mean', 'running_var', 'num_batches_tracked']);
    expect([...new nn.BatchNorm1d(2, { trackRunningStats: false }).stateDict().keys()]).toEqual(['weight', 'bias']);
  });

  it('trains: gradients reach weight and bias, running stats move, eval uses them (float64 against F.batchNorm)', async () => {
    const bn = new nn.BatchNorm1d(3, { dtype: 'float64', backend: 'cpu', momentum: 0.5 });
    const x = t(values(12, 21, 2, 1), [4, 3], 'float64', true);
    bn.forward(x).square().sum().backward();
    expect(bn.weight!.grad).not.toBeNull();
    expect(bn.bias!.grad).not.toBeNull();
    const rm = zeros([3], { dtype: 'float64', ...cpu });
    const rv = t([1, 1, 1], [3]);
    F.batchNorm(x.detach(), rm, rv, null, null, { training: true, momentum: 0.5 });
    expect(await host(bn.running_mean!)).toEqual(await host(rm));
    expect(await host(bn.running_var!)).toEqual(await host(rv));
    bn.eval();
    const probe = t(values(6, 22), [2, 3]);
    const want = F.batchNorm(probe, rm, rv, null, null, { training: false });
    expect(await host(bn.forward(probe))).toEqual(await host(want));
    expect(await bn.num_batches_tracked!.item()).toBe(1);
  });

  it('momentum null is a cumulative average: after k batches the running mean is their mean', async () => {
    const bn = new nn.BatchNorm1d(2, { momentum: null, dtype: 'float64', backend: 'cpu' });
    const means: number[][] = [];
    for (let k = 0; k < 4; k++) {
      const xs = values(10, 30 + k, 2, k);
      means.push(channelStats(xs, [5, 2]).mean);
      noGrad(() => bn.forward(t(xs, [5, 2])));
    }
    const avg = [0, 1].map((ch) => means.reduce((s, m) => s + m[ch]!, 0) / means.length);
    expectClose('cumulative running mean', await bn.running_mean!.data(), avg, 1e-12);
    expect(await bn.num_batches_tracked!.item()).toBe(4);
  });

  it('without running statistics, eval normalises with the batch', async () => {
    const bn = new nn.BatchNorm2d(2, { trackRunningStats: false, dtype: 'float64', backend: 'cpu' }).eval();
    const x = t(values(16, 40), [2, 2, 2, 2]);
    expect(await host(bn.forward(x))).toEqual(await host(F.batchNorm(x, null, null, bn.weight, bn.bias, { training: true })));
  });

  it('rejects bad input with clear errors (and leaves the batch count alone)', async () => {
    const bn = new nn.BatchNorm2d(3);
    expectTessera(() => bn.forward(randn([2, 3, 4])), 'BatchNorm2d', 'expected 4D input (got 3D input');
    expectTessera(() => new nn.BatchNorm1d(3).forward(randn([2, 3, 4, 4])), 'expected 2D or 3D input');
    expectTessera(() => bn.forward(randn([2, 4, 2, 2])), 'expected 3 channels', '[2, 4, 2, 2]');
    expectTessera(() => bn.forward(randn([1, 3, 1, 1])), 'Expected more than 1 value per channel when training, got input size [1, 3, 1, 1]');
    expectTessera(() => bn.forward(randn([2, 3, 2, 2], { dtype: 'float64' })), 'float32', 'float64');
    expect(await bn.num_batches_tracked!.item()).toBe(0);
    bn.eval();
    expect(bn.forward(randn([1, 3, 1, 1])).shape).toEqual([1, 3, 1, 1]);
    expectTessera(() => new nn.BatchNorm2d(0), 'numFeatures');
    expectTessera(() => new nn.BatchNorm2d(2, { momentum: 2 }), 'momentum');

    const x = randn([4, 3]);
    const c3 = zeros([3]);
    expectTessera(() => F.batchNorm(x, zeros([4]), c3, null, null, { training: true }), 'runningMean must be [3]', 'got [4]');
    expectTessera(() => F.batchNorm(x, null, null, zeros([2]), null, { training: true }), 'weight must be [3]');
    expectTessera(() => F.batchNorm(randn([3]), null, null, null, null, { training: true }), 'rank 2 or more', '[3]');
    expectTessera(
      () => F.batchNorm(randn([1, 3]), null, null, null, null, { training: true }),
      'Expected more than 1 value per channel when training, got input size [1, 3]',
    );
    expectTessera(() => F.batchNorm(x, null, null, null, null, { training: false }), 'required in evaluation mode');
    expectTessera(() => F.batchNorm(x, c3, null, null, null, { training: true }), 'together');
    expectTessera(() => F.batchNorm(x, c3, zeros([3]), null, null, { training: true, momentum: null }), 'momentum null', 'nn.BatchNorm');
    expectTessera(
      () => F.batchNorm(x, zeros([3], { dtype: 'float64' }), zeros([3], { dtype: 'float64' }), null, null, { training: true }),
      'float64',
      'float32',
    );
    expectTessera(() => F.batchNorm(x, null, null, null, null, undefined as never), 'options');
    // An empty batch returns an empty result and leaves the statistics alone, as PyTorch does.
    const rm = zeros([3]);
    const empty = F.batchNorm(randn([0, 3, 2]), rm, zeros([3]), null, null, { training: true });
    expect(empty.shape).toEqual([0, 3, 2]);
    expect(await host(rm)).toEqual([0, 0, 0]);
  });

  it('leaves no tensors behind: forward + backward in a tidy, and an unrecorded forward keeps only its output', () => {
    const bn = new nn.BatchNorm2d(3);
    const x = randn([2, 3, 4, 4]);
    const before = memory().tensors;
    tidy(() => {
      const xg = x.detach().requiresGrad_();
      bn.forward(xg).sum().backward();
      expect(xg.grad).not.toBeNull();
      xg.grad!.dispose();
      return null;
    });
    bn.zeroGrad();
    expect(memory().tensors).toBe(before);
    const y = noGrad(() => bn.forward(x));
    expect(memory().tensors).toBe(before + 1);
    y.dispose();
    bn.eval();
    noGrad(() => bn.forward(x)).dispose();
    expect(memory().tensors).toBe(before);
  });
});

describe('activations, Identity, Dropout, AdaptiveAvgPool2d', () => {
  it('Hardtanh, ReLU6 and Identity', async () => {
    const x = tensor([-3, -1, 0, 0.5, 1, 6, 7]);
    expect(await host(new nn.Hardtanh().forward(x))).toEqual([-1, -1, 0, 0.5, 1, 1, 1]);
    expect(await host(new nn.Hardtanh(0, 2).forward(x))).toEqual([0, 0, 0, 0.5, 1, 2, 2]);
    expect(await host(new nn.ReLU6().forward(x))).toEqual([0, 0, 0, 0.5, 1, 6, 6]);
    expect(String(new nn.Hardtanh(-2, 3))).toBe('Hardtanh(minVal=-2, maxVal=3)');
    expectTessera(() => new nn.Hardtanh(1, 1), 'greater than');
    expectTessera(() => F.hardtanh(x, 2, 1), 'above');
    expectTessera(() => F.relu6(tensor([1], [1], { dtype: 'int32' })), 'relu6', 'float');
    const id = new nn.Identity(54, { unused: true });
    expect(id.forward(x)).toBe(x);
    expect(id.stateDict().size).toBe(0);
    expect(String(id)).toBe('Identity()');
  });

  it('Dropout(p) matches torch: identity in eval, survivors scaled by 1/(1 − p), p = 1 zeroes everything', async () => {
    const x = tensor(new Float32Array(20000).fill(1), [20000]);
    const d = new nn.Dropout(0.25);
    const y = await host(d.forward(x));
    const zeros = y.filter((v) => v === 0).length;
    expect(Math.abs(zeros / y.length - 0.25)).toBeLessThan(0.02);
    expect(y.filter((v) => v !== 0).every((v) => Math.abs(v - 1 / 0.75) < 1e-6)).toBe(true);
    expect(d.eval().forward(x)).toBe(x);
    expect((await host(new nn.Dropout(1).forward(x))).every((v) => v === 0)).toBe(true);
    expectTessera(() => new nn.Dropout(1.5), 'dropout probability');
  });

  it('AdaptiveAvgPool2d takes a number or a pair', () => {
    const x = randn([1, 2, 7, 9]);
    expect(new nn.AdaptiveAvgPool2d(3).forward(x).shape).toEqual([1, 2, 3, 3]);
    expect(new nn.AdaptiveAvgPool2d([2, 4]).forward(x).shape).toEqual([1, 2, 2, 4]);
  });

  it('AvgPool2d layer passes ceilMode through (a 3×3 window at the corner of a 4×4 input divides by its clipped 4 cells)', async () => {
    const x = tensor(
      Float32Array.from({ length: 16 }, (_, i) => i),
      [1, 1, 4, 4],
    );
    const pool = new nn.AvgPool2d(3, { stride: 2, ceilMode: true });
    expect(String(pool)).toContain('ceilMode=true');
    const y = await host(pool.forward(x));
    // Windows: rows/cols {0..2} and {2..3} (the second clipped to 2 rows/cols, as PyTorch's divisor is).
    const mean = (rows: number[], cols: number[]) => {
      let s = 0;
      for (const r of rows) for (const c of cols) s += r * 4 + c;
      return s / (rows.length * cols.length);
    };
    const want = [mean([0, 1, 2], [0, 1, 2]), mean([0, 1, 2], [2, 3]), mean([2, 3], [0, 1, 2]), mean([2, 3], [2, 3])];
    expectClose('ceil avg pool', y, want, 1e-6);
  });
});

// ---- containers ----------------------------------------------------------------------------------------

type Spec = { leaf: 'linear' | 'bn' | 'relu' } | { seq: Spec[] } | { list: Spec[] } | { dict: [string, Spec][] };

function build(s: Spec): nn.Module {
  if ('leaf' in s) return s.leaf === 'linear' ? new nn.Linear(2, 2) : s.leaf === 'bn' ? new nn.BatchNorm1d(2) : new nn.ReLU();
  if ('seq' in s) return new nn.Sequential(...s.seq.map(build));
  if ('list' in s) return new nn.ModuleList(s.list.map(build));
  return new nn.ModuleDict(s.dict.map(([k, v]) => [k, build(v)] as const));
}

/** PyTorch's state-dict keys for the spec: children in order, leaves' own keys. */
function keysOf(s: Spec, prefix: string): string[] {
  const p = (k: string) => (prefix === '' ? k : `${prefix}.${k}`);
  if ('leaf' in s) {
    if (s.leaf === 'linear') return [p('weight'), p('bias')];
    if (s.leaf === 'bn') return ['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked'].map(p);
    return [];
  }
  const children: [string, Spec][] = 'seq' in s ? s.seq.map((c, i) => [String(i), c]) : 'list' in s ? s.list.map((c, i) => [String(i), c]) : s.dict;
  return children.flatMap(([k, c]) => keysOf(c, p(k)));
}

const specArb: fc.Arbitrary<Spec> = fc.letrec<{ spec: Spec }>((tie) => ({
  spec: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom<Spec>({ leaf: 'linear' }, { leaf: 'bn' }, { leaf: 'relu' }),
    fc.array(tie('spec'), { maxLength: 3 }).map((seq): Spec => ({ seq })),
    fc.array(tie('spec'), { maxLength: 3 }).map((list): Spec => ({ list })),
    fc
      .uniqueArray(fc.tuple(fc.constantFrom('a', 'conv', 'head', 'b2', 'x_y', '7', '10'), tie('spec')), { maxLength: 3, selector: ([k]) => k })
      .map((dict): Spec => ({ dict })),
  ),
})).spec;

describe('containers: ModuleList, ModuleDict, Sequential', () => {
  it('state-dict keys of any nesting are PyTorch’s (features.0.weight, heads.cls.bias, …), in insertion order', () => {
    fc.assert(
      fc.property(specArb, (s) => {
        const model = build({ dict: [['features', s]] });
        try {
          expect([...model.stateDict().keys()]).toEqual(keysOf(s, 'features'));
        } finally {
          model.dispose();
        }
      }),
      { numRuns: 60 },
    );
  });

  it('ModuleList: append, extend, length, at, get, set, iteration; forward is refused', () => {
    const a = new nn.ReLU();
    const b = new nn.Linear(2, 3);
    const list = new nn.ModuleList([a]);
    list.append(b).extend([new nn.Identity(), new nn.BatchNorm1d(3)]);
    expect(list.length).toBe(4);
    expect(list.at(0)).toBe(a);
    expect(list.at(-3)).toBe(b);
    expect(list.get(1)).toBe(b);
    expect(list[1]).toBe(b);
    expect([...list].map((m) => m.constructor.name)).toEqual(['ReLU', 'Linear', 'Identity', 'BatchNorm1d']);
    expect([...list.stateDict().keys()]).toEqual(['1.weight', '1.bias', '3.weight', '3.bias', '3.running_mean', '3.running_var', '3.num_batches_tracked']);
    list.set(0, new nn.Linear(1, 1));
    expect([...list.stateDict().keys()].slice(0, 2)).toEqual(['0.weight', '0.bias']);
    expectTessera(() => list.at(4), 'out of range');
    expectTessera(() => list.append({} as nn.Module), 'Module');
    const err = expectTessera(() => list.forward(), 'ModuleList', 'no forward');
    expect(err).toBeInstanceOf(TesseraError);
    expect(String(new nn.ModuleList([new nn.ReLU()]))).toBe('ModuleList(\n  (0): ReLU()\n)');
  });

  it('ModuleDict: get, set, has, keys, values, entries, delete; keys are state-dict names; bad keys refused', () => {
    const d = new nn.ModuleDict({ cls: new nn.Linear(2, 2) });
    d.set('10', new nn.Linear(1, 1)).set('box', new nn.ReLU());
    expect(d.keys()).toEqual(['cls', '10', 'box']);
    expect(d.has('cls')).toBe(true);
    expect(d.has('nope')).toBe(false);
    expect(d.values().map((m) => m.constructor.name)).toEqual(['Linear', 'Linear', 'ReLU']);
    expect(d.entries().map(([k]) => k)).toEqual(['cls', '10', 'box']);
    expect([...d.stateDict().keys()]).toEqual(['cls.weight', 'cls.bias', '10.weight', '10.bias']);
    const replacement = new nn.Linear(2, 2);
    d.set('cls', replacement);
    expect(d.get('cls')).toBe(replacement);
    expect(d.keys()).toEqual(['cls', '10', 'box']);
    expect(d.delete('10')).toBeInstanceOf(nn.Linear);
    expect(d.keys()).toEqual(['cls', 'box']);
    expect(d.size).toBe(2);
    expectTessera(() => d.get('nope'), 'no module named "nope"', '"cls"');
    expectTessera(() => d.set('a.b', new nn.ReLU()), 'must not contain "."');
    expectTessera(() => d.set('training', new nn.ReLU()), 'already exists');
    expectTessera(() => d.set('get', new nn.ReLU()), 'already exists');
    expectTessera(() => d.forward(), 'ModuleDict', 'no forward');
    expect(new nn.ModuleDict(new Map([['m', new nn.ReLU()]])).keys()).toEqual(['m']);
  });

  it('Sequential with mixed children and a nested Sequential gives torch’s keys; get and length', () => {
    class Net extends nn.Module {
      features = new nn.Sequential(
        new nn.Conv2d(3, 4, 3),
        new nn.BatchNorm2d(4),
        new nn.ReLU6(),
        new nn.Sequential(new nn.Conv2d(4, 4, 1), new nn.BatchNorm2d(4), new nn.Hardtanh()),
        new nn.Identity(),
      );
      classifier = new nn.Sequential(new nn.Dropout(0.2), new nn.Flatten(), new nn.Linear(4, 2));
      override forward(x: Tensor): Tensor {
        return this.classifier.forward(new nn.AdaptiveAvgPool2d(1).forward(this.features.forward(x)));
      }
    }
    const net = new Net();
    const bnKeys = (p: string) => ['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked'].map((k) => `${p}.${k}`);
    expect([...net.stateDict().keys()]).toEqual([
      'features.0.weight',
      'features.0.bias',
      ...bnKeys('features.1'),
      'features.3.0.weight',
      'features.3.0.bias',
      ...bnKeys('features.3.1'),
      'classifier.2.weight',
      'classifier.2.bias',
    ]);
    expect(net.features.length).toBe(5);
    expect(net.features.get(1)).toBeInstanceOf(nn.BatchNorm2d);
    expect(net.forward(randn([2, 3, 5, 5])).shape).toEqual([2, 2]);
  });
});
