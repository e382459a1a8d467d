// The training-log reader's "later lines win" de-duplication (src/figures/training-log.ts) against the rule it
// implements, written here the direct way (filter everything at or after each record: quadratic, the reader's
// former code), on random logs full of resumes and restarts. readTrainingLog's own file test is in figures.test.ts.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseTrainingLog } from '../src/figures/training-log.js';

type Rec = { type: 'step'; epoch: number; step: number; loss: number } | { type: 'epoch'; epoch: number; trainLoss: number };

/** The rule: a step discards every step at or after it and every epoch at or after its epoch; a repeated epoch discards the epochs at or after it and the steps after it. */
function reference(recs: readonly Rec[]): { steps: [number, number, number][]; epochs: [number, number][] } {
  let steps: [number, number, number][] = [];
  let epochs: [number, number][] = [];
  const before = (s: [number, number, number], e: number, step: number) => s[0] < e || (s[0] === e && s[1] < step);
  for (const r of recs) {
    if (r.type === 'step') {
      if (steps.some((s) => !before(s, r.epoch, r.step))) steps = steps.filter((s) => before(s, r.epoch, r.step));
      if (epochs.some(([e]) => e >= r.epoch)) epochs = epochs.filter(([e]) => e < r.epoch);
      steps.push([r.epoch, r.step, r.loss]);
    } else {
      if (epochs.some(([e]) => e >= r.epoch)) {
        epochs = epochs.filter(([e]) => e < r.epoch);
        steps = steps.filter((s) => s[0] <= r.epoch);
      }
      epochs.push([r.epoch, r.trainLoss]);
    }
  }
  return { steps, epochs };
}

function parsed(recs: readonly Rec[]): { steps: [number, number, number][]; epochs: [number, number][] } {
  const log = parseTrainingLog(recs.map((r) => JSON.stringify(r)).join('\n') + '\n', 'log.jsonl');
  return { steps: log.steps.map((s) => [s.epoch, s.step, s.loss]), epochs: log.epochs.map((e) => [e.epoch, e.trainLoss ?? NaN]) };
}

const recArb: fc.Arbitrary<Rec> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      type: fc.constant('step' as const),
      epoch: fc.integer({ min: 1, max: 4 }),
      step: fc.integer({ min: 1, max: 6 }),
      loss: fc.nat(999),
    }),
  },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('epoch' as const), epoch: fc.integer({ min: 1, max: 4 }), trainLoss: fc.nat(999) }) },
);

/** Runs logged in order, each killed after a while and resumed from an earlier epoch (or restarted from scratch). */
const resumedRunArb: fc.Arbitrary<Rec[]> = fc
  .array(fc.record({ from: fc.integer({ min: 0, max: 3 }), epochs: fc.integer({ min: 0, max: 3 }), lastSteps: fc.integer({ min: 0, max: 4 }) }), {
    minLength: 1,
    maxLength: 6,
  })
  .map((runs) => {
    const out: Rec[] = [];
    let loss = 0;
    for (const run of runs) {
      for (let e = run.from + 1; e <= run.from + run.epochs + 1; e++) {
        const partial = e === run.from + run.epochs + 1;
        const n = partial ? run.lastSteps : 4;
        for (let s = 1; s <= n; s++) out.push({ type: 'step', epoch: e, step: s, loss: loss++ });
        if (!partial) out.push({ type: 'epoch', epoch: e, trainLoss: loss++ });
      }
    }
    return out;
  });

describe('training log de-duplication', () => {
  it('matches the rule on random record sequences', () => {
    fc.assert(
      fc.property(fc.array(recArb, { maxLength: 60 }), (recs) => {
        expect(parsed(recs)).toEqual(reference(recs));
      }),
      { numRuns: 400 },
    );
  });

  it('matches the rule on killed-and-resumed runs, and keeps each epoch once, in order', () => {
    fc.assert(
      fc.property(resumedRunArb, (recs) => {
        const got = parsed(recs);
        expect(got).toEqual(reference(recs));
        const keys = got.steps.map(([e, s]) => e * 100 + s);
        expect(keys).toEqual([...keys].sort((a, b) => a - b));
        expect(new Set(keys).size).toBe(keys.length);
      }),
      { numRuns: 300 },
    );
  });

  it('a 90-epoch log of 1000 steps per epoch, resumed twice, reads back as one run', () => {
    const recs: Rec[] = [];
    const run = (from: number, to: number, lastSteps: number, tag: number) => {
      for (let e = from; e <= to; e++) {
        const n = e === to ? lastSteps : 1000;
        for (let s = 1; s <= n; s++) recs.push({ type: 'step', epoch: e, step: s, loss: tag });
        if (n === 1000) recs.push({ type: 'epoch', epoch: e, trainLoss: tag });
      }
    };
    run(1, 40, 500, 0); // killed in epoch 40; resumed from the epoch-39 checkpoint
    run(40, 70, 10, 1); // killed in epoch 70; resumed from the epoch-69 checkpoint
    run(70, 90, 1000, 2);
    const { steps, epochs } = parsed(recs);
    expect(steps).toHaveLength(90_000);
    expect(epochs.map(([e]) => e)).toEqual(Array.from({ length: 90 }, (_, i) => i + 1));
    expect(steps[39 * 1000]).toEqual([40, 1, 1]);
    expect(steps[69 * 1000 - 1]).toEqual([69, 1000, 1]);
    expect(steps[69 * 1000]).toEqual([70, 1, 2]);
    expect(epochs[38]).toEqual([39, 0]);
    expect(epochs[39]).toEqual([40, 1]);
  });
});
