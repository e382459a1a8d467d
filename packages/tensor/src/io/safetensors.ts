/**
 * Tensors to and from safetensors files. float32, int32 and float64 tensors are written as F32, I32 and F64.
 * Loading reads those natively and converts the rest of the common dtypes: F16 and BF16 → float32 (exact),
 * I64/U64/U32 → int32 (each value range-checked), BOOL/U8/I8/I16/U16 → int32.
 */
import type { Backend } from '../backend/backend.js';
import { getBackend, initialisedBackend } from '../backend/registry.js';
import type { DType, TypedArray } from '../dtype.js';
import { TesseraError, fmtShape } from '../errors.js';
import { Tensor } from '../tensor.js';
import { SAFETENSORS_DTYPE_SIZES, encodeSafetensors, parseSafetensorsHeader, prepareSafetensors, type RawTensor, type SafetensorsEntry } from './format.js';
import { nodeFiles } from './files.js';
import { decodeBF16, decodeF16 } from './half.js';

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** The tensors of a safetensors file, in header order, with its "__metadata__". */
export class SafetensorsMap extends Map<string, Tensor> {
  /** The file's "__metadata__" strings ({} when it has none). */
  metadata: Record<string, string> = {};

  /** Disposes every tensor and empties the map. */
  dispose(): void {
    for (const t of this.values()) t.dispose();
    this.clear();
  }
}

export interface SaveSafetensorsOptions {
  /** String key/value pairs stored as the header's "__metadata__" (e.g. a JSON-encoded config). */
  metadata?: Record<string, string>;
}

export interface LoadSafetensorsOptions {
  /** Backend to create the tensors on (initialised); the current backend when omitted. */
  backend?: string;
}

type TensorsInput = Map<string, Tensor> | Record<string, Tensor>;

const DTYPE_NAME: Record<DType, string> = { float32: 'F32', int32: 'I32', float64: 'F64' };

function entriesOf(tensors: TensorsInput, op: string): [string, Tensor][] {
  if (tensors instanceof Map) return [...tensors.entries()];
  if (typeof tensors === 'object' && tensors !== null) return Object.entries(tensors);
  throw new TesseraError(op, `expects a Map or a record of name → Tensor, got ${tensors === null ? 'null' : typeof tensors}`);
}

/** Host bytes (little-endian) of a typed array. */
function leBytes(a: TypedArray): Uint8Array {
  if (LITTLE_ENDIAN) return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const out = new Uint8Array(a.byteLength);
  const dv = new DataView(out.buffer);
  if (a instanceof Float32Array) a.forEach((v, i) => dv.setFloat32(4 * i, v, true));
  else if (a instanceof Int32Array) a.forEach((v, i) => dv.setInt32(4 * i, v, true));
  else a.forEach((v, i) => dv.setFloat64(8 * i, v, true));
  return out;
}

/**
 * Reads every tensor back to the host. All reads are issued before any is awaited, so the file is a
 * snapshot of the tensors as they were when the call was made, even if training continues meanwhile.
 */
async function snapshot(tensors: TensorsInput, op: string): Promise<[string, RawTensor][]> {
  const entries = entriesOf(tensors, op);
  for (const [name, t] of entries) {
    if (!(t instanceof Tensor)) throw new TesseraError(op, `${JSON.stringify(name)} is not a Tensor`);
    if (t.isDisposed) throw new TesseraError(op, `tensor ${JSON.stringify(name)} ${fmtShape(t.shape)} was disposed`);
  }
  const reads = entries.map(([, t]) => t.data());
  const hosts = await Promise.all(reads);
  return entries.map(([name, t], i) => [name, { dtype: DTYPE_NAME[t.dtype], shape: t.shape, bytes: leBytes(hosts[i]!) }]);
}

/** The safetensors file for `tensors`, in memory, byte-identical to what the reference writer produces. */
export async function serializeSafetensors(tensors: TensorsInput, opts: SaveSafetensorsOptions = {}): Promise<Uint8Array> {
  const op = 'serializeSafetensors';
  const raw = await snapshot(tensors, op);
  return encodeSafetensors(raw, opts.metadata ?? null, op);
}

/**
 * Writes `tensors` to `path` atomically: the file is written beside the target under a temporary name,
 * flushed to disk, and renamed over the target, so a crash never leaves a truncated checkpoint.
 */
export async function saveSafetensors(tensors: TensorsInput, path: string, opts: SaveSafetensorsOptions = {}): Promise<void> {
  const op = 'saveSafetensors';
  if (typeof path !== 'string' || path.length === 0) throw new TesseraError(op, `path must be a non-empty string, got ${JSON.stringify(path)}`);
  const rawPromise = snapshot(tensors, op); // issues every read now, before anything is awaited
  rawPromise.catch(() => undefined); // its error is rethrown by the await below, not reported as unhandled
  const { fs, path: paths } = await nodeFiles(op);
  const { open, rename, unlink } = fs;
  const raw = await rawPromise;
  const prepared = prepareSafetensors(raw, opts.metadata ?? null, op);
  const nonce = Array.from(crypto.getRandomValues(new Uint8Array(6)), (b) => b.toString(16).padStart(2, '0')).join('');
  const tmp = paths.join(paths.dirname(path), `.${paths.basename(path)}.${process.pid}.${nonce}.tmp`);
  let written = false;
  try {
    const fh = await open(tmp, 'wx');
    try {
      const writeAll = async (bytes: Uint8Array): Promise<void> => {
        let off = 0;
        while (off < bytes.length) {
          const { bytesWritten } = await fh.write(bytes, off, bytes.length - off);
          off += bytesWritten;
        }
      };
      await writeAll(prepared.prefix);
      for (const [, t] of prepared.order) await writeAll(t.bytes);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
    written = true;
  } catch (err) {
    if (!written) await unlink(tmp).catch(() => undefined);
    if (err instanceof TesseraError) throw err;
    throw new TesseraError(op, `cannot write ${path}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  // Make the rename itself durable; some platforms cannot fsync a directory, which is harmless.
  try {
    const dir = await open(paths.dirname(path), 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  } catch {
    /* best effort */
  }
}

/** Reads `path` and returns its tensors (see parseSafetensors). */
export async function loadSafetensors(path: string, opts: LoadSafetensorsOptions = {}): Promise<SafetensorsMap> {
  const op = 'loadSafetensors';
  if (typeof path !== 'string' || path.length === 0) throw new TesseraError(op, `path must be a non-empty string, got ${JSON.stringify(path)}`);
  const { fs } = await nodeFiles(op);
  let bytes: Uint8Array;
  try {
    bytes = await fs.readFile(path);
  } catch (err) {
    throw new TesseraError(op, `cannot read ${path}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  try {
    return decode(bytes, opts, op);
  } catch (err) {
    if (err instanceof TesseraError && err.op === op) throw new TesseraError(op, `${path}: ${err.message.slice(op.length + 2)}`, { cause: err });
    throw err;
  }
}

/**
 * The tensors of a safetensors file held in memory. The whole file is validated (header, dtypes, shapes,
 * offsets, exact coverage of the data) before any tensor is created.
 */
export function parseSafetensors(bytes: Uint8Array, opts: LoadSafetensorsOptions = {}): SafetensorsMap {
  return decode(bytes, opts, 'parseSafetensors');
}

function decode(bytes: Uint8Array, opts: LoadSafetensorsOptions, op: string): SafetensorsMap {
  const header = parseSafetensorsHeader(bytes, op);
  const backend: Backend = opts.backend === undefined ? getBackend() : initialisedBackend(opts.backend, op);
  // Convert everything on the host first, so a bad tensor leaves nothing half-created on the device.
  const hosts = header.entries.map((e) => {
    const data = bytes.subarray(header.dataStart + e.dataOffsets[0], header.dataStart + e.dataOffsets[1]);
    const host = toHost(e, data, op);
    const dtype = dtypeOf(host);
    if (!backend.dtypes.includes(dtype)) {
      throw new TesseraError(
        op,
        `tensor ${JSON.stringify(e.name)} is ${e.dtype} (${dtype}) but backend "${backend.name}" holds only ${backend.dtypes.join(', ')}; load it on the CPU and cast it`,
      );
    }
    return { e, host, dtype };
  });
  const out = new SafetensorsMap();
  out.metadata = header.metadata ?? {};
  try {
    for (const { e, host, dtype } of hosts) {
      const t = Tensor.empty(backend, e.shape, dtype);
      out.set(e.name, t);
      if (host.length > 0) backend.write(t.buf(op), host);
    }
  } catch (err) {
    out.dispose();
    throw err;
  }
  return out;
}

function dtypeOf(a: TypedArray): DType {
  if (a instanceof Float32Array) return 'float32';
  if (a instanceof Int32Array) return 'int32';
  return 'float64';
}

/** A copy of `bytes` (little-endian elements of `e.dtype`) as float32, int32 or float64. */
function toHost(e: SafetensorsEntry, bytes: Uint8Array, op: string): TypedArray {
  const n = bytes.length / (SAFETENSORS_DTYPE_SIZES[e.dtype] ?? 1);
  // An aligned private copy, so typed-array views can read it whatever the file's alignment.
  // (new Uint8Array(x) always copies; Buffer#slice would not.)
  const copy = (): ArrayBuffer => new Uint8Array(bytes).buffer;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dv = (): DataView => view;
  const tname = `tensor ${JSON.stringify(e.name)}`;
  switch (e.dtype) {
    case 'F32':
      if (LITTLE_ENDIAN) return new Float32Array(copy());
      return Float32Array.from({ length: n }, (_, i) => dv().getFloat32(4 * i, true));
    case 'F64':
      if (LITTLE_ENDIAN) return new Float64Array(copy());
      return Float64Array.from({ length: n }, (_, i) => dv().getFloat64(8 * i, true));
    case 'I32':
      if (LITTLE_ENDIAN) return new Int32Array(copy());
      return Int32Array.from({ length: n }, (_, i) => dv().getInt32(4 * i, true));
    case 'F16':
      return decodeF16(bytes);
    case 'BF16':
      return decodeBF16(bytes);
    case 'BOOL': {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = bytes[i] !== 0 ? 1 : 0;
      return out;
    }
    case 'U8':
      return Int32Array.from(bytes);
    case 'I8':
      return Int32Array.from(new Int8Array(copy()));
    case 'I16': {
      const d = dv();
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = d.getInt16(2 * i, true);
      return out;
    }
    case 'U16': {
      const d = dv();
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = d.getUint16(2 * i, true);
      return out;
    }
    case 'U32': {
      const d = dv();
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const v = d.getUint32(4 * i, true);
        if (v > 0x7fffffff) throw new TesseraError(op, `${tname}: U32 element ${i} is ${v}, outside the int32 range it is converted to`);
        out[i] = v;
      }
      return out;
    }
    case 'I64':
    case 'U64': {
      const d = dv();
      const out = new Int32Array(n);
      const signed = e.dtype === 'I64';
      for (let i = 0; i < n; i++) {
        const lo = d.getInt32(8 * i, true);
        const hi = d.getInt32(8 * i + 4, true);
        // The value fits int32 iff the high word is the sign extension of the low one (and, unsigned, is 0).
        if (hi !== lo >> 31 || (!signed && hi !== 0)) {
          const v = signed ? d.getBigInt64(8 * i, true) : d.getBigUint64(8 * i, true);
          throw new TesseraError(
            op,
            `${tname}: ${e.dtype} element ${i} of ${fmtShape(e.shape)} is ${v}, outside the int32 range [-2147483648, 2147483647] it is converted to`,
          );
        }
        out[i] = lo;
      }
      return out;
    }
    default:
      throw new TesseraError(
        op,
        `${tname} has dtype ${e.dtype}, which tessera cannot load (supported: F32, F64, I32, F16, BF16, I64, U64, U32, I16, U16, I8, U8, BOOL)`,
      );
  }
}
