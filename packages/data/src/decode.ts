/**
 * Decoding an image file into the paper's input: rescale so the shorter side is `size`, then take the central
 * size×size patch (Section 2), as 8-bit RGB, with torchvision's exact geometry (Resize(size) then
 * CenterCrop(size)). Decoding and resizing are libvips through sharp, which decodes JPEGs at a reduced scale when
 * the image is at least twice the target ("shrink-on-load").
 *
 * The bytes are sniffed first, so that what ILSVRC-2012 actually contains is handled by content and not by
 * name: PNG data in a `.JPEG` file is decoded (and noted), CMYK and grayscale JPEGs are converted to sRGB (and
 * noted), and empty, truncated or corrupt files become skips with a reason instead of exceptions.
 */
import sharp, { type OutputInfo } from 'sharp';
import type { Image, ImageNote } from './dataset.js';
import { roundHalfEven } from './transforms.js';

// One libvips thread per image: the loader gets its parallelism from many images in flight, and the
// operation cache only costs memory when every file is read once per epoch.
sharp.concurrency(1);
sharp.cache(false);

export type ResizeKernel = 'nearest' | 'linear' | 'cubic' | 'mitchell' | 'lanczos2' | 'lanczos3';

export interface DecodeOptions {
  /** Side of the square output (the paper: 256). */
  readonly size: number;
  /** Resampling kernel (default `linear`, as torchvision's Resize with PIL: bilinear, antialiased when shrinking). */
  readonly kernel?: ResizeKernel;
  /**
   * How strict the decoder is (sharp's `failOn`): `truncated` (default) rejects files that end early but accepts
   * the minor warnings a few ILSVRC-2012 files raise, as PIL does; `warning` rejects those too.
   */
  readonly failOn?: 'none' | 'truncated' | 'error' | 'warning';
}

export type SniffedFormat = 'jpeg' | 'png' | 'gif' | 'webp' | 'tiff' | 'empty' | 'unknown';

export interface Sniffed {
  readonly format: SniffedFormat;
  /** Colour components of a JPEG's frame header: 1 grayscale, 3 YCbCr/RGB, 4 CMYK/YCCK. */
  readonly jpegComponents?: number;
  /** Stored dimensions, when the header gives them (JPEG frame header, PNG IHDR). */
  readonly width?: number;
  readonly height?: number;
}

function startsWith(bytes: Uint8Array, magic: readonly number[], at = 0): boolean {
  if (bytes.length < at + magic.length) return false;
  for (let i = 0; i < magic.length; i++) if (bytes[at + i] !== magic[i]) return false;
  return true;
}

/** Reads the first JPEG frame header (SOFn): colour components and dimensions, without decoding. */
function jpegFrame(b: Uint8Array): { components: number; width: number; height: number } | undefined {
  let p = 2;
  while (p + 4 <= b.length) {
    if (b[p] !== 0xff) return undefined;
    const marker = b[p + 1]!;
    if (marker === 0xff) {
      p++; // fill byte
      continue;
    }
    if (marker === 0xd8 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) {
      p += 2;
      continue;
    }
    if (marker === 0xd9 || marker === 0xda) return undefined; // end of image / start of scan before any frame
    const len = (b[p + 2]! << 8) | b[p + 3]!;
    const isSof = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isSof) {
      if (p + 9 >= b.length) return undefined;
      return { height: (b[p + 5]! << 8) | b[p + 6]!, width: (b[p + 7]! << 8) | b[p + 8]!, components: b[p + 9]! };
    }
    p += 2 + len;
  }
  return undefined;
}

/** What kind of image the bytes hold, by content. */
export function sniffImage(bytes: Uint8Array): Sniffed {
  if (bytes.length === 0) return { format: 'empty' };
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) {
    const f = jpegFrame(bytes);
    return f === undefined ? { format: 'jpeg' } : { format: 'jpeg', jpegComponents: f.components, width: f.width, height: f.height };
  }
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) {
    if (bytes.length < 24 || !startsWith(bytes, [0x49, 0x48, 0x44, 0x52], 12)) return { format: 'png' };
    const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    return { format: 'png', width: v.getUint32(16), height: v.getUint32(20) };
  }
  if (startsWith(bytes, [0x47, 0x49, 0x46, 0x38])) return { format: 'gif' };
  if (startsWith(bytes, [0x52, 0x49, 0x46, 0x46]) && startsWith(bytes, [0x57, 0x45, 0x42, 0x50], 8)) return { format: 'webp' };
  if (startsWith(bytes, [0x49, 0x49, 0x2a, 0x00]) || startsWith(bytes, [0x4d, 0x4d, 0x00, 0x2a])) return { format: 'tiff' };
  return { format: 'unknown' };
}

/**
 * The size an image is resized to so that its shorter side is `size`, and where the central size×size patch
 * starts — computed exactly as torchvision's Resize(size) (longer side truncated) and CenterCrop(size) (offsets
 * rounded half to even), so that crops line up pixel for pixel with a torchvision pipeline's.
 */
export function resizedSize(width: number, height: number, size: number): { width: number; height: number; left: number; top: number } {
  const long = Math.max(width, height);
  const short = Math.min(width, height);
  const newLong = Math.max(size, Math.trunc((size * long) / short));
  const w = width <= height ? size : newLong;
  const h = width <= height ? newLong : size;
  return { width: w, height: h, left: roundHalfEven((w - size) / 2), top: roundHalfEven((h - size) / 2) };
}

/** Whether a JPEG's last KiB holds an end-of-image marker (FF D9); a truncated file has none. */
export function jpegHasEnd(bytes: Uint8Array): boolean {
  for (let i = bytes.length - 2; i >= Math.max(2, bytes.length - 1024); i--) if (bytes[i] === 0xff && bytes[i + 1] === 0xd9) return true;
  return false;
}

function hexPrefix(bytes: Uint8Array): string {
  return Array.from(bytes.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join(' ');
}

/**
 * Decodes `bytes` (named `name`, for notes about a misleading extension) into a size×size RGB image.
 * Never throws for bad data: returns a skip with the reason.
 */
export type Decoded = { readonly ok: true; readonly image: Image; readonly notes: readonly ImageNote[] } | { readonly ok: false; readonly reason: string };

export async function decodeImage(bytes: Uint8Array, name: string, opts: DecodeOptions): Promise<Decoded> {
  const sniffed = sniffImage(bytes);
  if (sniffed.format === 'empty') return { ok: false, reason: 'empty file (0 bytes)' };
  if (sniffed.format === 'unknown') return { ok: false, reason: `not an image: unrecognised content (first bytes ${hexPrefix(bytes)}, ${bytes.length} bytes)` };
  const notes: ImageNote[] = [];
  const namedJpeg = /\.jpe?g$/i.test(name);
  if (sniffed.format === 'png' && namedJpeg) notes.push('png-content');
  else if (sniffed.format !== 'jpeg' && sniffed.format !== 'png') notes.push('other-format');
  if (sniffed.jpegComponents === 4) notes.push('cmyk');
  else if (sniffed.jpegComponents === 1) notes.push('grayscale');
  const failOn = opts.failOn ?? 'truncated';
  // libjpeg fills what is missing from a truncated file with grey and only warns, and whether libvips turns
  // that into an error can depend on how far it has read; decide by the bytes instead, the same way every time.
  if (sniffed.format === 'jpeg' && failOn !== 'none' && !jpegHasEnd(bytes)) {
    return { ok: false, reason: `truncated JPEG: the ${bytes.length}-byte file ends without an end-of-image marker` };
  }
  let data: Buffer;
  let info: OutputInfo;
  try {
    const img = sharp(bytes, { failOn });
    let { width, height } = sniffed;
    if (!width || !height) ({ width, height } = await img.metadata());
    if (!width || !height) return { ok: false, reason: `the ${sniffed.format.toUpperCase()} header gives no image size` };
    const r = resizedSize(width, height, opts.size);
    let pipeline = img
      .resize(r.width, r.height, { fit: 'fill', kernel: opts.kernel ?? 'linear' })
      .extract({ left: r.left, top: r.top, width: opts.size, height: opts.size });
    // A 3-component JPEG already decodes to sRGB; everything else (grayscale, CMYK, PNG with alpha…) is converted.
    if (!(sniffed.format === 'jpeg' && sniffed.jpegComponents === 3)) pipeline = pipeline.toColourspace('srgb').removeAlpha();
    ({ data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true }));
  } catch (e) {
    let message = (e as Error).message;
    if (/^unknown error$/i.test(message.trim())) {
      // libvips keeps error text in a process-wide buffer that concurrent failures can clear; decoding once more
      // (rare: only for files that failed) recovers it.
      message = await sharp(bytes, { failOn })
        .raw()
        .toBuffer()
        .then(
          () => message,
          (again: Error) => again.message,
        );
    }
    return { ok: false, reason: `cannot decode ${sniffed.format.toUpperCase()} data (${bytes.length} bytes): ${message}` };
  }
  if (info.width !== opts.size || info.height !== opts.size || info.channels !== 3) {
    return { ok: false, reason: `decoded to ${info.width}×${info.height}×${info.channels}, expected ${opts.size}×${opts.size}×3` };
  }
  const image: Image = { data: new Uint8Array(data.buffer, data.byteOffset, data.length), height: info.height, width: info.width, channels: 3 };
  return { ok: true, image, notes };
}
