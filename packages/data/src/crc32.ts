/** CRC-32 (IEEE, as zlib and gzip compute it): node:zlib's (Node ≥ 20.15 / 22.2, as package.json's engines require). */
import { crc32 as zlibCrc32 } from 'node:zlib';

/** CRC-32 of `data`, continuing from `initial` (the CRC of the bytes before it). */
export function crc32(data: Uint8Array, initial = 0): number {
  return zlibCrc32(data, initial);
}
