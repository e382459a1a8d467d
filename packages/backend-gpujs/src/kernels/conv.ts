/**
 * 2-D convolution and its two gradients, each as a direct gather: every output element loops over the
 * inputs that contribute to it, so no kernel scatters (a fragment shader cannot).
 */
import type { Conv2dParams } from '@tessera/tensor/backend';
import type { GpujsBuffer, Runtime } from '../runtime.js';

/** Geometry as a kernel argument; the kernels name the fields by index (see the comments there). */
function convMeta(p: Conv2dParams): Float32Array {
  return new Float32Array([
    p.n, // 0
    p.cIn, // 1
    p.h, // 2
    p.w, // 3
    p.cOut, // 4
    p.kh, // 5
    p.kw, // 6
    p.outH, // 7
    p.outW, // 8
    p.strideH, // 9
    p.strideW, // 10
    p.padH, // 11
    p.padW, // 12
    p.dilationH, // 13
    p.dilationW, // 14
    p.cIn / p.groups, // 15: input channels per group
    p.cOut / p.groups, // 16: output channels per group
  ]);
}

const GEOMETRY = `
        const cIn = g[1]; const h = g[2]; const w = g[3]; const cOut = g[4];
        const kh = g[5]; const kw = g[6]; const outH = g[7]; const outW = g[8];
        const sh = g[9]; const sw = g[10]; const ph = g[11]; const pw = g[12];
        const dh = g[13]; const dw = g[14]; const cpg = g[15]; const opg = g[16];`;

export function convKernels(rt: Runtime) {
  function conv2d(x: GpujsBuffer, weight: GpujsBuffer, bias: GpujsBuffer | null, y: GpujsBuffer, p: Conv2dParams): void {
    rt.alive('conv2d');
    const withBias = bias !== null;
    const k = rt.kernel(
      `conv2d:${withBias}`,
      () =>
        `function (x, wt, bias, g) {${GEOMETRY}
        let o = this.thread.x + 0.0;
        const ox = o - fdiv(o, outW) * outW; o = fdiv(o, outW);
        const oy = o - fdiv(o, outH) * outH; o = fdiv(o, outH);
        const co = o - fdiv(o, cOut) * cOut;
        const nb = fdiv(o, cOut);
        const c0 = fdiv(co, opg) * cpg;
        const y0 = oy * sh - ph;
        const x0 = ox * sw - pw;
        let acc = ${withBias ? 'bias[co]' : '0.0'};
        for (let ci = 0.0; ci < cpg; ci += 1.0) {
          const xPlane = (nb * cIn + c0 + ci) * h;
          const wBase = (co * cpg + ci) * kh;
          for (let ky = 0.0; ky < kh; ky += 1.0) {
            const iy = y0 + ky * dh;
            if (iy >= 0.0 && iy < h) {
              const xRow = (xPlane + iy) * w;
              const wRow = (wBase + ky) * kw;
              for (let kx = 0.0; kx < kw; kx += 1.0) {
                const ix = x0 + kx * dw;
                if (ix >= 0.0 && ix < w) {
                  acc = acc + x[xRow + ix] * wt[wRow + kx];
                }
              }
            }
          }
        }
        return acc;
      }`,
    );
    rt.run(k, y, [x, weight, bias ?? weight, convMeta(p)]);
  }

  function conv2dBackwardInput(dy: GpujsBuffer, weight: GpujsBuffer, dx: GpujsBuffer, p: Conv2dParams): void {
    rt.alive('conv2dBackwardInput');
    const k = rt.kernel(
      'conv2dBackwardInput',
      () =>
        `function (dy, wt, g) {${GEOMETRY}
        let o = this.thread.x + 0.0;
        const ix = o - fdiv(o, w) * w; o = fdiv(o, w);
        const iy = o - fdiv(o, h) * h; o = fdiv(o, h);
        const ci = o - fdiv(o, cIn) * cIn;
        const nb = fdiv(o, cIn);
        const grp = fdiv(ci, cpg);
        const cl = ci - grp * cpg;
        let acc = 0.0;
        for (let t = 0.0; t < opg; t += 1.0) {
          const co = grp * opg + t;
          const dyPlane = (nb * cOut + co) * outH;
          const wBase = (co * cpg + cl) * kh;
          for (let ky = 0.0; ky < kh; ky += 1.0) {
            const ty = iy + ph - ky * dh;
            const oy = fdiv(ty, sh);
            if (ty >= 0.0 && oy * sh == ty && oy < outH) {
              const dyRow = (dyPlane + oy) * outW;
              const wRow = (wBase + ky) * kw;
              for (let kx = 0.0; kx < kw; kx += 1.0) {
                const tx = ix + pw - kx * dw;
                const ox = fdiv(tx, sw);
                if (tx >= 0.0 && ox * sw == tx && ox < outW) {
                  acc = acc + dy[dyRow + ox] * wt[wRow + kx];
                }
              }
            }
          }
        }
        return acc;
      }`,
    );
    rt.run(k, dx, [dy, weight, convMeta(p)]);
  }

  function conv2dBackwardFilter(x: GpujsBuffer, dy: GpujsBuffer, dw: GpujsBuffer, p: Conv2dParams): void {
    rt.alive('conv2dBackwardFilter');
    const k = rt.kernel(
      'conv2dBackwardFilter',
      () =>
        `function (x, dy, g) {${GEOMETRY}
        const nBatch = g[0];
        let o = this.thread.x + 0.0;
        const kx = o - fdiv(o, kw) * kw; o = fdiv(o, kw);
        const ky = o - fdiv(o, kh) * kh; o = fdiv(o, kh);
        const cl = o - fdiv(o, cpg) * cpg;
        const co = fdiv(o, cpg);
        const ci = fdiv(co, opg) * cpg + cl;
        let acc = 0.0;
        for (let nb = 0.0; nb < nBatch; nb += 1.0) {
          const xPlane = (nb * cIn + ci) * h;
          const dyPlane = (nb * cOut + co) * outH;
          for (let oy = 0.0; oy < outH; oy += 1.0) {
            const iy = oy * sh - ph + ky * dh;
            if (iy >= 0.0 && iy < h) {
              const xRow = (xPlane + iy) * w;
              const dyRow = (dyPlane + oy) * outW;
              for (let ox = 0.0; ox < outW; ox += 1.0) {
                const ix = ox * sw - pw + kx * dw;
                if (ix >= 0.0 && ix < w) {
                  acc = acc + x[xRow + ix] * dy[dyRow + ox];
                }
              }
            }
          }
        }
        return acc;
      }`,
    );
    rt.run(k, dw, [x, dy, convMeta(p)]);
  }

  return { conv2d, conv2dBackwardInput, conv2dBackwardFilter };
}
