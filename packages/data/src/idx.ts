/**
 * Fashion-MNIST's constants and the IDX format parser, free of Node modules so that browsers can use them
 * (through `@tessera/data/browser`); fashion-mnist.ts adds reading the files from disk and gunzip.
 */
import { TesseraError } from '@tessera/tensor';

export const FASHION_MNIST_CLASSES: readonly string[] = Object.freeze([
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
]);

/** Per-channel statistics of the training images, v = pixel / 255 (for `normalize: { kind: 'channel' }`). */
export const FASHION_MNIST_MEAN = 0.28604;
export const FASHION_MNIST_STD = 0.35302;

export interface IdxArray {
  /** Dimensions from the header, e.g. [60000, 28, 28]. */
  readonly dims: readonly number[];
  readonly data: Uint8Array;
}

/**
 * Parses an IDX file of unsigned bytes (type 0x08); `path` names it in errors. A gzipped file is inflated with
 * `gunzip` (Node's zlib in fashion-mnist.ts); without one it is refused, naming the file (decompress it first).
 */
export function parseIdxWith(bytes: Uint8Array, path: string, gunzip?: (gz: Uint8Array) => Uint8Array): IdxArray {
  const op = 'parseIdx';
  let raw = bytes;
  if (raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b) {
    if (!gunzip) throw new TesseraError(op, `${path}: the file is gzipped; decompress it before parsing (DecompressionStream('gzip') in a browser)`);
    try {
      raw = gunzip(raw);
    } catch (e) {
      throw new TesseraError(op, `${path}: the gzip stream is corrupt or truncated (${(e as Error).message})`);
    }
  }
  if (raw.length < 4) throw new TesseraError(op, `${path}: ${raw.length} bytes is too short for an IDX header`);
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  if (raw[0] !== 0 || raw[1] !== 0)
    throw new TesseraError(op, `${path}: not an IDX file (magic ${Array.from(raw.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ')})`);
  if (raw[2] !== 0x08) throw new TesseraError(op, `${path}: IDX element type 0x${raw[2]!.toString(16)}, expected 0x08 (unsigned byte)`);
  const rank = raw[3]!;
  if (rank < 1 || rank > 4) throw new TesseraError(op, `${path}: IDX rank ${rank} is not supported`);
  const header = 4 + 4 * rank;
  if (raw.length < header) throw new TesseraError(op, `${path}: truncated IDX header`);
  const dims: number[] = [];
  for (let i = 0; i < rank; i++) dims.push(view.getUint32(4 + 4 * i, false));
  const expected = dims.reduce((a, b) => a * b, 1);
  if (raw.length - header !== expected) {
    throw new TesseraError(op, `${path}: header says [${dims.join(', ')}] (${expected} bytes of data) but the file holds ${raw.length - header}`);
  }
  return { dims, data: raw.subarray(header) };
}
