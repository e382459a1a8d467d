/**
 * The per-image work of the loader — read, decode, draw the augmentation, transform into the batch — shared
 * by worker threads and the calling thread (workers: 0). Output rows are written straight into a batch slot in
 * shared memory, each at its own place, so the result does not depend on which thread did what, or when.
 */
import type { Dataset, ImageNote } from './dataset.js';
import { augmentDraws } from './random.js';
import type { TransformPlan } from './transforms.js';

/** A batch buffer in shared memory: `rows` images of `floatsPerImage` floats, and their labels. */
export interface SlotBuffers {
  readonly images: Float32Array;
  readonly labels: Int32Array;
}

export interface Task {
  readonly id: number;
  readonly epoch: number;
  readonly slot: number;
  /** First batch row this task fills. */
  readonly row: number;
  /** Dataset indices for rows row, row + 1, … */
  readonly indices: Int32Array;
}

export type RowOutcome = { readonly ok: true; readonly notes?: readonly ImageNote[] } | { readonly ok: false; readonly reason: string };

export interface TaskResult {
  readonly id: number;
  /** One outcome per index of the task, in order. */
  readonly rows: RowOutcome[];
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export class SampleProcessor {
  private readonly queue: { task: Task; k: number; result: RowOutcome[]; done: () => void; remaining: { n: number } }[] = [];
  private running = 0;

  constructor(
    private readonly dataset: Dataset,
    private readonly plan: TransformPlan,
    private readonly seed: number,
    private readonly slots: readonly SlotBuffers[],
    /** Images read and decoded at once (decoding is asynchronous, on libuv's thread pool). */
    private readonly inflight: number,
  ) {}

  /** Processes every image of a task; never rejects (a failing image becomes a skip). */
  run(task: Task): Promise<TaskResult> {
    return new Promise((resolve) => {
      const rows: RowOutcome[] = new Array(task.indices.length);
      if (task.indices.length === 0) return resolve({ id: task.id, rows });
      const remaining = { n: task.indices.length };
      const done = () => resolve({ id: task.id, rows });
      for (let k = 0; k < task.indices.length; k++) this.queue.push({ task, k, result: rows, done, remaining });
      this.pump();
    });
  }

  private pump(): void {
    while (this.running < this.inflight && this.queue.length > 0) {
      const job = this.queue.shift()!;
      this.running++;
      void this.one(job.task, job.k).then((outcome) => {
        job.result[job.k] = outcome;
        this.running--;
        if (--job.remaining.n === 0) job.done();
        this.pump();
      });
    }
  }

  private async one(task: Task, k: number): Promise<RowOutcome> {
    const index = task.indices[k]!;
    const slot = this.slots[task.slot]!;
    const row = task.row + k;
    try {
      const item = await this.dataset.get(index);
      if (!item.ok) return { ok: false, reason: item.reason };
      const label = item.label;
      if (!Number.isInteger(label) || label < 0 || label >= this.dataset.numClasses) {
        return { ok: false, reason: `label ${label} is outside [0, ${this.dataset.numClasses})` };
      }
      const draws = this.plan.random ? augmentDraws(this.seed, task.epoch, index) : undefined;
      this.plan.apply(item.image, slot.images, row * this.plan.floatsPerImage, draws);
      slot.labels[row] = label;
      return item.notes && item.notes.length > 0 ? { ok: true, notes: item.notes } : { ok: true };
    } catch (e) {
      return { ok: false, reason: message(e) };
    }
  }
}
