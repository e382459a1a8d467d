import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { F, Tensor, keep, manualSeed, memory, ones, randn, tensor, tidy, zeros } from '../src/index.js';
import type { DType } from '../src/index.js';
import { loadSafetensors, saveSafetensors } from '../src/io/index.js';
import * as nn from '../src/nn/index.js';
import * as optim from '../src/optim/index.js';
import { expectTessera, values } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'tessera-optim-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function expectClose(actual: readonly number[], expected: readonly number[], rel: number): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((a, i) => {
    const e = expected[i]!;
    if (Math.abs(a - e) > rel * Math.max(1, Math.abs(e))) expect.fail(`element ${i}: ${a} vs expected ${e} (relative tolerance ${rel})`);
  });
}

/** A parameter with fixed values, and gradients fed by hand. */
function param(vals: number[], dtype: DType = 'float64'): Tensor {
  return nn.parameter(tensor(vals, undefined, { dtype }));
}

function setGrad(p: Tensor, g: number[]): void {
  p.grad?.dispose();
  p.grad = keep(tensor(g, undefined, { dtype: p.dtype }));
}

const W0 = [0.5, -1.25, 2, 0.03];
const GRADS = [
  [0.1, -0.2, 0.3, -0.4],
  [0.05, 0.5, -0.25, 1],
  [-0.3, 0.1, 0.2, 0.0],
  [1.5, -0.75, 0.01, -0.02],
  [0.2, 0.2, -0.2, 0.7],
];

describe('SGD, the paper’s rule (Krizhevsky et al. 2012, Section 5)', () => {
  /** v ← m·v − wd·lr·w − lr·g; w ← w + v, by hand in float64. */
  function paperReference(lr: number, m: number, wd: number, steps: number): number[] {
    const w = W0.slice();
    const v = W0.map(() => 0);
    for (let t = 0; t < steps; t++) {
      for (let i = 0; i < w.length; i++) {
        v[i] = m * v[i]! - wd * lr * w[i]! - lr * GRADS[t]![i]!;
        w[i] = w[i]! + v[i]!;
      }
    }
    return w;
  }

  for (const dtype of ['float64', 'float32'] as const) {
    it(`matches a hand computation over ${GRADS.length} steps (${dtype})`, async () => {
      const p = param(W0, dtype);
      const opt = new optim.SGD([p], { lr: 0.01, momentum: 0.9, weightDecay: 5e-4, rule: 'paper' });
      for (let t = 0; t < GRADS.length; t++) {
        setGrad(p, GRADS[t]!);
        opt.step();
        expectClose(await values(p), paperReference(0.01, 0.9, 5e-4, t + 1), dtype === 'float64' ? 1e-14 : 2e-7);
      }
      expect(opt.stepCount).toBe(GRADS.length);
      // The velocity is the paper's v: w_t − w_{t−1}.
      const v = opt.stateDict().tensors.get('0.momentumBuffer')!;
      const diff = paperReference(0.01, 0.9, 5e-4, 5).map((w, i) => w - paperReference(0.01, 0.9, 5e-4, 4)[i]!);
      expectClose(await values(v), diff, dtype === 'float64' ? 1e-12 : 1e-6);
      opt.zeroGrad();
      expect(p.grad).toBeNull();
    });
  }

  it('without momentum: w ← w − wd·lr·w − lr·g', async () => {
    const p = param(W0);
    const opt = new optim.SGD([p], { lr: 0.1, weightDecay: 0.01, rule: 'paper' });
    setGrad(p, GRADS[0]!);
    opt.step();
    expectClose(
      await values(p),
      W0.map((w, i) => w - 0.01 * 0.1 * w - 0.1 * GRADS[0]![i]!),
      1e-15,
    );
    expect(opt.stateDict().tensors.size).toBe(0);
  });
});

describe('SGD, torch.optim.SGD’s rule', () => {
  /** torch.optim.SGD's single-tensor loop, by hand in float64. */
  function torchReference(o: { lr: number; momentum?: number; dampening?: number; weightDecay?: number; nesterov?: boolean }, steps: number): number[] {
    const { lr, momentum = 0, dampening = 0, weightDecay = 0, nesterov = false } = o;
    const w = W0.slice();
    let buf: number[] | null = null;
    for (let t = 0; t < steps; t++) {
      let d = GRADS[t]!.map((g, i) => g + weightDecay * w[i]!);
      if (momentum !== 0) {
        const gp: number[] = d;
        buf = buf === null ? gp.slice() : buf.map((b, i) => momentum * b + (1 - dampening) * gp[i]!);
        const bb: number[] = buf;
        d = nesterov ? gp.map((g, i) => g + momentum * bb[i]!) : bb.slice();
      }
      for (let i = 0; i < w.length; i++) w[i] = w[i]! - lr * d[i]!;
    }
    return w;
  }

  const cases = [
    { lr: 0.1 },
    { lr: 0.05, weightDecay: 0.01 },
    { lr: 0.01, momentum: 0.9 },
    { lr: 0.01, momentum: 0.9, dampening: 0.5, weightDecay: 1e-3 },
    { lr: 0.02, momentum: 0.8, nesterov: true, weightDecay: 5e-4 },
  ];
  for (const c of cases) {
    it(`matches a hand computation: ${JSON.stringify(c)}`, async () => {
      const p = param(W0);
      const opt = new optim.SGD([p], c);
      for (let t = 0; t < GRADS.length; t++) {
        setGrad(p, GRADS[t]!);
        opt.step();
        expectClose(await values(p), torchReference(c, t + 1), 1e-14);
      }
    });
  }

  it('the two rules differ (the test above would notice a swapped rule)', async () => {
    const a = param(W0);
    const b = param(W0);
    const pa = new optim.SGD([a], { lr: 0.1, momentum: 0.9, rule: 'paper' });
    const pb = new optim.SGD([b], { lr: 0.1, momentum: 0.9, rule: 'pytorch' });
    for (let t = 0; t < 3; t++) {
      setGrad(a, GRADS[t]!);
      setGrad(b, GRADS[t]!);
      pa.step();
      pb.step();
    }
    // With a constant lr the trajectories coincide (paper v = −lr·torch v); the velocities do not.
    expectClose(await values(a), await values(b), 1e-14);
    const va = await values(pa.stateDict().tensors.get('0.momentumBuffer')!);
    const vb = await values(pb.stateDict().tensors.get('0.momentumBuffer')!);
    expectClose(
      va,
      vb.map((v) => -0.1 * v),
      1e-14,
    );
  });

  it('skips parameters whose grad is null, and supports parameter groups', async () => {
    const a = param([1, 2]);
    const b = param([3, 4]);
    const c = param([5, 6]);
    const opt = new optim.SGD([{ params: [a, b] }, { params: [c], lr: 1, weightDecay: 0.5 }], { lr: 0.1, momentum: 0.5 });
    setGrad(a, [1, 1]);
    setGrad(c, [1, 1]);
    opt.step();
    expect(await values(a)).toEqual([1 - 0.1, 2 - 0.1]);
    expect(await values(b)).toEqual([3, 4]);
    expect(await values(c)).toEqual([5 - (1 + 2.5), 6 - (1 + 3)]);
    expect([...opt.stateDict().tensors.keys()]).toEqual(['0.momentumBuffer', '2.momentumBuffer']);
    expect(opt.paramGroups[1]!.weightDecay).toBe(0.5);
    expect(opt.paramGroups[0]!.weightDecay).toBe(0);
    opt.lr = 0.001;
    expect(opt.paramGroups.map((g) => g.lr)).toEqual([0.001, 0.001]);
    opt.paramGroups[1]!.lr = 0.5;
    expect(opt.lr).toBe(0.001);
  });

  it('rejects bad hyperparameters and bad parameter lists', () => {
    const p = param([1]);
    expectTessera(() => new optim.SGD([p], { lr: -1 }), 'lr must be a finite number ≥ 0');
    expectTessera(() => new optim.SGD([p], { lr: 0.1, nesterov: true }), 'Nesterov momentum requires a momentum > 0 and zero dampening');
    expectTessera(() => new optim.SGD([p], { lr: 0.1, momentum: 0.9, dampening: 0.1, nesterov: true }), 'zero dampening');
    expectTessera(() => new optim.SGD([p], { lr: 0.1, momentum: 0.9, nesterov: true, rule: 'paper' }), 'paper rule has no dampening or Nesterov');
    expectTessera(() => new optim.SGD([p], { lr: 0.1, rule: 'caffe' as 'paper' }), "rule must be one of 'pytorch', 'paper'");
    expectTessera(() => new optim.SGD([], { lr: 0.1 }), 'empty parameter list');
    expectTessera(() => new optim.SGD([p, p], { lr: 0.1 }), 'appears twice');
    expectTessera(() => new optim.SGD([{ params: [p] }, { params: [p] }], { lr: 0.1 }), 'already in another parameter group');
    expectTessera(() => new optim.SGD([zeros([2], { dtype: 'int32' })], { lr: 0.1 }), 'int32');
    expectTessera(() => new optim.SGD([{ params: [p], momentun: 0.9 } as never], { lr: 0.1 }), 'unknown hyperparameter "momentun"');
    expectTessera(() => (new optim.SGD([p], { lr: 0.1 }).lr = NaN), 'learning rate');
    const opt = new optim.SGD([p], { lr: 0.1 });
    p.grad = keep(zeros([2], { dtype: 'float64' }));
    expectTessera(() => opt.step(), 'gradient [2] does not match its parameter [1]');
  });
});

describe('Adam', () => {
  function adamReference(o: { lr: number; betas: [number, number]; eps: number; weightDecay: number; amsgrad: boolean }, steps: number): number[] {
    const w = W0.slice();
    const m = W0.map(() => 0);
    const v = W0.map(() => 0);
    const vMax = W0.map(() => 0);
    for (let t = 1; t <= steps; t++) {
      const [b1, b2] = o.betas;
      for (let i = 0; i < w.length; i++) {
        const g = GRADS[t - 1]![i]! + o.weightDecay * w[i]!;
        m[i] = m[i]! + (g - m[i]!) * (1 - b1);
        v[i] = v[i]! * b2 + (1 - b2) * g * g;
        vMax[i] = Math.max(vMax[i]!, v[i]!);
        const second = o.amsgrad ? vMax[i]! : v[i]!;
        const denom = Math.sqrt(second) / Math.sqrt(1 - b2 ** t) + o.eps;
        w[i] = w[i]! - (o.lr / (1 - b1 ** t)) * (m[i]! / denom);
      }
    }
    return w;
  }

  const cases = [
    { lr: 1e-3, betas: [0.9, 0.999] as [number, number], eps: 1e-8, weightDecay: 0, amsgrad: false },
    { lr: 0.1, betas: [0.8, 0.99] as [number, number], eps: 1e-6, weightDecay: 0.01, amsgrad: false },
    { lr: 0.05, betas: [0.9, 0.999] as [number, number], eps: 1e-8, weightDecay: 0, amsgrad: true },
  ];
  for (const c of cases) {
    for (const dtype of ['float64', 'float32'] as const) {
      it(`matches a hand computation (${dtype}): ${JSON.stringify(c)}`, async () => {
        const p = param(W0, dtype);
        const opt = new optim.Adam([p], c);
        const live = memory().tensors;
        for (let t = 0; t < GRADS.length; t++) {
          setGrad(p, GRADS[t]!);
          opt.step();
          expectClose(await values(p), adamReference(c, t + 1), dtype === 'float64' ? 1e-12 : 1e-5);
        }
        // The step's temporaries are all freed; only the gradient and the state tensors remain.
        expect(memory().tensors).toBe(live + 1 + (c.amsgrad ? 3 : 2));
        const sd = opt.stateDict();
        expect(sd.meta.state).toEqual({ '0': { step: GRADS.length } });
        expect([...sd.tensors.keys()]).toEqual(c.amsgrad ? ['0.expAvg', '0.expAvgSq', '0.maxExpAvgSq'] : ['0.expAvg', '0.expAvgSq']);
      });
    }
  }

  it('defaults to torch’s hyperparameters and validates them', () => {
    const opt = new optim.Adam([param([1])]);
    expect(opt.defaults).toEqual({ lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: false });
    expectTessera(() => new optim.Adam([param([1])], { betas: [1, 0.999] }), 'betas[0] must be a finite number in [0, 1)');
    expectTessera(() => new optim.Adam([param([1])], { eps: -1 }), 'eps');
  });
});

describe('optimizer state: save, load, resume bit for bit', () => {
  class Net extends nn.Module {
    readonly body: nn.Sequential;
    constructor(seed: number) {
      super();
      this.body = new nn.Sequential(
        new nn.Conv2d(3, 4, 3, { padding: 1, seed }),
        new nn.ReLU(),
        new nn.MaxPool2d(2),
        new nn.Flatten(),
        new nn.Linear(4 * 4 * 4, 6, { seed: seed + 1 }),
      );
    }
    override forward(x: Tensor): Tensor {
      return this.body.forward(x);
    }
  }

  const batches = Array.from({ length: 6 }, (_, i) => ({
    x: keep(randn([4, 3, 8, 8], { seed: 1000 + i })),
    y: keep(tensor([i % 6, (i + 1) % 6, (i + 2) % 6, (i + 3) % 6], undefined, { dtype: 'int32' })),
  }));

  function trainStep(model: Net, opt: optim.Optimizer<optim.BaseHyper>, i: number): void {
    tidy(() => {
      opt.zeroGrad();
      const loss = F.crossEntropy(model.forward(batches[i]!.x), batches[i]!.y);
      loss.backward();
      opt.step();
    });
  }

  async function snapshot(model: Net, opt: optim.Optimizer<optim.BaseHyper>): Promise<Record<string, Float32Array | Int32Array | Float64Array>> {
    const out: Record<string, Float32Array | Int32Array | Float64Array> = {};
    for (const [k, t] of model.stateDict()) out[`model.${k}`] = await t.data();
    for (const [k, t] of opt.stateDict().tensors) out[`opt.${k}`] = await t.data();
    return out;
  }

  const makers: [string, (params: Tensor[], lr?: number) => optim.Optimizer<optim.BaseHyper>][] = [
    ['SGD (paper rule, momentum, weight decay)', (ps, lr = 0.01) => new optim.SGD(ps, { lr, momentum: 0.9, weightDecay: 5e-4, rule: 'paper' })],
    ['SGD (torch rule, Nesterov)', (ps, lr = 0.01) => new optim.SGD(ps, { lr, momentum: 0.9, nesterov: true, weightDecay: 1e-4 })],
    ['Adam (amsgrad)', (ps, lr = 0.003) => new optim.Adam(ps, { lr, amsgrad: true, weightDecay: 1e-3 })],
  ];

  for (const [name, make] of makers) {
    it(`${name}: a run resumed from safetensors files continues bit-identically`, async () => {
      // Uninterrupted run: 3 steps, checkpoint, 3 more steps (with the lr decayed by a scheduler).
      const model = new Net(1);
      const opt = make(model.parameters());
      const sched = new optim.StepLR(opt, { stepSize: 2, gamma: 0.5 });
      for (let i = 0; i < 3; i++) {
        trainStep(model, opt, i);
        sched.step();
      }
      const sd = opt.stateDict();
      await saveSafetensors(model.stateDict(), join(dir, 'model.safetensors'), { metadata: { epoch: '3' } });
      await saveSafetensors(sd.tensors, join(dir, 'opt.safetensors'), {
        metadata: { optimizer: JSON.stringify(sd.meta), scheduler: JSON.stringify(sched.stateDict()) },
      });
      for (let i = 3; i < 6; i++) {
        trainStep(model, opt, i);
        sched.step();
      }
      const expected = await snapshot(model, opt);
      const expectedLr = opt.paramGroups.map((g) => g.lr);

      // Resumed run: a differently initialised model and optimiser (another lr), loaded from the files.
      const model2 = new Net(7);
      const opt2 = make(model2.parameters(), 0.5);
      const sched2 = new optim.StepLR(opt2, { stepSize: 2, gamma: 0.5 });
      const mf = await loadSafetensors(join(dir, 'model.safetensors'));
      model2.loadStateDict(mf);
      mf.dispose();
      const of = await loadSafetensors(join(dir, 'opt.safetensors'));
      opt2.loadStateDict({ meta: JSON.parse(of.metadata.optimizer!), tensors: of });
      sched2.loadStateDict(JSON.parse(of.metadata.scheduler!));
      of.dispose(); // the optimiser copied what it needs
      expect(opt2.stepCount).toBe(3);
      for (let i = 3; i < 6; i++) {
        trainStep(model2, opt2, i);
        sched2.step();
      }
      const actual = await snapshot(model2, opt2);
      expect(Object.keys(actual)).toEqual(Object.keys(expected));
      for (const k of Object.keys(expected)) expect(actual[k], k).toEqual(expected[k]);
      expect(opt2.paramGroups.map((g) => g.lr)).toEqual(expectedLr);
      expect(opt2.stepCount).toBe(6);
      model.dispose();
      model2.dispose();
      opt.disposeState();
      opt2.disposeState();
    });
  }

  it('loadStateDict rejects state from another optimiser or other parameters, changing nothing', async () => {
    const p = param([1, 2, 3]);
    const q = param([4]);
    const opt = new optim.SGD([p, q], { lr: 0.1, momentum: 0.9 });
    setGrad(p, [1, 1, 1]);
    setGrad(q, [1]);
    opt.step();
    const sd = opt.stateDict();
    const adam = new optim.Adam([param([1, 2, 3]), param([4])]);
    expectTessera(() => adam.loadStateDict(sd), 'from "SGD", this optimiser is Adam');
    const other = new optim.SGD([param([1, 2, 3])], { lr: 0.1, momentum: 0.9 });
    expectTessera(() => other.loadStateDict(sd), 'paramGroups[0] has 2 parameters in the state dict and 1 in this optimiser');
    const swapped = new optim.SGD([param([4]), param([1, 2, 3])], { lr: 0.1, momentum: 0.9 });
    expectTessera(() => swapped.loadStateDict(sd), 'state tensor "0.momentumBuffer" is [3] but parameter 0 is [1]');
    const fresh = new optim.SGD([param([1, 2, 3]), param([4])], { lr: 0.7, momentum: 0.9 });
    expectTessera(
      () => fresh.loadStateDict({ meta: sd.meta, tensors: new Map([...sd.tensors, ['1.velocity', ones([1], { dtype: 'float64' })]]) }),
      '"velocity" is not a state tensor of SGD',
    );
    expectTessera(
      () => fresh.loadStateDict({ meta: { ...sd.meta, paramGroups: [{ ...sd.meta.paramGroups[0]!, lr: -3 }] }, tensors: sd.tensors }),
      'lr must be',
    );
    expectTessera(
      () => fresh.loadStateDict({ meta: { ...sd.meta, format: 'nope' as 'tessera.optimizer' }, tensors: sd.tensors }),
      'not an optimizer state dict',
    );
    expect(fresh.lr).toBe(0.7);
    expect(fresh.stateDict().tensors.size).toBe(0);
    fresh.loadStateDict(sd);
    expect(fresh.lr).toBe(0.1);
    expect(await values(fresh.stateDict().tensors.get('0.momentumBuffer')!)).toEqual(await values(sd.tensors.get('0.momentumBuffer')!));
    // Copies: the loaded state does not alias the source.
    expect(fresh.stateDict().tensors.get('0.momentumBuffer')).not.toBe(sd.tensors.get('0.momentumBuffer'));
    // The JSON part survives JSON.
    expect(JSON.parse(JSON.stringify(sd.meta))).toEqual(sd.meta);
  });
});

describe('learning-rate schedulers', () => {
  function lrsOver(opt: optim.Optimizer<optim.BaseHyper>, step: () => void, epochs: number): number[] {
    const out = [opt.lr];
    for (let e = 0; e < epochs; e++) {
      step();
      out.push(opt.lr);
    }
    return out;
  }

  it('StepLR reproduces torch’s sequence (successive multiplication, float artefacts included)', () => {
    const opt = new optim.SGD([param([1])], { lr: 1 });
    const sched = new optim.StepLR(opt, { stepSize: 2 });
    expect(sched.lastEpoch).toBe(0);
    // torch: [group['lr'] for each epoch] with StepLR(step_size=2, gamma=0.1) from lr=1.0
    expect(lrsOver(opt, () => sched.step(), 6)).toEqual([1, 1, 0.1, 0.1, 0.010000000000000002, 0.010000000000000002, 0.0010000000000000002]);
    expect(sched.getLastLr()).toEqual([0.0010000000000000002]);
    const opt2 = new optim.SGD([{ params: [param([1])] }, { params: [param([2])], lr: 0.05 }], { lr: 0.1 });
    const s2 = new optim.StepLR(opt2, { stepSize: 3, gamma: 0.5 });
    const seq: number[][] = [];
    for (let e = 0; e < 7; e++) {
      seq.push(opt2.paramGroups.map((g) => g.lr));
      s2.step();
    }
    expect(seq.map((x) => x[1])).toEqual([0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.0125]);
    expect(seq.map((x) => x[0])).toEqual([0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025]);
    expectTessera(() => new optim.StepLR(opt2, { stepSize: 0 }), 'stepSize must be an integer ≥ 1');
  });

  it('StepLR state survives JSON and resumes the sequence', () => {
    const opt = new optim.SGD([param([1])], { lr: 1 });
    const sched = new optim.StepLR(opt, { stepSize: 2, gamma: 0.3 });
    for (let e = 0; e < 3; e++) sched.step();
    const saved = JSON.stringify({ opt: opt.stateDict().meta, sched: sched.stateDict() });
    const rest = lrsOver(opt, () => sched.step(), 5);
    const opt2 = new optim.SGD([param([1])], { lr: 1 });
    const sched2 = new optim.StepLR(opt2, { stepSize: 7 });
    const parsed = JSON.parse(saved) as { opt: optim.OptimizerMeta; sched: optim.SchedulerState };
    opt2.loadStateDict({ meta: parsed.opt, tensors: new Map() });
    sched2.loadStateDict(parsed.sched);
    expect(lrsOver(opt2, () => sched2.step(), 5)).toEqual(rest);
    expectTessera(() => sched2.loadStateDict({ ...parsed.sched, type: 'CosineAnnealingLR' }), 'expects the state of a StepLR');
  });

  it('ReduceLROnPlateau follows torch: patience, cooldown, threshold, minLr', () => {
    const opt = new optim.SGD([param([1])], { lr: 1 });
    const s = new optim.ReduceLROnPlateau(opt, { factor: 0.5, patience: 1, cooldown: 1 });
    const metrics = [10, 9, 9, 9, 9, 9, 8, 8, 8];
    const lrs = metrics.map((m) => {
      s.step(m);
      return opt.lr;
    });
    expect(lrs).toEqual([1, 1, 1, 0.5, 0.5, 0.5, 0.5, 0.5, 0.25]);
    expect(s.best).toBe(8);

    // The AlexNet recipe: divide by 10 whenever the validation error fails to improve (patience 0).
    const opt2 = new optim.SGD([param([1])], { lr: 0.01, momentum: 0.9 });
    const s2 = new optim.ReduceLROnPlateau(opt2, { mode: 'min', factor: 0.1, patience: 0 });
    const errors = [0.6, 0.5, 0.45, 0.45, 0.44, 0.4400001, 0.43];
    expect(errors.map((e) => (s2.step(e), opt2.lr))).toEqual([0.01, 0.01, 0.01, 0.001, 0.001, 0.0001, 0.0001]);

    // Relative threshold: 9.9995 is within 1e-4 of 10, so not an improvement.
    const opt3 = new optim.SGD([param([1])], { lr: 1 });
    const s3 = new optim.ReduceLROnPlateau(opt3, { patience: 0, factor: 0.1, minLr: 0.05 });
    s3.step(10);
    s3.step(9.9995);
    expect(opt3.lr).toBeCloseTo(0.1, 15);
    s3.step(9.9995);
    expect(opt3.lr).toBe(0.05); // clamped to minLr
    s3.step(9.9995);
    expect(opt3.lr).toBe(0.05);

    // mode max with an absolute threshold.
    const opt4 = new optim.SGD([param([1])], { lr: 1 });
    const s4 = new optim.ReduceLROnPlateau(opt4, { mode: 'max', thresholdMode: 'abs', threshold: 0.1, patience: 1, factor: 0.5 });
    expect([0.5, 0.55, 0.7, 0.75, 0.79, 0.9].map((m) => (s4.step(m), opt4.lr))).toEqual([1, 1, 1, 1, 0.5, 0.5]);

    // Reductions smaller than eps are skipped.
    const opt5 = new optim.SGD([param([1])], { lr: 1e-9 });
    const s5 = new optim.ReduceLROnPlateau(opt5, { patience: 0 });
    s5.step(1);
    s5.step(1);
    expect(opt5.lr).toBe(1e-9);

    expectTessera(() => new optim.ReduceLROnPlateau(opt, { factor: 1 }), 'factor must be a finite number in [0, 1)');
    expectTessera(() => new optim.ReduceLROnPlateau(opt, { minLr: [0, 0] }), 'minLr has 2 entries but the optimiser has 1 parameter groups');
  });

  it('ReduceLROnPlateau state (an infinite best included) survives JSON', () => {
    const opt = new optim.SGD([param([1])], { lr: 1 });
    const s = new optim.ReduceLROnPlateau(opt, { patience: 2, cooldown: 2 });
    const fresh = JSON.parse(JSON.stringify(s.stateDict())) as optim.SchedulerState;
    expect(fresh.best).toBe('Infinity');
    const metrics = [5, 5, 5, 5, 5, 4, 4, 4, 4, 4, 4, 4];
    for (const m of metrics.slice(0, 5)) s.step(m);
    const saved = JSON.stringify({ opt: opt.stateDict().meta, s: s.stateDict() });
    const rest = metrics.slice(5).map((m) => (s.step(m), opt.lr));
    const opt2 = new optim.SGD([param([1])], { lr: 1 });
    const s2 = new optim.ReduceLROnPlateau(opt2);
    const parsed = JSON.parse(saved) as { opt: optim.OptimizerMeta; s: optim.SchedulerState };
    opt2.loadStateDict({ meta: parsed.opt, tensors: new Map() });
    s2.loadStateDict(parsed.s);
    expect(metrics.slice(5).map((m) => (s2.step(m), opt2.lr))).toEqual(rest);
    expect(rest).toContain(0.010000000000000002);
    const s3 = new optim.ReduceLROnPlateau(opt2);
    s3.loadStateDict(fresh);
    expect(s3.best).toBe(Infinity);
  });
});

describe('training end to end', () => {
  it('SGD with the paper’s rule lowers the loss of a small classifier', async () => {
    manualSeed(3);
    const model = new nn.Sequential(new nn.Linear(4, 16), new nn.ReLU(), new nn.Linear(16, 3));
    const opt = new optim.SGD(model.parameters(), { lr: 0.1, momentum: 0.9, weightDecay: 5e-4, rule: 'paper' });
    const x = keep(randn([32, 4], { seed: 9 }));
    const labels = keep(
      x
        .slice(1, 0, 1)
        .reshape([32])
        .gt(0)
        .cast('int32')
        .add(x.slice(1, 1, 2).reshape([32]).gt(0.5).cast('int32')),
    );
    const lossAt = () => tidy(() => F.crossEntropy(model.forward(x), labels)).item();
    const first = await lossAt();
    for (let i = 0; i < 60; i++) {
      tidy(() => {
        opt.zeroGrad();
        F.crossEntropy(model.forward(x), labels).backward();
        opt.step();
      });
    }
    expect(await lossAt()).toBeLessThan(first * 0.5);
    model.dispose();
  });
});
