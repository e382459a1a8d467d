/**
 * A read-only ZIP reader for the archives `torch.save` writes (PyTorch ≥ 1.6): the end-of-central-directory
 * record (and its ZIP64 forms), the central directory, each entry's local header, stored and deflated entries,
 * and a CRC-32 check of every entry read. Written from the PKWARE APPNOTE; no Node imports, so it bundles for
 * browsers (deflate goes through the standard DecompressionStream, which Node ≥ 18 and browsers both provide).
 *
 * Every size and offset is checked against the file before anything is allocated or read, so a corrupt or
 * hostile archive is an error, never a huge allocation or a read past the end.
 */
import { TesseraError } from '../../errors.js';

export interface ZipEntry {
  name: string;
  /** 0 stored, 8 deflated. */
  method: number;
  crc32: number;
  compressedSize: number;
  uncompressedSize: number;
  /** Offset of the entry's local file header. */
  localHeaderOffset: number;
}

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const SIG_ZIP64_EOCD = 0x06064b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;
const EOCD_SIZE = 22;
/** The EOCD sits within the last 22 + 65535 (the longest comment) bytes. */
const EOCD_SEARCH = EOCD_SIZE + 0xffff;

const utf8 = new TextDecoder('utf-8', { fatal: false });

let crcTable: Uint32Array | undefined;

/** CRC-32 (ISO-HDLC, the one ZIP uses) of `bytes`. */
export function crc32(bytes: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  const t = crcTable;
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = t[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export class ZipReader {
  readonly entries = new Map<string, ZipEntry>();
  readonly #dv: DataView;

  constructor(
    readonly bytes: Uint8Array,
    readonly op: string,
  ) {
    this.#dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#readDirectory();
  }

  fail(message: string): never {
    throw new TesseraError(this.op, `corrupt zip archive: ${message}`);
  }

  #u16(at: number): number {
    return this.#dv.getUint16(at, true);
  }

  #u32(at: number): number {
    return this.#dv.getUint32(at, true);
  }

  /** A little-endian u64 as a number; beyond 2^53 (no real archive) it is an error. */
  #u64(at: number, what: string): number {
    const lo = this.#dv.getUint32(at, true);
    const hi = this.#dv.getUint32(at + 4, true);
    if (hi >= 0x200000) this.fail(`${what} ${BigInt(hi) * 2n ** 32n + BigInt(lo)} is beyond 2^53`);
    return hi * 2 ** 32 + lo;
  }

  #need(at: number, len: number, what: string): void {
    if (at < 0 || len < 0 || at + len > this.bytes.length) {
      this.fail(`${what} at byte ${at} (${len} bytes) runs past the end of the ${this.bytes.length}-byte file: the file is truncated`);
    }
  }

  #readDirectory(): void {
    const n = this.bytes.length;
    if (n < EOCD_SIZE) this.fail(`the file has ${n} bytes, fewer than a zip's end record: it is truncated, or not a zip`);
    let eocd = -1;
    for (let at = n - EOCD_SIZE; at >= Math.max(0, n - EOCD_SEARCH); at--) {
      if (this.#u32(at) === SIG_EOCD && at + EOCD_SIZE + this.#u16(at + 20) <= n) {
        eocd = at;
        break;
      }
    }
    if (eocd < 0) this.fail('no end-of-central-directory record (the file is truncated, or not a zip)');
    let count = this.#u16(eocd + 10);
    let cdSize = this.#u32(eocd + 12);
    let cdOffset = this.#u32(eocd + 16);
    if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
      // ZIP64: the locator sits just before the EOCD and points at the ZIP64 end record.
      const loc = eocd - 20;
      if (loc < 0 || this.#u32(loc) !== SIG_ZIP64_LOCATOR) this.fail('the end record defers to ZIP64 but there is no ZIP64 locator');
      const rec = this.#u64(loc + 8, 'ZIP64 end record offset');
      this.#need(rec, 56, 'the ZIP64 end record');
      if (this.#u32(rec) !== SIG_ZIP64_EOCD) this.fail(`no ZIP64 end record at byte ${rec}`);
      count = this.#u64(rec + 32, 'entry count');
      cdSize = this.#u64(rec + 40, 'central directory size');
      cdOffset = this.#u64(rec + 48, 'central directory offset');
    }
    this.#need(cdOffset, cdSize, 'the central directory');
    // Each central record is at least 46 bytes: a count the directory cannot hold is corrupt, not a loop.
    if (count * 46 > cdSize) this.fail(`the end record claims ${count} entries but the central directory has only ${cdSize} bytes`);
    let at = cdOffset;
    const end = cdOffset + cdSize;
    for (let i = 0; i < count; i++) {
      if (at + 46 > end) this.fail(`central directory entry ${i} runs past the directory`);
      if (this.#u32(at) !== SIG_CENTRAL) this.fail(`central directory entry ${i} at byte ${at} has a bad signature`);
      const flags = this.#u16(at + 8);
      const method = this.#u16(at + 10);
      const crc = this.#u32(at + 16);
      let compressedSize = this.#u32(at + 20);
      let uncompressedSize = this.#u32(at + 24);
      const nameLen = this.#u16(at + 28);
      const extraLen = this.#u16(at + 30);
      const commentLen = this.#u16(at + 32);
      let localHeaderOffset = this.#u32(at + 42);
      if (at + 46 + nameLen + extraLen + commentLen > end) this.fail(`central directory entry ${i} runs past the directory`);
      const name = utf8.decode(this.bytes.subarray(at + 46, at + 46 + nameLen));
      if (flags & 1) this.fail(`entry '${name}' is encrypted`);
      // ZIP64 extended information (header 0x0001): 64-bit values for the fields stored as 0xFFFFFFFF, in order.
      let x = at + 46 + nameLen;
      const xEnd = x + extraLen;
      while (x + 4 <= xEnd) {
        const id = this.#u16(x);
        const len = this.#u16(x + 2);
        if (x + 4 + len > xEnd) this.fail(`entry '${name}' has a malformed extra field`);
        if (id === 0x0001) {
          let p = x + 4;
          const take = (what: string): number => {
            if (p + 8 > x + 4 + len) this.fail(`entry '${name}': the ZIP64 extra field lacks the ${what}`);
            const v = this.#u64(p, `entry '${name}' ${what}`);
            p += 8;
            return v;
          };
          if (uncompressedSize === 0xffffffff) uncompressedSize = take('uncompressed size');
          if (compressedSize === 0xffffffff) compressedSize = take('compressed size');
          if (localHeaderOffset === 0xffffffff) localHeaderOffset = take('local header offset');
        }
        x += 4 + len;
      }
      if (this.entries.has(name)) this.fail(`two entries are named '${name}'`);
      this.entries.set(name, { name, method, crc32: crc, compressedSize, uncompressedSize, localHeaderOffset });
      at += 46 + nameLen + extraLen + commentLen;
    }
  }

  /** The entry's bytes, decompressed and CRC-checked. `maxSize` caps what may be inflated. */
  async read(entry: ZipEntry): Promise<Uint8Array> {
    const h = entry.localHeaderOffset;
    this.#need(h, 30, `the local header of '${entry.name}'`);
    if (this.#u32(h) !== SIG_LOCAL) this.fail(`the local header of '${entry.name}' at byte ${h} has a bad signature`);
    const start = h + 30 + this.#u16(h + 26) + this.#u16(h + 28);
    this.#need(start, entry.compressedSize, `the data of '${entry.name}'`);
    const raw = this.bytes.subarray(start, start + entry.compressedSize);
    let data: Uint8Array;
    if (entry.method === 0) {
      if (entry.compressedSize !== entry.uncompressedSize) {
        this.fail(`stored entry '${entry.name}' has compressed size ${entry.compressedSize} but uncompressed size ${entry.uncompressedSize}`);
      }
      data = raw;
    } else if (entry.method === 8) data = await this.#inflate(entry, raw);
    else this.fail(`entry '${entry.name}' uses compression method ${entry.method}; only stored (0) and deflate (8) are supported`);
    const crc = crc32(data);
    if (crc !== entry.crc32) {
      this.fail(`entry '${entry.name}' fails its CRC-32 check (stored ${hex(entry.crc32)}, computed ${hex(crc)}): the file is corrupt`);
    }
    return data;
  }

  async #inflate(entry: ZipEntry, raw: Uint8Array): Promise<Uint8Array> {
    if (typeof DecompressionStream !== 'function') {
      throw new TesseraError(this.op, `entry '${entry.name}' is deflated and this runtime has no DecompressionStream`);
    }
    // Deflate expands at most 1032:1, so a larger declared size is a lie, refused before it is allocated.
    if (entry.uncompressedSize > raw.length * 1032 + 64) {
      this.fail(`entry '${entry.name}' declares ${entry.uncompressedSize} bytes from ${raw.length} deflated ones, more than deflate can expand to`);
    }
    const out = new Uint8Array(entry.uncompressedSize);
    let got = 0;
    const stream = new Blob([raw]).stream().pipeThrough(new DecompressionStream('deflate-raw'));
    const reader = stream.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        // Never inflate past the size the directory declares (a zip bomb stops here).
        if (got + value.length > out.length) this.fail(`entry '${entry.name}' inflates to more than its declared ${entry.uncompressedSize} bytes`);
        out.set(value, got);
        got += value.length;
      }
    } catch (err) {
      if (err instanceof TesseraError) throw err;
      this.fail(`entry '${entry.name}' is not valid deflate data (${err instanceof Error ? err.message : String(err)})`);
    } finally {
      await reader.cancel().catch(() => undefined);
    }
    if (got !== out.length) this.fail(`entry '${entry.name}' inflates to ${got} bytes, not its declared ${entry.uncompressedSize}`);
    return out;
  }
}

function hex(v: number): string {
  return `0x${v.toString(16).padStart(8, '0')}`;
}
