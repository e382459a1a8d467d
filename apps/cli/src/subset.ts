/**
 * `--train-images N` / `--test-images N`: the first N images of a dataset, for short runs. The subset rebuilds in
 * the loader's worker threads from its base dataset's own worker spec.
 */
import { datasetFromSpec, type Dataset, type Item, type WorkerSpec } from '@tessera/data';
import { TesseraError } from '@tessera/tensor';

interface SubsetSpecArgs {
  base: WorkerSpec;
  count: number;
}

/** This module as a worker thread can import it: from vitest (src/*.ts) that is its compiled twin in dist/. */
function moduleUrl(): string {
  const m = /^(.*)\/src\/([^/]+)\.ts$/.exec(import.meta.url);
  return m ? `${m[1]}/dist/${m[2]}.js` : import.meta.url;
}

export class FirstImages implements Dataset {
  readonly length: number;
  readonly numClasses: number;
  readonly imageShape: readonly [number, number, number] | null;
  readonly classNames?: readonly string[];
  readonly workerSpec?: () => WorkerSpec;

  constructor(
    readonly base: Dataset,
    count: number,
  ) {
    if (!Number.isInteger(count) || count < 1) throw new TesseraError('subset', `the image count must be a positive integer, got ${count}`);
    this.length = Math.min(count, base.length);
    this.numClasses = base.numClasses;
    this.imageShape = base.imageShape;
    if (base.classNames) this.classNames = base.classNames;
    const baseSpec = base.workerSpec?.bind(base);
    if (baseSpec) this.workerSpec = () => ({ module: moduleUrl(), exportName: 'firstImagesFromSpec', args: { base: baseSpec(), count: this.length } });
  }

  get(index: number): Promise<Item> {
    if (!Number.isInteger(index) || index < 0 || index >= this.length)
      throw new TesseraError('subset', `index must be an integer in [0, ${this.length}), got ${index}`);
    return this.base.get(index);
  }

  source(index: number): string {
    return this.base.source(index);
  }
}

/** The first `count` images of `dataset` (all of them when it has fewer). */
export function firstImages(dataset: Dataset, count: number): Dataset {
  return count >= dataset.length ? dataset : new FirstImages(dataset, count);
}

/** Rebuilds a FirstImages in a worker thread. */
export async function firstImagesFromSpec(args: SubsetSpecArgs): Promise<Dataset> {
  return new FirstImages(await datasetFromSpec(args.base), args.count);
}
