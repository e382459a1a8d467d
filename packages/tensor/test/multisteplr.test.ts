// MultiStepLR against torch.optim.lr_scheduler.MultiStepLR: the expected sequences were printed by PyTorch 1.13
// (Debian python3-torch) for the same settings, float artefacts included.
import { describe, expect, it } from 'vitest';
import { TesseraError, tensor } from '../src/index.js';
import * as nn from '../src/nn/index.js';
import * as optim from '../src/optim/index.js';

const param = (vals: number[]) => nn.parameter(tensor(vals, undefined, { dtype: 'float64' }));

/** The lr before each of `epochs` steps and after the last. */
function lrsOver(opt: optim.Optimizer<optim.BaseHyper>, sched: optim.MultiStepLR, epochs: number): number[] {
  const out = [opt.lr];
  for (let e = 0; e < epochs; e++) {
    sched.step();
    out.push(opt.lr);
  }
  return out;
}

/** `fn` throws a TesseraError whose message contains `fragment` (fn is called twice: it must change nothing). */
function expectTessera(fn: () => unknown, fragment: string): void {
  expect(fn).toThrow(TesseraError);
  expect(fn).toThrow(fragment);
}

describe('MultiStepLR', () => {
  it('reproduces torch: unsorted and repeated milestones, successive multiplication', () => {
    const opt = new optim.SGD([param([1])], { lr: 1 });
    // torch: MultiStepLR(opt, milestones=[2, 5, 5, 7], gamma=0.1) from lr=1.0; 5 appears twice, so ×0.01 there.
    const sched = new optim.MultiStepLR(opt, { milestones: [7, 5, 2, 5] });
    expect(sched.lastEpoch).toBe(0);
    expect(sched.milestones).toEqual([2, 5, 5, 7]);
    expect(lrsOver(opt, sched, 9)).toEqual([
      1, 1, 0.1, 0.1, 0.1, 0.0010000000000000002, 0.0010000000000000002, 0.00010000000000000003, 0.00010000000000000003, 0.00010000000000000003,
    ]);
    expect(sched.getLastLr()).toEqual([0.00010000000000000003]);
    expect(sched.lastEpoch).toBe(9);
  });

  it('a milestone of 0 applies at construction; every group decays from its own lr', () => {
    const opt = new optim.SGD([{ params: [param([1])] }, { params: [param([2])], lr: 0.05 }], { lr: 0.01 });
    const sched = new optim.MultiStepLR(opt, { milestones: [0, 3], gamma: 0.5 });
    const seq: number[][] = [];
    for (let e = 0; e < 5; e++) {
      seq.push(opt.paramGroups.map((g) => g.lr));
      sched.step();
    }
    // torch: [[0.005, 0.025], [0.005, 0.025], [0.005, 0.025], [0.0025, 0.0125], [0.0025, 0.0125]]
    expect(seq).toEqual([
      [0.005, 0.025],
      [0.005, 0.025],
      [0.005, 0.025],
      [0.0025, 0.0125],
      [0.0025, 0.0125],
    ]);
    expect(sched.baseLrs).toEqual([0.01, 0.05]);
  });

  it('multiplies by gamma rather than dividing: 0.05 · 0.1 is 0.005000000000000001 in float64, as in torch', () => {
    const opt = new optim.SGD([param([1])], { lr: 0.05 });
    const sched = new optim.MultiStepLR(opt, { milestones: [1, 2] });
    expect(lrsOver(opt, sched, 3)).toEqual([0.05, 0.005000000000000001, 0.0005000000000000001, 0.0005000000000000001]);
  });

  it('state survives JSON and resumes the sequence', () => {
    const opt = new optim.SGD([param([1])], { lr: 1 });
    const sched = new optim.MultiStepLR(opt, { milestones: [1, 4, 4, 6], gamma: 0.3 });
    for (let e = 0; e < 3; e++) sched.step();
    const saved = JSON.stringify({ opt: opt.stateDict().meta, sched: sched.stateDict() });
    const rest = lrsOver(opt, sched, 5);
    const opt2 = new optim.SGD([param([1])], { lr: 1 });
    const sched2 = new optim.MultiStepLR(opt2, { milestones: [2], gamma: 0.9 });
    const parsed = JSON.parse(saved) as { opt: optim.OptimizerMeta; sched: optim.SchedulerState };
    expect(parsed.sched).toMatchObject({ type: 'MultiStepLR', lastEpoch: 3, milestones: [1, 4, 4, 6], gamma: 0.3 });
    opt2.loadStateDict({ meta: parsed.opt, tensors: new Map() });
    sched2.loadStateDict(parsed.sched);
    expect(lrsOver(opt2, sched2, 5)).toEqual(rest);
    expectTessera(() => sched2.loadStateDict({ ...parsed.sched, type: 'StepLR' }), 'expects the state of a MultiStepLR');
    expectTessera(() => sched2.loadStateDict({ ...parsed.sched, milestones: [1, -2] }), 'milestones[1] must be an integer ≥ 0');
  });

  it('rejects bad milestones and gamma, naming them', () => {
    const opt = new optim.SGD([param([1])], { lr: 1 });
    expectTessera(() => new optim.MultiStepLR(opt, { milestones: [3, 1.5] }), 'milestones[1] must be an integer ≥ 0, got 1.5');
    expectTessera(() => new optim.MultiStepLR(opt, { milestones: 3 as unknown as number[] }), 'milestones must be an array');
    expectTessera(() => new optim.MultiStepLR(opt, { milestones: [1], gamma: -1 }), 'gamma must be a finite number ≥ 0');
    // Nothing was changed by the refused constructions.
    expect(opt.lr).toBe(1);
  });
});
