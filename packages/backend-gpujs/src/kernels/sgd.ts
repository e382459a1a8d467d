/** The fused SGD update (see SgdParams): new velocity and parameter from the old ones, then both replaced. */
import { TesseraError } from '@tessera/tensor/backend';
import type { SgdParams } from '@tessera/tensor/backend';
import type { GpujsBuffer, Runtime } from '../runtime.js';

export function sgdKernels(rt: Runtime) {
  /** The new velocity v' as an expression of w, g, v (v = 0 without momentum). */
  const velocity = (p: SgdParams) =>
    p.rule === 'paper' ? 'mom * v - wd * lr * w - lr * g' : p.firstStep ? '(g + wd * w)' : 'mom * v + (1.0 - damp) * (g + wd * w)';

  function sgdUpdate(param: GpujsBuffer, grad: GpujsBuffer, velocityBuf: GpujsBuffer | null, p: SgdParams): void {
    rt.alive('sgdUpdate');
    if (p.rule !== 'paper' && p.rule !== 'pytorch') throw new TesseraError('sgdUpdate', `unknown rule ${JSON.stringify(p.rule as string)}`);
    const hasV = velocityBuf !== null;
    const vExpr = velocity(p);
    const newParam = p.rule === 'paper' ? 'w + vn' : !hasV ? 'w - lr * (g + wd * w)' : p.nesterov ? 'w - lr * ((g + wd * w) + mom * vn)' : 'w - lr * vn';
    const key = `${p.rule}:${hasV}:${p.firstStep}:${p.nesterov}`;
    const args = (v: GpujsBuffer) => [param, grad, v, p.lr, p.momentum, p.weightDecay, p.dampening];
    const body = (result: string) => `function (wb, gb, vb, lr, mom, wd, damp) {
        const w = wb[this.thread.x];
        const g = gb[this.thread.x];
        const v = ${hasV ? 'vb[this.thread.x]' : '0.0'};
        const vn = ${vExpr};
        return ${result};
      }`;
    const paramTex = rt.produce(
      rt.kernel(`sgd:param:${key}`, () => body(newParam)),
      param.size,
      args(velocityBuf ?? grad),
    );
    if (velocityBuf) {
      const velocityTex = rt.produce(
        rt.kernel(`sgd:velocity:${key}`, () => body('vn')),
        param.size,
        args(velocityBuf),
      );
      if (velocityTex) rt.adopt(velocityBuf, velocityTex);
    }
    if (paramTex) rt.adopt(param, paramTex);
  }

  return { sgdUpdate };
}
