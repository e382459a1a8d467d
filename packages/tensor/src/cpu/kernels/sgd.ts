/** Fused SGD step, in place, in the two formulations of SgdParams. */
import type { SgdParams } from '../../backend/kernels.js';
import { TesseraError } from '../../errors.js';
import type { CpuBuffer } from '../backend.js';
import { floats } from './util.js';

export function sgdUpdate(param: CpuBuffer, grad: CpuBuffer, velocity: CpuBuffer | null, p: SgdParams): void {
  const W = floats(param, 'sgdUpdate', 'param');
  const G = floats(grad, 'sgdUpdate', 'grad');
  const V = velocity ? floats(velocity, 'sgdUpdate', 'velocity') : null;
  const { lr, momentum: m, weightDecay: wd } = p;
  const n = W.length;
  if (m !== 0 && !V) throw new TesseraError('sgdUpdate', `momentum ${m} needs a velocity buffer`);
  if (p.rule === 'paper') {
    // v ← m·v − wd·lr·w − lr·g; w ← w + v (without momentum v is just the step).
    const a = wd * lr;
    if (V) {
      for (let i = 0; i < n; i++) {
        const w = W[i]!;
        const v = m * V[i]! - a * w - lr * G[i]!;
        V[i] = v;
        W[i] = w + v;
      }
    } else {
      for (let i = 0; i < n; i++) {
        const w = W[i]!;
        W[i] = w - a * w - lr * G[i]!;
      }
    }
    return;
  }
  if (p.rule !== 'pytorch') throw new TesseraError('sgdUpdate', `unknown rule ${JSON.stringify(p.rule as string)}`);
  // g' = g + wd·w; v ← m·v + (1 − dampening)·g' (g' on the first step); d = nesterov ? g' + m·v : v; w ← w − lr·d.
  if (!V) {
    for (let i = 0; i < n; i++) {
      const w = W[i]!;
      W[i] = w - lr * (G[i]! + wd * w);
    }
    return;
  }
  const damp = 1 - p.dampening;
  for (let i = 0; i < n; i++) {
    const w = W[i]!;
    const g = G[i]! + wd * w;
    const v = p.firstStep ? g : m * V[i]! + damp * g;
    V[i] = v;
    W[i] = w - lr * (p.nesterov ? g + m * v : v);
  }
}
