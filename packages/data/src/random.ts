/**
 * Counter-based randomness for the data pipeline, on the same Philox 4x32-10 generator as the tensor package.
 * Every random decision is a pure function of (seed, epoch, what it is for, which image), so the batches a
 * loader produces do not depend on how many workers made them, on their timing, or on where an epoch was
 * resumed.
 *
 * Counter layout: (c0, c1, c2, c3) = (n, epoch, stream, 0) with key (seed mod 2³², ⌊seed / 2³²⌋), where n is
 * the image's dataset index for per-image draws, or the block number for the shuffle.
 */
import { TesseraError, philox4x32 } from '@tessera/tensor';

const STREAM_SHUFFLE = 1;
const STREAM_CROP_FLIP = 2;
const STREAM_LIGHTING = 3;

const TWO_POW_32 = 4294967296;
const INV_2_24 = 1 / 16777216;

/** Seeds are non-negative integers below 2⁵³. */
export function checkSeed(op: string, seed: number): void {
  if (!Number.isSafeInteger(seed) || seed < 0) throw new TesseraError(op, `seed must be a non-negative safe integer, got ${seed}`);
}

function keyOf(seed: number): [number, number] {
  return [(seed % TWO_POW_32) >>> 0, Math.floor(seed / TWO_POW_32) >>> 0];
}

/**
 * The order in which an epoch visits the dataset: a Fisher–Yates shuffle driven by Philox, or 0…n−1 when
 * `shuffle` is false. Each swap draws a 64-bit number, so the modulo bias is below 2⁻³².
 */
export function epochOrder(length: number, seed: number, epoch: number, shuffle: boolean): Int32Array {
  const order = new Int32Array(length);
  for (let i = 0; i < length; i++) order[i] = i;
  if (!shuffle || length < 2) return order;
  const [k0, k1] = keyOf(seed);
  const words = new Uint32Array(4);
  let block = 0;
  let lane = 4;
  for (let i = length - 1; i > 0; i--) {
    if (lane === 4) {
      philox4x32(block++, epoch >>> 0, STREAM_SHUFFLE, 0, k0, k1, words);
      lane = 0;
    }
    const u = (words[lane]! * 2097152 + (words[lane + 1]! >>> 11)) / 9007199254740992; // 53 bits in [0, 1)
    lane += 2;
    const j = Math.floor(u * (i + 1));
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  return order;
}

/** The random choices the training transform makes for one image in one epoch. */
export interface AugmentDraws {
  /** Uniform in [0, 1): crop row and column choices (scaled to the number of valid offsets). */
  readonly cropU: number;
  readonly cropV: number;
  /** Horizontal reflection, probability ½. */
  readonly flip: boolean;
  /** Three standard-normal samples for the PCA colour augmentation (multiplied by its σ later). */
  readonly normals: readonly [number, number, number];
}

const scratch = new Uint32Array(4);

/** The draws for image `index` in `epoch`. */
export function augmentDraws(seed: number, epoch: number, index: number): AugmentDraws {
  const [k0, k1] = keyOf(seed);
  philox4x32(index >>> 0, epoch >>> 0, STREAM_CROP_FLIP, 0, k0, k1, scratch);
  const cropU = scratch[0]! / TWO_POW_32;
  const cropV = scratch[1]! / TWO_POW_32;
  const flip = scratch[2]! >>> 31 === 1;
  philox4x32(index >>> 0, epoch >>> 0, STREAM_LIGHTING, 0, k0, k1, scratch);
  // Box–Muller on lane pairs, the same formulas as the tensor package's normal fill.
  const u1 = ((scratch[0]! >>> 8) + 1) * INV_2_24;
  const u2 = (scratch[1]! >>> 8) * INV_2_24;
  const r = Math.sqrt(-2 * Math.log(u1));
  const u3 = ((scratch[2]! >>> 8) + 1) * INV_2_24;
  const u4 = (scratch[3]! >>> 8) * INV_2_24;
  const r2 = Math.sqrt(-2 * Math.log(u3));
  return {
    cropU,
    cropV,
    flip,
    normals: [r * Math.cos(2 * Math.PI * u2), r * Math.sin(2 * Math.PI * u2), r2 * Math.cos(2 * Math.PI * u4)],
  };
}

/** An integer in [0, n) from a uniform u in [0, 1). */
export function pick(u: number, n: number): number {
  return Math.min(n - 1, Math.floor(u * n));
}
