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

/** One storage binding of a pooling pass: a buffer read or written per image plane. */
interface PlaneBinding {
  name: string;
  type: 'f32' | 'i32';
  kind: 'read' | 'write';
  buffer: GpuBuffer;
  /** Whether the buffer holds input planes (h·w per plane) or output planes (outH·outW). */
  plane: 'input' | 'output';
  role: string;
}

// Prologues: decompose the invocation index i into (plane q, output cell oy, ox) or (plane q, input cell r, c).
const OUT_INDEX = `  if (i >= total) { return; }\n  let ohw = u32(oh * ow);\n  let q = i / ohw;\n  let oy = i32((i % ohw) / u32(ow));\n  let ox = i32(i % u32(ow));\n`;
const IN_INDEX = `  if (i >= total) { return; }\n  let hw = u32(h * w);\n  let q = i / hw;\n  let r = i32((i % hw) / u32(w));\n  let c = i32(i % u32(w));\n`;

export function poolKernels(rt: Runtime) {
  function values(p: Pool2dParams | AdaptivePool2dParams, total: number, offsets: number[]): Record<string, number> {
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
    };
  }

  /**
   * Compiles (once) and dispatches a pooling pass: one invocation per output cell (`over: 'output'`, forward) or
   * per input cell (`over: 'input'`, backward), over chunks of the n·c image planes whose windows fit the binding
   * limit. Binding j is WGSL `storage(j + 1)` with its window offset in `off{j}`.
   */
  function planePass(
    op: string,
    p: Pool2dParams | AdaptivePool2dParams,
    over: 'input' | 'output',
    bindings: PlaneBinding[],
    helpers: string,
    body: string,
  ): void {
    rt.alive(op);
    const k = rt.kernel(op, () => ({
      params: GEOMETRY,
      kinds: bindings.map((b) => b.kind),
      code:
        helpers +
        GEOMETRY.decl() +
        bindings.map((b, j) => storage(j + 1, b.kind, b.name, b.type)).join('') +
        mainHeader() +
        GEOMETRY.lets() +
        (over === 'output' ? OUT_INDEX : IN_INDEX) +
        body +
        '}\n',
    }));
    const inPlane = p.h * p.w;
    const outPlane = p.outH * p.outW;
    const perPlane = (b: PlaneBinding): number => (b.plane === 'input' ? inPlane : outPlane);
    const chunked = bindings.map((b) => ({ buffer: b.buffer, elems: perPlane(b), role: b.role }));
    for (const [p0, p1] of leadingChunks(rt, op, p.n * p.c, chunked)) {
      const windows = chunked.map((b) => bindRange(rt, b.buffer, p0 * b.elems, p1 * b.elems, op, b.role));
      const offsets = chunked.map((b, j) => p0 * b.elems - windows[j]!.base);
      const total = (p1 - p0) * (over === 'input' ? inPlane : outPlane);
      rt.run(k, values(p, total, offsets), windows, rt.grid(total, WG));
    }
  }

  const f32In = (name: string, buffer: GpuBuffer, plane: PlaneBinding['plane'], role: string): PlaneBinding => ({
    name,
    type: 'f32',
    kind: 'read',
    buffer,
    plane,
    role,
  });
  const f32Out = (name: string, buffer: GpuBuffer, plane: PlaneBinding['plane'], role: string): PlaneBinding => ({
    name,
    type: 'f32',
    kind: 'write',
    buffer,
    plane,
    role,
  });

  function maxPool2d(x: GpuBuffer, y: GpuBuffer, argmax: GpuBuffer, p: Pool2dParams): void {
    planePass(
      'maxPool2d',
      p,
      'output',
      [
        f32In('X', x, 'input', 'input'),
        f32Out('Y', y, 'output', 'output'),
        { name: 'A', type: 'i32', kind: 'write', buffer: argmax, plane: 'output', role: 'argmax' },
      ],
      NUMERIC,
      `  let h0 = oy * sh - ph;\n  let w0 = ox * sw - pw;\n  let base = off0 + q * u32(h * w);\n` +
        `  var best = -inf_f32();\n  var arg = -1;\n` +
        `  for (var rr = max(0, h0); rr < min(h, h0 + kh); rr++) {\n` +
        `    for (var cc = max(0, w0); cc < min(w, w0 + kw); cc++) {\n` +
        `      let v = X[base + u32(rr * w + cc)];\n` +
        // The first maximum wins; the first NaN beats everything.
        `      if (arg < 0 || v > best || (is_nan(v) && !is_nan(best))) { best = v; arg = rr * w + cc; }\n` +
        `    }\n  }\n  Y[off1 + i] = best;\n  A[off2 + i] = arg;\n`,
    );
  }

  function maxPool2dBackward(dy: GpuBuffer, argmax: GpuBuffer, dx: GpuBuffer, p: Pool2dParams): void {
    planePass(
      'maxPool2dBackward',
      p,
      'input',
      [
        f32In('DY', dy, 'output', 'output gradient'),
        { name: 'A', type: 'i32', kind: 'read', buffer: argmax, plane: 'output', role: 'argmax' },
        f32Out('DX', dx, 'input', 'input gradient'),
      ],
      WINDOW_RANGE,
      `  let me = r * w + c;\n  let base = q * u32(oh * ow);\n  var s = 0.0;\n` +
        `  for (var oy = first_window(r, kh, sh, ph); oy <= last_window(r, sh, ph, oh); oy++) {\n` +
        `    for (var ox = first_window(c, kw, sw, pw); ox <= last_window(c, sw, pw, ow); ox++) {\n` +
        `      let o = base + u32(oy * ow + ox);\n      if (A[off1 + o] == me) { s += DY[off0 + o]; }\n` +
        `    }\n  }\n  DX[off2 + i] = s;\n`,
    );
  }

  function avgPool2d(x: GpuBuffer, y: GpuBuffer, p: AvgPool2dParams): void {
    planePass(
      'avgPool2d',
      p,
      'output',
      [f32In('X', x, 'input', 'input'), f32Out('Y', y, 'output', 'output')],
      AVG_DIVISOR,
      `  let h0 = oy * sh - ph;\n  let w0 = ox * sw - pw;\n  let base = off0 + q * u32(h * w);\n  var s = 0.0;\n` +
        `  for (var rr = max(0, h0); rr < min(h, h0 + kh); rr++) {\n` +
        `    for (var cc = max(0, w0); cc < min(w, w0 + kw); cc++) { s += X[base + u32(rr * w + cc)]; }\n  }\n` +
        `  let d = avg_divisor(h0, w0, h, w, kh, kw, includePad);\n  Y[off1 + i] = select(0.0, s / f32(d), d > 0);\n`,
    );
  }

  function avgPool2dBackward(dy: GpuBuffer, dx: GpuBuffer, p: AvgPool2dParams): void {
    planePass(
      'avgPool2dBackward',
      p,
      'input',
      [f32In('DY', dy, 'output', 'output gradient'), f32Out('DX', dx, 'input', 'input gradient')],
      AVG_DIVISOR + WINDOW_RANGE,
      `  let base = off0 + q * u32(oh * ow);\n  var s = 0.0;\n` +
        `  for (var oy = first_window(r, kh, sh, ph); oy <= last_window(r, sh, ph, oh); oy++) {\n` +
        `    for (var ox = first_window(c, kw, sw, pw); ox <= last_window(c, sw, pw, ow); ox++) {\n` +
        `      let d = avg_divisor(oy * sh - ph, ox * sw - pw, h, w, kh, kw, includePad);\n` +
        `      if (d > 0) { s += DY[base + u32(oy * ow + ox)] / f32(d); }\n` +
        `    }\n  }\n  DX[off1 + i] = s;\n`,
    );
  }

  /** Bin i of `out` over `size` cells: [⌊i·size/out⌋, ⌈(i+1)·size/out⌉). */
  const BINS = /* wgsl */ `
fn bin_lo(i: i32, size: i32, count: i32) -> i32 { return (i * size) / count; }
fn bin_hi(i: i32, size: i32, count: i32) -> i32 { return ((i + 1) * size + count - 1) / count; }
`;

  function adaptiveAvgPool2d(x: GpuBuffer, y: GpuBuffer, p: AdaptivePool2dParams): void {
    planePass(
      'adaptiveAvgPool2d',
      p,
      'output',
      [f32In('X', x, 'input', 'input'), f32Out('Y', y, 'output', 'output')],
      BINS,
      `  let r0 = bin_lo(oy, h, oh);\n  let r1 = bin_hi(oy, h, oh);\n  let c0 = bin_lo(ox, w, ow);\n  let c1 = bin_hi(ox, w, ow);\n` +
        `  let base = off0 + q * u32(h * w);\n  var s = 0.0;\n` +
        `  for (var rr = r0; rr < r1; rr++) { for (var cc = c0; cc < c1; cc++) { s += X[base + u32(rr * w + cc)]; } }\n` +
        `  let count = (r1 - r0) * (c1 - c0);\n  Y[off1 + i] = select(0.0, s / f32(count), count > 0);\n`,
    );
  }

  function adaptiveAvgPool2dBackward(dy: GpuBuffer, dx: GpuBuffer, p: AdaptivePool2dParams): void {
    planePass(
      'adaptiveAvgPool2dBackward',
      p,
      'input',
      [f32In('DY', dy, 'output', 'output gradient'), f32Out('DX', dx, 'input', 'input gradient')],
      BINS,
      // Bins overlap by at most one cell: the candidates are ⌊r·oh/h⌋ − 1 … ⌊(r+1)·oh/h⌋ + 1.
      `  let base = off0 + q * u32(oh * ow);\n  var s = 0.0;\n` +
        `  for (var oy = max(0, (r * oh) / h - 1); oy <= min(oh - 1, ((r + 1) * oh) / h + 1); oy++) {\n` +
        `    let r0 = bin_lo(oy, h, oh);\n    let r1 = bin_hi(oy, h, oh);\n    if (r < r0 || r >= r1) { continue; }\n` +
        `    for (var ox = max(0, (c * ow) / w - 1); ox <= min(ow - 1, ((c + 1) * ow) / w + 1); ox++) {\n` +
        `      let c0 = bin_lo(ox, w, ow);\n      let c1 = bin_hi(ox, w, ow);\n      if (c < c0 || c >= c1) { continue; }\n` +
        `      s += DY[base + u32(oy * ow + ox)] / f32((r1 - r0) * (c1 - c0));\n` +
        `    }\n  }\n  DX[off1 + i] = s;\n`,
    );
  }

  return { maxPool2d, maxPool2dBackward, avgPool2d, avgPool2dBackward, adaptiveAvgPool2d, adaptiveAvgPool2dBackward };
}
