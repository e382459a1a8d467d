/**
 * The loader: turns any Dataset into batches — images as an NCHW float32 tensor, labels as an int32 tensor —
 * on a chosen backend.
 *
 * - Order: a seeded shuffle per epoch (Philox), or dataset order.
 * - Work: reading, decoding and augmentation run in worker threads, several batches ahead of the consumer,
 *   so CPU work overlaps device compute. Every random choice is a function of (seed, epoch, image index) and
 *   every image lands in its own row, so the batches are identical whatever the number of workers.
 * - Resumable: `state()` (epoch, position, seed) saved with a checkpoint restores the exact order.
 * - Nothing lost: an image that cannot be read or decoded is skipped — its batch is one shorter — and listed
 *   with the reason in `report()`. Only a dataset that yields nothing at all stops the loader.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { TesseraError, tensor, type Tensor } from '@tessera/tensor';
import { runnableModuleUrl, type Dataset, type ImageNote } from './dataset.js';
import { SampleProcessor, type RowOutcome, type SlotBuffers, type Task, type TaskResult } from './pipeline.js';
import { checkSeed, epochOrder } from './random.js';
import { sharedArray, toShared } from './shared.js';
import { TransformPlan, type TransformSpec } from './transforms.js';
import type { WorkerInit, WorkerReply } from './worker.js';

const OP = 'loader';

/** Where a loader stands: save it with a checkpoint, pass it back as `options.state` to resume. */
export interface LoaderState {
  readonly epoch: number;
  /** Positions of the epoch's order already delivered (batch-aligned). */
  readonly position: number;
  readonly seed: number;
  readonly shuffle: boolean;
  /** Dataset length the order was drawn for. */
  readonly length: number;
}

export interface LoaderOptions {
  readonly batchSize: number;
  /** Shuffle every epoch (default true). */
  readonly shuffle?: boolean;
  /** Seed of the shuffle and the augmentation (default 0). */
  readonly seed?: number;
  /** Default: the whole image, v = pixel / 255. */
  readonly transform?: TransformSpec;
  /** Worker threads (default: the machine's available parallelism, at most 8); 0 works on the calling thread. */
  readonly workers?: number;
  /** Batches prepared ahead of the consumer (default 3). */
  readonly prefetch?: number;
  /** Images each worker reads and decodes at once (default 3). */
  readonly inflight?: number;
  /** Leave out a last batch smaller than batchSize (default false). */
  readonly dropLast?: boolean;
  /** Backend the tensors are created on (default: the current backend). */
  readonly backend?: string;
  /** Resume from a saved state. */
  readonly state?: LoaderState;
}

export interface SkipRecord {
  readonly epoch: number;
  readonly index: number;
  readonly source: string;
  readonly reason: string;
}

export interface NoteRecord {
  readonly epoch: number;
  readonly index: number;
  readonly source: string;
  readonly notes: readonly ImageNote[];
}

/** What an epoch read: read + skipped.length = positions visited. */
export interface EpochReport {
  readonly epoch: number;
  /** Positions of the epoch's order visited so far. */
  readonly visited: number;
  readonly read: number;
  readonly skipped: readonly SkipRecord[];
  /** Images read that needed attention (PNG named .JPEG, CMYK or grayscale JPEGs). */
  readonly notes: readonly NoteRecord[];
}

interface BatchInfo {
  readonly epoch: number;
  /** Position of the batch's first image in the epoch's order. */
  readonly position: number;
  /** Dataset indices of the images in the batch, in row order. */
  readonly indices: Int32Array;
  /** Images of this batch that were skipped. */
  readonly skipped: readonly SkipRecord[];
  /** Images in the batch (batchSize, less skips, less at the end of an epoch). */
  readonly size: number;
}

export interface Batch extends BatchInfo {
  /** [size × crops, C, H, W] float32 (crops is 10 for the ten-crop transform, image-major). */
  readonly images: Tensor;
  /** [size] int32. */
  readonly labels: Tensor;
}

export interface HostBatch extends BatchInfo {
  readonly images: Float32Array;
  readonly shape: readonly [number, number, number, number];
  readonly labels: Int32Array;
}

interface Slot extends SlotBuffers {
  readonly index: number;
  /** Tasks still writing into it. */
  busy: number;
  /** Held by a batch that has not been delivered (or abandoned) yet. */
  held: boolean;
}

interface PendingBatch {
  readonly position: number;
  readonly indices: Int32Array;
  readonly slot: Slot;
  readonly outcomes: RowOutcome[];
  remaining: number;
  readonly done: Promise<void>;
  resolve(): void;
  reject(e: Error): void;
}

interface Executor {
  outstanding: number;
  submit(task: Task): void;
  close(): Promise<void>;
}

/** The default number of worker threads. */
export function defaultWorkers(): number {
  return Math.max(1, Math.min(8, availableParallelism()));
}

function workerUrl(): URL {
  return new URL(runnableModuleUrl(new URL('./worker.js', import.meta.url).href));
}

class WorkerExecutor implements Executor {
  outstanding = 0;
  private readonly worker: Worker;
  private closed = false;

  constructor(
    init: WorkerInit,
    private readonly number: number,
    private readonly onResult: (r: TaskResult) => void,
    private readonly onFatal: (e: Error) => void,
  ) {
    this.worker = new Worker(workerUrl(), { workerData: init });
    this.worker.unref();
    this.worker.on('message', (msg: WorkerReply) => {
      if (msg.type === 'ready') return;
      if (msg.type === 'fatal') this.fail(`could not start: ${msg.message}`);
      else {
        this.outstanding--;
        if (this.outstanding === 0) this.worker.unref();
        this.onResult(msg.result);
      }
    });
    this.worker.on('error', (e) => this.fail(`crashed: ${e.message}`));
    this.worker.on('exit', (code) => {
      if (!this.closed) this.fail(`exited unexpectedly with code ${code}`);
    });
  }

  private fail(what: string): void {
    if (this.closed) return;
    this.closed = true;
    void this.worker.terminate();
    this.onFatal(new TesseraError(OP, `worker ${this.number} ${what}`));
  }

  submit(task: Task): void {
    if (this.outstanding === 0) this.worker.ref(); // keep the process alive while work is pending
    this.outstanding++;
    this.worker.postMessage(task);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.worker.terminate();
  }
}

class InlineExecutor implements Executor {
  outstanding = 0;
  constructor(
    private readonly processor: SampleProcessor,
    private readonly onResult: (r: TaskResult) => void,
  ) {}

  submit(task: Task): void {
    this.outstanding++;
    void this.processor.run(task).then((r) => {
      this.outstanding--;
      this.onResult(r);
    });
  }

  async close(): Promise<void> {}
}

const MAX_TASKS_PER_EXECUTOR = 2;
const MAX_RECORDED = 100_000;

export class Loader {
  readonly dataset: Dataset;
  readonly batchSize: number;
  readonly plan: TransformPlan;
  readonly workers: number;
  /** Batches in one full epoch. */
  readonly length: number;
  private readonly options: LoaderOptions;
  private readonly seed: number;
  private readonly shuffle: boolean;
  private readonly prefetch: number;
  private readonly inflight: number;
  private readonly transform: TransformSpec;
  private epochNo: number;
  private positionNo: number;
  private slots: Slot[] = [];
  private executors: Executor[] | null = null;
  private starting: Promise<void> | null = null;
  private readonly queued: Task[] = [];
  private readonly taskHandlers = new Map<number, (r: TaskResult) => void>();
  private nextTaskId = 1;
  private fatal: Error | null = null;
  private readonly pendingBatches = new Set<PendingBatch>();
  private slotWaiters: (() => void)[] = [];
  private running = false;
  private delivered = 0;
  private closed = false;
  private readonly reports = new Map<number, { visited: number; read: number; skipped: SkipRecord[]; notes: NoteRecord[]; skippedCount: number }>();

  constructor(dataset: Dataset, options: LoaderOptions) {
    if (!dataset || typeof dataset.get !== 'function' || !Number.isInteger(dataset.length))
      throw new TesseraError(OP, 'the first argument must be a Dataset (length, numClasses, imageShape, get, source)');
    if (dataset.length === 0) throw new TesseraError(OP, 'the dataset is empty');
    const B = options.batchSize;
    if (!Number.isInteger(B) || B < 1) throw new TesseraError(OP, `batchSize must be a positive integer, got ${B}`);
    const workers = options.workers ?? defaultWorkers();
    if (!Number.isInteger(workers) || workers < 0) throw new TesseraError(OP, `workers must be a non-negative integer, got ${workers}`);
    const prefetch = options.prefetch ?? 3;
    if (!Number.isInteger(prefetch) || prefetch < 1) throw new TesseraError(OP, `prefetch must be a positive integer, got ${prefetch}`);
    const inflight = options.inflight ?? 3;
    if (!Number.isInteger(inflight) || inflight < 1) throw new TesseraError(OP, `inflight must be a positive integer, got ${inflight}`);
    this.dataset = dataset;
    this.options = options;
    this.batchSize = B;
    this.prefetch = prefetch;
    this.inflight = inflight;
    this.workers = dataset.workerSpec ? workers : 0;
    this.transform = shareTransform(options.transform ?? {});
    this.plan = new TransformPlan(this.transform, dataset.imageShape, OP);
    this.length = options.dropLast ? Math.floor(dataset.length / B) : Math.ceil(dataset.length / B);
    if (this.length === 0) throw new TesseraError(OP, `dropLast with batchSize ${B} leaves no batch of a ${dataset.length}-image dataset`);

    const s = options.state;
    if (s) {
      if (typeof s !== 'object' || !Number.isInteger(s.epoch) || s.epoch < 0 || !Number.isInteger(s.position) || s.position < 0) {
        throw new TesseraError(OP, `state must be { epoch, position, seed, shuffle, length } from loader.state(), got ${JSON.stringify(s)}`);
      }
      if (s.length !== dataset.length) throw new TesseraError(OP, `the state was saved for a dataset of ${s.length} images; this one has ${dataset.length}`);
      if (s.position > dataset.length) throw new TesseraError(OP, `state.position ${s.position} is beyond the dataset's ${dataset.length} images`);
      if (options.seed !== undefined && options.seed !== s.seed) throw new TesseraError(OP, `options.seed ${options.seed} contradicts state.seed ${s.seed}`);
      if (options.shuffle !== undefined && options.shuffle !== s.shuffle)
        throw new TesseraError(OP, `options.shuffle ${options.shuffle} contradicts state.shuffle ${s.shuffle}`);
    }
    this.seed = s?.seed ?? options.seed ?? 0;
    checkSeed(OP, this.seed);
    this.shuffle = s?.shuffle ?? options.shuffle ?? true;
    this.epochNo = s?.epoch ?? 0;
    this.positionNo = s?.position ?? 0;
    this.rollOver();
  }

  /** The state after the last delivered batch (at the end of an epoch: the start of the next). */
  state(): LoaderState {
    this.rollOver();
    return { epoch: this.epochNo, position: this.positionNo, seed: this.seed, shuffle: this.shuffle, length: this.dataset.length };
  }

  /** The position after which an epoch that stands at `position` has no more batches. */
  private limitFrom(position: number): number {
    const N = this.dataset.length;
    return this.options.dropLast ? position + Math.floor((N - position) / this.batchSize) * this.batchSize : N;
  }

  /** Moves to the next epoch when the current one has no batch left. */
  private rollOver(): void {
    if (this.positionNo > 0 && this.positionNo >= this.limitFrom(this.positionNo)) {
      this.epochNo++;
      this.positionNo = 0;
    }
  }

  /** What epoch `epoch` (default: the latest one started) has read and skipped so far. */
  report(epoch?: number): EpochReport {
    const e = epoch ?? (this.reports.size > 0 ? Math.max(...this.reports.keys()) : this.epochNo);
    const r = this.reports.get(e);
    if (!r) return { epoch: e, visited: 0, read: 0, skipped: [], notes: [] };
    return { epoch: e, visited: r.visited, read: r.read, skipped: r.skipped.slice(), notes: r.notes.slice() };
  }

  /** Batches of the rest of the current epoch as tensors; then the state moves to the next epoch. */
  epoch(): AsyncGenerator<Batch, void, undefined> {
    const backend = this.options.backend !== undefined ? { backend: this.options.backend } : {};
    return this.run((b) => {
      const images = tensor(b.images, b.shape, { dtype: 'float32', ...backend });
      try {
        const labels = tensor(b.labels, [b.size], { dtype: 'int32', ...backend });
        return { epoch: b.epoch, position: b.position, indices: b.indices, skipped: b.skipped, size: b.size, images, labels };
      } catch (e) {
        images.dispose();
        throw e;
      }
    });
  }

  /** The same batches as host arrays (no backend involved): Float32Array images and Int32Array labels. */
  epochHost(): AsyncGenerator<HostBatch, void, undefined> {
    return this.run((b) => ({ ...b, images: b.images.slice(), labels: b.labels.slice() }));
  }

  /** Stops the workers. The loader cannot be used afterwards. */
  async close(): Promise<void> {
    this.closed = true;
    // An iteration still waiting for a batch ends with this error instead of waiting forever.
    if (!this.fatal) this.onFatal(new TesseraError(OP, 'the loader has been closed'));
    const ex = this.executors;
    this.executors = null;
    if (ex) await Promise.all(ex.map((e) => e.close()));
  }

  private async start(): Promise<void> {
    if (this.executors) return;
    if (this.starting) return this.starting;
    this.starting = (async () => {
      const floats = this.batchSize * this.plan.floatsPerImage;
      this.slots = Array.from({ length: this.prefetch }, (_, index) => ({
        index,
        images: sharedArray(Float32Array, floats),
        labels: sharedArray(Int32Array, this.batchSize),
        busy: 0,
        held: false,
      }));
      const buffers: SlotBuffers[] = this.slots.map((s) => ({ images: s.images, labels: s.labels }));
      const onResult = (r: TaskResult) => this.onTaskResult(r);
      if (this.workers === 0) {
        this.executors = [new InlineExecutor(new SampleProcessor(this.dataset, this.plan, this.seed, buffers, this.inflight), onResult)];
        return;
      }
      const init: WorkerInit = {
        dataset: this.dataset.workerSpec!(),
        transform: this.transform,
        imageShape: this.dataset.imageShape,
        seed: this.seed,
        slots: buffers,
        inflight: this.inflight,
      };
      // Tasks may be posted before a worker is ready; one that cannot rebuild the dataset reports it and fails the loader.
      this.executors = Array.from({ length: this.workers }, (_, i) => new WorkerExecutor(init, i, onResult, (e) => this.onFatal(e)));
    })();
    try {
      await this.starting;
    } finally {
      this.starting = null;
    }
  }

  private onFatal(e: Error): void {
    if (this.fatal) return;
    this.fatal = e;
    for (const pb of this.pendingBatches) pb.reject(e);
    this.wakeSlotWaiters();
  }

  private onTaskResult(r: TaskResult): void {
    const handler = this.taskHandlers.get(r.id);
    this.taskHandlers.delete(r.id);
    handler?.(r);
    this.dispatch();
  }

  private dispatch(): void {
    if (!this.executors) return;
    while (this.queued.length > 0) {
      let best: Executor | null = null;
      for (const e of this.executors) if (e.outstanding < MAX_TASKS_PER_EXECUTOR && (!best || e.outstanding < best.outstanding)) best = e;
      if (!best) return;
      best.submit(this.queued.shift()!);
    }
  }

  private wakeSlotWaiters(): void {
    const w = this.slotWaiters;
    this.slotWaiters = [];
    for (const f of w) f();
  }

  private freeSlot(): Slot | undefined {
    return this.slots.find((s) => !s.held && s.busy === 0);
  }

  private launch(epoch: number, position: number, indices: Int32Array, slot: Slot): PendingBatch {
    slot.held = true;
    let resolve!: () => void;
    let reject!: (e: Error) => void;
    const done = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    done.catch(() => {}); // rejections are read where the batch is awaited
    const pb: PendingBatch = { position, indices, slot, outcomes: new Array(indices.length), remaining: 0, done, resolve, reject };
    const executors = Math.max(1, this.executors?.length ?? 1);
    const chunk = Math.max(1, Math.ceil(indices.length / (2 * executors)));
    for (let row = 0; row < indices.length; row += chunk) {
      const id = this.nextTaskId++;
      const task: Task = { id, epoch, slot: slot.index, row, indices: indices.slice(row, row + chunk) };
      pb.remaining++;
      slot.busy++;
      this.taskHandlers.set(id, (r) => {
        r.rows.forEach((o, k) => (pb.outcomes[row + k] = o));
        slot.busy--;
        if (--pb.remaining === 0) pb.resolve();
        if (slot.busy === 0 && !slot.held) this.wakeSlotWaiters();
      });
      this.queued.push(task);
    }
    this.pendingBatches.add(pb);
    this.dispatch();
    return pb;
  }

  private release(slot: Slot): void {
    slot.held = false;
    if (slot.busy === 0) this.wakeSlotWaiters();
  }

  private record(epoch: number): { visited: number; read: number; skipped: SkipRecord[]; notes: NoteRecord[]; skippedCount: number } {
    let r = this.reports.get(epoch);
    if (!r) {
      r = { visited: 0, read: 0, skipped: [], notes: [], skippedCount: 0 };
      this.reports.set(epoch, r);
      // Keep the reports of the last few epochs only.
      for (const k of [...this.reports.keys()]) if (k < epoch - 4) this.reports.delete(k);
    }
    return r;
  }

  /** Compacts a finished batch (skips removed) and records it; the arrays returned are views of its slot. */
  private finish(epoch: number, pb: PendingBatch): HostBatch {
    const { slot, indices, outcomes } = pb;
    const fpi = this.plan.floatsPerImage;
    const report = this.record(epoch);
    const skipped: SkipRecord[] = [];
    const kept: number[] = [];
    outcomes.forEach((o, row) => {
      const index = indices[row]!;
      if (o.ok) {
        if (row !== kept.length) {
          slot.images.copyWithin(kept.length * fpi, row * fpi, (row + 1) * fpi);
          slot.labels[kept.length] = slot.labels[row]!;
        }
        kept.push(index);
        if (o.notes && report.notes.length < MAX_RECORDED) report.notes.push({ epoch, index, source: this.dataset.source(index), notes: o.notes });
      } else {
        const rec: SkipRecord = { epoch, index, source: this.dataset.source(index), reason: o.reason };
        skipped.push(rec);
        report.skippedCount++;
        if (report.skipped.length < MAX_RECORDED) report.skipped.push(rec);
      }
    });
    report.visited += indices.length;
    report.read += kept.length;
    const n = kept.length;
    if (n === 0 && this.delivered === 0 && (indices.length >= 8 || indices.length === this.dataset.length)) {
      const reasons = skipped.slice(0, 3).map((s) => `${s.source}: ${s.reason}`);
      throw new TesseraError(OP, `all ${indices.length} images of the first batch failed, so the dataset is unusable as configured — ${reasons.join('; ')}`);
    }
    const { outHeight: H, outWidth: W, outChannels: C, crops } = this.plan;
    return {
      epoch,
      position: pb.position,
      indices: Int32Array.from(kept),
      skipped,
      size: n,
      images: slot.images.subarray(0, n * fpi),
      labels: slot.labels.subarray(0, n),
      shape: [n * crops, C, H, W],
    };
  }

  /** Iterates the rest of the epoch; `deliver` turns each batch (views of its slot) into what is yielded. */
  private async *run<T>(deliver: (b: HostBatch) => T): AsyncGenerator<T, void, undefined> {
    if (this.closed) throw new TesseraError(OP, 'the loader has been closed');
    if (this.running) throw new TesseraError(OP, 'an epoch is already being iterated; finish or break out of it first');
    this.running = true;
    this.rollOver();
    const epoch = this.epochNo;
    const B = this.batchSize;
    const N = this.dataset.length;
    const limit = this.limitFrom(this.positionNo);
    const queue: PendingBatch[] = [];
    let completed = false;
    try {
      await this.start();
      const order = epochOrder(N, this.seed, epoch, this.shuffle);
      let next = this.positionNo;
      const fill = () => {
        while (queue.length < this.prefetch && next < limit) {
          const slot = this.freeSlot();
          if (!slot) return;
          const end = Math.min(next + B, limit);
          queue.push(this.launch(epoch, next, order.slice(next, end), slot));
          next = end;
        }
      };
      fill();
      while (queue.length > 0 || next < limit) {
        if (this.fatal) throw this.fatal;
        if (queue.length === 0) {
          await new Promise<void>((r) => this.slotWaiters.push(r)); // slots still held by an abandoned epoch
          fill();
          continue;
        }
        const pb = queue[0]!;
        await pb.done;
        queue.shift();
        this.pendingBatches.delete(pb);
        let out: T | null = null;
        try {
          const b = this.finish(epoch, pb);
          if (b.size > 0) out = deliver(b); // a batch whose every image was skipped is not delivered; the report lists them
        } finally {
          this.release(pb.slot);
        }
        this.positionNo = pb.position + pb.indices.length;
        fill();
        if (out === null) continue;
        this.delivered++;
        yield out;
      }
      completed = true;
    } finally {
      // Batches still in flight when the consumer stops: their slots come free once their tasks finish.
      for (const pb of queue) {
        this.pendingBatches.delete(pb);
        pb.slot.held = false;
      }
      if (completed) {
        this.epochNo = epoch + 1;
        this.positionNo = 0;
      }
      this.running = false;
    }
  }
}

/** Puts the mean image in shared memory, so workers receive it without a copy. */
function shareTransform(t: TransformSpec): TransformSpec {
  const n = t.normalize;
  if (n?.kind === 'image' && n.mean instanceof Float32Array) return { ...t, normalize: { ...n, mean: toShared(n.mean) } };
  return t;
}

/** A loader over `dataset`; see LoaderOptions. Call `close()` when done with it. */
export function createLoader(dataset: Dataset, options: LoaderOptions): Loader {
  return new Loader(dataset, options);
}
