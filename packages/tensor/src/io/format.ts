/**
 * The safetensors format (https://github.com/huggingface/safetensors), at the byte level:
 *
 *   [8 bytes: N, little-endian u64][N bytes: JSON header, UTF-8, may end in spaces][data]
 *
 * The header maps each tensor name to {"dtype", "shape", "data_offsets": [begin, end]} (offsets into the data
 * part, C order, little-endian) and may hold "__metadata__": {string: string}. The tensors must cover the data
 * exactly: sorted by offset, each begins where the previous ends, and the last ends at the end of the file.
 * Writing follows the reference implementation byte for byte: tensors ordered by descending dtype alignment
 * then name, compact JSON with "__metadata__" first, the header padded with spaces to a multiple of 8.
 */
import { TesseraError, fmtShape } from '../errors.js';
import { JsonParseError, parseJson, type JsonObject, type JsonValue } from './json.js';

/** Every dtype name of the format, with its element size in bytes (sub-byte float formats excluded). */
export const SAFETENSORS_DTYPE_SIZES: Readonly<Record<string, number>> = Object.freeze({
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E5M2: 1,
  F8_E4M3: 1,
  F8_E8M0: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  F64: 8,
  C64: 8,
  I64: 8,
  U64: 8,
});

/** The reference implementation's dtype order (increasing alignment); writers sort by it, descending. */
const DTYPE_ORDER = [
  'BOOL',
  'F4',
  'F6_E2M3',
  'F6_E3M2',
  'U8',
  'I8',
  'F8_E5M2',
  'F8_E4M3',
  'F8_E8M0',
  'I16',
  'U16',
  'F16',
  'BF16',
  'I32',
  'U32',
  'F32',
  'C64',
  'F64',
  'I64',
  'U64',
];

/** The reference implementation's limit on the header size. */
export const MAX_HEADER_BYTES = 100_000_000;

export interface SafetensorsEntry {
  name: string;
  dtype: string;
  shape: number[];
  /** [begin, end) in bytes, relative to the start of the data part. */
  dataOffsets: [number, number];
}

export interface SafetensorsHeader {
  /** In header order. */
  entries: SafetensorsEntry[];
  /** The "__metadata__" strings, or null when the header has none. */
  metadata: Record<string, string> | null;
  /** N, the header's length in bytes. */
  headerBytes: number;
  /** Offset of the data part in the file: 8 + N. */
  dataStart: number;
}

const describe = (v: JsonValue | undefined): string => {
  if (v === undefined) return 'missing';
  if (v instanceof Map) return 'an object';
  if (Array.isArray(v)) return `the array ${truncate(JSON.stringify(v))}`;
  return JSON.stringify(v);
};

function truncate(s: string, max = 80): string {
  return s.length <= max ? s : `${s.slice(0, max)}…`;
}

function nonNegativeInts(v: JsonValue | undefined): v is number[] {
  return Array.isArray(v) && v.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0);
}

/** Parses and validates the header of a safetensors file held in `bytes`. Throws TesseraError(op, …). */
export function parseSafetensorsHeader(bytes: Uint8Array, op = 'parseSafetensors'): SafetensorsHeader {
  const fail = (msg: string): never => {
    throw new TesseraError(op, msg);
  };
  if (!(bytes instanceof Uint8Array)) fail('expects the file contents as a Uint8Array');
  if (bytes.length < 8) fail(`the file is ${bytes.length} bytes long; a safetensors file starts with an 8-byte header length`);
  const n64 = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (n64 > BigInt(MAX_HEADER_BYTES)) {
    fail(
      `the header length is ${n64} bytes, over the format's limit of ${MAX_HEADER_BYTES}${n64 > BigInt(bytes.length - 8) ? ` (and the file has only ${bytes.length - 8} bytes after the length)` : ''}`,
    );
  }
  const headerBytes = Number(n64);
  if (headerBytes > bytes.length - 8) {
    fail(`the header length is ${headerBytes} bytes but only ${bytes.length - 8} bytes follow the length field (file of ${bytes.length} bytes)`);
  }
  const dataStart = 8 + headerBytes;
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes.subarray(8, dataStart));
  } catch {
    return fail('the header is not valid UTF-8');
  }
  let json: JsonValue;
  try {
    json = parseJson(text);
  } catch (err) {
    if (err instanceof JsonParseError && err.duplicateKey !== undefined) {
      const where = err.duplicatePath!.length === 0 ? '' : ` in ${err.duplicatePath!.map((k) => JSON.stringify(k)).join(' → ')}`;
      if (err.duplicatePath!.length === 0) fail(`duplicate tensor name ${JSON.stringify(err.duplicateKey)} in the header; names must be unique`);
      fail(`duplicate key ${JSON.stringify(err.duplicateKey)}${where} in the header`);
    }
    return fail(`the header is not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!(json instanceof Map)) fail(`the header must be a JSON object mapping tensor names to {dtype, shape, data_offsets}, got ${describe(json)}`);
  const header = json as JsonObject;
  let metadata: Record<string, string> | null = null;
  const entries: SafetensorsEntry[] = [];
  for (const [name, info] of header) {
    if (name === '__metadata__') {
      if (!(info instanceof Map)) fail(`"__metadata__" must be an object of strings, got ${describe(info)}`);
      metadata = {};
      for (const [k, v] of info as JsonObject) {
        if (typeof v !== 'string') fail(`"__metadata__" value for ${JSON.stringify(k)} must be a string, got ${describe(v)}`);
        Object.defineProperty(metadata, k, { value: v, enumerable: true, writable: true, configurable: true });
      }
      continue;
    }
    const t = `tensor ${JSON.stringify(name)}`;
    if (!(info instanceof Map)) fail(`${t}: expected an object {dtype, shape, data_offsets}, got ${describe(info)}`);
    const obj = info as JsonObject;
    const dtype = obj.get('dtype');
    if (typeof dtype !== 'string') fail(`${t}: "dtype" must be a string such as "F32", got ${describe(dtype)}`);
    const size = SAFETENSORS_DTYPE_SIZES[dtype as string];
    if (size === undefined || !Object.prototype.hasOwnProperty.call(SAFETENSORS_DTYPE_SIZES, dtype as string)) {
      fail(`${t}: unknown dtype ${JSON.stringify(dtype)}; expected one of ${Object.keys(SAFETENSORS_DTYPE_SIZES).join(', ')}`);
    }
    const shape = obj.get('shape');
    if (!nonNegativeInts(shape)) fail(`${t}: "shape" must be an array of non-negative integers, got ${describe(shape)}`);
    const offsets = obj.get('data_offsets');
    if (!nonNegativeInts(offsets) || offsets.length !== 2)
      fail(`${t}: "data_offsets" must be [begin, end] with non-negative integers, got ${describe(offsets)}`);
    const [begin, end] = offsets as [number, number];
    if (end < begin) fail(`${t}: data_offsets [${begin}, ${end}] end before they begin`);
    let numel = 1;
    for (const d of shape as number[]) numel *= d;
    const nbytes = numel * size!;
    if (!Number.isSafeInteger(nbytes)) fail(`${t}: shape ${fmtShape(shape as number[])} is too large (${nbytes} bytes)`);
    if (end - begin !== nbytes) {
      fail(`${t}: ${dtype} ${fmtShape(shape as number[])} needs ${numel} × ${size} = ${nbytes} bytes but data_offsets [${begin}, ${end}] span ${end - begin}`);
    }
    entries.push({ name, dtype: dtype as string, shape: (shape as number[]).slice(), dataOffsets: [begin, end] });
  }
  // Coverage: sorted by offset, the tensors must tile the data part exactly.
  const dataLength = bytes.length - dataStart;
  for (const e of entries) {
    if (e.dataOffsets[1] > dataLength) {
      fail(
        `tensor ${JSON.stringify(e.name)}: data_offsets [${e.dataOffsets[0]}, ${e.dataOffsets[1]}] run past the end of the data (${dataLength} bytes after the ${headerBytes}-byte header)`,
      );
    }
  }
  const sorted = entries.slice().sort((a, b) => a.dataOffsets[0] - b.dataOffsets[0] || a.dataOffsets[1] - b.dataOffsets[1]);
  let expected = 0;
  let prev: SafetensorsEntry | null = null;
  for (const e of sorted) {
    const [begin, end] = e.dataOffsets;
    if (begin < expected) {
      fail(
        `tensor ${JSON.stringify(e.name)}: data_offsets [${begin}, ${end}] overlap tensor ${JSON.stringify(prev!.name)} [${prev!.dataOffsets[0]}, ${prev!.dataOffsets[1]}]; each tensor must begin where the previous one ends`,
      );
    }
    if (begin > expected) {
      fail(
        `bytes ${expected}…${begin - 1} of the data are not covered by any tensor (tensor ${JSON.stringify(e.name)} begins at ${begin}); the tensors must cover the data without gaps`,
      );
    }
    expected = end;
    prev = e;
  }
  if (expected !== dataLength) {
    fail(
      `the file has ${dataLength - expected} unused trailing bytes: the tensors end at data offset ${expected} but the data part is ${dataLength} bytes long`,
    );
  }
  return { entries, metadata, headerBytes, dataStart };
}

/** A tensor ready to be written: its dtype name, shape and raw little-endian bytes. */
export interface RawTensor {
  dtype: string;
  shape: readonly number[];
  bytes: Uint8Array;
}

/** Compares strings by their UTF-8 bytes (Rust's `str` order, which the reference writer sorts by). */
function compareUtf8(a: string, b: string): number {
  const ea = utf8.encode(a);
  const eb = utf8.encode(b);
  const n = Math.min(ea.length, eb.length);
  for (let i = 0; i < n; i++) if (ea[i] !== eb[i]) return ea[i]! - eb[i]!;
  return ea.length - eb.length;
}

const utf8 = new TextEncoder();

export interface PreparedFile {
  /** The 8-byte length and the padded header. */
  prefix: Uint8Array;
  /** Tensors in file order. */
  order: [string, RawTensor][];
  /** Total file size in bytes. */
  size: number;
}

/** Orders tensors and builds the header exactly as the reference implementation does. */
export function prepareSafetensors(tensors: readonly [string, RawTensor][], metadata: Record<string, string> | null, op: string): PreparedFile {
  const rank = (d: string): number => {
    const r = DTYPE_ORDER.indexOf(d);
    if (r < 0 || SAFETENSORS_DTYPE_SIZES[d] === undefined) throw new TesseraError(op, `cannot write dtype ${JSON.stringify(d)}`);
    return r;
  };
  const names = new Set<string>();
  for (const [name, t] of tensors) {
    if (typeof name !== 'string') throw new TesseraError(op, `tensor names must be strings, got ${typeof name}`);
    if (name === '__metadata__') throw new TesseraError(op, 'a tensor cannot be named "__metadata__" (the format reserves it)');
    if (names.has(name)) throw new TesseraError(op, `duplicate tensor name ${JSON.stringify(name)}`);
    names.add(name);
    let numel = 1;
    for (const d of t.shape) numel *= d;
    const expected = numel * SAFETENSORS_DTYPE_SIZES[t.dtype]!;
    rank(t.dtype);
    if (t.bytes.length !== expected)
      throw new TesseraError(op, `tensor ${JSON.stringify(name)}: ${t.dtype} ${fmtShape(t.shape)} needs ${expected} bytes, got ${t.bytes.length}`);
  }
  const order = tensors.slice().sort(([na, a], [nb, b]) => rank(b.dtype) - rank(a.dtype) || compareUtf8(na, nb));
  const parts: string[] = [];
  if (metadata !== null) {
    const kv: string[] = [];
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new TesseraError(op, `metadata value for ${JSON.stringify(k)} must be a string, got ${typeof v}; JSON.stringify it`);
      kv.push(`${JSON.stringify(k)}:${JSON.stringify(v)}`);
    }
    parts.push(`"__metadata__":{${kv.join(',')}}`);
  }
  let offset = 0;
  for (const [name, t] of order) {
    const end = offset + t.bytes.length;
    parts.push(`${JSON.stringify(name)}:{"dtype":${JSON.stringify(t.dtype)},"shape":[${t.shape.join(',')}],"data_offsets":[${offset},${end}]}`);
    offset = end;
  }
  const json = new TextEncoder().encode(`{${parts.join(',')}}`);
  const padded = json.length + ((8 - (json.length % 8)) % 8);
  const prefix = new Uint8Array(8 + padded);
  new DataView(prefix.buffer).setBigUint64(0, BigInt(padded), true);
  prefix.set(json, 8);
  prefix.fill(0x20, 8 + json.length);
  return { prefix, order, size: prefix.length + offset };
}

/** The whole file in memory. */
export function encodeSafetensors(
  tensors: readonly [string, RawTensor][],
  metadata: Record<string, string> | null = null,
  op = 'serializeSafetensors',
): Uint8Array {
  const prepared = prepareSafetensors(tensors, metadata, op);
  const out = new Uint8Array(prepared.size);
  out.set(prepared.prefix, 0);
  let at = prepared.prefix.length;
  for (const [, t] of prepared.order) {
    out.set(t.bytes, at);
    at += t.bytes.length;
  }
  return out;
}
