/**
 * A loader worker thread: rebuilds the dataset from its worker spec, then reads, decodes and transforms the
 * images of each task it is sent into the shared batch slots, and answers with one outcome per image.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { datasetFromSpec, type WorkerSpec } from './dataset.js';
import { SampleProcessor, type SlotBuffers, type Task } from './pipeline.js';
import { TransformPlan, type TransformSpec } from './transforms.js';

export interface WorkerInit {
  readonly dataset: WorkerSpec;
  readonly transform: TransformSpec;
  readonly imageShape: readonly [number, number, number] | null;
  readonly seed: number;
  readonly slots: readonly SlotBuffers[];
  readonly inflight: number;
}

export type WorkerReply =
  | { readonly type: 'ready' }
  | { readonly type: 'fatal'; readonly message: string }
  | { readonly type: 'result'; readonly result: import('./pipeline.js').TaskResult };

const port = parentPort;
if (!port) throw new Error('@tessera/data worker.js must run in a worker thread');
const init = workerData as WorkerInit;

const processor: Promise<SampleProcessor | null> = (async () => {
  try {
    const dataset = await datasetFromSpec(init.dataset);
    const plan = new TransformPlan(init.transform, init.imageShape, 'loader worker');
    port.postMessage({ type: 'ready' } satisfies WorkerReply);
    return new SampleProcessor(dataset, plan, init.seed, init.slots, init.inflight);
  } catch (e) {
    port.postMessage({ type: 'fatal', message: e instanceof Error ? e.message : String(e) } satisfies WorkerReply);
    return null;
  }
})();

port.on('message', (task: Task) => {
  void processor.then(async (p) => {
    if (!p) return;
    const result = await p.run(task);
    port.postMessage({ type: 'result', result } satisfies WorkerReply);
  });
});
