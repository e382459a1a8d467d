/**
 * Max, average and adaptive average pooling and their gradients, one invocation per output (forward) or per
 * input element (backward: each input gathers from the windows that contain it, so overlapping windows need
 * no atomics and results do not depend on scheduling).
 */
import type { AdaptivePool2dParams, AvgPool2dParams, Pool2dParams } from '@tessera/tensor';
import { type GpuBuffer, Params, type Runtime } from '../runtime.js';
import { NUMERIC, WG, mainHeader, storage } from '../wgsl/common.js';
import { bindRange, leadingChunks } from '../binding-windows/per-item.js';

const GEOMETRY = new Params([
  ['total', 'u32'],
  ['h', 'i32'],
  ['w', 'i32'],
  ['kh', 'i32'],
  ['kw', 'i32'],
  ['oh', 'i32'],
  ['ow', 'i32'],
  ['sh', 'i32'],
  ['sw', 'i32'],
  ['ph', 'i32'],
  ['pw', 'i32'],
  ['includePad', 'u32'],
  ['off0', 'u32'],
  ['off1', 'u32'],
  ['off2', 'u32'],
]);

/** Divisor of the window whose top-left corner is (h0, w0) (as the CPU reference computes it). */
const AVG_DIVISOR = /* wgsl */ `
fn avg_divisor(h0: i32, w0: i32, h: i32, w: i32, kh: i32, kw: i32, includePad: u32) -> i32 {
  if (includePad != 0u) { return kh * kw; }
  let rows = min(h, h0 + kh) - max(0, h0);
  let cols = min(w, w0 + kw) - max(0, w0);
  return max(0, rows) * max(0, cols);
}
`;

/** Output windows containing input row r: [lo, hi] (empty when lo > hi). */
const WINDOW_RANGE = /* wgsl */ `
fn first_window(r: i32, k: i32, s: i32, p: i32) -> i32 {
  let a = r + p - k + 1;
  if (a <= 0) { return 0; }
  return (a + s - 1) / s;
}
fn last_window(r: i32, s: i32, p: i32, count: i32) -> i32 { return min(count - 1, (r + p) / s); }
`;

export function poolKernels(rt: Runtime) {
  /** Runs `run` over chunks of image planes (n·c of them) whose windows fit the binding limit. */
  function overPlanes(
    op: string,
    planes: number,
    buffers: { buffer: GpuBuffer; elems: number; role: string }[],
    run: (p0: number, p1: number, offsets: number[], windows: ReturnType<typeof bindRange>[]) => void,
  ): void {
    for (const [p0, p1] of leadingChunks(rt, op, planes, buffers)) {
      const windows = buffers.map((b) => bindRange(rt, b.buffer, p0 * b.elems, p1 * b.elems, op, b.role));
      run(
        p0,
        p1,
        buffers.map((b, i) => p0 * b.elems - windows[i]!.base),
        windows,
      );
    }
  }

  function values(
    p: Pool2dParams | AdaptivePool2dParams,
    total: number,
    offsets: number[],
    extra: Partial<Record<string, number>> = {},
  ): Record<string, number> {
    const pp = p as Partial<Pool2dParams & AvgPool2dParams>;
    return {
      total,
      h: p.h,
      w: p.w,
      kh: pp.kh ?? 0,
      kw: pp.kw ?? 0,
      oh: p.outH,
      ow: p.outW,
      sh: pp.strideH ?? 1,
      sw: pp.strideW ?? 1,
      ph: pp.padH ?? 0,
      pw: pp.padW ?? 0,
      includePad: pp.countIncludePad ? 1 : 0,
      off0: offsets[0] ?? 0,
      off1: offsets[1] ?? 0,
      off2: offsets[2] ?? 0,
      ...extra,
    } as Record<string, number>;
  }

  // Common prologue: decompose output index i into (plane q, oy, ox).
  const OUT_INDEX = `  if (i >= total) { return; }\n  let ohw = u32(oh * ow);\n  let q = i / ohw;\n  let oy = i32((i % ohw) / u32(ow));\n  let ox = i32(i % u32(ow));\n`;
  const IN_INDEX = `  if (i >= total) { return; }\n  let hw = u32(h * w);\n  let q = i / hw;\n  let r = i32((i % hw) / u32(w));\n  let c = i32(i % u32(w));\n`;

  function maxPool2d(x: GpuBuffer, y: GpuBuffer, argmax: GpuBuffer, p: Pool2dParams): void {
    const op = 'maxPool2d';
    rt.alive(op);
    const k = rt.kernel('maxPool2d', () => ({
      params: GEOMETRY,
      kinds: ['read', 'write', 'write'],
      code:
        NUMERIC +
        GEOMETRY.decl() +
        storage(1, 'read', 'X', 'f32') +
        storage(2, 'write', 'Y', 'f32') +
        storage(3, 'write', 'A', 'i32') +
        mainHeader() +
        GEOMETRY.lets() +
        OUT_INDEX +
        `  let h0 = oy * sh - ph;\n  let w0 = ox * sw - pw;\n  let base = off0 + q * u32(h * w);\n` +
        `  var best = -inf_f32();\n  var arg = -1;\n` +
        `  for (var rr = max(0, h0); rr < min(h, h0 + kh); rr++) {\n` +
        `    for (var cc = max(0, w0); cc < min(w, w0 + kw); cc++) {\n` +
        `      let v = X[base + u32(rr * w + cc)];\n` +
        // The first maximum wins; the first NaN beats everything.
        `      if (arg < 0 || v > best || (is_nan(v) && !is_nan(best))) { best = v; arg = rr * w + cc; }\n` +
        `    }\n  }\n  Y[off1 + i] = best;\n  A[off2 + i] = arg;\n}\n`,
    }));
    const plane = p.h * p.w;
    const outPlane = p.outH * p.outW;
    overPlanes(
      op,
      p.n * p.c,
      [
        { buffer: x, elems: plane, role: 'input' },
        { buffer: y, elems: outPlane, role: 'output' },
        { buffer: argmax, elems: outPlane, role: 'argmax' },
      ],
      (p0, p1, offsets, windows) => {
        const total = (p1 - p0) * outPlane;
        rt.run(k, values(p, total, offsets), windows, rt.grid(total, WG));
      },
    );
  }

  function maxPool2dBackward(dy: GpuBuffer, argmax: GpuBuffer, dx: GpuBuffer, p: Pool2dParams): void {
    const op = 'maxPool2dBackward';
    rt.alive(op);
    const k = rt.kernel('maxPool2dBackward', () => ({
      params: GEOMETRY,
      kinds: ['read', 'read', 'write'],
      code:
        WINDOW_RANGE +
        GEOMETRY.decl() +
        storage(1, 'read', 'DY', 'f32') +
        storage(2, 'read', 'A', 'i32') +
        storage(3, 'write', 'DX', 'f32') +
        mainHeader() +
        GEOMETRY.lets() +
        IN_INDEX +
        `  let me = r * w + c;\n  let base = q * u32(oh * ow);\n  var s = 0.0;\n` +
        `  for (var oy = first_window(r, kh, sh, ph); oy <= last_window(r, sh, ph, oh); oy++) {\n` +
        `    for (var ox = first_window(c, kw, sw, pw); ox <= last_window(c, sw, pw, ow); ox++) {\n` +
        `      let o = base + u32(oy * ow + ox);\n      if (A[off1 + o] == me) { s += DY[off0 + o]; }\n` +
        `    }\n  }\n  DX[off2 + i] = s;\n}\n`,
    }));
    const plane = p.h * p.w;
    const outPlane = p.outH * p.outW;
    overPlanes(
      op,
      p.n * p.c,
      [
        { buffer: dy, elems: outPlane, role: 'output gradient' },
        { buffer: argmax, elems: outPlane, role: 'argmax' },
        { buffer: dx, elems: plane, role: 'input gradient' },
      ],
      (p0, p1, offsets, windows) => {
        const total = (p1 - p0) * plane;
        rt.run(k, values(p, total, offsets), windows, rt.grid(total, WG));
      },
    );
  }

  function avgPool2d(x: GpuBuffer, y: GpuBuffer, p: AvgPool2dParams): void {
    const op = 'avgPool2d';
    rt.alive(op);
    const k = rt.kernel('avgPool2d', () => ({
      params: GEOMETRY,
      kinds: ['read', 'write'],
      code:
        AVG_DIVISOR +
        GEOMETRY.decl() +
        storage(1, 'read', 'X', 'f32') +
        storage(2, 'write', 'Y', 'f32') +
        mainHeader() +
        GEOMETRY.lets() +
        OUT_INDEX +
        `  let h0 = oy * sh - ph;\n  let w0 = ox * sw - pw;\n  let base = off0 + q * u32(h * w);\n  var s = 0.0;\n` +
        `  for (var rr = max(0, h0); rr < min(h, h0 + kh); rr++) {\n` +
        `    for (var cc = max(0, w0); cc < min(w, w0 + kw); cc++) { s += X[base + u32(rr * w + cc)]; }\n  }\n` +
        `  let d = avg_divisor(h0, w0, h, w, kh, kw, includePad);\n  Y[off1 + i] = select(0.0, s / f32(d), d > 0);\n}\n`,
    }));
    const plane = p.h * p.w;
    const outPlane = p.outH * p.outW;
    overPlanes(
      op,
      p.n * p.c,
      [
        { buffer: x, elems: plane, role: 'input' },
        { buffer: y, elems: outPlane, role: 'output' },
      ],
      (p0, p1, offsets, windows) => {
        const total = (p1 - p0) * outPlane;
        rt.run(k, values(p, total, offsets), windows, rt.grid(total, WG));
      },
    );
  }

  function avgPool2dBackward(dy: GpuBuffer, dx: GpuBuffer, p: AvgPool2dParams): void {
    const op = 'avgPool2dBackward';
    rt.alive(op);
    const k = rt.kernel('avgPool2dBackward', () => ({
      params: GEOMETRY,
      kinds: ['read', 'write'],
      code:
        AVG_DIVISOR +
        WINDOW_RANGE +
        GEOMETRY.decl() +
        storage(1, 'read', 'DY', 'f32') +
        storage(2, 'write', 'DX', 'f32') +
        mainHeader() +
        GEOMETRY.lets() +
        IN_INDEX +
        `  let base = off0 + q * u32(oh * ow);\n  var s = 0.0;\n` +
        `  for (var oy = first_window(r, kh, sh, ph); oy <= last_window(r, sh, ph, oh); oy++) {\n` +
        `    for (var ox = first_window(c, kw, sw, pw); ox <= last_window(c, sw, pw, ow); ox++) {\n` +
        `      let d = avg_divisor(oy * sh - ph, ox * sw - pw, h, w, kh, kw, includePad);\n` +
        `      if (d > 0) { s += DY[base + u32(oy * ow + ox)] / f32(d); }\n` +
        `    }\n  }\n  DX[off1 + i] = s;\n}\n`,
    }));
    const plane = p.h * p.w;
    const outPlane = p.outH * p.outW;
    overPlanes(
      op,
      p.n * p.c,
      [
        { buffer: dy, elems: outPlane, role: 'output gradient' },
        { buffer: dx, elems: plane, role: 'input gradient' },
      ],
      (p0, p1, offsets, windows) => {
        const total = (p1 - p0) * plane;
        rt.run(k, values(p, total, offsets), windows, rt.grid(total, WG));
      },
    );
  }

  /** Bin i of `out` over `size` cells: [⌊i·size/out⌋, ⌈(i+1)·size/out⌉). */
  const BINS = /* wgsl */ `
fn bin_lo(i: i32, size: i32, count: i32) -> i32 { return (i * size) / count; }
fn bin_hi(i: i32, size: i32, count: i32) -> i32 { return ((i + 1) * size + count - 1) / count; }
`;

  function adaptiveAvgPool2d(x: GpuBuffer, y: GpuBuffer, p: AdaptivePool2dParams): void {
    const op = 'adaptiveAvgPool2d';
    rt.alive(op);
    const k = rt.kernel('adaptiveAvgPool2d', () => ({
      params: GEOMETRY,
      kinds: ['read', 'write'],
      code:
        BINS +
        GEOMETRY.decl() +
        storage(1, 'read', 'X', 'f32') +
        storage(2, 'write', 'Y', 'f32') +
        mainHeader() +
        GEOMETRY.lets() +
        OUT_INDEX +
        `  let r0 = bin_lo(oy, h, oh);\n  let r1 = bin_hi(oy, h, oh);\n  let c0 = bin_lo(ox, w, ow);\n  let c1 = bin_hi(ox, w, ow);\n` +
        `  let base = off0 + q * u32(h * w);\n  var s = 0.0;\n` +
        `  for (var rr = r0; rr < r1; rr++) { for (var cc = c0; cc < c1; cc++) { s += X[base + u32(rr * w + cc)]; } }\n` +
        `  let count = (r1 - r0) * (c1 - c0);\n  Y[off1 + i] = select(0.0, s / f32(count), count > 0);\n}\n`,
    }));
    const plane = p.h * p.w;
    const outPlane = p.outH * p.outW;
    overPlanes(
      op,
      p.n * p.c,
      [
        { buffer: x, elems: plane, role: 'input' },
        { buffer: y, elems: outPlane, role: 'output' },
      ],
      (p0, p1, offsets, windows) => {
        const total = (p1 - p0) * outPlane;
        rt.run(k, values(p, total, offsets), windows, rt.grid(total, WG));
      },
    );
  }

  function adaptiveAvgPool2dBackward(dy: GpuBuffer, dx: GpuBuffer, p: AdaptivePool2dParams): void {
    const op = 'adaptiveAvgPool2dBackward';
    rt.alive(op);
    const k = rt.kernel('adaptiveAvgPool2dBackward', () => ({
      params: GEOMETRY,
      kinds: ['read', 'write'],
      code:
        BINS +
        GEOMETRY.decl() +
        storage(1, 'read', 'DY', 'f32') +
        storage(2, 'write', 'DX', 'f32') +
        mainHeader() +
        GEOMETRY.lets() +
        IN_INDEX +
        // Bins overlap by at most one cell: the candidates are ⌊r·oh/h⌋ − 1 … ⌊(r+1)·oh/h⌋ + 1.
        `  let base = off0 + q * u32(oh * ow);\n  var s = 0.0;\n` +
        `  for (var oy = max(0, (r * oh) / h - 1); oy <= min(oh - 1, ((r + 1) * oh) / h + 1); oy++) {\n` +
        `    let r0 = bin_lo(oy, h, oh);\n    let r1 = bin_hi(oy, h, oh);\n    if (r < r0 || r >= r1) { continue; }\n` +
        `    for (var ox = max(0, (c * ow) / w - 1); ox <= min(ow - 1, ((c + 1) * ow) / w + 1); ox++) {\n` +
        `      let c0 = bin_lo(ox, w, ow);\n      let c1 = bin_hi(ox, w, ow);\n      if (c < c0 || c >= c1) { continue; }\n` +
        `      s += DY[base + u32(oy * ow + ox)] / f32((r1 - r0) * (c1 - c0));\n` +
        `    }\n  }\n  DX[off1 + i] = s;\n}\n`,
    }));
    const plane = p.h * p.w;
    const outPlane = p.outH * p.outW;
    overPlanes(
      op,
      p.n * p.c,
      [
        { buffer: dy, elems: outPlane, role: 'output gradient' },
        { buffer: dx, elems: plane, role: 'input gradient' },
      ],
      (p0, p1, offsets, windows) => {
        const total = (p1 - p0) * plane;
        rt.run(k, values(p, total, offsets), windows, rt.grid(total, WG));
      },
    );
  }

  return { maxPool2d, maxPool2dBackward, avgPool2d, avgPool2dBackward, adaptiveAvgPool2d, adaptiveAvgPool2dBackward };
}
