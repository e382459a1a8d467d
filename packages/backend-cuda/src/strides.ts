/** Dimension collapsing for strided kernels: fewer, longer dimensions mean less index arithmetic per element. */

/** Row-major strides of a shape. */
export function contiguousStrides(shape: readonly number[]): number[] {
  const out = new Array<number>(shape.length);
  for (let d = shape.length - 1, s = 1; d >= 0; d--) {
    out[d] = s;
    s *= shape[d]!;
  }
  return out;
}

/**
 * Drops size-1 dimensions and merges neighbours d, d+1 wherever every stride array has
 * s[d] = s[d+1]·shape[d+1], so the same elements are visited in the same order.
 */
export function collapse(shape: readonly number[], strides: readonly (readonly number[])[]): { shape: number[]; strides: number[][] } {
  const outShape: number[] = [];
  const outStrides: number[][] = strides.map(() => []);
  for (let d = 0; d < shape.length; d++) {
    const n = shape[d]!;
    if (n === 1) continue;
    const last = outShape.length - 1;
    if (last >= 0 && strides.every((s, i) => outStrides[i]![last] === s[d]! * n)) {
      outShape[last] = outShape[last]! * n;
      strides.forEach((s, i) => (outStrides[i]![last] = s[d]!));
    } else {
      outShape.push(n);
      strides.forEach((s, i) => outStrides[i]!.push(s[d]!));
    }
  }
  return { shape: outShape, strides: outStrides };
}
