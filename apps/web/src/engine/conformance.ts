/**
 * The conformance kit's checks without a test runner, for the page: every case of the kit's op catalogue
 * (`OP_CASES` from @tessera/tensor/testing) as a fast-check property — the chosen backend in float32 against
 * the CPU reference in float64, forward results and gradients, within the case's tolerance — plus dropout masks
 * and Philox uniforms bit for bit against the CPU backend. The kit's own `describeConformance` registers the
 * same properties with vitest; here fast-check's `check` reports each one, with the shrunk counter-example of a
 * failure, instead of throwing into a runner.
 */
import fc from 'fast-check';
import { F, backendByName, rand, tensor, tidy } from '@tessera/tensor';
import { OP_CASES, assertClose, compareEvaluations, evaluate } from '@tessera/tensor/testing';

export interface CheckResult {
  name: string;
  kernels: string[];
  ok: boolean;
  runs: number;
  /** On failure: fast-check's seed and shrunk counter-example, and the comparison that failed. */
  detail?: string;
  ms: number;
}

export interface ConformanceRun {
  numRuns: number;
  seed?: number;
  /** Only cases whose name contains one of these (all when omitted). */
  filter?: string[];
}

function describeFailure(details: fc.RunDetails<unknown[]>): string {
  const example = details.counterexample?.[0] as { label?: string; inputs?: { shape: number[] }[] } | undefined;
  const shapes = example?.inputs ? ` inputs ${example.inputs.map((i) => `[${i.shape.join('×')}]`).join(', ')}` : '';
  const what = example?.label !== undefined ? `${example.label}${shapes}` : JSON.stringify(details.counterexample)?.slice(0, 300);
  const error = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
  return `seed ${details.seed}, path "${details.counterexamplePath}", shrunk ${details.numShrinks}×: ${what}\n${error.slice(0, 800)}`;
}

async function runProperty(name: string, kernels: string[], property: fc.IAsyncProperty<unknown[]>, params: fc.Parameters<unknown[]>): Promise<CheckResult> {
  const t0 = performance.now();
  const details = await fc.check(property, params);
  const ms = performance.now() - t0;
  if (details.failed) return { name, kernels, ok: false, runs: details.numRuns, detail: describeFailure(details), ms };
  return { name, kernels, ok: true, runs: details.numRuns, ms };
}

/** Runs every check on `backend`, calling `onResult` after each; yields to the event loop between checks. */
export async function runConformance(
  backend: string,
  run: ConformanceRun,
  onResult: (r: CheckResult, index: number, total: number) => void,
): Promise<CheckResult[]> {
  await backendByName(backend);
  await backendByName('cpu');
  const params: fc.Parameters<unknown[]> = { numRuns: run.numRuns, ...(run.seed !== undefined ? { seed: run.seed } : {}) };
  const wanted = (name: string) => !run.filter || run.filter.some((f) => name.includes(f));
  const jobs: (() => Promise<CheckResult>)[] = [];
  for (const c of OP_CASES) {
    if (!wanted(c.name)) continue;
    jobs.push(() =>
      runProperty(
        c.name,
        c.kernels,
        fc.asyncProperty(c.arb, async (inst) => {
          const want = await evaluate('cpu', 'float64', inst, true);
          const got = await evaluate(backend, 'float32', inst, true);
          compareEvaluations(`${c.name} (${inst.label})`, got, want, c.tol);
        }) as fc.IAsyncProperty<unknown[]>,
        params,
      ),
    );
  }
  if (wanted('dropout')) {
    jobs.push(() =>
      runProperty(
        'dropout: masks for a seed match the CPU backend exactly',
        ['dropout'],
        fc.asyncProperty(fc.integer({ min: 1, max: 3000 }), fc.constantFrom(0.1, 0.5, 0.9), fc.integer({ min: 0, max: 1e6 }), async (n, p, seed) => {
          const mask = (b: string) => tidy(() => F.dropout(tensor(new Float32Array(n).fill(1), [n], { backend: b }), p, true, { seed }));
          const a = mask(backend);
          const b = mask('cpu');
          try {
            assertClose(`dropout mask (n ${n}, p ${p}, seed ${seed})`, Float64Array.from(await a.data()), Float64Array.from(await b.data()), {
              atol: 0,
              rtol: 0,
            });
          } finally {
            a.dispose();
            b.dispose();
          }
        }) as fc.IAsyncProperty<unknown[]>,
        params,
      ),
    );
  }
  if (wanted('random')) {
    jobs.push(() =>
      runProperty(
        'random: Philox uniforms match the CPU backend bit for bit',
        ['random'],
        fc.asyncProperty(fc.integer({ min: 1, max: 5000 }), fc.integer({ min: 0, max: 2 ** 40 }), async (n, seed) => {
          const a = tidy(() => rand([n], { seed, backend }));
          const b = tidy(() => rand([n], { seed, backend: 'cpu' }));
          try {
            assertClose(`uniform (n ${n}, seed ${seed})`, Float64Array.from(await a.data()), Float64Array.from(await b.data()), { atol: 0, rtol: 0 });
          } finally {
            a.dispose();
            b.dispose();
          }
        }) as fc.IAsyncProperty<unknown[]>,
        params,
      ),
    );
  }
  const results: CheckResult[] = [];
  for (let i = 0; i < jobs.length; i++) {
    let r: CheckResult;
    try {
      r = await jobs[i]!();
    } catch (err) {
      r = { name: `check ${i}`, kernels: [], ok: false, runs: 0, detail: err instanceof Error ? err.message : String(err), ms: 0 };
    }
    results.push(r);
    onResult(r, i, jobs.length);
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  return results;
}
