/**
 * A PNG encoder (ISO/IEC 15948): 8-bit grayscale, RGB or RGBA, non-interlaced, with per-row adaptive filtering
 * (libpng's heuristic: of None, Sub, Up, Average and Paeth, each row takes the filter whose output has the smallest
 * sum of absolute values read as signed bytes), zlib deflate and CRC-32 from node:zlib.
 */
import { crc32 as zlibCrc32, deflateSync } from 'node:zlib';
import { TesseraError } from '@tessera/tensor';

/** An 8-bit image, row-major, channels interleaved (gray, RGB or RGBA). */
export interface RasterImage {
  readonly pixels: Uint8Array;
  readonly width: number;
  readonly height: number;
  readonly channels: 1 | 3 | 4;
}

/** The five PNG row filters (their type bytes are their indices). */
export const PNG_FILTERS = ['none', 'sub', 'up', 'average', 'paeth'] as const;
export type PngFilter = (typeof PNG_FILTERS)[number];

export interface PngOptions {
  /** 'adaptive' (default) picks a filter per row by the minimum sum of absolute (signed) filtered bytes. */
  filter?: PngFilter | 'adaptive';
  /** zlib level 0–9 (default 9: figures are small and compress well). */
  compressionLevel?: number;
  /** tEXt chunks (Latin-1 keyword of 1–79 characters → Latin-1 text), e.g. { Software: 'tessera' }. */
  text?: Readonly<Record<string, string>>;
}

const SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);
const COLOR_TYPE: Record<1 | 3 | 4, number> = { 1: 0, 3: 2, 4: 6 };
/** IDAT payloads are split at this size so no chunk approaches the 2³¹ − 1 length limit. */
const IDAT_CHUNK = 1 << 20;
const MAX_DIMENSION = 0x7fffffff;

/** CRC-32 (ISO 3309 / ITU-T V.42, the polynomial PNG and zlib use) of `bytes`, continuing from `crc`: node:zlib's. */
export function crc32(bytes: Uint8Array, crc = 0): number {
  return zlibCrc32(bytes, crc);
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

function latin1(s: string, what: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff) throw new TesseraError('encodePng', `${what} must be Latin-1; ${JSON.stringify(s)} has U+${c.toString(16).padStart(4, '0')}`);
    out[i] = c;
  }
  return out;
}

function textChunk(keyword: string, text: string): Uint8Array {
  if (keyword.length < 1 || keyword.length > 79 || keyword !== keyword.trim() || /\s\s|[^\x20-\x7e\xa1-\xff]/.test(keyword)) {
    throw new TesseraError(
      'encodePng',
      `tEXt keyword ${JSON.stringify(keyword)} must be 1–79 printable Latin-1 characters without leading, trailing or double spaces`,
    );
  }
  if (text.includes('\0')) throw new TesseraError('encodePng', `tEXt ${keyword} contains a NUL character`);
  const k = latin1(keyword, 'a tEXt keyword');
  const t = latin1(text, `tEXt ${keyword}`);
  const data = new Uint8Array(k.length + 1 + t.length);
  data.set(k, 0);
  data.set(t, k.length + 1);
  return chunk('tEXt', data);
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/**
 * Writes row `cur` filtered with `type` into `out` (without the type byte) and returns the sum of the absolute values
 * of the filtered bytes read as signed (libpng's selection heuristic). `prev` is the previous row (zeros for row 0),
 * `bpp` the bytes per pixel. One loop per filter keeps the hot path free of branches on the type.
 */
function filterRow(type: number, cur: Uint8Array, prev: Uint8Array, bpp: number, out: Uint8Array): number {
  const n = cur.length;
  let sum = 0;
  let v: number;
  switch (type) {
    case 0:
      for (let i = 0; i < n; i++) {
        v = out[i] = cur[i]!;
        sum += v < 128 ? v : 256 - v;
      }
      return sum;
    case 1:
      for (let i = 0; i < n; i++) {
        v = out[i] = (cur[i]! - (i >= bpp ? cur[i - bpp]! : 0)) & 0xff;
        sum += v < 128 ? v : 256 - v;
      }
      return sum;
    case 2:
      for (let i = 0; i < n; i++) {
        v = out[i] = (cur[i]! - prev[i]!) & 0xff;
        sum += v < 128 ? v : 256 - v;
      }
      return sum;
    case 3:
      for (let i = 0; i < n; i++) {
        v = out[i] = (cur[i]! - (((i >= bpp ? cur[i - bpp]! : 0) + prev[i]!) >> 1)) & 0xff;
        sum += v < 128 ? v : 256 - v;
      }
      return sum;
    default:
      for (let i = 0; i < n; i++) {
        const a = i >= bpp ? cur[i - bpp]! : 0;
        const b = prev[i]!;
        const c = i >= bpp ? prev[i - bpp]! : 0;
        v = out[i] = (cur[i]! - paeth(a, b, c)) & 0xff;
        sum += v < 128 ? v : 256 - v;
      }
      return sum;
  }
}

/**
 * Encodes 8-bit pixels (row-major, channels interleaved: 1 = gray, 3 = RGB, 4 = RGBA) as a PNG file.
 * `pixels.length` must be width × height × channels.
 */
export function encodePng(pixels: Uint8Array, width: number, height: number, channels: 1 | 3 | 4, options: PngOptions = {}): Uint8Array {
  for (const [name, v] of [
    ['width', width],
    ['height', height],
  ] as const) {
    if (!Number.isInteger(v) || v < 1 || v > MAX_DIMENSION) throw new TesseraError('encodePng', `${name} must be an integer in [1, 2³¹ − 1], got ${v}`);
  }
  if (channels !== 1 && channels !== 3 && channels !== 4) {
    throw new TesseraError('encodePng', `channels must be 1 (gray), 3 (RGB) or 4 (RGBA), got ${String(channels)}`);
  }
  const stride = width * channels;
  if (pixels.length !== stride * height) {
    throw new TesseraError('encodePng', `expected ${width}×${height}×${channels} = ${stride * height} bytes, got ${pixels.length}`);
  }
  const level = options.compressionLevel ?? 9;
  if (!Number.isInteger(level) || level < 0 || level > 9) throw new TesseraError('encodePng', `compressionLevel must be an integer in [0, 9], got ${level}`);
  const mode = options.filter ?? 'adaptive';
  const fixed = mode === 'adaptive' ? -1 : PNG_FILTERS.indexOf(mode);
  if (mode !== 'adaptive' && fixed < 0)
    throw new TesseraError('encodePng', `unknown filter ${JSON.stringify(mode)}; expected 'adaptive' or one of ${PNG_FILTERS.join(', ')}`);

  const filtered = new Uint8Array((stride + 1) * height);
  const zero = new Uint8Array(stride);
  const scratch = [0, 1, 2, 3, 4].map(() => new Uint8Array(stride));
  for (let y = 0; y < height; y++) {
    const cur = pixels.subarray(y * stride, (y + 1) * stride);
    const prev = y === 0 ? zero : pixels.subarray((y - 1) * stride, y * stride);
    let best = fixed;
    if (fixed < 0) {
      let bestSum = Infinity;
      for (let t = 0; t < 5; t++) {
        const s = filterRow(t, cur, prev, channels, scratch[t]!);
        if (s < bestSum) {
          bestSum = s;
          best = t;
        }
      }
    } else {
      filterRow(fixed, cur, prev, channels, scratch[fixed]!);
    }
    const o = y * (stride + 1);
    filtered[o] = best;
    filtered.set(scratch[best]!, o + 1);
  }
  const compressed = deflateSync(filtered, { level });

  const ihdr = new Uint8Array(13);
  const v = new DataView(ihdr.buffer);
  v.setUint32(0, width);
  v.setUint32(4, height);
  ihdr[8] = 8; // bit depth
  ihdr[9] = COLOR_TYPE[channels];
  // compression 0 (deflate), filter method 0 (adaptive), interlace 0 (none)
  const parts: Uint8Array[] = [SIGNATURE, chunk('IHDR', ihdr)];
  for (const [k, t] of Object.entries(options.text ?? {})) parts.push(textChunk(k, t));
  for (let off = 0; off < compressed.length || off === 0; off += IDAT_CHUNK) {
    parts.push(chunk('IDAT', compressed.subarray(off, Math.min(off + IDAT_CHUNK, compressed.length))));
  }
  parts.push(chunk('IEND', new Uint8Array(0)));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Encodes a RasterImage. */
export function imageToPng(image: RasterImage, options?: PngOptions): Uint8Array {
  return encodePng(image.pixels, image.width, image.height, image.channels, options);
}
