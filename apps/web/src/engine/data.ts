/**
 * The training data the page uses: Fashion-MNIST's IDX files (served beside the app when the build machine had
 * Debian's dataset-fashion-mnist, or picked by the user), parsed by @tessera/data's own IDX reader, or — when
 * neither is there — images drawn by @tessera/data's synthetic renderer, 10 classes of shapes, in grayscale.
 */
import { FASHION_MNIST_CLASSES, SyntheticStream, parseIdxWith, renderSyntheticImage } from '@tessera/data/browser';
import { TesseraError } from '@tessera/tensor';

export interface Split {
  /** count × 28 × 28 bytes. */
  images: Uint8Array;
  labels: Uint8Array;
  count: number;
}

export interface DataSet {
  kind: 'fashion-mnist' | 'synthetic';
  /** What the page shows: which data and where from. */
  description: string;
  classNames: readonly string[];
  train: Split;
  test: Split;
}

export const IDX_FILES = ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'] as const;

/** Inflates a gzip stream with the platform's DecompressionStream (bytes that are not gzip pass through). */
export async function gunzipIfNeeded(bytes: Uint8Array, name: string): Promise<Uint8Array> {
  if (bytes.length < 2 || bytes[0] !== 0x1f || bytes[1] !== 0x8b) return bytes;
  try {
    const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new DecompressionStream('gzip'));
    return new Uint8Array(await new Response(stream).arrayBuffer());
  } catch (err) {
    throw new TesseraError('fashion-mnist', `${name}: the gzip stream is corrupt or truncated (${(err as Error).message})`);
  }
}

function splitFrom(
  images: { dims: readonly number[]; data: Uint8Array },
  labels: { dims: readonly number[]; data: Uint8Array },
  names: [string, string],
): Split {
  const op = 'fashion-mnist';
  if (images.dims.length !== 3 || images.dims[1] !== 28 || images.dims[2] !== 28) {
    throw new TesseraError(op, `${names[0]}: expected [count, 28, 28] images, got [${images.dims.join(', ')}]`);
  }
  if (labels.dims.length !== 1) throw new TesseraError(op, `${names[1]}: expected 1 dimension [count], got [${labels.dims.join(', ')}]`);
  if (labels.dims[0] !== images.dims[0])
    throw new TesseraError(op, `${names[1]} holds ${labels.dims[0]} labels but ${names[0]} holds ${images.dims[0]} images`);
  const bad = labels.data.findIndex((l) => l > 9);
  if (bad >= 0) throw new TesseraError(op, `${names[1]}: label ${bad} is ${labels.data[bad]}, outside 0…9`);
  return { images: images.data, labels: labels.data, count: images.dims[0]! };
}

/**
 * Parses the four IDX files (gzipped or not), keyed by their base names (`train-images-idx3-ubyte`, …); a file
 * given under another name is matched by the base name it contains.
 */
export async function fashionMnistFromFiles(files: { name: string; bytes: Uint8Array }[], where: string): Promise<DataSet> {
  const found = new Map<string, { name: string; bytes: Uint8Array }>();
  for (const f of files) {
    const base = IDX_FILES.find((b) => f.name.includes(b));
    if (!base) throw new TesseraError('fashion-mnist', `${f.name} is not one of the four Fashion-MNIST files (${IDX_FILES.join(', ')}, optionally .gz)`);
    found.set(base, f);
  }
  const missing = IDX_FILES.filter((b) => !found.has(b));
  if (missing.length > 0) throw new TesseraError('fashion-mnist', `missing ${missing.join(', ')}: pick all four IDX files`);
  const parsed = await Promise.all(
    IDX_FILES.map(async (b) => {
      const f = found.get(b)!;
      return parseIdxWith(await gunzipIfNeeded(f.bytes, f.name), f.name);
    }),
  );
  const names = IDX_FILES.map((b) => found.get(b)!.name);
  const train = splitFrom(parsed[0]!, parsed[1]!, [names[0]!, names[1]!]);
  const test = splitFrom(parsed[2]!, parsed[3]!, [names[2]!, names[3]!]);
  return {
    kind: 'fashion-mnist',
    description: `Fashion-MNIST from ${where} (${train.count} train, ${test.count} test images)`,
    classNames: FASHION_MNIST_CLASSES,
    train,
    test,
  };
}

/** Fetches the four files the build copied under `base` (data/fashion-mnist/); null when they are not served. */
export async function fetchServedFashionMnist(base: string): Promise<DataSet | null> {
  let manifest: { files: string[] };
  try {
    const res = await fetch(`${base}manifest.json`);
    if (!res.ok) return null;
    manifest = (await res.json()) as { files: string[] };
  } catch {
    return null;
  }
  const files = await Promise.all(
    manifest.files.map(async (name) => {
      const res = await fetch(`${base}${name}`);
      if (!res.ok) throw new TesseraError('fashion-mnist', `${base}${name}: HTTP ${res.status}`);
      return { name, bytes: new Uint8Array(await res.arrayBuffer()) };
    }),
  );
  return fashionMnistFromFiles(files, 'the files served with the app (copied from dataset-fashion-mnist at build time)');
}

const SHAPES = ['disc', 'square', 'triangle', 'ring', 'cross'];

/**
 * Synthetic 28×28 grayscale images of 10 classes from @tessera/data's renderer (class = shape × stripe
 * orientation and frequency of the background), the same generator `tessera demo` falls back to.
 */
export function syntheticDataSet(trainCount = 6000, testCount = 1000, seed = 7): DataSet {
  const k = 10;
  const make = (count: number, stream: number): Split => {
    const images = new Uint8Array(count * 784);
    const labels = new Uint8Array(count);
    for (let i = 0; i < count; i++) {
      const c = i % k;
      const drawn = renderSyntheticImage(c, k, 28, 28, new SyntheticStream(seed, stream, i));
      for (let p = 0; p < 784; p++) {
        const r = drawn.pixels[3 * p]!;
        const g = drawn.pixels[3 * p + 1]!;
        const b = drawn.pixels[3 * p + 2]!;
        images[i * 784 + p] = Math.round(0.299 * r + 0.587 * g + 0.114 * b);
      }
      labels[i] = c;
    }
    return { images, labels, count };
  };
  return {
    kind: 'synthetic',
    description: `synthetic images from @tessera/data's generator (${trainCount} train, ${testCount} test; Fashion-MNIST is not available)`,
    classNames: Array.from({ length: k }, (_, c) => `synthetic ${c} (${SHAPES[c % 5]})`),
    train: make(trainCount, 1),
    test: make(testCount, 2),
  };
}
