/** Shape and layout ops: reshape (a view), and permute, expand, slice, cat, pad, indexSelect (copies). */
import { record } from '../autograd.js';
import { TesseraError, fmtShape } from '../errors.js';
import { broadcastStrides, contiguousStrides, normAxis, shapesEqual, sizeOf } from '../shape.js';
import { Tensor } from '../tensor.js';
import { sumToShape } from './elementwise.js';
import { empty, filled, kernels, sameBackend } from './util.js';

/** Accepts both `f(2, 3)` and `f([2, 3])`. */
export function shapeArgs(args: number[] | [readonly number[]]): number[] {
  if (args.length === 1 && Array.isArray(args[0])) return (args[0] as readonly number[]).slice();
  return args as number[];
}

export function reshape(x: Tensor, shapeIn: readonly number[]): Tensor {
  const shape = shapeIn.slice();
  const unknown = shape.indexOf(-1);
  if (shape.some((d, i) => !Number.isInteger(d) || d < -1 || (d === -1 && i !== unknown))) {
    throw new TesseraError('reshape', `invalid target shape ${fmtShape(shapeIn)}: dims must be non-negative integers with at most one -1`);
  }
  if (unknown >= 0) {
    const known = sizeOf(shape.filter((_, i) => i !== unknown));
    if (known === 0 || x.size % known !== 0) {
      throw new TesseraError('reshape', `cannot infer the -1 in ${fmtShape(shapeIn)} for a tensor of ${x.size} elements ${fmtShape(x.shape)}`);
    }
    shape[unknown] = x.size / known;
  }
  if (sizeOf(shape) !== x.size) {
    throw new TesseraError('reshape', `cannot reshape ${fmtShape(x.shape)} (${x.size} elements) into ${fmtShape(shape)} (${sizeOf(shape)} elements)`);
  }
  const out = new Tensor(x.storageForView('reshape'), shape, x.dtype);
  return record(out, 'reshape', [x], (g) => [g.reshape(x.shape as number[])]);
}

export function flatten(x: Tensor, startDim: number, endDim: number): Tensor {
  if (x.rank === 0) return reshape(x, [1]);
  const s = normAxis(startDim, x.rank, 'flatten');
  const e = normAxis(endDim, x.rank, 'flatten');
  if (s > e) throw new TesseraError('flatten', `startDim ${startDim} comes after endDim ${endDim} for ${fmtShape(x.shape)}`);
  const shape = [...x.shape.slice(0, s), sizeOf(x.shape.slice(s, e + 1)), ...x.shape.slice(e + 1)];
  return reshape(x, shape);
}

export function squeeze(x: Tensor, dim?: number): Tensor {
  if (dim === undefined)
    return reshape(
      x,
      x.shape.filter((d) => d !== 1),
    );
  const d = normAxis(dim, x.rank, 'squeeze');
  return x.shape[d] === 1
    ? reshape(
        x,
        x.shape.filter((_, i) => i !== d),
      )
    : reshape(x, x.shape);
}

export function unsqueeze(x: Tensor, dim: number): Tensor {
  const d = normAxis(dim, x.rank + 1, 'unsqueeze');
  const shape = x.shape.slice();
  shape.splice(d, 0, 1);
  return reshape(x, shape);
}

export function permute(x: Tensor, dims: readonly number[]): Tensor {
  x.buf('permute');
  if (dims.length !== x.rank) {
    throw new TesseraError('permute', `needs ${x.rank} dims for a tensor of shape ${fmtShape(x.shape)}, got ${JSON.stringify(dims)}`);
  }
  const perm = dims.map((d) => normAxis(d, x.rank, 'permute'));
  if (new Set(perm).size !== perm.length) throw new TesseraError('permute', `dims ${JSON.stringify(dims)} repeat a dimension`);
  const inStrides = contiguousStrides(x.shape);
  const outShape = perm.map((p) => x.shape[p]!);
  const out = empty(x.backendImpl, outShape, x.dtype);
  if (x.size > 0) {
    kernels(x).copy(x.buf('permute'), out.buf('permute'), {
      shape: outShape,
      inStrides: perm.map((p) => inStrides[p]!),
      inOffset: 0,
      outStrides: contiguousStrides(outShape),
      outOffset: 0,
    });
  }
  const inverse = new Array<number>(perm.length);
  perm.forEach((p, i) => (inverse[p] = i));
  return record(out, 'permute', [x], (g) => [permute(g, inverse)]);
}

export function transpose(x: Tensor, dim0: number, dim1: number): Tensor {
  if (x.rank < 2 && dim0 === -2 && dim1 === -1) return reshape(x, x.shape);
  const a = normAxis(dim0, x.rank, 'transpose');
  const b = normAxis(dim1, x.rank, 'transpose');
  const perm = x.shape.map((_, i) => i);
  perm[a] = b;
  perm[b] = a;
  return permute(x, perm);
}

/** Broadcasts to `shape` (-1 keeps a dimension), as torch.Tensor.expand but materialised. */
export function expand(x: Tensor, shapeIn: readonly number[]): Tensor {
  x.buf('expand');
  if (shapeIn.length < x.rank) {
    throw new TesseraError('expand', `target ${fmtShape(shapeIn)} has fewer dims than the tensor ${fmtShape(x.shape)}`);
  }
  const lead = shapeIn.length - x.rank;
  const shape = shapeIn.map((d, i) => (d === -1 && i >= lead ? x.shape[i - lead]! : d));
  shape.forEach((d, i) => {
    const src = i >= lead ? x.shape[i - lead]! : 1;
    if (!Number.isInteger(d) || d < 0 || (src !== 1 && src !== d)) {
      throw new TesseraError('expand', `cannot expand ${fmtShape(x.shape)} to ${fmtShape(shapeIn)} (dimension ${i}: ${src} vs ${d})`);
    }
  });
  if (shapesEqual(shape, x.shape)) return reshape(x, shape);
  const out = empty(x.backendImpl, shape, x.dtype);
  if (out.size > 0) {
    kernels(x).copy(x.buf('expand'), out.buf('expand'), {
      shape,
      inStrides: broadcastStrides(x.shape, shape),
      inOffset: 0,
      outStrides: contiguousStrides(shape),
      outOffset: 0,
    });
  }
  return record(out, 'expand', [x], (g) => [sumToShape(g, x.shape)]);
}

interface Region {
  starts: number[];
  steps: number[];
  counts: number[];
}

/** Copies `src` (contiguous, shape = region counts) into `region` of a new zero tensor of `shape`. */
function embed(src: Tensor, shape: readonly number[], region: Region, fillValue: number, op: string): Tensor {
  const out = filled(src.backendImpl, shape, src.dtype, fillValue);
  if (src.size > 0) {
    const strides = contiguousStrides(shape);
    kernels(src).copy(src.buf(op), out.buf(op), {
      shape: region.counts,
      inStrides: contiguousStrides(region.counts),
      inOffset: 0,
      outStrides: strides.map((s, i) => s * region.steps[i]!),
      outOffset: region.starts.reduce((acc, s0, i) => acc + s0 * strides[i]!, 0),
    });
  }
  return out;
}

/** Extracts `region` of `x` into a new contiguous tensor. */
function extract(x: Tensor, region: Region, op: string): Tensor {
  const out = empty(x.backendImpl, region.counts, x.dtype);
  if (out.size > 0) {
    const strides = contiguousStrides(x.shape);
    kernels(x).copy(x.buf(op), out.buf(op), {
      shape: region.counts,
      inStrides: strides.map((s, i) => s * region.steps[i]!),
      inOffset: region.starts.reduce((acc, s0, i) => acc + s0 * strides[i]!, 0),
      outStrides: contiguousStrides(region.counts),
      outOffset: 0,
    });
  }
  return out;
}

function sliceRegion(x: Tensor, ranges: readonly (readonly [number, number?, number?] | null)[]): Region {
  if (ranges.length > x.rank) {
    throw new TesseraError('slice', `${ranges.length} ranges given for a tensor of rank ${x.rank} ${fmtShape(x.shape)}`);
  }
  const region: Region = { starts: [], steps: [], counts: [] };
  x.shape.forEach((n, i) => {
    const r = ranges[i];
    const step = r?.[2] ?? 1;
    if (!Number.isInteger(step) || step <= 0) throw new TesseraError('slice', `step must be a positive integer, got ${step} for dimension ${i}`);
    const clampIndex = (v: number) => Math.min(Math.max(v < 0 ? v + n : v, 0), n);
    const start = r ? clampIndex(r[0]) : 0;
    const end = r && r[1] !== undefined ? clampIndex(r[1]) : n;
    region.starts.push(start);
    region.steps.push(step);
    region.counts.push(Math.max(0, Math.ceil((end - start) / step)));
  });
  return region;
}

export function slice(
  x: Tensor,
  dimOrRanges: number | readonly (readonly [number, number?, number?] | null)[],
  start?: number,
  end?: number,
  step?: number,
): Tensor {
  x.buf('slice');
  let ranges: (readonly [number, number?, number?] | null)[];
  if (typeof dimOrRanges === 'number') {
    const d = normAxis(dimOrRanges, x.rank, 'slice');
    ranges = x.shape.map(() => null);
    ranges[d] = [start ?? 0, end, step];
  } else {
    ranges = dimOrRanges.slice();
  }
  for (const r of ranges) {
    if (r && (!Number.isInteger(r[0]) || (r[1] !== undefined && !Number.isInteger(r[1])))) {
      throw new TesseraError('slice', `indices must be integers, got ${JSON.stringify(r)}`);
    }
  }
  const region = sliceRegion(x, ranges);
  const out = extract(x, region, 'slice');
  return record(out, 'slice', [x], (g) => [embed(g, x.shape, region, 0, 'slice')]);
}

/** Concatenates along `dim`; every tensor must match in the other dims, dtype and backend. */
export function cat(tensors: readonly Tensor[], dim = 0): Tensor {
  if (!Array.isArray(tensors) || tensors.length === 0) throw new TesseraError('cat', 'needs a non-empty array of tensors');
  sameBackend('cat', ...tensors);
  const first = tensors[0]!;
  const d = normAxis(dim, first.rank, 'cat');
  for (const t of tensors) {
    if (t.dtype !== first.dtype) throw new TesseraError('cat', `dtypes differ: ${first.dtype} and ${t.dtype}`);
    if (t.rank !== first.rank || t.shape.some((s: number, i: number) => i !== d && s !== first.shape[i])) {
      throw new TesseraError('cat', `shapes ${fmtShape(first.shape)} and ${fmtShape(t.shape)} differ outside dimension ${d}`);
    }
  }
  const outShape = first.shape.slice();
  outShape[d] = tensors.reduce((acc, t) => acc + t.shape[d]!, 0);
  const out = empty(first.backendImpl, outShape, first.dtype);
  const outStrides = contiguousStrides(outShape);
  let offset = 0;
  const offsets: number[] = [];
  for (const t of tensors) {
    offsets.push(offset);
    if (t.size > 0) {
      kernels(t).copy(t.buf('cat'), out.buf('cat'), {
        shape: t.shape.slice(),
        inStrides: contiguousStrides(t.shape),
        inOffset: 0,
        outStrides,
        outOffset: offset * outStrides[d]!,
      });
    }
    offset += t.shape[d]!;
  }
  return record(out, 'cat', tensors, (g) => tensors.map((t, i) => slice(g, d, offsets[i]!, offsets[i]! + t.shape[d]!)));
}

/**
 * Constant padding, torch.nn.functional.pad order: `pads` = [left, right] for the last dim, then
 * [top, bottom] for the one before, and so on. Pads must be non-negative.
 */
export function pad(x: Tensor, pads: readonly number[], value = 0): Tensor {
  x.buf('pad');
  if (pads.length % 2 !== 0 || pads.length / 2 > x.rank) {
    throw new TesseraError('pad', `pads ${JSON.stringify(pads)} must hold a (before, after) pair for at most ${x.rank} dims`);
  }
  if (pads.some((p) => !Number.isInteger(p) || p < 0)) {
    throw new TesseraError('pad', `pads must be non-negative integers, got ${JSON.stringify(pads)}`);
  }
  const region: Region = { starts: x.shape.map(() => 0), steps: x.shape.map(() => 1), counts: x.shape.slice() };
  const outShape = x.shape.slice();
  for (let j = 0; j < pads.length / 2; j++) {
    const axis = x.rank - 1 - j;
    region.starts[axis] = pads[2 * j]!;
    outShape[axis] = x.shape[axis]! + pads[2 * j]! + pads[2 * j + 1]!;
  }
  const out = embed(x, outShape, region, value, 'pad');
  return record(out, 'pad', [x], (g) => [extract(g, region, 'pad')]);
}

/** Selects slices of `x` along `dim` at int32 `indices` (a 1-D tensor); like torch.index_select. */
export function indexSelect(x: Tensor, dim: number, indices: Tensor): Tensor {
  sameBackend('indexSelect', x, indices);
  if (indices.dtype !== 'int32' || indices.rank > 1) {
    throw new TesseraError('indexSelect', `indices must be a 0-d or 1-d int32 tensor, got ${indices.dtype} ${fmtShape(indices.shape)}`);
  }
  const d = normAxis(dim, x.rank, 'indexSelect');
  const params = {
    outer: sizeOf(x.shape.slice(0, d)),
    axisSize: x.shape[d]!,
    inner: sizeOf(x.shape.slice(d + 1)),
    count: indices.size,
  };
  const outShape = x.shape.slice();
  outShape[d] = indices.size;
  const out = empty(x.backendImpl, outShape, x.dtype);
  kernels(x).gather(x.buf('indexSelect'), indices.buf('indexSelect'), out.buf('indexSelect'), params);
  if (x.dtype === 'int32') return out;
  return record(
    out,
    'indexSelect',
    [x],
    (g) => {
      const dx = empty(g.backendImpl, x.shape, g.dtype);
      kernels(g).gatherBackward(g.buf('indexSelect'), indices.buf('indexSelect'), dx.buf('indexSelect'), params);
      return [dx];
    },
    [indices],
  );
}
