/** Stride arithmetic every backend needs for strided (elementwise, copy, reduce) work. */

/** Row-major (C-contiguous) strides of a shape. */
export function contiguousStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i]!;
  }
  return strides;
}

/**
 * Drops size-1 dimensions and merges neighbours that are contiguous in every stride set, so that a strided
 * loop runs over as few, as long, innermost runs as possible and visits the elements in the same order.
 * Dimensions come back outermost first; an empty result means a single element.
 */
export function collapseDims(shape: readonly number[], strides: readonly (readonly number[])[]): { shape: number[]; strides: number[][] } {
  const outShape: number[] = [];
  const outStrides: number[][] = strides.map(() => []);
  for (let d = shape.length - 1; d >= 0; d--) {
    const extent = shape[d]!;
    if (extent === 1) continue;
    const g = outShape.length - 1;
    let merge = g >= 0;
    if (merge) {
      const inner = outShape[g]!;
      for (let s = 0; s < strides.length; s++) {
        if (strides[s]![d]! !== outStrides[s]![g]! * inner) {
          merge = false;
          break;
        }
      }
    }
    if (merge) {
      outShape[g] = outShape[g]! * extent;
    } else {
      outShape.push(extent);
      for (let s = 0; s < strides.length; s++) outStrides[s]!.push(strides[s]![d]!);
    }
  }
  outShape.reverse();
  for (const s of outStrides) s.reverse();
  return { shape: outShape, strides: outStrides };
}
