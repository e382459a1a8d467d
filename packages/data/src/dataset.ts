/**
 * The contract between data sources and the loader. A dataset is a numbered collection of labelled images;
 * `get(i)` either returns the image (uint8, height × width × channels, interleaved) or says why this one image
 * cannot be used — a skip, which the loader counts and reports instead of failing the epoch.
 *
 * Datasets that can be rebuilt inside a worker thread say how through `workerSpec()`: a module URL, the name of
 * an exported async factory and structured-cloneable arguments (SharedArrayBuffers are shared, not copied).
 */
import { TesseraError } from '@tessera/tensor';

/** An 8-bit image, rows of interleaved channels (HWC). */
export interface Image {
  readonly data: Uint8Array;
  readonly height: number;
  readonly width: number;
  readonly channels: number;
}

/** A note about an image that was read but needed attention (e.g. a PNG named .JPEG, a CMYK JPEG). */
export type ImageNote = 'png-content' | 'cmyk' | 'grayscale' | 'other-format';

export type Item =
  { readonly ok: true; readonly image: Image; readonly label: number; readonly notes?: readonly ImageNote[] } | { readonly ok: false; readonly reason: string };

/** How a worker thread rebuilds a dataset: `(await import(module))[exportName](args)`. */
export interface WorkerSpec {
  readonly module: string;
  readonly exportName: string;
  readonly args: unknown;
}

export interface Dataset {
  /** Number of images (including any that will turn out to be unreadable). */
  readonly length: number;
  /** Number of classes labels are drawn from: labels lie in [0, numClasses). */
  readonly numClasses: number;
  /** [height, width, channels] of every image `get` returns, or null when images differ in size. */
  readonly imageShape: readonly [number, number, number] | null;
  /** Class names by label, when known. */
  readonly classNames?: readonly string[];
  /** The image and label at `index`, or a skip saying why that image cannot be used. */
  get(index: number): Promise<Item>;
  /** Where image `index` comes from (a path, or e.g. `fashion-mnist train #17`), for reports. */
  source(index: number): string;
  /** How to rebuild this dataset in a worker thread; without it the loader decodes on the calling thread. */
  workerSpec?(): WorkerSpec;
}

export function skip(reason: string): Item {
  return { ok: false, reason };
}

/** Throws unless `index` is an integer in [0, length). */
export function checkIndex(op: string, index: number, length: number): void {
  if (!Number.isInteger(index) || index < 0 || index >= length) {
    throw new TesseraError(op, `index must be an integer in [0, ${length}), got ${index}`);
  }
}

/**
 * The URL a worker thread can import for a module of this package. When the package runs from its TypeScript
 * sources (vitest), worker threads cannot load `.ts` files, so they use the compiled twin in `dist/`.
 */
export function runnableModuleUrl(url: string): string {
  const m = /^(.*)\/src\/([^/]+)\.(ts|js)$/.exec(url);
  if (m && (m[3] === 'ts' || import.meta.url.endsWith('.ts'))) return `${m[1]}/dist/${m[2]}.js`;
  return url;
}

/** Imports a dataset from its worker spec (used by worker threads, and by tests to check a spec round trip). */
export async function datasetFromSpec(spec: WorkerSpec): Promise<Dataset> {
  let mod: Record<string, unknown>;
  try {
    mod = (await import(spec.module)) as Record<string, unknown>;
  } catch (e) {
    throw new TesseraError('datasetFromSpec', `cannot import ${spec.module}: ${(e as Error).message}`);
  }
  const factory = mod[spec.exportName];
  if (typeof factory !== 'function') throw new TesseraError('datasetFromSpec', `${spec.module} has no exported function ${spec.exportName}`);
  return (await (factory as (args: unknown) => Promise<Dataset> | Dataset)(spec.args)) as Dataset;
}
