/**
 * A small reader for the protobuf wire format (proto2/proto3 binary encoding), enough to decode ONNX files
 * without a protobuf dependency: varints, 64-bit and 32-bit fixed fields, length-delimited fields (strings,
 * bytes, sub-messages, packed repeated scalars) and unknown fields, which are skipped as the format requires.
 *
 * Length-delimited payloads are returned as views into the input (`subarray`), never copied, so a 240 MB
 * model's tensors cost nothing until they are decoded. Every error is a TesseraError for the caller's `op`
 * that names where in the message tree it happened (`where`) and the byte offset.
 */
import { TesseraError } from '@tessera/tensor';

/** Wire types: 0 varint, 1 fixed64, 2 length-delimited, 5 fixed32 (3 and 4, groups, are long deprecated). */
export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LEN = 2;
export const WIRE_FIXED32 = 5;

const TWO_32 = 2 ** 32;
const utf8 = new TextDecoder('utf-8', { fatal: false });
/** True on little-endian hosts (every JS engine in practice); big-endian ones take the DataView paths. */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export class ProtoReader {
  /** The current byte offset into `buf`. */
  pos: number;

  /**
   * Reads `buf[start, end)`; `where` names the message being read for error messages (e.g.
   * `ModelProto.graph.node[3]`); `op` is the TesseraError op.
   */
  constructor(
    readonly buf: Uint8Array,
    readonly start: number,
    readonly end: number,
    readonly where: string,
    readonly op: string,
  ) {
    if (start < 0 || end > buf.length || start > end) throw new TesseraError(op, `${where}: bad byte range [${start}, ${end}) of ${buf.length}`);
    this.pos = start;
  }

  static of(bytes: Uint8Array, where: string, op: string): ProtoReader {
    return new ProtoReader(bytes, 0, bytes.length, where, op);
  }

  /** Whether every field has been read. */
  get done(): boolean {
    return this.pos >= this.end;
  }

  fail(message: string, at = this.pos): never {
    throw new TesseraError(this.op, `malformed protobuf in ${this.where} at byte ${at}: ${message}`);
  }

  /** The next field's number and wire type. */
  tag(): { field: number; wire: number } {
    const at = this.pos;
    const key = this.uvarint();
    const field = Math.floor(key / 8);
    const wire = key % 8;
    if (field === 0) this.fail('field number 0 (the data is not a protobuf message, or it is corrupt)', at);
    if (wire !== WIRE_VARINT && wire !== WIRE_FIXED64 && wire !== WIRE_LEN && wire !== WIRE_FIXED32) {
      this.fail(`field ${field} has wire type ${wire}; expected 0 (varint), 1 (fixed64), 2 (length-delimited) or 5 (fixed32)`, at);
    }
    return { field, wire };
  }

  /**
   * An unsigned varint as a number; values above 2^53 (which no ONNX length, dimension or count reaches)
   * are rejected rather than rounded.
   */
  uvarint(): number {
    const { lo, hi } = this.#varint64();
    if (hi >= 0x200000) this.fail(`varint ${formatU64(lo, hi)} exceeds 2^53`);
    return hi * TWO_32 + lo;
  }

  /** A varint read as int64 (two's complement in 10 bytes when negative), e.g. ONNX dims, `ints`, `i`. */
  int64(): number {
    const at = this.pos;
    const { lo, hi } = this.#varint64();
    if (hi & 0x80000000) {
      // Negative: magnitude = 2^64 - value.
      const mlo = (~lo + 1) >>> 0;
      const mhi = (~hi + (mlo === 0 ? 1 : 0)) >>> 0;
      if (mhi >= 0x200000) this.fail(`int64 varint below -2^53`, at);
      return -(mhi * TWO_32 + mlo);
    }
    if (hi >= 0x200000) this.fail(`int64 varint ${formatU64(lo, hi)} exceeds 2^53`, at);
    return hi * TWO_32 + lo;
  }

  #varint64(): { lo: number; hi: number } {
    const at = this.pos;
    let lo = 0;
    let hi = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) this.fail('truncated varint (the file or message ends inside a number)', at);
      const b = this.buf[this.pos++]!;
      const bits = b & 0x7f;
      if (i < 4) lo |= bits << (7 * i);
      else if (i === 4) {
        lo |= (bits & 0x0f) << 28;
        hi |= bits >> 4;
      } else hi |= bits << (7 * i - 32);
      if ((b & 0x80) === 0) return { lo: lo >>> 0, hi: hi >>> 0 };
    }
    this.fail('varint longer than 10 bytes', at);
  }

  /** A length-delimited payload as [start, end) offsets into `buf`, checked against the enclosing message. */
  #lenRange(): [number, number] {
    const at = this.pos;
    const len = this.uvarint();
    const s = this.pos;
    if (len > this.end - s) this.fail(`length-delimited field of ${len} bytes overruns the message (${this.end - s} bytes left): the file is truncated`, at);
    this.pos = s + len;
    return [s, s + len];
  }

  /** A length-delimited payload, as a view into the input. */
  bytes(): Uint8Array {
    const [s, e] = this.#lenRange();
    return this.buf.subarray(s, e);
  }

  string(): string {
    return utf8.decode(this.bytes());
  }

  /** A reader over an embedded message. */
  message(where: string): ProtoReader {
    const [s, e] = this.#lenRange();
    return new ProtoReader(this.buf, s, e, where, this.op);
  }

  float32(): number {
    if (this.end - this.pos < 4) this.fail('truncated fixed32');
    const v = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 4).getFloat32(0, true);
    this.pos += 4;
    return v;
  }

  float64(): number {
    if (this.end - this.pos < 8) this.fail('truncated fixed64');
    const v = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 8).getFloat64(0, true);
    this.pos += 8;
    return v;
  }

  /** Skips a field's value of the given wire type (unknown fields). */
  skip(wire: number): void {
    switch (wire) {
      case WIRE_VARINT:
        this.#varint64();
        return;
      case WIRE_FIXED64:
        if (this.end - this.pos < 8) this.fail('truncated fixed64');
        this.pos += 8;
        return;
      case WIRE_LEN:
        this.#lenRange();
        return;
      case WIRE_FIXED32:
        if (this.end - this.pos < 4) this.fail('truncated fixed32');
        this.pos += 4;
        return;
      default:
        this.fail(`cannot skip wire type ${wire}`);
    }
  }

  /** Checks a known field's wire type. */
  expectWire(field: string, wire: number, ...allowed: number[]): void {
    if (!allowed.includes(wire)) {
      this.fail(`field ${field} has wire type ${wire}, expected ${allowed.map((w) => `${w} (${WIRE_NAMES[w] ?? '?'})`).join(' or ')}`);
    }
  }

  /** Repeated int64 (packed, wire 2, or one value per field, wire 0): appends to `out`. */
  repeatedInt64(field: string, wire: number, out: number[]): void {
    this.expectWire(field, wire, WIRE_VARINT, WIRE_LEN);
    if (wire === WIRE_VARINT) {
      out.push(this.int64());
      return;
    }
    const sub = this.message(`${this.where}.${field}`);
    while (!sub.done) out.push(sub.int64());
  }

  /** Repeated float (packed or not): appends to `out`. */
  repeatedFloat32(field: string, wire: number, out: number[]): void {
    this.expectWire(field, wire, WIRE_FIXED32, WIRE_LEN);
    if (wire === WIRE_FIXED32) {
      out.push(this.float32());
      return;
    }
    const b = this.bytes();
    if (b.length % 4 !== 0) this.fail(`packed ${field} has ${b.length} bytes, not a multiple of 4`);
    const f = decodeFloat32LE(b);
    for (let i = 0; i < f.length; i++) out.push(f[i]!);
  }

  /** Repeated double (packed or not): appends to `out`. */
  repeatedFloat64(field: string, wire: number, out: number[]): void {
    this.expectWire(field, wire, WIRE_FIXED64, WIRE_LEN);
    if (wire === WIRE_FIXED64) {
      out.push(this.float64());
      return;
    }
    const b = this.bytes();
    if (b.length % 8 !== 0) this.fail(`packed ${field} has ${b.length} bytes, not a multiple of 8`);
    const f = decodeFloat64LE(b);
    for (let i = 0; i < f.length; i++) out.push(f[i]!);
  }
}

const WIRE_NAMES: Record<number, string> = { 0: 'varint', 1: 'fixed64', 2: 'length-delimited', 5: 'fixed32' };

function formatU64(lo: number, hi: number): string {
  return (BigInt(hi) * 2n ** 32n + BigInt(lo)).toString();
}

/** Little-endian float32 bytes (any alignment) → a fresh Float32Array. */
export function decodeFloat32LE(b: Uint8Array): Float32Array {
  const n = b.length >> 2;
  if (LITTLE_ENDIAN) return new Float32Array(copyBytes(b, n * 4).buffer);
  const out = new Float32Array(n);
  const dv = new DataView(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < n; i++) out[i] = dv.getFloat32(4 * i, true);
  return out;
}

/** Little-endian float64 bytes (any alignment) → a fresh Float64Array. */
export function decodeFloat64LE(b: Uint8Array): Float64Array {
  const n = b.length >> 3;
  if (LITTLE_ENDIAN) return new Float64Array(copyBytes(b, n * 8).buffer);
  const out = new Float64Array(n);
  const dv = new DataView(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < n; i++) out[i] = dv.getFloat64(8 * i, true);
  return out;
}

/** A fresh, aligned copy of the first `len` bytes (Buffer#slice would return a view into Node's pool). */
function copyBytes(b: Uint8Array, len: number): Uint8Array {
  const out = new Uint8Array(len);
  out.set(b.subarray(0, len));
  return out;
}
