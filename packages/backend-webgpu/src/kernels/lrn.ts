/**
 * Local response normalisation across channels and its gradient (see LrnParams), one invocation per element.
 * With lo = ⌊size/2⌋, hi = ⌊(size−1)/2⌋: s_c = k + α/size · Σ_{j=c−lo}^{c+hi} x_j², y_c = x_c · s_c^−β, and
 * dx_i = dy_i · s_i^−β − (2αβ/size) · x_i · Σ_{j=i−hi}^{i+lo} dy_j · y_j / s_j, where each s_j is summed
 * directly (no scratch tensors, exact window sums).
 */
import type { LrnParams } from '@tessera/tensor';
import { type GpuBuffer, Params, type Runtime } from '../runtime.js';
import { WG, mainHeader, storage } from '../wgsl/common.js';
import { bindRange, leadingChunks } from '../binding-windows/per-item.js';

const params = new Params([
  ['total', 'u32'],
  ['c', 'i32'],
  ['hw', 'u32'],
  ['lo', 'i32'],
  ['hi', 'i32'],
  ['a', 'f32'],
  ['k', 'f32'],
  ['beta', 'f32'],
  ['coef', 'f32'],
  ['off0', 'u32'],
  ['off1', 'u32'],
  ['off2', 'u32'],
  ['off3', 'u32'],
]);

function helpers(beta075: boolean): string {
  return (
    `fn scale_at(base: u32, ch: i32) -> f32 {\n` +
    `  let c = ${params.get('c')};\n  let hw = ${params.get('hw')};\n  var s = 0.0;\n` +
    `  for (var j = max(0, ch - ${params.get('lo')}); j <= min(c - 1, ch + ${params.get('hi')}); j++) { let v = X[base + u32(j) * hw]; s += v * v; }\n` +
    `  return ${params.get('k')} + ${params.get('a')} * s;\n}\n` +
    // β = 0.75 (AlexNet's) as two square roots, as the CPU reference does.
    (beta075
      ? `fn neg_pow(s: f32) -> f32 { let r = sqrt(s); return 1.0 / (r * sqrt(r)); }\n`
      : `fn neg_pow(s: f32) -> f32 { return pow(s, -${params.get('beta')}); }\n`)
  );
}

export function lrnKernels(rt: Runtime) {
  function values(p: LrnParams, total: number, offsets: number[]): Record<string, number> {
    return {
      total,
      c: p.c,
      hw: p.h * p.w,
      lo: Math.floor(p.size / 2),
      hi: Math.floor((p.size - 1) / 2),
      a: p.alpha / p.size,
      k: p.k,
      beta: p.beta,
      coef: (2 * p.alpha * p.beta) / p.size,
      off0: offsets[0] ?? 0,
      off1: offsets[1] ?? 0,
      off2: offsets[2] ?? 0,
      off3: offsets[3] ?? 0,
    };
  }

  const INDEX = `  if (i >= total) { return; }\n  let chw = u32(c) * hw;\n  let img = i / chw;\n  let ch = i32((i % chw) / hw);\n  let t = i % hw;\n  let base = off0 + img * chw + t;\n`;

  function over(
    op: string,
    p: LrnParams,
    buffers: { buffer: GpuBuffer; role: string }[],
    run: (total: number, offsets: number[], windows: ReturnType<typeof bindRange>[]) => void,
  ): void {
    const chw = p.c * p.h * p.w;
    for (const [n0, n1] of leadingChunks(
      rt,
      op,
      p.n,
      buffers.map((b) => ({ ...b, elems: chw })),
    )) {
      const windows = buffers.map((b) => bindRange(rt, b.buffer, n0 * chw, n1 * chw, op, b.role));
      run(
        (n1 - n0) * chw,
        windows.map((w) => n0 * chw - w.base),
        windows,
      );
    }
  }

  function lrn(x: GpuBuffer, y: GpuBuffer, p: LrnParams): void {
    const op = 'lrn';
    rt.alive(op);
    const b075 = p.beta === 0.75;
    const k = rt.kernel(`lrn:${b075}`, () => ({
      params,
      kinds: ['read', 'write'],
      code:
        params.decl() +
        storage(1, 'read', 'X', 'f32') +
        storage(2, 'write', 'Y', 'f32') +
        helpers(b075) +
        mainHeader() +
        params.lets() +
        INDEX +
        `  Y[off1 + i] = X[off0 + i] * neg_pow(scale_at(base, ch));\n}\n`,
    }));
    over(
      op,
      p,
      [
        { buffer: x, role: 'input' },
        { buffer: y, role: 'output' },
      ],
      (total, offsets, windows) => rt.run(k, values(p, total, offsets), windows, rt.grid(total, WG)),
    );
  }

  function lrnBackward(x: GpuBuffer, y: GpuBuffer, dy: GpuBuffer, dx: GpuBuffer, p: LrnParams): void {
    const op = 'lrnBackward';
    rt.alive(op);
    const b075 = p.beta === 0.75;
    const k = rt.kernel(`lrnBackward:${b075}`, () => ({
      params,
      kinds: ['read', 'read', 'read', 'write'],
      code:
        params.decl() +
        storage(1, 'read', 'X', 'f32') +
        storage(2, 'read', 'Y', 'f32') +
        storage(3, 'read', 'DY', 'f32') +
        storage(4, 'write', 'DX', 'f32') +
        helpers(b075) +
        mainHeader() +
        params.lets() +
        INDEX +
        // Y and DY share X's layout and chunking; their window offsets are off1 and off2.
        `  let rel = img * chw + t;\n  var acc = 0.0;\n` +
        `  for (var j = max(0, ch - hi); j <= min(c - 1, ch + lo); j++) {\n` +
        `    let o = rel + u32(j) * hw;\n    acc += DY[off2 + o] * Y[off1 + o] / scale_at(base, j);\n  }\n` +
        `  DX[off3 + i] = DY[off2 + i] * neg_pow(scale_at(base, ch)) - coef * X[off0 + i] * acc;\n}\n`,
    }));
    over(
      op,
      p,
      [
        { buffer: x, role: 'input' },
        { buffer: y, role: 'output' },
        { buffer: dy, role: 'output gradient' },
        { buffer: dx, role: 'input gradient' },
      ],
      (total, offsets, windows) => rt.run(k, values(p, total, offsets), windows, rt.grid(total, WG)),
    );
  }

  return { lrn, lrnBackward };
}
