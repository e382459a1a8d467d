/** Conversions from 16-bit floats (IEEE binary16 and bfloat16) to float32; both are exact. */

/** IEEE 754 binary16 bits → the number they encode. */
export function f16BitsToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac === 0 ? sign * Infinity : NaN;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** binary16 little-endian bytes → Float32Array. */
export function decodeF16(bytes: Uint8Array): Float32Array {
  const n = bytes.length >> 1;
  const out = new Float32Array(n);
  // A table of all 65536 values would cost 256 KiB; decoding directly is fast enough.
  for (let i = 0; i < n; i++) out[i] = f16BitsToNumber(bytes[2 * i]! | (bytes[2 * i + 1]! << 8));
  return out;
}

/** bfloat16 little-endian bytes → Float32Array (bfloat16 is the top half of a float32). */
export function decodeBF16(bytes: Uint8Array): Float32Array {
  const n = bytes.length >> 1;
  const bits = new Uint32Array(n);
  for (let i = 0; i < n; i++) bits[i] = ((bytes[2 * i]! | (bytes[2 * i + 1]! << 8)) << 16) >>> 0;
  return new Float32Array(bits.buffer);
}
