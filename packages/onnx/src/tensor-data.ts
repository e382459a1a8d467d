/**
 * TensorProto payloads as numbers: float tensors (FLOAT, FLOAT16, BFLOAT16, DOUBLE; raw_data or the typed
 * fields) as a Float32Array, integer ones (INT64, INT32) as numbers. Payloads kept in external files, and
 * payloads whose length does not match the dims, are refused with the tensor named.
 */
import { TesseraError, io } from '@tessera/tensor';
import { decodeFloat32LE, decodeFloat64LE } from './protobuf.js';
import { DTYPE, ONNX_OP, dtypeName, fmtDims, numel, type OnnxTensor } from './types.js';

function checkStored(t: OnnxTensor, what: string, op: string): void {
  if (t.externalLocation !== null) {
    throw new TesseraError(
      op,
      `${what} '${t.name}' keeps its data in an external file ('${t.externalLocation}'); tessera reads self-contained models only: re-save it with onnx.save_model(model, path, save_as_external_data=False) (models over 2 GB cannot be)`,
    );
  }
  for (const d of t.dims) if (!Number.isInteger(d) || d < 0) throw new TesseraError(op, `${what} '${t.name}' has invalid dims ${fmtDims(t.dims)}`);
}

function checkCount(t: OnnxTensor, what: string, got: number, field: string, op: string): void {
  const want = numel(t.dims);
  if (got !== want) {
    throw new TesseraError(
      op,
      `${what} '${t.name}' (${dtypeName(t.dataType)} ${fmtDims(t.dims)}) needs ${want} values but ${field} holds ${got}: the file is truncated or corrupt`,
    );
  }
}

/** A tensor's values as float32 (FLOAT, FLOAT16, BFLOAT16 or DOUBLE; DOUBLE is rounded). */
export function onnxTensorToFloat32(t: OnnxTensor, what = 'tensor', op: string = ONNX_OP): Float32Array {
  checkStored(t, what, op);
  const n = numel(t.dims);
  const raw = t.rawData;
  switch (t.dataType) {
    case DTYPE.FLOAT: {
      if (raw) {
        checkCount(t, what, raw.length / 4, 'raw_data', op);
        return decodeFloat32LE(raw);
      }
      const out = new Float32Array(t.floatData.reduce((a, c) => a + c.length, 0));
      let o = 0;
      for (const c of t.floatData) {
        out.set(c, o);
        o += c.length;
      }
      checkCount(t, what, out.length, 'float_data', op);
      return out;
    }
    case DTYPE.FLOAT16:
    case DTYPE.BFLOAT16: {
      const half = t.dataType === DTYPE.FLOAT16;
      if (raw) {
        checkCount(t, what, raw.length / 2, 'raw_data', op);
        return half ? io.decodeF16(raw) : io.decodeBF16(raw);
      }
      // Without raw_data, 16-bit floats are stored one per int32_data element (their bit pattern).
      checkCount(t, what, t.int32Data.length, 'int32_data', op);
      const bytes = new Uint8Array(2 * n);
      for (let i = 0; i < n; i++) {
        bytes[2 * i] = t.int32Data[i]! & 0xff;
        bytes[2 * i + 1] = (t.int32Data[i]! >> 8) & 0xff;
      }
      return half ? io.decodeF16(bytes) : io.decodeBF16(bytes);
    }
    case DTYPE.DOUBLE: {
      const src = raw ? decodeFloat64LE(raw) : t.doubleData;
      checkCount(t, what, raw ? raw.length / 8 : src.length, raw ? 'raw_data' : 'double_data', op);
      return Float32Array.from(src);
    }
    default:
      throw new TesseraError(op, `${what} '${t.name}' is ${dtypeName(t.dataType)}; expected a float tensor (FLOAT, FLOAT16, BFLOAT16 or DOUBLE)`);
  }
}

/** How each integer type is stored: its typed field, and its width and reader in raw_data. */
const INT_STORAGE = {
  [DTYPE.INT64]: { field: 'int64_data', bytes: 8, read: (dv: DataView, at: number) => Number(dv.getBigInt64(at, true)) },
  [DTYPE.INT32]: { field: 'int32_data', bytes: 4, read: (dv: DataView, at: number) => dv.getInt32(at, true) },
} as const;

/** An integer tensor's values (INT64 or INT32), e.g. a Reshape target. */
export function onnxTensorToInts(t: OnnxTensor, what = 'tensor', op: string = ONNX_OP): number[] {
  checkStored(t, what, op);
  if (t.dataType !== DTYPE.INT64 && t.dataType !== DTYPE.INT32) {
    throw new TesseraError(op, `${what} '${t.name}' is ${dtypeName(t.dataType)}; expected INT64 or INT32`);
  }
  const storage = INT_STORAGE[t.dataType];
  const raw = t.rawData;
  if (!raw) {
    const values = t.dataType === DTYPE.INT64 ? t.int64Data : t.int32Data;
    checkCount(t, what, values.length, storage.field, op);
    return values.slice();
  }
  checkCount(t, what, raw.length / storage.bytes, 'raw_data', op);
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.length);
  const out: number[] = [];
  for (let at = 0; at < raw.length; at += storage.bytes) out.push(storage.read(dv, at));
  return out;
}
