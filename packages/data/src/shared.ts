/**
 * Memory that worker threads see without a copy: typed arrays over SharedArrayBuffers, and a compact table of
 * strings (1.28 million ImageNet paths are ~50 MB as UTF-8; as JS strings cloned into every worker, far more).
 */

type TypedCtor<T> = { new (buffer: SharedArrayBuffer, byteOffset?: number, length?: number): T; BYTES_PER_ELEMENT: number };

/** A typed array of `length` elements backed by a SharedArrayBuffer. */
export function sharedArray<T>(ctor: TypedCtor<T>, length: number): T {
  return new ctor(new SharedArrayBuffer(length * ctor.BYTES_PER_ELEMENT), 0, length);
}

/** The same values in shared memory (returned as is when already shared). */
export function toShared<T extends Uint8Array | Int32Array | Uint32Array | Float32Array>(a: T): T {
  if (a.buffer instanceof SharedArrayBuffer) return a;
  // A Node Buffer is a Uint8Array subclass whose constructor must not be called with `new` (DEP0005).
  const ctor = (a instanceof Uint8Array ? Uint8Array : a.constructor) as unknown as TypedCtor<T>;
  const out = sharedArray(ctor, a.length);
  (out as unknown as { set(x: ArrayLike<number>): void }).set(a);
  return out;
}

export interface StringTableData {
  readonly bytes: Uint8Array;
  /** offsets[i] … offsets[i + 1] are string i's bytes (length + 1 entries). */
  readonly offsets: Float64Array;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** An immutable list of strings in shared memory. */
export class StringTable {
  readonly bytes: Uint8Array;
  readonly offsets: Float64Array;

  constructor(data: StringTableData) {
    this.bytes = data.bytes;
    this.offsets = data.offsets;
  }

  static from(strings: readonly string[]): StringTable {
    const encoded = strings.map((s) => encoder.encode(s));
    const total = encoded.reduce((n, e) => n + e.length, 0);
    const bytes = sharedArray(Uint8Array, total);
    const offsets = new Float64Array(new SharedArrayBuffer((strings.length + 1) * 8));
    let p = 0;
    encoded.forEach((e, i) => {
      offsets[i] = p;
      bytes.set(e, p);
      p += e.length;
    });
    offsets[strings.length] = p;
    return new StringTable({ bytes, offsets });
  }

  get length(): number {
    return this.offsets.length - 1;
  }

  get(i: number): string {
    return decoder.decode(this.bytes.subarray(this.offsets[i]!, this.offsets[i + 1]!));
  }

  /** The structured-cloneable form (shared buffers, so a worker gets them without a copy). */
  data(): StringTableData {
    return { bytes: this.bytes, offsets: this.offsets };
  }
}
