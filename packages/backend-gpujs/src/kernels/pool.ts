/** Max, average and adaptive-average pooling with their gradients (gathers over the windows covering a cell). */
import type { AdaptivePool2dParams, AvgPool2dParams, Pool2dParams } from '@tessera/tensor/backend';
import type { GpujsBuffer, Runtime } from '../runtime.js';

function poolMeta(p: Pool2dParams, countIncludePad = false): Float32Array {
  return new Float32Array([p.h, p.w, p.kh, p.kw, p.outH, p.outW, p.strideH, p.strideW, p.padH, p.padW, countIncludePad ? 1 : 0]);
}

const GEOMETRY = `
        const h = g[0]; const w = g[1]; const kh = g[2]; const kw = g[3]; const outH = g[4]; const outW = g[5];
        const sh = g[6]; const sw = g[7]; const ph = g[8]; const pw = g[9]; const includePad = g[10];`;

/** Output window (oy, ox) → its clipped input rows r0…r1−1 and columns c0…c1−1. */
const OUTPUT_CELL = `
        let o = this.thread.x + 0.0;
        const ox = o - fdiv(o, outW) * outW; o = fdiv(o, outW);
        const oy = o - fdiv(o, outH) * outH;
        const plane = fdiv(o, outH);
        const h0 = oy * sh - ph;
        const w0 = ox * sw - pw;
        const r0 = Math.max(0.0, h0);
        const r1 = Math.min(h, h0 + kh);
        const c0 = Math.max(0.0, w0);
        const c1 = Math.min(w, w0 + kw);
        const base = plane * h * w;`;

/** Input cell (iy, ix) → the output rows oyLo…oyHi and columns oxLo…oxHi whose windows cover it. */
const INPUT_CELL = `
        let o = this.thread.x + 0.0;
        const ix = o - fdiv(o, w) * w; o = fdiv(o, w);
        const iy = o - fdiv(o, h) * h;
        const plane = fdiv(o, h);
        const oyLo = Math.max(0.0, cdiv(iy + ph - kh + 1.0, sh));
        const oyHi = Math.min(outH - 1.0, fdiv(iy + ph, sh));
        const oxLo = Math.max(0.0, cdiv(ix + pw - kw + 1.0, sw));
        const oxHi = Math.min(outW - 1.0, fdiv(ix + pw, sw));
        const outBase = plane * outH * outW;`;

/** Divisor of the window starting at (h0, w0), as the CPU reference defines it. */
const AVG_DIVISOR = `
        let div = kh * kw;
        if (includePad == 0.0) {
          div = Math.max(0.0, Math.min(h, h0 + kh) - Math.max(0.0, h0)) * Math.max(0.0, Math.min(w, w0 + kw) - Math.max(0.0, w0));
        }`;

export function poolKernels(rt: Runtime) {
  function maxPoolKernel(result: 'value' | 'index') {
    return rt.kernel(
      `maxPool2d:${result}`,
      () =>
        `function (x, g, negInf) {${GEOMETRY}${OUTPUT_CELL}
        let best = negInf;
        let arg = -1.0;
        let found = 0.0;
        for (let r = r0; r < r1; r += 1.0) {
          for (let c = c0; c < c1; c += 1.0) {
            const v = x[base + r * w + c];
            if (found == 0.0 || v > best) {
              best = v;
              arg = r * w + c;
              found = 1.0;
            }
          }
        }
        return ${result === 'value' ? 'best' : 'arg'};
      }`,
    );
  }

  function maxPool2d(x: GpujsBuffer, y: GpujsBuffer, argmax: GpujsBuffer, p: Pool2dParams): void {
    rt.alive('maxPool2d');
    const meta = poolMeta(p);
    rt.run(maxPoolKernel('value'), y, [x, meta, -Infinity]);
    rt.run(maxPoolKernel('index'), argmax, [x, meta, -Infinity]);
  }

  function maxPool2dBackward(dy: GpujsBuffer, argmax: GpujsBuffer, dx: GpujsBuffer, p: Pool2dParams): void {
    rt.alive('maxPool2dBackward');
    const k = rt.kernel(
      'maxPool2dBackward',
      () =>
        `function (dy, am, g) {${GEOMETRY}${INPUT_CELL}
        const self = iy * w + ix;
        let acc = 0.0;
        for (let oy = oyLo; oy <= oyHi; oy += 1.0) {
          for (let ox = oxLo; ox <= oxHi; ox += 1.0) {
            const at = outBase + oy * outW + ox;
            if (am[at] == self) { acc = acc + dy[at]; }
          }
        }
        return acc;
      }`,
    );
    rt.run(k, dx, [dy, argmax, poolMeta(p)]);
  }

  function avgPool2d(x: GpujsBuffer, y: GpujsBuffer, p: AvgPool2dParams): void {
    rt.alive('avgPool2d');
    const k = rt.kernel(
      'avgPool2d',
      () =>
        `function (x, g) {${GEOMETRY}${OUTPUT_CELL}
        let sum = 0.0;
        for (let r = r0; r < r1; r += 1.0) {
          for (let c = c0; c < c1; c += 1.0) {
            sum = sum + x[base + r * w + c];
          }
        }${AVG_DIVISOR}
        if (div > 0.0) { return sum / div; }
        return 0.0;
      }`,
    );
    rt.run(k, y, [x, poolMeta(p, p.countIncludePad)]);
  }

  function avgPool2dBackward(dy: GpujsBuffer, dx: GpujsBuffer, p: AvgPool2dParams): void {
    rt.alive('avgPool2dBackward');
    const k = rt.kernel(
      'avgPool2dBackward',
      () =>
        `function (dy, g) {${GEOMETRY}${INPUT_CELL}
        let acc = 0.0;
        for (let oy = oyLo; oy <= oyHi; oy += 1.0) {
          for (let ox = oxLo; ox <= oxHi; ox += 1.0) {
            const h0 = oy * sh - ph;
            const w0 = ox * sw - pw;${AVG_DIVISOR}
            if (div > 0.0) { acc = acc + dy[outBase + oy * outW + ox] / div; }
          }
        }
        return acc;
      }`,
    );
    rt.run(k, dx, [dy, poolMeta(p, p.countIncludePad)]);
  }

  const adaptiveMeta = (p: AdaptivePool2dParams) => new Float32Array([p.h, p.w, p.outH, p.outW]);

  function adaptiveAvgPool2d(x: GpujsBuffer, y: GpujsBuffer, p: AdaptivePool2dParams): void {
    rt.alive('adaptiveAvgPool2d');
    const k = rt.kernel(
      'adaptiveAvgPool2d',
      () =>
        `function (x, g) {
        const h = g[0]; const w = g[1]; const outH = g[2]; const outW = g[3];
        let o = this.thread.x + 0.0;
        const j = o - fdiv(o, outW) * outW; o = fdiv(o, outW);
        const i = o - fdiv(o, outH) * outH;
        const plane = fdiv(o, outH);
        const r0 = fdiv(i * h, outH);
        const r1 = cdiv((i + 1.0) * h, outH);
        const c0 = fdiv(j * w, outW);
        const c1 = cdiv((j + 1.0) * w, outW);
        const base = plane * h * w;
        let sum = 0.0;
        for (let r = r0; r < r1; r += 1.0) {
          for (let c = c0; c < c1; c += 1.0) {
            sum = sum + x[base + r * w + c];
          }
        }
        return sum / ((r1 - r0) * (c1 - c0));
      }`,
    );
    rt.run(k, y, [x, adaptiveMeta(p)]);
  }

  function adaptiveAvgPool2dBackward(dy: GpujsBuffer, dx: GpujsBuffer, p: AdaptivePool2dParams): void {
    rt.alive('adaptiveAvgPool2dBackward');
    const k = rt.kernel(
      'adaptiveAvgPool2dBackward',
      () =>
        `function (dy, g) {
        const h = g[0]; const w = g[1]; const outH = g[2]; const outW = g[3];
        let o = this.thread.x + 0.0;
        const ix = o - fdiv(o, w) * w; o = fdiv(o, w);
        const iy = o - fdiv(o, h) * h;
        const plane = fdiv(o, h);
        const outBase = plane * outH * outW;
        let acc = 0.0;
        for (let i = 0.0; i < outH; i += 1.0) {
          const r0 = fdiv(i * h, outH);
          const r1 = cdiv((i + 1.0) * h, outH);
          if (iy >= r0 && iy < r1) {
            for (let j = 0.0; j < outW; j += 1.0) {
              const c0 = fdiv(j * w, outW);
              const c1 = cdiv((j + 1.0) * w, outW);
              if (ix >= c0 && ix < c1) {
                acc = acc + dy[outBase + i * outW + j] / ((r1 - r0) * (c1 - c0));
              }
            }
          }
        }
        return acc;
      }`,
    );
    rt.run(k, dx, [dy, adaptiveMeta(p)]);
  }

  return { maxPool2d, maxPool2dBackward, avgPool2d, avgPool2dBackward, adaptiveAvgPool2d, adaptiveAvgPool2dBackward };
}
