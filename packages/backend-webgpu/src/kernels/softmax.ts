/**
 * Softmax / log-softmax over the last axis, cross-entropy and its gradient; all shifted by the row maximum.
 * Short rows run one invocation per row, longer ones one workgroup per row (parallel max and sum). Labels
 * outside [0, cols) are reported through the flag buffer at the next read, as a TesseraError naming the op.
 */
import type { CrossEntropyParams, SoftmaxParams } from '@tessera/tensor';
import { type GpuBuffer, Params, type Runtime } from '../runtime.js';
import { NUMERIC, WG, flagDecl, storage } from '../wgsl/common.js';
import { bindRange, leadingChunks } from '../binding-windows/per-item.js';

const RW = 64;
/** Rows up to this many columns run one invocation per row. */
const THREAD_ROW_COLS = 32;

const params = new Params([
  ['rows', 'u32'],
  ['cols', 'u32'],
  ['check', 'u32'],
  ['row0', 'u32'],
  ['off0', 'u32'],
  ['off1', 'u32'],
  ['off2', 'u32'],
  ['off3', 'u32'],
]);

type Mode = 'softmax' | 'logSoftmax' | 'crossEntropy' | 'crossEntropyBackward';

/**
 * WGSL computing `shift` (the row max, 0 for an all −∞ row, NaN if any) and `logSum` = log Σ exp(x − shift)
 * for row `row` of X starting at `xb`, then the mode's output. `par` selects the workgroup version.
 */
function body(mode: Mode, par: boolean): string {
  const stride = par ? `${RW}u` : '1u';
  const start = par ? 'lid' : '0u';
  let s = `  var mx = -inf_f32();\n  for (var j = ${start}; j < cols; j += ${stride}) { let v = X[xb + j]; if (v > mx || is_nan(v)) { mx = v; } }\n`;
  if (par) {
    s +=
      `  sh[lid] = mx;\n  workgroupBarrier();\n` +
      `  for (var st = ${RW / 2}u; st > 0u; st = st >> 1u) {\n    if (lid < st) { let v = sh[lid + st]; if (v > sh[lid] || is_nan(v)) { sh[lid] = v; } }\n    workgroupBarrier();\n  }\n` +
      `  mx = sh[0];\n  workgroupBarrier();\n`;
  }
  s += `  let shift = select(mx, 0.0, mx == -inf_f32());\n  var sum = 0.0;\n  for (var j = ${start}; j < cols; j += ${stride}) { sum += exp(X[xb + j] - shift); }\n`;
  if (par) {
    s +=
      `  sh[lid] = sum;\n  workgroupBarrier();\n` +
      `  for (var st = ${RW / 2}u; st > 0u; st = st >> 1u) {\n    if (lid < st) { sh[lid] += sh[lid + st]; }\n    workgroupBarrier();\n  }\n` +
      `  sum = sh[0];\n`;
  }
  s += `  let logSum = log(sum);\n`;
  const label = `  let label = L[off1 + row];\n  let bad = label < 0 || u32(label) >= cols;\n`;
  switch (mode) {
    case 'logSoftmax':
      return s + `  if (!live) { return; }\n  let c = shift + logSum;\n  for (var j = ${start}; j < cols; j += ${stride}) { O[ob + j] = X[xb + j] - c; }\n`;
    case 'softmax':
      return s + `  if (!live) { return; }\n  for (var j = ${start}; j < cols; j += ${stride}) { O[ob + j] = exp(X[xb + j] - shift) / sum; }\n`;
    case 'crossEntropy':
      return (
        s +
        `  if (!live) { return; }\n` +
        label +
        `  if (${par ? 'lid == 0u' : 'true'}) {\n` +
        `    if (bad) { report(check, label, row0 + row); O[off2 + row] = nan_f32(); }\n` +
        `    else { O[off2 + row] = shift + logSum - X[xb + u32(label)]; }\n  }\n`
      );
    case 'crossEntropyBackward':
      return (
        s +
        `  if (!live) { return; }\n` +
        label +
        `  if (bad && ${par ? 'lid == 0u' : 'true'}) { report(check, label, row0 + row); }\n` +
        `  let g = D[off2 + row];\n` +
        `  for (var j = ${start}; j < cols; j += ${stride}) {\n` +
        `    let prob = exp(X[xb + j] - shift) / sum;\n` +
        `    O[ob + j] = select(select(prob, prob - 1.0, i32(j) == label) * g, nan_f32(), bad);\n  }\n`
      );
  }
}

export function softmaxKernels(rt: Runtime) {
  function kernel(mode: Mode, par: boolean) {
    return rt.kernel(`${mode}:${par ? 'group' : 'thread'}`, () => {
      const kinds: ('read' | 'write')[] =
        mode === 'softmax' || mode === 'logSoftmax'
          ? ['read', 'write']
          : mode === 'crossEntropy'
            ? ['read', 'read', 'write', 'write']
            : ['read', 'read', 'read', 'write', 'write'];
      let decls = params.decl() + storage(1, 'read', 'X', 'f32');
      if (mode === 'softmax' || mode === 'logSoftmax') decls += storage(2, 'write', 'O', 'f32');
      else if (mode === 'crossEntropy') decls += storage(2, 'read', 'L', 'i32') + storage(3, 'write', 'O', 'f32') + flagDecl(4);
      else decls += storage(2, 'read', 'L', 'i32') + storage(3, 'read', 'D', 'f32') + storage(4, 'write', 'O', 'f32') + flagDecl(5);
      const header = par
        ? `var<workgroup> sh: array<f32, ${RW}>;\n@compute @workgroup_size(${RW})\n` +
          `fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {\n` +
          params.lets() +
          `  let row = wid.x + wid.y * nwg.x;\n`
        : `@compute @workgroup_size(${WG})\n` +
          `fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {\n` +
          params.lets() +
          `  let row = gid.x + gid.y * nwg.x * ${WG}u;\n`;
      // In the workgroup version every invocation must reach the barriers, so out-of-range rows are masked.
      const guard = par
        ? `  let live = row < rows;\n  let xb = off0 + min(row, rows - 1u) * cols;\n`
        : `  if (row >= rows) { return; }\n  let live = true;\n  let xb = off0 + row * cols;\n`;
      const outOff = mode === 'crossEntropyBackward' ? 'off3' : 'off1';
      return { params, kinds, code: NUMERIC + decls + header + guard + `  let ob = ${outOff} + row * cols;\n` + body(mode, par) + `}\n` };
    });
  }

  /** Runs `run` over chunks of rows whose windows fit the binding limit. */
  function over(
    op: string,
    rows: number,
    buffers: { buffer: GpuBuffer; elems: number; role: string }[],
    par: boolean,
    run: (r0: number, r1: number, offsets: number[], windows: ReturnType<typeof bindRange>[], grid: [number, number, number]) => void,
  ): void {
    for (const [r0, r1] of leadingChunks(rt, op, rows, buffers)) {
      const windows = buffers.map((b) => bindRange(rt, b.buffer, r0 * b.elems, r1 * b.elems, op, b.role));
      const grid = par ? rt.grid(r1 - r0, 1) : rt.grid(r1 - r0, WG);
      run(
        r0,
        r1,
        buffers.map((b, i) => r0 * b.elems - windows[i]!.base),
        windows,
        grid,
      );
    }
  }

  function softmax(x: GpuBuffer, out: GpuBuffer, p: SoftmaxParams): void {
    const op = p.log ? 'logSoftmax' : 'softmax';
    rt.alive(op);
    if (p.rows * p.cols === 0) return;
    const par = p.cols > THREAD_ROW_COLS;
    const k = kernel(op, par);
    over(
      op,
      p.rows,
      [
        { buffer: x, elems: p.cols, role: 'input' },
        { buffer: out, elems: p.cols, role: 'output' },
      ],
      par,
      (r0, r1, o, windows, grid) => {
        rt.run(k, { rows: r1 - r0, cols: p.cols, check: 0, row0: r0, off0: o[0]!, off1: o[1]!, off2: 0, off3: 0 }, windows, grid);
      },
    );
  }

  function crossEntropy(logits: GpuBuffer, labels: GpuBuffer, losses: GpuBuffer, p: CrossEntropyParams): void {
    const op = 'crossEntropy';
    rt.alive(op);
    if (p.rows === 0) return;
    const par = p.cols > THREAD_ROW_COLS;
    const k = kernel(op, par);
    const check = rt.check(op, (v, row) => `label ${v} at row ${row} is outside [0, ${p.cols})`);
    over(
      op,
      p.rows,
      [
        { buffer: logits, elems: p.cols, role: 'logits' },
        { buffer: labels, elems: 1, role: 'labels' },
        { buffer: losses, elems: 1, role: 'losses' },
      ],
      par,
      (r0, r1, o, windows, grid) => {
        rt.run(k, { rows: r1 - r0, cols: p.cols, check, row0: r0, off0: o[0]!, off1: o[1]!, off2: o[2]!, off3: 0 }, [...windows, rt.flagBuffer], grid);
      },
    );
  }

  function crossEntropyBackward(logits: GpuBuffer, labels: GpuBuffer, dlosses: GpuBuffer, dlogits: GpuBuffer, p: CrossEntropyParams): void {
    const op = 'crossEntropyBackward';
    rt.alive(op);
    if (p.rows === 0) return;
    const par = p.cols > THREAD_ROW_COLS;
    const k = kernel(op, par);
    const check = rt.check(op, (v, row) => `label ${v} at row ${row} is outside [0, ${p.cols})`);
    over(
      op,
      p.rows,
      [
        { buffer: logits, elems: p.cols, role: 'logits' },
        { buffer: labels, elems: 1, role: 'labels' },
        { buffer: dlosses, elems: 1, role: 'loss gradients' },
        { buffer: dlogits, elems: p.cols, role: 'logit gradients' },
      ],
      par,
      (r0, r1, o, windows, grid) => {
        rt.run(k, { rows: r1 - r0, cols: p.cols, check, row0: r0, off0: o[0]!, off1: o[1]!, off2: o[2]!, off3: o[3]! }, [...windows, rt.flagBuffer], grid);
      },
    );
  }

  return { softmax, crossEntropy, crossEntropyBackward };
}
