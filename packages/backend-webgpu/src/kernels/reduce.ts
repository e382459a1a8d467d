/**
 * sum / max / min over any set of axes, and argmax / argmin over one. Kept and reduced dimensions are
 * collapsed separately; a small reduction runs one thread per output, a large one one workgroup per output
 * (split further into partial results when there are few outputs and very many elements).
 */
import type { ArgReduceParams, ReduceOp, ReduceParams } from '@tessera/tensor';
import { TesseraError } from '@tessera/tensor';
import { type GpuBuffer, Params, type Runtime, type Window } from '../runtime.js';
import { collapseDims, contiguousStrides } from '@tessera/tensor/backend';
import { MAX_RANK } from '../binding-windows/strided.js';
import { NUMERIC, WG, mainHeader, storage, wgslType } from '../wgsl/common.js';

const RWG = 256;

function identity(op: ReduceOp, t: 'f32' | 'i32'): string {
  if (op === 'sum') return t === 'f32' ? '0.0' : '0';
  if (t === 'f32') return op === 'max' ? '-inf_f32()' : 'inf_f32()';
  return op === 'max' ? 'i32(-2147483648)' : '2147483647';
}

/** combine(acc, v): max/min let a NaN through, as PyTorch does. */
function combine(op: ReduceOp, t: 'f32' | 'i32'): string {
  if (op === 'sum') return 'acc + v';
  const cmp = op === 'max' ? 'v > acc' : 'v < acc';
  return t === 'f32' ? `select(acc, v, ${cmp} || is_nan(v))` : `select(acc, v, ${cmp})`;
}

/** WGSL adding the input offset of flat index `name` over dims `prefix`0… to `target`. */
function decode(name: string, prefix: string, rank: number, p: Params, target: string): string {
  let s = `  var ${name}_rem = ${name};\n`;
  for (let d = rank - 1; d >= 0; d--) {
    if (d > 0) {
      s += `  ${target} += (${name}_rem % ${p.get(`${prefix}n${d}`)}) * ${p.get(`${prefix}s${d}`)};\n`;
      s += `  ${name}_rem = ${name}_rem / ${p.get(`${prefix}n${d}`)};\n`;
    } else s += `  ${target} += ${name}_rem * ${p.get(`${prefix}s0`)};\n`;
  }
  return s;
}

/** Writes `value` at OUT[index], or combines it with what is there when the dispatch accumulates. */
function store(p: Params, op: ReduceOp, t: 'f32' | 'i32', index: string, value: string): string {
  return (
    `  {\n    let at = ${index};\n    var res = ${value};\n` +
    `    if (${p.get('accumulate')} != 0u) { let acc = OUT[at]; let v = res; res = ${combine(op, t)}; }\n` +
    `    OUT[at] = res;\n  }\n`
  );
}

function dimFields(prefix: string, rank: number): [string, 'u32'][] {
  const f: [string, 'u32'][] = [];
  for (let d = 0; d < rank; d++) f.push([`${prefix}n${d}`, 'u32'], [`${prefix}s${d}`, 'u32']);
  return f;
}

export function reduceKernels(rt: Runtime) {
  /**
   * Reduces `shape` (contiguous in x's window from element xOff) over `axes` into out's window from oOff;
   * with `accumulate`, combines with what the output already holds.
   */
  function reduceDirect(
    op: ReduceOp,
    t: 'f32' | 'i32',
    xw: Window,
    xOff: number,
    ow: Window,
    oOff: number,
    shape: readonly number[],
    axesIn: readonly number[],
    outCount: number,
    accumulate = false,
  ): void {
    const inStrides = contiguousStrides(shape);
    const axes = new Set(axesIn);
    const keptShape: number[] = [];
    const keptStrides: number[] = [];
    const redShape: number[] = [];
    const redStrides: number[] = [];
    shape.forEach((n, d) => {
      if (axes.has(d)) {
        redShape.push(n);
        redStrides.push(inStrides[d]!);
      } else {
        keptShape.push(n);
        keptStrides.push(inStrides[d]!);
      }
    });
    const kept = collapseDims(keptShape, [keptStrides]);
    const red = collapseDims(redShape, [redStrides]);
    const R = redShape.reduce((a, b) => a * b, 1);
    if (R === 0) {
      // An empty reduction: the identity (the core rejects max/min over empty dims).
      const k = rt.kernel(`reduce-empty:${t}`, () => {
        const params = new Params([
          ['n', 'u32'],
          ['oOff', 'u32'],
        ]);
        return {
          params,
          kinds: ['write'],
          code:
            params.decl() +
            storage(1, 'write', 'OUT', t) +
            mainHeader() +
            params.lets() +
            `  if (i < n) { OUT[oOff + i] = ${t === 'f32' ? '0.0' : '0'}; }\n}\n`,
        };
      });
      if (!accumulate) rt.run(k, { n: outCount, oOff }, [ow], rt.grid(outCount, WG));
      return;
    }
    const kr = kept.shape.length;
    const rr = red.shape.length;
    if (kr > MAX_RANK || rr > MAX_RANK)
      throw new TesseraError(op, `cannot reduce a tensor whose kept or reduced dims do not collapse to ${MAX_RANK} (shape [${shape}], axes [${axesIn}])`);
    const values: Record<string, number> = { outs: outCount, R, xOff, oOff, accumulate: accumulate ? 1 : 0 };
    kept.shape.forEach((n, d) => ((values[`kn${d}`] = n), (values[`ks${d}`] = kept.strides[0]![d]!)));
    red.shape.forEach((n, d) => ((values[`rn${d}`] = n), (values[`rs${d}`] = red.strides[0]![d]!)));
    if (R <= 64 || outCount >= 8192) {
      const params = new Params([
        ['outs', 'u32'],
        ['R', 'u32'],
        ['xOff', 'u32'],
        ['oOff', 'u32'],
        ['accumulate', 'u32'],
        ...dimFields('k', kr),
        ...dimFields('r', rr),
      ]);
      const k = rt.kernel(`reduce-thread:${op}:${t}:${kr}:${rr}`, () => ({
        params,
        kinds: ['read', 'write'],
        code:
          NUMERIC +
          params.decl() +
          storage(1, 'read', 'xs', t) +
          storage(2, 'write', 'OUT', t) +
          mainHeader() +
          `  if (i >= ${params.get('outs')}) { return; }\n  var base = ${params.get('xOff')};\n` +
          decode('i', 'k', kr, params, 'base') +
          `  var acc: ${t} = ${identity(op, t)};\n` +
          `  for (var r = 0u; r < ${params.get('R')}; r++) {\n    var idx = base;\n` +
          decode('r', 'r', rr, params, 'idx').replace(/^/gm, '  ') +
          `    let v = xs[idx];\n    acc = ${combine(op, t)};\n  }\n` +
          store(params, op, t, `${params.get('oOff')} + i`, 'acc') +
          `}\n`,
      }));
      rt.run(k, values, [xw, ow], rt.grid(outCount, WG));
      return;
    }
    // One workgroup per (output, chunk); chunks only when outputs are too few to fill the device.
    const splits = outCount >= 128 || R < 65536 ? 1 : Math.min(Math.ceil(R / 16384), Math.ceil(512 / outCount));
    const chunk = Math.ceil(R / splits);
    const params = new Params([
      ['outs', 'u32'],
      ['R', 'u32'],
      ['xOff', 'u32'],
      ['oOff', 'u32'],
      ['accumulate', 'u32'],
      ['splits', 'u32'],
      ['chunk', 'u32'],
      ...dimFields('k', kr),
      ...dimFields('r', rr),
    ]);
    const k = rt.kernel(`reduce-group:${op}:${t}:${kr}:${rr}`, () => ({
      params,
      kinds: ['read', 'write'],
      code:
        NUMERIC +
        params.decl() +
        storage(1, 'read', 'xs', t) +
        storage(2, 'write', 'OUT', t) +
        `var<workgroup> sh: array<${t}, ${RWG}>;\n` +
        `@compute @workgroup_size(${RWG})\n` +
        `fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {\n` +
        `  let g = wid.x + wid.y * nwg.x;\n` +
        `  let splits = ${params.get('splits')};\n  let o = g / splits;\n  let s = g % splits;\n` +
        `  let inRange = o < ${params.get('outs')};\n` +
        `  var base = ${params.get('xOff')};\n` +
        decode('o', 'k', kr, params, 'base') +
        `  var acc: ${t} = ${identity(op, t)};\n` +
        `  let r0 = s * ${params.get('chunk')};\n  let r1 = select(0u, min(${params.get('R')}, r0 + ${params.get('chunk')}), inRange);\n` +
        `  for (var r = r0 + lid; r < r1; r += ${RWG}u) {\n    var idx = base;\n` +
        decode('r', 'r', rr, params, 'idx').replace(/^/gm, '  ') +
        `    let v = xs[idx];\n    acc = ${combine(op, t)};\n  }\n` +
        `  sh[lid] = acc;\n  workgroupBarrier();\n` +
        `  for (var step = ${RWG / 2}u; step > 0u; step = step >> 1u) {\n` +
        `    if (lid < step) { let v = sh[lid + step]; let acc = sh[lid]; sh[lid] = ${combine(op, t)}; }\n` +
        `    workgroupBarrier();\n  }\n` +
        `  if (lid == 0u && inRange) {\n` +
        store(params, op, t, `${params.get('oOff')} + g`, 'sh[0]') +
        `  }\n}\n`,
    }));
    if (splits === 1) {
      rt.run(k, { ...values, splits, chunk }, [xw, ow], rt.grid(outCount, 1));
      return;
    }
    const partial = rt.alloc(t === 'f32' ? 'float32' : 'int32', outCount * splits, op);
    try {
      rt.run(k, { ...values, oOff: 0, accumulate: 0, splits, chunk }, [xw, rt.whole(partial, op, 'partial results')], rt.grid(outCount * splits, 1));
      // Partials are [outs, splits]: reduce the last axis.
      reduceDirect(op, t, rt.whole(partial, op, 'partial results'), 0, ow, oOff, [outCount, splits], [1], outCount, accumulate);
    } finally {
      rt.release(partial);
    }
  }

  function reduce(op: ReduceOp, x: GpuBuffer, out: GpuBuffer, p: ReduceParams): void {
    rt.alive(op);
    if (out.size === 0) return;
    const t = wgslType(x.dtype);
    const limit = rt.limits.maxStorageBufferBindingSize;
    if (x.size * 4 <= limit && out.size * 4 <= limit) {
      reduceDirect(op, t, rt.whole(x, op, 'input'), 0, rt.whole(out, op, 'output'), 0, p.shape, p.axes, out.size);
      return;
    }
    reduceSplit(op, t, x, out, p);
  }

  /**
   * A reduction whose input (or output) is larger than one binding: the input is cut along its outermost
   * dimensions into contiguous boxes that fit; each box is reduced into its place in the output, the first
   * box of each output region writing it and later ones (other slices of a reduced dimension) combining.
   */
  function reduceSplit(op: ReduceOp, t: 'f32' | 'i32', x: GpuBuffer, out: GpuBuffer, p: ReduceParams): void {
    const shape = p.shape;
    const rank = shape.length;
    const axes = new Set(p.axes);
    const maxElems = Math.floor((rt.limits.maxStorageBufferBindingSize - rt.limits.minStorageBufferOffsetAlignment) / 4);
    const inner: number[] = new Array(rank).fill(1);
    for (let d = rank - 2; d >= 0; d--) inner[d] = inner[d + 1]! * shape[d + 1]!;
    let d = 0;
    while (inner[d]! > maxElems) d++;
    const per = Math.max(1, Math.floor(maxElems / inner[d]!));
    // Output strides of the kept dimensions.
    const outStride: number[] = new Array(rank).fill(0);
    for (let i = rank - 1, s = 1; i >= 0; i--) {
      if (!axes.has(i)) {
        outStride[i] = s;
        s *= shape[i]!;
      }
    }
    let keptAfter = 1;
    for (let i = d + 1; i < rank; i++) if (!axes.has(i)) keptAfter *= shape[i]!;
    const outer = shape.slice(0, d).reduce((a, b) => a * b, 1);
    const subAxes = p.axes.filter((a) => a >= d).map((a) => a - d);
    const coords: number[] = new Array(d).fill(0);
    for (let oi = 0; oi < outer; oi++) {
      let rem = oi;
      for (let i = d - 1; i >= 0; i--) {
        coords[i] = rem % shape[i]!;
        rem = Math.floor(rem / shape[i]!);
      }
      let keptBase = 0;
      let firstSlice = true;
      for (let i = 0; i < d; i++) {
        if (axes.has(i)) firstSlice &&= coords[i] === 0;
        else keptBase += coords[i]! * outStride[i]!;
      }
      for (let s = 0; s < shape[d]!; s += per) {
        const len = Math.min(per, shape[d]! - s);
        const xLo = (oi * shape[d]! + s) * inner[d]!;
        const subCount = (axes.has(d) ? 1 : len) * keptAfter;
        const outLo = keptBase + (axes.has(d) ? 0 : s * keptAfter);
        const xw = rt.window(x, xLo, xLo + len * inner[d]!);
        const ow = out.size * 4 <= rt.limits.maxStorageBufferBindingSize ? rt.whole(out, op, 'output') : rt.window(out, outLo, outLo + subCount);
        const accumulate = !firstSlice || (axes.has(d) && s > 0);
        reduceDirect(op, t, xw, xLo - xw.base, ow, outLo - ow.base, [len, ...shape.slice(d + 1)], subAxes, subCount, accumulate);
      }
    }
  }

  function argReduce(op: 'argmax' | 'argmin', x: GpuBuffer, out: GpuBuffer, p: ArgReduceParams): void {
    rt.alive(op);
    const { outer, size, inner } = p;
    if (outer * inner === 0) return;
    if (size === 0) throw new TesseraError(op, 'cannot take an arg-reduction over an empty dimension');
    const t = wgslType(x.dtype);
    const better = op === 'argmax' ? 'va > vb' : 'va < vb';
    const nanA = t === 'f32' ? 'is_nan(va)' : 'false';
    const nanB = t === 'f32' ? 'is_nan(vb)' : 'false';
    // Whether candidate (va, ia) beats (vb, ib): NaN beats everything, then the extreme, then the lower index.
    const BETTER = `
fn better(va: ${t}, ia: u32, vb: ${t}, ib: u32) -> bool {
  let na = ${nanA};
  let nb = ${nanB};
  if (na != nb) { return na; }
  if (na) { return ia < ib; }
  if (va != vb) { return ${better}; }
  return ia < ib;
}
`;
    const params = new Params([
      ['outer', 'u32'],
      ['size', 'u32'],
      ['inner', 'u32'],
    ]);
    const bindings = [rt.whole(x, op, 'input'), rt.whole(out, op, 'output')];
    const outs = outer * inner;
    if (size <= 256 || outs >= 4096) {
      const k = rt.kernel(`arg-thread:${op}:${t}`, () => ({
        params,
        kinds: ['read', 'write'],
        code:
          NUMERIC +
          BETTER +
          params.decl() +
          storage(1, 'read', 'xs', t) +
          storage(2, 'write', 'OUT', 'i32') +
          mainHeader() +
          params.lets() +
          `  if (i >= outer * inner) { return; }\n  let ob = i / inner;\n  let j = i % inner;\n  let base = ob * size * inner + j;\n` +
          `  var bv = xs[base];\n  var bi = 0u;\n` +
          `  for (var s = 1u; s < size; s++) {\n    let v = xs[base + s * inner];\n    if (better(v, s, bv, bi)) { bv = v; bi = s; }\n  }\n  OUT[i] = i32(bi);\n}\n`,
      }));
      rt.run(k, { outer, size, inner }, bindings, rt.grid(outs, WG));
      return;
    }
    const k = rt.kernel(`arg-group:${op}:${t}`, () => ({
      params,
      kinds: ['read', 'write'],
      code:
        NUMERIC +
        BETTER +
        params.decl() +
        storage(1, 'read', 'xs', t) +
        storage(2, 'write', 'OUT', 'i32') +
        `var<workgroup> shv: array<${t}, ${RWG}>;\nvar<workgroup> shi: array<u32, ${RWG}>;\n` +
        `@compute @workgroup_size(${RWG})\n` +
        `fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {\n` +
        params.lets() +
        `  let g = wid.x + wid.y * nwg.x;\n  let inRange = g < outer * inner;\n` +
        `  let ob = g / inner;\n  let j = g % inner;\n  let base = ob * size * inner + j;\n` +
        `  var bv = xs[base];\n  var bi = 0xffffffffu;\n` +
        `  let end = select(0u, size, inRange);\n` +
        `  for (var s = lid; s < end; s += ${RWG}u) {\n    let v = xs[base + s * inner];\n    if (bi == 0xffffffffu || better(v, s, bv, bi)) { bv = v; bi = s; }\n  }\n` +
        `  shv[lid] = bv;\n  shi[lid] = bi;\n  workgroupBarrier();\n` +
        `  for (var step = ${RWG / 2}u; step > 0u; step = step >> 1u) {\n` +
        `    if (lid < step) {\n      let ov = shv[lid + step];\n      let oi = shi[lid + step];\n` +
        `      if (oi != 0xffffffffu && (shi[lid] == 0xffffffffu || better(ov, oi, shv[lid], shi[lid]))) { shv[lid] = ov; shi[lid] = oi; }\n    }\n` +
        `    workgroupBarrier();\n  }\n` +
        `  if (lid == 0u && inRange) { OUT[g] = i32(shi[0]); }\n}\n`,
    }));
    rt.run(k, { outer, size, inner }, bindings, rt.grid(outs, 1));
  }

  return { reduce, argReduce };
}
