/**
 * The conformance kit: one vitest suite that every backend package runs. Each catalogue case is a
 * fast-check property comparing the backend (float32) with the CPU reference in float64 — forward results
 * and gradients — and the random, dropout and SGD kernels are compared bit for bit with the CPU backend.
 * On failure fast-check prints the seed, the shrunk counter-example and the attributes.
 */
import fc from 'fast-check';
import { beforeAll, describe, it } from 'vitest';
import { backendByName } from '../backend/registry.js';
import type { SgdParams } from '../backend/kernels.js';
import { tidy } from '../engine.js';
import { bernoulli, rand, randn, tensor } from '../ops/creation.js';
import { TesseraError } from '../errors.js';
import { normalTolerance } from '../random/philox.js';
import * as F from '../functional.js';
import { OP_CASES, type OpCase } from './cases.js';
import { gradcheck } from './gradcheck.js';
import { assertClose, compareEvaluations, evaluate, makeValues, mulberry32 } from './harness.js';

export interface ConformanceOptions {
  /** Runs per property (default 25, or TESSERA_CONFORMANCE_RUNS). */
  numRuns?: number;
  /** Fixes fast-check's seed (default: random, printed on failure; or TESSERA_CONFORMANCE_SEED). */
  seed?: number;
  /** Widens every tolerance by this factor (e.g. for reduced-precision accumulation). */
  toleranceScale?: number;
}

function envNumber(name: string): number | undefined {
  const v = typeof process !== 'undefined' ? process.env[name] : undefined;
  return v === undefined || v === '' ? undefined : Number(v);
}

function fcParams(opts: ConformanceOptions, fallbackRuns: number): fc.Parameters<unknown> {
  const seed = opts.seed ?? envNumber('TESSERA_CONFORMANCE_SEED');
  return { numRuns: opts.numRuns ?? envNumber('TESSERA_CONFORMANCE_RUNS') ?? fallbackRuns, ...(seed !== undefined ? { seed } : {}) };
}

/** Registers the conformance suite for `backendName`; skips it (saying why, once) when unavailable. */
export function describeConformance(backendName: string, opts: ConformanceOptions = {}): void {
  describe(`conformance: ${backendName}`, () => {
    let unavailable: string | null = null;
    beforeAll(async () => {
      try {
        await backendByName(backendName);
        await backendByName('cpu');
      } catch (err) {
        unavailable = err instanceof Error ? err.message : String(err);
        console.log(`conformance: ${backendName} skipped — ${unavailable}`);
      }
    });
    const scale = opts.toleranceScale ?? 1;

    const caseTest = (c: OpCase) =>
      it(`${c.name} [${c.kernels.join(', ')}]`, async (ctx) => {
        if (unavailable) return ctx.skip(unavailable);
        const tol = { atol: c.tol.atol * scale, rtol: c.tol.rtol * scale };
        await fc.assert(
          fc.asyncProperty(c.arb, async (inst) => {
            const want = await evaluate('cpu', 'float64', inst, true);
            const got = await evaluate(backendName, 'float32', inst, true);
            compareEvaluations(`${c.name} (${inst.label})`, got, want, tol);
          }),
          fcParams(opts, 25),
        );
      });
    for (const c of OP_CASES) caseTest(c);

    it('random: Philox uniform and bernoulli match the CPU backend bit for bit, normal within the stated bound', async (ctx) => {
      if (unavailable) return ctx.skip(unavailable);
      // Bounds of any size, but 0 or normal well away from float32's subnormals (rejected alike by every backend).
      const bound = fc.double({ min: -1e6, max: 1e6, noNaN: true }).map((x) => (Math.abs(x) < 1e-20 ? 0 : x));
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 0, max: 5000 }),
          fc.integer({ min: 0, max: 2 ** 40 }),
          fc.tuple(bound, bound),
          fc.tuple(fc.double({ min: -10, max: 10, noNaN: true }), fc.double({ min: 0, max: 10, noNaN: true })),
          fc.double({ min: 0, max: 1, noNaN: true }),
          async (n, seed, [low, high], [mean, std], p) => {
            for (const backend of [backendName, 'cpu']) await backendByName(backend);
            const draw = (backend: string) =>
              tidy(() => [rand([n], { seed, backend, low, high }), randn([n], { seed, backend, mean, std }), bernoulli([n], p, { seed, backend, scale: 2 })]);
            // Parameters without a finite float32 meaning are refused by the core, alike on every backend.
            const refusal = (backend: string): string | null => {
              try {
                tidy(() => void rand([1], { seed, backend, low, high }));
                return null;
              } catch (err) {
                if (err instanceof TesseraError) return err.message;
                throw err;
              }
            };
            const refused = refusal('cpu');
            if (refused !== null) {
              if (refusal(backendName) !== refused)
                throw new Error(`rand(low ${low}, high ${high}): cpu refused (${refused}) but ${backendName} did not the same way`);
              return;
            }
            const ours = draw(backendName);
            const ref = draw('cpu');
            const what = ['uniform', 'normal', 'bernoulli'];
            for (let i = 0; i < 3; i++) {
              const a = Float64Array.from(await ours[i]!.data());
              const b = Float64Array.from(await ref[i]!.data());
              // Uniform and bernoulli are defined bit for bit; normal differs only by the device's log/sqrt/sin/cos.
              assertClose(`random ${what[i]} (n ${n}, seed ${seed})`, a, b, i === 1 ? normalTolerance(mean, std) : { atol: 0, rtol: 0 });
            }
            [...ours, ...ref].forEach((t) => t.dispose());
          },
        ),
        fcParams(opts, 10),
      );
    });

    it('dropout: masks for a seed match the CPU backend exactly', async (ctx) => {
      if (unavailable) return ctx.skip(unavailable);
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 1, max: 3000 }), fc.constantFrom(0.1, 0.5, 0.9), fc.integer({ min: 0, max: 1e6 }), async (n, p, seed) => {
          const run = (backend: string) => tidy(() => F.dropout(tensor(new Float32Array(n).fill(1), [n], { backend }), p, true, { seed }));
          const a = run(backendName);
          const b = run('cpu');
          assertClose(`dropout mask (n ${n}, p ${p}, seed ${seed})`, Float64Array.from(await a.data()), Float64Array.from(await b.data()), {
            atol: 0,
            rtol: 0,
          });
          a.dispose();
          b.dispose();
        }),
        fcParams(opts, 10),
      );
    });

    it('sgdUpdate: paper and pytorch rules match the CPU backend over several steps', async (ctx) => {
      if (unavailable) return ctx.skip(unavailable);
      await fc.assert(
        fc.asyncProperty(
          fc.record({
            n: fc.integer({ min: 1, max: 300 }),
            rule: fc.constantFrom<'paper' | 'pytorch'>('paper', 'pytorch'),
            momentum: fc.constantFrom(0, 0.9),
            weightDecay: fc.constantFrom(0, 5e-4, 0.1),
            dampening: fc.constantFrom(0, 0.2),
            nesterov: fc.boolean(),
            seed: fc.integer({ min: 0, max: 1e6 }),
          }),
          async (c) => {
            const rng = mulberry32(c.seed);
            const w0 = makeValues({ shape: [c.n], kind: 'float' }, rng);
            const grads = [0, 1, 2].map(() => makeValues({ shape: [c.n], kind: 'float' }, rng));
            const results: Float64Array[] = [];
            for (const backend of [backendName, 'cpu']) {
              const b = await backendByName(backend);
              const w = tensor(w0, [c.n], { backend, dtype: 'float32' });
              const v = c.momentum > 0 ? tensor(new Float32Array(c.n), [c.n], { backend }) : null;
              grads.forEach((g, step) => {
                const gt = tensor(g, [c.n], { backend, dtype: 'float32' });
                const p: SgdParams = {
                  rule: c.rule,
                  lr: 0.1,
                  momentum: c.momentum,
                  weightDecay: c.weightDecay,
                  dampening: c.dampening,
                  nesterov: c.nesterov && c.momentum > 0 && c.dampening === 0,
                  firstStep: step === 0,
                };
                b.kernels.sgdUpdate(w.buf('sgd'), gt.buf('sgd'), v ? v.buf('sgd') : null, p);
                gt.dispose();
              });
              results.push(Float64Array.from(await w.data()));
              w.dispose();
              v?.dispose();
            }
            assertClose(`sgdUpdate ${JSON.stringify(c)}`, results[0]!, results[1]!, { atol: 1e-6 * scale, rtol: 1e-6 * scale });
          },
        ),
        fcParams(opts, 15),
      );
    });
  });
}

/** Registers gradcheck for every differentiable catalogue case: float64 backward vs central differences. */
export function describeGradcheck(opts: ConformanceOptions = {}): void {
  describe('gradcheck (float64, CPU backend, central differences)', () => {
    for (const c of OP_CASES) {
      it(`${c.name} [${c.kernels.join(', ')}]`, async () => {
        await fc.assert(
          fc.asyncProperty(c.arb, async (inst) => {
            if (inst.differentiable === false) return;
            const rng = mulberry32(inst.seed);
            const inputs = inst.inputs.map((spec) => ({ values: makeValues(spec, rng), shape: spec.shape, int: spec.kind === 'int' }));
            const check = inst.inputs.map((spec) => spec.grad ?? true);
            await gradcheck(inst.run, inputs, { label: `${c.name} (${inst.label})`, seed: inst.seed, atol: 1e-6, rtol: 1e-4, check });
          }),
          fcParams(opts, 6),
        );
      });
    }
  });
}
