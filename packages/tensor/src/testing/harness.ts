/** Runs catalogue cases on a backend and compares results; shared by the conformance kit and gradcheck. */
import { backendByName } from '../backend/registry.js';
import type { DType } from '../dtype.js';
import { tidy } from '../engine.js';
import { tensor } from '../ops/creation.js';
import type { Tensor } from '../tensor.js';
import type { CaseInstance, InputSpec, Tolerance } from './cases.js';

/** A small deterministic generator for test values (not Philox: inputs must not depend on the code under test). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Input values for a case, rounded to float32 so every backend starts from identical numbers. */
export function makeValues(spec: InputSpec, rng: () => number): Float64Array {
  const n = spec.shape.reduce((a, b) => a * b, 1);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    if (spec.kind === 'int') out[i] = Math.floor(rng() * (spec.max ?? 10));
    else if (spec.kind === 'positive') out[i] = Math.fround(0.5 + 1.5 * rng());
    else {
      // Sum of uniforms: roughly normal, bounded, and ties have probability ~0.
      out[i] = Math.fround((rng() + rng() + rng() - 1.5) * 2);
    }
  }
  return out;
}

export interface Evaluated {
  outputs: { shape: readonly number[]; dtype: DType; data: Float64Array }[];
  /** Gradient of Σ sum(outputᵢ · rᵢ) for each input (null for non-differentiable ones). */
  grads: (Float64Array | null)[];
}

function toF64(a: ArrayLike<number>): Float64Array {
  return Float64Array.from(a as ArrayLike<number>);
}

/** Runs a case on `backendName`, float inputs in `floatDType`, optionally back-propagating. */
export async function evaluate(backendName: string, floatDType: DType, inst: CaseInstance, withGrad: boolean, values?: Float64Array[]): Promise<Evaluated> {
  await backendByName(backendName);
  const rng = mulberry32(inst.seed);
  const hostValues = values ?? inst.inputs.map((spec) => makeValues(spec, rng));
  const weightRng = mulberry32(inst.seed ^ 0x5bd1e995);
  const result = tidy(() => {
    const inputs = inst.inputs.map((spec, i) => {
      const dtype: DType = spec.kind === 'int' ? 'int32' : floatDType;
      const wantGrad = withGrad && spec.kind !== 'int' && (spec.grad ?? true) && inst.differentiable !== false;
      return tensor(hostValues[i]!, spec.shape, { dtype, backend: backendName, requiresGrad: wantGrad });
    });
    const out = inst.run(inputs);
    const outputs = Array.isArray(out) ? out : [out];
    if (withGrad && inst.differentiable !== false) {
      let loss: Tensor | null = null;
      for (const y of outputs) {
        if (!y.requiresGrad) continue;
        const r = Float64Array.from({ length: y.size }, () => weightRng() * 2 - 1);
        const term = y.mul(tensor(r, y.shape, { dtype: y.dtype, backend: backendName })).sum();
        loss = loss ? loss.add(term) : term;
      }
      loss?.backward();
    }
    return { outputs, grads: inputs.map((t) => t.grad) };
  });
  const evaluated: Evaluated = { outputs: [], grads: [] };
  for (const y of result.outputs) evaluated.outputs.push({ shape: y.shape, dtype: y.dtype, data: toF64(await y.data()) });
  for (const g of result.grads) evaluated.grads.push(g ? toF64(await g.data()) : null);
  for (const y of result.outputs) y.dispose();
  for (const g of result.grads) g?.dispose();
  return evaluated;
}

/** Throws a descriptive Error when `got` and `want` differ beyond atol + rtol·|want|. */
export function assertClose(what: string, got: Float64Array, want: Float64Array, tol: Tolerance): void {
  if (got.length !== want.length) throw new Error(`${what}: ${got.length} elements, expected ${want.length}`);
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < got.length; i++) {
    const g = got[i]!;
    const w = want[i]!;
    if (Object.is(g, w) || (Number.isNaN(g) && Number.isNaN(w))) continue;
    if (g === w) continue;
    const err = Math.abs(g - w);
    const allowed = tol.atol + tol.rtol * Math.abs(w);
    if (!(err <= allowed)) {
      const excess = Number.isNaN(err) ? Infinity : err - allowed;
      if (excess >= worstExcess) {
        worstExcess = excess;
        worst = i;
      }
    }
  }
  if (worst >= 0) {
    throw new Error(
      `${what}: element ${worst} is ${got[worst]} but the reference is ${want[worst]} ` +
        `(|diff| ${Math.abs(got[worst]! - want[worst]!).toExponential(3)} > atol ${tol.atol} + rtol ${tol.rtol}·|ref|)`,
    );
  }
}

/** Compares a backend's evaluation of a case with the reference's. */
export function compareEvaluations(label: string, got: Evaluated, want: Evaluated, tol: Tolerance): void {
  if (got.outputs.length !== want.outputs.length) throw new Error(`${label}: ${got.outputs.length} outputs, expected ${want.outputs.length}`);
  got.outputs.forEach((o, i) => {
    const w = want.outputs[i]!;
    if (o.shape.join() !== w.shape.join()) throw new Error(`${label}: output ${i} has shape [${o.shape}], expected [${w.shape}]`);
    if ((o.dtype === 'int32') !== (w.dtype === 'int32')) throw new Error(`${label}: output ${i} is ${o.dtype}, expected ${w.dtype}`);
    assertClose(`${label}: output ${i}`, o.data, w.data, o.dtype === 'int32' ? { atol: 0, rtol: 0 } : tol);
  });
  got.grads.forEach((g, i) => {
    const w = want.grads[i];
    if ((g === null) !== (w === null || w === undefined)) throw new Error(`${label}: gradient of input ${i} is ${g ? 'present' : 'missing'} on one side only`);
    // Gradients accumulate (a broadcast or a strided copy's adjoint sums), so even exact ops get float32 slack.
    if (g && w) assertClose(`${label}: gradient of input ${i}`, g, w, { atol: Math.max(tol.atol * 4, 1e-6), rtol: Math.max(tol.rtol * 4, 1e-5) });
  });
}
