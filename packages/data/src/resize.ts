/**
 * Bilinear resampling of small uint8 images in plain JS, for upscaling Fashion-MNIST's 28×28 digits to the
 * input size of an AlexNet-shaped model. Pixel centres are aligned as in PyTorch's
 * `F.interpolate(mode='bilinear', align_corners=False)` (without antialiasing), so results match it to
 * rounding; outputs are rounded to the nearest integer.
 */
import { TesseraError } from '@tessera/tensor';
import type { Image } from './dataset.js';

interface Taps {
  i0: Int32Array;
  i1: Int32Array;
  w1: Float64Array;
}

function taps(inSize: number, outSize: number): Taps {
  const i0 = new Int32Array(outSize);
  const i1 = new Int32Array(outSize);
  const w1 = new Float64Array(outSize);
  const scale = inSize / outSize;
  for (let o = 0; o < outSize; o++) {
    const src = Math.max(0, (o + 0.5) * scale - 0.5);
    const lo = Math.min(Math.floor(src), inSize - 1);
    i0[o] = lo;
    i1[o] = Math.min(lo + 1, inSize - 1);
    w1[o] = src - lo;
  }
  return { i0, i1, w1 };
}

const tapCache = new Map<string, Taps>();

function cachedTaps(inSize: number, outSize: number): Taps {
  const key = `${inSize}>${outSize}`;
  let t = tapCache.get(key);
  if (!t) {
    t = taps(inSize, outSize);
    if (tapCache.size > 64) tapCache.clear();
    tapCache.set(key, t);
  }
  return t;
}

/**
 * Resizes `src` (HWC) to height × width, writing into `out` at `offset` (height·width·channels bytes);
 * allocates when `out` is omitted.
 */
export function resizeBilinear(src: Image, height: number, width: number, out?: Uint8Array, offset = 0): Uint8Array {
  if (!Number.isInteger(height) || !Number.isInteger(width) || height < 1 || width < 1) {
    throw new TesseraError('resizeBilinear', `output size must be positive integers, got ${height}×${width}`);
  }
  const C = src.channels;
  const dst = out ?? new Uint8Array(height * width * C);
  if (dst.length < offset + height * width * C)
    throw new TesseraError('resizeBilinear', `output buffer holds ${dst.length - offset} bytes, needs ${height * width * C}`);
  const ty = cachedTaps(src.height, height);
  const tx = cachedTaps(src.width, width);
  const s = src.data;
  const W = src.width;
  let o = offset;
  for (let y = 0; y < height; y++) {
    const r0 = ty.i0[y]! * W;
    const r1 = ty.i1[y]! * W;
    const wy = ty.w1[y]!;
    for (let x = 0; x < width; x++) {
      const c0 = tx.i0[x]!;
      const c1 = tx.i1[x]!;
      const wx = tx.w1[x]!;
      for (let c = 0; c < C; c++) {
        const a = s[(r0 + c0) * C + c]!;
        const b = s[(r0 + c1) * C + c]!;
        const d = s[(r1 + c0) * C + c]!;
        const e = s[(r1 + c1) * C + c]!;
        const top = a + (b - a) * wx;
        const bottom = d + (e - d) * wx;
        dst[o++] = Math.round(top + (bottom - top) * wy);
      }
    }
  }
  return dst;
}
