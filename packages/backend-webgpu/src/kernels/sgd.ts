/** Fused SGD update in place, in the paper's and PyTorch's formulations (see SgdParams). */
import type { SgdParams } from '@tessera/tensor';
import { TesseraError } from '@tessera/tensor';
import { type GpuBuffer, Params, type Runtime } from '../runtime.js';
import { WG, mainHeader, storage } from '../wgsl/common.js';
import { planLinear } from '../binding-windows/contiguous.js';

const params = new Params([
  ['n', 'u32'],
  ['lr', 'f32'],
  ['momentum', 'f32'],
  ['wd', 'f32'],
  ['damp', 'f32'],
  ['nesterov', 'u32'],
  ['firstStep', 'u32'],
]);

function update(rule: SgdParams['rule'], velocity: boolean): string {
  if (rule === 'paper') {
    // v ← m·v − wd·lr·w − lr·g; w ← w + v.
    return velocity ? `  let v = momentum * V[i] - wd * lr * w - lr * g;\n  V[i] = v;\n  W[i] = w + v;\n` : `  W[i] = w - wd * lr * w - lr * g;\n`;
  }
  // g' = g + wd·w; v ← m·v + (1 − dampening)·g' (g' on the first step); d = nesterov ? g' + m·v : v; w ← w − lr·d.
  return velocity
    ? `  let gd = g + wd * w;\n  let v = select(momentum * V[i] + damp * gd, gd, firstStep != 0u);\n  V[i] = v;\n` +
        `  W[i] = w - lr * select(v, gd + momentum * v, nesterov != 0u);\n`
    : `  W[i] = w - lr * (g + wd * w);\n`;
}

export function sgdKernels(rt: Runtime) {
  function sgdUpdate(param: GpuBuffer, grad: GpuBuffer, velocity: GpuBuffer | null, p: SgdParams): void {
    const op = 'sgdUpdate';
    rt.alive(op);
    if (p.momentum !== 0 && !velocity) throw new TesseraError(op, `momentum ${p.momentum} needs a velocity buffer`);
    if (p.rule !== 'paper' && p.rule !== 'pytorch') throw new TesseraError(op, `unknown rule ${JSON.stringify(p.rule as string)}`);
    const hasV = velocity !== null;
    const k = rt.kernel(`sgd:${p.rule}:${hasV ? 'v' : 'nov'}`, () => ({
      params,
      kinds: hasV ? ['write', 'read', 'write'] : ['write', 'read'],
      code:
        params.decl() +
        storage(1, 'write', 'W', 'f32') +
        storage(2, 'read', 'G', 'f32') +
        (hasV ? storage(3, 'write', 'V', 'f32') : '') +
        mainHeader() +
        params.lets() +
        `  if (i >= n) { return; }\n  let w = W[i];\n  let g = G[i];\n` +
        update(p.rule, hasV) +
        `}\n`,
    }));
    const buffers = [{ buffer: param, role: 'parameter' }, { buffer: grad, role: 'gradient' }, ...(velocity ? [{ buffer: velocity, role: 'velocity' }] : [])];
    planLinear(rt, op, param.size, buffers, (_start, count, windows) => {
      rt.run(
        k,
        { n: count, lr: p.lr, momentum: p.momentum, wd: p.weightDecay, damp: 1 - p.dampening, nesterov: p.nesterov ? 1 : 0, firstStep: p.firstStep ? 1 : 0 },
        windows,
        rt.grid(count, WG),
      );
    });
  }

  return { sgdUpdate };
}
