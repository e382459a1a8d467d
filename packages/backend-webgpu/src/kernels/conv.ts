/**
 * 2-D convolution forward, input-gradient and filter-gradient as implicit GEMMs on the tiled template: the
 * im2col matrix is never materialised; its elements are gathered from the image while a tile is staged in
 * workgroup memory. Per group g (grid z):
 * - forward:       Y[co, (n,oy,ox)]   = Σ_(ci,ky,kx) W[co, (ci,ky,kx)] · X[n, ci, oy·s−p+ky·d, ox·s−p+kx·d]
 * - input grad:    dX[ci, (n,iy,ix)]  = Σ_(co,ky,kx) W[co, ci, ky, kx] · dY[n, co, (iy+p−ky·d)/s, (ix+p−kx·d)/s]
 * - filter grad:   dW[co, (ci,ky,kx)] = Σ_(n,oy,ox) dY[n, co, oy, ox] · X[n, ci, oy·s−p+ky·d, ox·s−p+kx·d]
 * A small per-geometry table (uploaded once) maps a (ci, ky, kx) index to its image offset, so the inner
 * staging loop does no integer division. The filter gradient's long reduction (batch × output pixels) is
 * split across workgroups and summed by a second pass. Batches whose tensors exceed one storage binding are
 * processed in image chunks (the filter gradient accumulating over them).
 */
import type { Conv2dParams } from '@tessera/tensor';
import { TesseraError } from '@tessera/tensor';
import { type GpuBuffer, Params, type Runtime, type Window } from '../runtime.js';
import { WG, mainHeader, storage } from '../wgsl/common.js';
import { type PerItemOperand, bindRange, leadingChunks } from '../binding-windows/per-item.js';
import { type TileConfig, gemmShader, tileFor } from './gemm.js';

function cfgKey(c: TileConfig): string {
  return `${c.bm}x${c.bn}x${c.bk}t${c.tm}`;
}

const GEOMETRY: [string, 'u32' | 'i32'][] = [
  ['nImg', 'u32'],
  ['cin', 'u32'],
  ['h', 'u32'],
  ['w', 'u32'],
  ['cout', 'u32'],
  ['oh', 'u32'],
  ['ow', 'u32'],
  ['cpg', 'u32'],
  ['opg', 'u32'],
  ['khkw', 'u32'],
  ['ph', 'i32'],
  ['pw', 'i32'],
  ['sh', 'u32'],
  ['sw', 'u32'],
];

/**
 * X at (row iy0 + t.y, column ix0 + t.z) of the image whose (iy0, ix0) element is at `base`; 0 outside.
 * Branch-free (one unsigned compare per axis, a clamped load): measurably faster than a branch on SwiftShader.
 */
const X_AT = /* wgsl */ `
fn x_at(base: i32, iy0: i32, ix0: i32, t: vec4<i32>, h: i32, w: i32) -> f32 {
  let ok = u32(iy0 + t.y) < u32(h) && u32(ix0 + t.z) < u32(w);
  let v = X[u32(select(0, base + t.x, ok))];
  return select(0.0, v, ok);
}
`;

function geometryValues(p: Conv2dParams, nImg: number): Record<string, number> {
  const cpg = p.cIn / p.groups;
  const opg = p.cOut / p.groups;
  return {
    nImg,
    cin: p.cIn,
    h: p.h,
    w: p.w,
    cout: p.cOut,
    oh: p.outH,
    ow: p.outW,
    cpg,
    opg,
    khkw: p.kh * p.kw,
    ph: p.padH,
    pw: p.padW,
    sh: p.strideH,
    sw: p.strideW,
  };
}

export function convKernels(rt: Runtime) {
  /** (ci·h·w + ky·d·w + kx·d, ky·d, kx·d, 0) for every (ci, ky, kx): an im2col row's offset into the image. */
  function imageTable(p: Conv2dParams): GpuBuffer {
    const cpg = p.cIn / p.groups;
    return rt.table(`conv-x:${cpg}:${p.kh}:${p.kw}:${p.dilationH}:${p.dilationW}:${p.h}:${p.w}`, () => {
      const t = new Int32Array(cpg * p.kh * p.kw * 4);
      let i = 0;
      for (let ci = 0; ci < cpg; ci++)
        for (let ky = 0; ky < p.kh; ky++)
          for (let kx = 0; kx < p.kw; kx++, i += 4) {
            t[i] = ci * p.h * p.w + ky * p.dilationH * p.w + kx * p.dilationW;
            t[i + 1] = ky * p.dilationH;
            t[i + 2] = kx * p.dilationW;
          }
      return t;
    });
  }

  /** (co·cpg·kh·kw + ky·kw + kx, co·oh·ow, ky·d, kx·d) for every (co, ky, kx) of a group. */
  function gradientTable(p: Conv2dParams): GpuBuffer {
    const cpg = p.cIn / p.groups;
    const opg = p.cOut / p.groups;
    return rt.table(`conv-dy:${cpg}:${opg}:${p.kh}:${p.kw}:${p.dilationH}:${p.dilationW}:${p.outH}:${p.outW}`, () => {
      const t = new Int32Array(opg * p.kh * p.kw * 4);
      let i = 0;
      for (let co = 0; co < opg; co++)
        for (let ky = 0; ky < p.kh; ky++)
          for (let kx = 0; kx < p.kw; kx++, i += 4) {
            t[i] = co * cpg * p.kh * p.kw + ky * p.kw + kx;
            t[i + 1] = co * p.outH * p.outW;
            t[i + 2] = ky * p.dilationH;
            t[i + 3] = kx * p.dilationW;
          }
      return t;
    });
  }

  function imageChunks(op: string, n: number, perImage: readonly PerItemOperand[], columnsPerImage: number, bn: number): [number, number][] {
    // The GEMM's columns (images × pixels) must also stay within the dispatch limit.
    const maxImages = Math.floor((rt.limits.maxComputeWorkgroupsPerDimension * bn) / Math.max(1, columnsPerImage));
    if (maxImages < 1)
      throw new TesseraError(op, `one image needs more workgroups than this device dispatches (${rt.limits.maxComputeWorkgroupsPerDimension} per dimension)`);
    return leadingChunks(rt, op, n, perImage, maxImages);
  }

  function bind(buffer: GpuBuffer, lo: number, hi: number, op: string, role: string): Window {
    return bindRange(rt, buffer, lo, hi, op, role);
  }

  // ---- forward -------------------------------------------------------------------------------------

  const fwdParams = new Params([...GEOMETRY, ['xOff', 'u32'], ['yOff', 'u32'], ['hasBias', 'u32']]);

  function forwardKernel(c: TileConfig) {
    return rt.kernel(`conv2d:${cfgKey(c)}`, () => ({
      params: fwdParams,
      kinds: ['read', 'read', 'read', 'read', 'write'],
      code: gemmShader(
        {
          decls:
            fwdParams.decl() +
            storage(1, 'read', 'X', 'f32') +
            storage(2, 'read', 'W', 'f32') +
            storage(3, 'read', 'TBL', 'vec4<i32>') +
            storage(4, 'read', 'BIAS', 'f32') +
            storage(5, 'write', 'Y', 'f32') +
            X_AT,
          prologue:
            fwdParams.lets() +
            `  let g = wid.z;\n  let kBegin = 0u;\n  let kEnd = cpg * khkw;\n  let ohw = oh * ow;\n  let wBase = g * opg * kEnd;\n` +
            `  let hi = i32(h);\n  let wi = i32(w);\n`,
          M: 'opg',
          N: 'nImg * ohw',
          a: { fast: 'k', load: (co, k) => `W[wBase + ${co} * kEnd + ${k}]` },
          b: {
            fast: 'mn',
            fixed: (col) =>
              `  let b_img = ${col} / ohw;\n  let b_p = ${col} % ohw;\n` +
              `  let b_iy0 = i32((b_p / ow) * sh) - ph;\n  let b_ix0 = i32((b_p % ow) * sw) - pw;\n` +
              `  let b_base = i32(xOff + (b_img * cin + g * cpg) * h * w) + b_iy0 * wi + b_ix0;\n`,
            load: (_col, k) => `x_at(b_base, b_iy0, b_ix0, TBL[${k}], hi, wi)`,
          },
          store: (co, col, v) =>
            `let img = ${col} / ohw; let pp = ${col} % ohw; let oc = g * opg + ${co}; ` +
            `Y[yOff + (img * cout + oc) * ohw + pp] = ${v} + select(0.0, BIAS[oc], hasBias != 0u);`,
        },
        c,
      ),
    }));
  }

  function conv2d(x: GpuBuffer, weight: GpuBuffer, bias: GpuBuffer | null, y: GpuBuffer, p: Conv2dParams): void {
    const op = 'conv2d';
    rt.alive(op);
    if (y.size === 0) return;
    const c = tileFor(p.cOut / p.groups, (p.cIn / p.groups) * p.kh * p.kw, true);
    const k = forwardKernel(c);
    const table = rt.whole(imageTable(p), op, 'im2col table');
    const wWin = rt.whole(weight, op, 'weight');
    // Without a bias the weight is bound in its place (read-only, never read).
    const bWin = bias ? rt.whole(bias, op, 'bias') : wWin;
    const xImg = p.cIn * p.h * p.w;
    const yImg = p.cOut * p.outH * p.outW;
    const ohw = p.outH * p.outW;
    for (const [n0, n1] of imageChunks(
      op,
      p.n,
      [
        { buffer: x, elems: xImg, role: 'input' },
        { buffer: y, elems: yImg, role: 'output' },
      ],
      ohw,
      c.bn,
    )) {
      const xw = bind(x, n0 * xImg, n1 * xImg, op, 'input');
      const yw = bind(y, n0 * yImg, n1 * yImg, op, 'output');
      const values = { ...geometryValues(p, n1 - n0), xOff: n0 * xImg - xw.base, yOff: n0 * yImg - yw.base, hasBias: bias ? 1 : 0 };
      rt.run(k, values, [xw, wWin, table, bWin, yw], [Math.ceil(((n1 - n0) * ohw) / c.bn), Math.ceil(p.cOut / p.groups / c.bm), p.groups]);
    }
  }

  // ---- input gradient ----------------------------------------------------------------------------

  const bwdInParams = new Params([...GEOMETRY, ['dyOff', 'u32'], ['dxOff', 'u32']]);

  function backwardInputKernel(c: TileConfig, p: Conv2dParams) {
    // Unit strides (the common case) need no divisibility test and no division. Branch-free like x_at.
    const unit = p.strideH === 1 && p.strideW === 1;
    const DY_AT = unit
      ? `
fn dy_at(base: u32, ty0: i32, tx0: i32, t: vec4<i32>, oh: i32, ow: i32, sh: i32, sw: i32) -> f32 {
  let oy = ty0 - t.z;
  let ox = tx0 - t.w;
  let ok = u32(oy) < u32(oh) && u32(ox) < u32(ow);
  let v = DY[base + u32(select(0, t.y + oy * ow + ox, ok))];
  return select(0.0, v, ok);
}
`
      : `
fn dy_at(base: u32, ty0: i32, tx0: i32, t: vec4<i32>, oh: i32, ow: i32, sh: i32, sw: i32) -> f32 {
  let ty = ty0 - t.z;
  let tx = tx0 - t.w;
  let oy = ty / sh;
  let ox = tx / sw;
  let ok = ty >= 0 && tx >= 0 && oy * sh == ty && ox * sw == tx && oy < oh && ox < ow;
  let v = DY[base + u32(select(0, t.y + oy * ow + ox, ok))];
  return select(0.0, v, ok);
}
`;
    return rt.kernel(`conv2dBackwardInput:${cfgKey(c)}:${unit ? 'unit' : 'strided'}`, () => ({
      params: bwdInParams,
      kinds: ['read', 'read', 'read', 'write'],
      code: gemmShader(
        {
          decls:
            bwdInParams.decl() +
            storage(1, 'read', 'DY', 'f32') +
            storage(2, 'read', 'W', 'f32') +
            storage(3, 'read', 'TBL', 'vec4<i32>') +
            storage(4, 'write', 'DX', 'f32') +
            DY_AT,
          prologue:
            bwdInParams.lets() +
            `  let g = wid.z;\n  let kBegin = 0u;\n  let kEnd = opg * khkw;\n  let hw = h * w;\n  let ohw = oh * ow;\n` +
            `  let wBase = g * opg * cpg * khkw;\n  let ohi = i32(oh);\n  let owi = i32(ow);\n`,
          M: 'cpg',
          N: 'nImg * hw',
          a: { fast: 'k', fixed: (k) => `let ta = TBL[${k}];\n`, load: (ci, _k) => `W[wBase + ${ci} * khkw + u32(ta.x)]` },
          b: {
            fast: 'mn',
            fixed: (col) =>
              `  let b_img = ${col} / hw;\n  let b_p = ${col} % hw;\n` +
              `  let b_ty0 = i32(b_p / w) + ph;\n  let b_tx0 = i32(b_p % w) + pw;\n` +
              `  let b_base = dyOff + (b_img * cout + g * opg) * ohw;\n`,
            load: (_col, k) => `dy_at(b_base, b_ty0, b_tx0, TBL[${k}], ohi, owi, i32(sh), i32(sw))`,
          },
          store: (ci, col, v) => `let img = ${col} / hw; let pp = ${col} % hw; DX[dxOff + (img * cin + g * cpg + ${ci}) * hw + pp] = ${v};`,
        },
        c,
      ),
    }));
  }

  function conv2dBackwardInput(dy: GpuBuffer, weight: GpuBuffer, dx: GpuBuffer, p: Conv2dParams): void {
    const op = 'conv2dBackwardInput';
    rt.alive(op);
    if (dx.size === 0) return;
    const c = tileFor(p.cIn / p.groups, (p.cOut / p.groups) * p.kh * p.kw, true);
    const k = backwardInputKernel(c, p);
    const table = rt.whole(gradientTable(p), op, 'gradient table');
    const wWin = rt.whole(weight, op, 'weight');
    const xImg = p.cIn * p.h * p.w;
    const yImg = p.cOut * p.outH * p.outW;
    const hw = p.h * p.w;
    for (const [n0, n1] of imageChunks(
      op,
      p.n,
      [
        { buffer: dy, elems: yImg, role: 'output gradient' },
        { buffer: dx, elems: xImg, role: 'input gradient' },
      ],
      hw,
      c.bn,
    )) {
      const dyw = bind(dy, n0 * yImg, n1 * yImg, op, 'output gradient');
      const dxw = bind(dx, n0 * xImg, n1 * xImg, op, 'input gradient');
      const values = { ...geometryValues(p, n1 - n0), dyOff: n0 * yImg - dyw.base, dxOff: n0 * xImg - dxw.base };
      rt.run(k, values, [dyw, wWin, table, dxw], [Math.ceil(((n1 - n0) * hw) / c.bn), Math.ceil(p.cIn / p.groups / c.bm), p.groups]);
    }
  }

  // ---- filter gradient ---------------------------------------------------------------------------

  const bwdFilterParams = new Params([
    ...GEOMETRY,
    ['xOff', 'u32'],
    ['dyOff', 'u32'],
    ['splits', 'u32'],
    ['chunk', 'u32'],
    ['outStride', 'u32'],
    ['accumulate', 'u32'],
  ]);

  /** Split s of the reduction writes (or, with `accumulate`, adds) its result at s·outStride of the output. */
  function backwardFilterKernel(c: TileConfig) {
    return rt.kernel(`conv2dBackwardFilter:${cfgKey(c)}`, () => ({
      params: bwdFilterParams,
      kinds: ['read', 'read', 'read', 'write'],
      code: gemmShader(
        {
          decls:
            bwdFilterParams.decl() +
            storage(1, 'read', 'X', 'f32') +
            storage(2, 'read', 'DY', 'f32') +
            storage(3, 'read', 'TBL', 'vec4<i32>') +
            storage(4, 'write', 'DW', 'f32') +
            X_AT,
          prologue:
            bwdFilterParams.lets() +
            `  let g = wid.z / splits;\n  let split = wid.z % splits;\n  let ohw = oh * ow;\n  let hw = h * w;\n` +
            `  let kBegin = split * chunk;\n  let kEnd = min(nImg * ohw, kBegin + chunk);\n  let hi = i32(h);\n  let wi = i32(w);\n` +
            `  let nCols = cpg * khkw;\n`,
          M: 'opg',
          N: 'nCols',
          a: {
            fast: 'k',
            fixed: (pos) => `let a_img = ${pos} / ohw;\nlet a_base = dyOff + (a_img * cout + g * opg) * ohw + ${pos} % ohw;\n`,
            load: (co, _pos) => `DY[a_base + ${co} * ohw]`,
          },
          b: {
            fast: 'k',
            fixed: (pos) =>
              `let b_img = ${pos} / ohw;\nlet b_p = ${pos} % ohw;\n` +
              `let b_iy0 = i32((b_p / ow) * sh) - ph;\nlet b_ix0 = i32((b_p % ow) * sw) - pw;\n` +
              `let b_base = i32(xOff + (b_img * cin + g * cpg) * hw) + b_iy0 * wi + b_ix0;\n`,
            load: (kc, _pos) => `x_at(b_base, b_iy0, b_ix0, TBL[${kc}], hi, wi)`,
          },
          store: (co, kc, v) =>
            `let idx = split * outStride + (g * opg + ${co}) * nCols + ${kc}; if (accumulate != 0u) { DW[idx] += ${v}; } else { DW[idx] = ${v}; }`,
        },
        c,
      ),
    }));
  }

  const sumParams = new Params([
    ['n', 'u32'],
    ['splits', 'u32'],
  ]);

  function sumSplits(accumulate: boolean) {
    return rt.kernel(`conv2dBackwardFilter:sum:${accumulate ? 'acc' : 'set'}`, () => ({
      params: sumParams,
      kinds: ['read', 'write'],
      code:
        sumParams.decl() +
        storage(1, 'read', 'P', 'f32') +
        storage(2, 'write', 'DW', 'f32') +
        mainHeader() +
        sumParams.lets() +
        `  if (i >= n) { return; }\n  var s = 0.0;\n  for (var t = 0u; t < splits; t++) { s += P[t * n + i]; }\n` +
        (accumulate ? `  DW[i] += s;\n}\n` : `  DW[i] = s;\n}\n`),
    }));
  }

  function conv2dBackwardFilter(x: GpuBuffer, dy: GpuBuffer, dw: GpuBuffer, p: Conv2dParams): void {
    const op = 'conv2dBackwardFilter';
    rt.alive(op);
    if (dw.size === 0) return;
    const opg = p.cOut / p.groups;
    const nCols = (p.cIn / p.groups) * p.kh * p.kw;
    const c = tileFor(opg, p.n * p.outH * p.outW, false);
    const table = rt.whole(imageTable(p), op, 'im2col table');
    const dwWin = rt.whole(dw, op, 'weight gradient');
    const xImg = p.cIn * p.h * p.w;
    const yImg = p.cOut * p.outH * p.outW;
    const ohw = p.outH * p.outW;
    const chunks = imageChunks(
      op,
      p.n,
      [
        { buffer: x, elems: xImg, role: 'input' },
        { buffer: dy, elems: yImg, role: 'output gradient' },
      ],
      0,
      c.bn,
    );
    if (p.n === 0 || ohw === 0) {
      // No positions: dW is zero.
      const k = sumSplits(false);
      const zero = rt.alloc('float32', 1, op);
      try {
        rt.run(k, { n: dw.size, splits: 0 }, [rt.whole(zero, op, 'scratch'), dwWin], rt.grid(dw.size, WG));
      } finally {
        rt.release(zero);
      }
      return;
    }
    const tiles = Math.ceil(opg / c.bm) * Math.ceil(nCols / c.bn) * p.groups;
    chunks.forEach(([n0, n1], index) => {
      const K = (n1 - n0) * ohw;
      // Enough workgroups to fill a large GPU, each with a reduction of at least 512.
      const maxSplits = Math.floor(rt.limits.maxComputeWorkgroupsPerDimension / p.groups);
      const splits = Math.max(1, Math.min(Math.ceil(256 / tiles), Math.floor(K / 512), maxSplits));
      const chunk = Math.ceil(K / splits / c.bk) * c.bk;
      const used = Math.ceil(K / chunk);
      const xw = bind(x, n0 * xImg, n1 * xImg, op, 'input');
      const dyw = bind(dy, n0 * yImg, n1 * yImg, op, 'output gradient');
      const values = {
        ...geometryValues(p, n1 - n0),
        xOff: n0 * xImg - xw.base,
        dyOff: n0 * yImg - dyw.base,
        splits: used,
        chunk,
        outStride: dw.size,
        accumulate: 0,
      };
      const grid: [number, number, number] = [Math.ceil(nCols / c.bn), Math.ceil(opg / c.bm), p.groups * used];
      if (used === 1) {
        rt.run(backwardFilterKernel(c), { ...values, outStride: 0, accumulate: index === 0 ? 0 : 1 }, [xw, dyw, table, dwWin], grid);
        return;
      }
      const partial = rt.alloc('float32', used * dw.size, op);
      try {
        rt.run(backwardFilterKernel(c), values, [xw, dyw, table, rt.whole(partial, op, 'partial weight gradients')], grid);
        rt.run(sumSplits(index > 0), { n: dw.size, splits: used }, [rt.whole(partial, op, 'partial weight gradients'), dwWin], rt.grid(dw.size, WG));
      } finally {
        rt.release(partial);
      }
    });
  }

  return { conv2d, conv2dBackwardInput, conv2dBackwardFilter };
}
