/**
 * Local response normalisation across channels and its gradient (see LrnParams): lo = ⌊size/2⌋,
 * hi = ⌊(size−1)/2⌋, s_c = k + α/size · Σ_{j=c−lo}^{c+hi} x_j², y_c = x_c · s_c^−β;
 * dx_i = dy_i · s_i^−β − (2αβ/size) · x_i · Σ_{j=i−hi}^{i+lo} dy_j · y_j / s_j.
 */
import type { LrnParams } from '@tessera/tensor/backend';
import type { GpujsBuffer, Runtime } from '../runtime.js';

function lrnMeta(p: LrnParams): Float32Array {
  return new Float32Array([p.c, p.h * p.w, Math.floor(p.size / 2), Math.floor((p.size - 1) / 2), p.alpha / p.size, p.beta, p.k, p.size]);
}

/** Decomposes the element into (image, channel ch, pixel t) and names the geometry. */
const CELL = `
        const c = g[0]; const plane = g[1]; const lo = g[2]; const hi = g[3];
        const a = g[4]; const beta = g[5]; const kk = g[6];
        const e = this.thread.x + 0.0;
        const img = fdiv(e, c * plane);
        const within = e - img * c * plane;
        const ch = fdiv(within, plane);
        const t = within - ch * plane;
        const imgBase = img * c * plane + t;`;

export const LRN_HELPERS: readonly string[] = [
  // s^−β; β = 0.75 (AlexNet's) as two square roots, as the CPU reference computes it.
  `function negPow(s, beta) {
    if (beta == 0.75) {
      const r = Math.sqrt(s);
      return 1.0 / (r * Math.sqrt(r));
    }
    return Math.pow(s, -beta);
  }`,
];

export function lrnKernels(rt: Runtime) {
  /** GLSL to compute s at channel \`chan\` into \`name\`. */
  const scaleAt = (name: string, chan: string) => `
          let ${name} = 0.0;
          const ${name}Lo = Math.max(0.0, ${chan} - lo);
          const ${name}Hi = Math.min(c - 1.0, ${chan} + hi);
          for (let ${name}q = ${name}Lo; ${name}q <= ${name}Hi; ${name}q += 1.0) {
            const ${name}v = x[imgBase + ${name}q * plane];
            ${name} = ${name} + ${name}v * ${name}v;
          }
          ${name} = kk + a * ${name};`;

  function lrn(x: GpujsBuffer, y: GpujsBuffer, p: LrnParams): void {
    rt.alive('lrn');
    const k = rt.kernel(
      'lrn',
      () =>
        `function (x, g) {${CELL}${scaleAt('s', 'ch')}
        return x[imgBase + ch * plane] * negPow(s, beta);
      }`,
    );
    rt.run(k, y, [x, lrnMeta(p)]);
  }

  function lrnBackward(x: GpujsBuffer, y: GpujsBuffer, dy: GpujsBuffer, dx: GpujsBuffer, p: LrnParams): void {
    rt.alive('lrnBackward');
    const k = rt.kernel(
      'lrnBackward',
      () =>
        `function (x, y, dy, g) {${CELL}${scaleAt('si', 'ch')}
        let acc = 0.0;
        const j0 = Math.max(0.0, ch - hi);
        const j1 = Math.min(c - 1.0, ch + lo);
        for (let j = j0; j <= j1; j += 1.0) {${scaleAt('sj', 'j')}
          const at = imgBase + j * plane;
          acc = acc + dy[at] * y[at] / sj;
        }
        const self = imgBase + ch * plane;
        return dy[self] * negPow(si, beta) - 2.0 * a * beta * x[self] * acc;
      }`,
    );
    rt.run(k, dx, [x, y, dy, lrnMeta(p)]);
  }

  return { lrn, lrnBackward };
}
