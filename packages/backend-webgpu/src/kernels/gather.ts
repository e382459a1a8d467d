/**
 * Index selection along one axis, its adjoint and one-hot encoding. Indices are validated on the GPU: a bad
 * one is reported through the flag buffer (a TesseraError naming the op at the next read) and its slice is
 * written as zeros. The adjoint gathers per output element (summing every position that selected it), so
 * repeated indices need no atomics and the sum does not depend on scheduling.
 */
import type { GatherParams } from '@tessera/tensor';
import { TesseraError } from '@tessera/tensor';
import { type GpuBuffer, Params, type Runtime } from '../runtime.js';
import { WG, flagDecl, mainHeader, storage } from '../wgsl/common.js';

const params = new Params([
  ['outer', 'u32'],
  ['axis', 'u32'],
  ['inner', 'u32'],
  ['count', 'u32'],
  ['check', 'u32'],
]);

export function gatherKernels(rt: Runtime) {
  function gather(x: GpuBuffer, indices: GpuBuffer, out: GpuBuffer, p: GatherParams): void {
    const op = 'gather';
    rt.alive(op);
    if (indices.dtype !== 'int32') throw new TesseraError(op, `indices must be int32, got ${indices.dtype}`);
    const total = p.outer * p.count * p.inner;
    if (total === 0) return;
    const k = rt.kernel('gather', () => ({
      params,
      kinds: ['read', 'read', 'write', 'write'],
      code:
        params.decl() +
        storage(1, 'read', 'X', 'u32') +
        storage(2, 'read', 'I', 'i32') +
        storage(3, 'write', 'O', 'u32') +
        flagDecl(4) +
        mainHeader() +
        params.lets() +
        `  if (i >= outer * count * inner) { return; }\n` +
        `  let j = i % inner;\n  let t = (i / inner) % count;\n  let o = i / (inner * count);\n  let idx = I[t];\n` +
        `  if (idx < 0 || u32(idx) >= axis) {\n    if (o == 0u && j == 0u) { report(check, idx, t); }\n    O[i] = 0u;\n    return;\n  }\n` +
        `  O[i] = X[(o * axis + u32(idx)) * inner + j];\n}\n`,
    }));
    const check = rt.check(op, (v, t) => `index ${v} at position ${t} is outside [0, ${p.axisSize})`);
    rt.run(
      k,
      { outer: p.outer, axis: p.axisSize, inner: p.inner, count: p.count, check },
      [rt.whole(x, op, 'input'), rt.whole(indices, op, 'indices'), rt.whole(out, op, 'output'), rt.flagBuffer],
      rt.grid(total, WG),
    );
  }

  function gatherBackward(dy: GpuBuffer, indices: GpuBuffer, dx: GpuBuffer, p: GatherParams): void {
    const op = 'gatherBackward';
    rt.alive(op);
    if (indices.dtype !== 'int32') throw new TesseraError(op, `indices must be int32, got ${indices.dtype}`);
    const total = p.outer * p.axisSize * p.inner;
    if (total === 0) return;
    const k = rt.kernel('gatherBackward', () => ({
      params,
      kinds: ['read', 'read', 'write', 'write'],
      code:
        params.decl() +
        storage(1, 'read', 'DY', 'f32') +
        storage(2, 'read', 'I', 'i32') +
        storage(3, 'write', 'DX', 'f32') +
        flagDecl(4) +
        mainHeader() +
        params.lets() +
        `  if (i < count) { let v = I[i]; if (v < 0 || u32(v) >= axis) { report(check, v, i); } }\n` +
        `  if (i >= outer * axis * inner) { return; }\n` +
        `  let j = i % inner;\n  let a = i32((i / inner) % axis);\n  let o = i / (inner * axis);\n  var s = 0.0;\n` +
        `  for (var t = 0u; t < count; t++) { if (I[t] == a) { s += DY[(o * count + t) * inner + j]; } }\n` +
        `  DX[i] = s;\n}\n`,
    }));
    const check = rt.check(op, (v, t) => `index ${v} at position ${t} is outside [0, ${p.axisSize})`);
    rt.run(
      k,
      { outer: p.outer, axis: p.axisSize, inner: p.inner, count: p.count, check },
      [rt.whole(dy, op, 'output gradient'), rt.whole(indices, op, 'indices'), rt.whole(dx, op, 'input gradient'), rt.flagBuffer],
      rt.grid(Math.max(total, p.count), WG),
    );
  }

  function oneHot(indices: GpuBuffer, out: GpuBuffer, p: { n: number; depth: number }): void {
    const op = 'oneHot';
    rt.alive(op);
    const total = p.n * p.depth;
    if (total === 0) return;
    const k = rt.kernel('oneHot', () => ({
      params,
      kinds: ['read', 'write', 'write'],
      code:
        params.decl() +
        storage(1, 'read', 'I', 'i32') +
        storage(2, 'write', 'O', 'f32') +
        flagDecl(3) +
        mainHeader() +
        params.lets() +
        `  if (i >= outer * axis) { return; }\n  let r = i / axis;\n  let d = i32(i % axis);\n  let v = I[r];\n` +
        `  if (d == 0 && (v < 0 || u32(v) >= axis)) { report(check, v, r); }\n` +
        `  O[i] = select(0.0, 1.0, v == d);\n}\n`,
    }));
    const check = rt.check(op, (v, t) => `index ${v} at position ${t} is outside [0, ${p.depth})`);
    rt.run(
      k,
      { outer: p.n, axis: p.depth, inner: 1, count: p.n, check },
      [rt.whole(indices, op, 'indices'), rt.whole(out, op, 'output'), rt.flagBuffer],
      rt.grid(total, WG),
    );
  }

  return { gather, gatherBackward, oneHot };
}
