/**
 * Gradient checking: an op's analytical backward against central finite differences, in float64 on the
 * CPU backend.
 */
import { tidy } from '../engine.js';
import { tensor } from '../ops/creation.js';
import type { Tensor } from '../tensor.js';
import { assertClose, mulberry32 } from './harness.js';

export interface GradcheckOptions {
  eps?: number;
  atol?: number;
  rtol?: number;
  /** Which inputs to check (default: every float input). */
  check?: boolean[];
  /** Seeds the random projection of the outputs. */
  seed?: number;
  /** Label for error messages. */
  label?: string;
}

/**
 * Checks ∂L/∂input for L = Σᵢ sum(outputᵢ · rᵢ) (rᵢ random) against central differences
 * (L(x + ε) − L(x − ε)) / 2ε for every element of every checked input. Inputs are host arrays with shapes;
 * they are evaluated as float64 on the CPU backend (int32 inputs stay int32). Throws on mismatch.
 */
export async function gradcheck(
  fn: (xs: Tensor[]) => Tensor | Tensor[],
  inputs: { values: Float64Array; shape: readonly number[]; int?: boolean }[],
  opts: GradcheckOptions = {},
): Promise<void> {
  const eps = opts.eps ?? 1e-6;
  const tol = { atol: opts.atol ?? 1e-5, rtol: opts.rtol ?? 1e-3 };
  const seed = opts.seed ?? 1234;
  const label = opts.label ?? 'gradcheck';
  const weights = new Map<number, Float64Array>();
  const weightsFor = (i: number, n: number): Float64Array => {
    let w = weights.get(i);
    if (!w) {
      const rng = mulberry32(seed + 7919 * i);
      w = Float64Array.from({ length: n }, () => rng() * 2 - 1);
      weights.set(i, w);
    }
    return w;
  };
  const checked = inputs.map((inp, i) => !inp.int && (opts.check?.[i] ?? true));

  const build = (values: Float64Array[], withGrad: boolean) =>
    values.map((v, i) => tensor(v, inputs[i]!.shape, { dtype: inputs[i]!.int ? 'int32' : 'float64', backend: 'cpu', requiresGrad: withGrad && checked[i]! }));
  const lossOf = (xs: Tensor[]): Tensor => {
    const out = fn(xs);
    const outputs = (Array.isArray(out) ? out : [out]).filter((y) => y.dtype === 'float64');
    let loss: Tensor | null = null;
    outputs.forEach((y, i) => {
      const term = y.mul(tensor(weightsFor(i, y.size), y.shape, { dtype: 'float64', backend: 'cpu' })).sum();
      loss = loss ? loss.add(term) : term;
    });
    if (!loss) throw new Error(`${label}: the function returned no float64 output`);
    return loss;
  };
  const base = inputs.map((inp) => Float64Array.from(inp.values));

  const analytical = tidy(() => {
    const xs = build(base, true);
    lossOf(xs).backward();
    return xs.map((x) => x.grad);
  });
  const analyticalHost: (Float64Array | null)[] = [];
  for (const g of analytical) analyticalHost.push(g ? Float64Array.from(await g.data()) : null);
  analytical.forEach((g) => g?.dispose());

  for (let i = 0; i < inputs.length; i++) {
    if (!checked[i]) continue;
    const numeric = new Float64Array(base[i]!.length);
    for (let j = 0; j < numeric.length; j++) {
      const orig = base[i]![j]!;
      base[i]![j] = orig + eps;
      const plus = tidy(() => lossOf(build(base, false)));
      base[i]![j] = orig - eps;
      const minus = tidy(() => lossOf(build(base, false)));
      base[i]![j] = orig;
      numeric[j] = ((await plus.item()) - (await minus.item())) / (2 * eps);
      plus.dispose();
      minus.dispose();
    }
    const got = analyticalHost[i] ?? new Float64Array(numeric.length);
    assertClose(`${label}: gradient of input ${i}`, got, numeric, tol);
  }
}
