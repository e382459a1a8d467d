import { TesseraError } from './errors.js';

/** Element types. float64 exists on the CPU backend only (for gradient checking). */
export type DType = 'float32' | 'int32' | 'float64';

export const DTYPES: readonly DType[] = ['float32', 'int32', 'float64'];

export type TypedArray = Float32Array | Int32Array | Float64Array;

export interface TypedArrayFor {
  float32: Float32Array;
  int32: Int32Array;
  float64: Float64Array;
}

export function bytesPerElement(dtype: DType): number {
  return dtype === 'float64' ? 8 : 4;
}

export function allocTyped(dtype: DType, size: number): TypedArray {
  switch (dtype) {
    case 'float32':
      return new Float32Array(size);
    case 'int32':
      return new Int32Array(size);
    case 'float64':
      return new Float64Array(size);
  }
}

export function dtypeOfTyped(a: TypedArray): DType {
  if (a instanceof Float32Array) return 'float32';
  if (a instanceof Int32Array) return 'int32';
  return 'float64';
}

/** The dtype two operands are computed in: float64 > float32 > int32. */
export function promoteTypes(a: DType, b: DType): DType {
  if (a === b) return a;
  if (a === 'float64' || b === 'float64') return 'float64';
  return 'float32';
}

export function assertDType(value: unknown, op: string): DType {
  if (value === 'float32' || value === 'int32' || value === 'float64') return value;
  throw new TesseraError(op, `unknown dtype ${JSON.stringify(value)}; expected one of ${DTYPES.join(', ')}`);
}
