/**
 * The paper's training recipe (Section 5), every value overridable: SGD with batch 128, momentum 0.9 and weight
 * decay 5e-4 under the paper's update rule, learning rate 0.01 divided by 10 whenever the validation error
 * stops improving, 90 epochs. Checkpoints every epoch (weights + optimizer state in safetensors, the rest in a
 * JSON sidecar) so that a resumed run continues exactly; a non-finite loss stops training and leaves the last
 * good checkpoint in place.
 *
 * Long runs: `checkpointEvery` adds checkpoints between epochs (every N optimizer steps or every so many seconds
 * of wall time) that also hold the position in the epoch (the source's state after the last batch trained on,
 * the running loss sum), so a resume continues mid-epoch to the same weights as a run that was never stopped;
 * `requestStop()` (a signal handler's job) ends training after the current step with such a checkpoint. Every
 * file is written to a temporary name and renamed, and latest.json moves last, so a process killed at any moment
 * leaves a latest.json that points at a complete checkpoint. Of the step checkpoints only the newest is kept.
 */
import { appendFile, mkdir, open, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { F, TesseraError, getRngState, loadSafetensors, nn, noGrad, optim, saveSafetensors, setRngState, tensor, tidy, type Tensor } from '@tessera/tensor';
import { ErrorMeter, type ErrorRates } from './metrics.js';
import {
  CHECKPOINT_SIDECAR_FORMAT,
  CHECKPOINT_SIDECAR_VERSION,
  readCheckpointSidecar,
  type CheckpointSidecar,
  type EpochProgress,
} from './checkpoint-sidecar.js';

/** What a loader yields: NCHW float32 images and int32 labels (crops image-major when crops > 1). */
export interface TrainBatch {
  readonly images: Tensor;
  readonly labels: Tensor;
}

/** A source of batches, e.g. @tessera/data's Loader. */
export interface BatchSource {
  epoch(): AsyncIterable<TrainBatch>;
  /** Batches per epoch, for progress and ETA. */
  readonly length?: number;
  /**
   * The position to save in a checkpoint (restored by whoever builds the source). Called while an epoch is being
   * iterated it must describe the position after the batches yielded so far, so that a source rebuilt from it
   * yields the rest of that epoch; a source without it gets epoch checkpoints only.
   */
  state?(): unknown;
}

/** When to write checkpoints between epochs: every `steps` optimizer steps and/or every `seconds` of wall time. */
export interface CheckpointEvery {
  steps?: number;
  seconds?: number;
}

/** Where a run stopped on `requestStop()`. */
export interface StopInfo {
  /** What asked (e.g. 'SIGTERM'). */
  reason: string;
  /** Epochs completed, and steps of the next one done (0: it stopped between epochs). */
  epoch: number;
  step: number;
  /** The checkpoint written at the stop; null without a checkpointDir, or when the source has no state(). */
  checkpoint: string | null;
}

export interface TrainerOptions {
  model: nn.Module;
  epochs?: number;
  lr?: number;
  momentum?: number;
  weightDecay?: number;
  /** 'paper' (Krizhevsky et al.) or 'pytorch' (torch.optim.SGD). */
  rule?: 'paper' | 'pytorch';
  /** 'sgd' (the paper's, default) or 'adam' (torch.optim.Adam: weightDecay is an L2 term on the gradient; momentum and rule unused). */
  optimizer?: 'sgd' | 'adam';
  /**
   * 'plateau': divide the lr by 10 when the validation top-1 error stops improving (the paper); 'steps': multiply
   * it by `gamma` (default 0.1) at the start of each epoch listed in `dropEpochs` (1-based, torch's MultiStepLR);
   * 'step': multiply it by `gamma` every `stepSize` epochs (torch's StepLR, torchvision's reference recipes);
   * 'none' keeps it.
   */
  schedule?: 'plateau' | 'steps' | 'step' | 'none';
  dropEpochs?: readonly number[];
  /** schedule 'step': epochs between decays. */
  stepSize?: number;
  /** schedules 'steps' and 'step': the factor (default 0.1). */
  gamma?: number;
  /**
   * The training loss of a batch (default: cross-entropy of model.forward); e.g. GoogLeNet's main + 0.3 × auxiliary
   * losses in training mode.
   */
  loss?: (model: nn.Module, images: Tensor, labels: Tensor) => Tensor;
  /** Checkpoints between epochs as well (needs checkpointDir and a source with state()). */
  checkpointEvery?: CheckpointEvery;
  /** Epochs without improvement before the lr drops (default 0: at the first epoch that does not improve). */
  patience?: number;
  /** Directory for per-epoch checkpoints; none are written when omitted. */
  checkpointDir?: string;
  /** JSON-lines log of steps and epochs. */
  logFile?: string;
  /** Read the loss back every this many steps (default 10); fewer reads keep a GPU busy. */
  logEvery?: number;
  /** Called when a loss is read back. */
  onStep?: (s: StepInfo) => void;
  /** Called after each epoch. */
  onEpoch?: (e: EpochRecord) => void;
  /** Extra JSON to keep in every checkpoint sidecar (e.g. the model's options). */
  describe?: Record<string, unknown>;
}

export interface StepInfo {
  epoch: number;
  step: number;
  stepsPerEpoch: number | null;
  /** Images of the epoch trained on so far (after a mid-epoch resume, counting those before it). */
  images: number;
  loss: number;
  imagesPerSecond: number;
  elapsedSeconds: number;
}

export interface EpochRecord {
  epoch: number;
  lr: number;
  trainLoss: number;
  images: number;
  seconds: number;
  val?: ErrorRates;
  valTenCrop?: ErrorRates;
}

export class Trainer {
  readonly model: nn.Module;
  readonly optimizer: optim.SGD | optim.Adam;
  /** 'plateau': ReduceLROnPlateau stepped with the validation error; 'steps': MultiStepLR; 'step': StepLR; 'none': null. */
  readonly scheduler: optim.ReduceLROnPlateau | optim.MultiStepLR | optim.StepLR | null;
  /** Train until this many epochs are complete; raise it to continue training. */
  epochs: number;
  readonly history: EpochRecord[] = [];
  /** Epochs completed. */
  epoch = 0;
  /** Set when the last fit() ended on requestStop() before its epochs were done; null otherwise. */
  stopped: StopInfo | null = null;
  private readonly opts: TrainerOptions;
  private lastCheckpoint: string | null = null;
  /** The epoch in progress a mid-epoch checkpoint left, consumed by the next trainEpoch. */
  private progress: EpochProgress | null = null;
  private stopRequest: string | null = null;
  private lastCheckpointAt = performance.now();

  constructor(opts: TrainerOptions) {
    this.opts = opts;
    this.model = opts.model;
    this.epochs = opts.epochs ?? 90;
    if (!Number.isInteger(this.epochs) || this.epochs < 0) throw new TesseraError('Trainer', `epochs must be a non-negative integer, got ${this.epochs}`);
    const kind = opts.optimizer ?? 'sgd';
    if (kind !== 'sgd' && kind !== 'adam') throw new TesseraError('Trainer', `optimizer must be 'sgd' or 'adam', got ${JSON.stringify(kind)}`);
    this.optimizer =
      kind === 'adam'
        ? new optim.Adam(this.model.parameters(), { lr: opts.lr ?? 1e-3, weightDecay: opts.weightDecay ?? 0 })
        : new optim.SGD(this.model.parameters(), {
            lr: opts.lr ?? 0.01,
            momentum: opts.momentum ?? 0.9,
            weightDecay: opts.weightDecay ?? 5e-4,
            rule: opts.rule ?? 'paper',
          });
    const schedule = opts.schedule ?? 'plateau';
    if (!['plateau', 'steps', 'step', 'none'].includes(schedule)) {
      throw new TesseraError('Trainer', `schedule must be 'plateau', 'steps', 'step' or 'none', got ${JSON.stringify(schedule)}`);
    }
    const dropEpochs = opts.dropEpochs ?? [];
    if (schedule === 'steps' ? dropEpochs.length === 0 || dropEpochs.some((e) => !Number.isInteger(e) || e < 1) : dropEpochs.length > 0) {
      throw new TesseraError('Trainer', `schedule 'steps' needs dropEpochs (positive integers), and only it takes them; got ${JSON.stringify(dropEpochs)}`);
    }
    if (schedule === 'step' ? !Number.isInteger(opts.stepSize) || opts.stepSize! < 1 : opts.stepSize !== undefined) {
      throw new TesseraError('Trainer', `schedule 'step' needs stepSize (a positive integer), and only it takes one; got ${JSON.stringify(opts.stepSize)}`);
    }
    const gamma = opts.gamma ?? 0.1;
    if (opts.gamma !== undefined && (schedule === 'plateau' || schedule === 'none' || !(gamma > 0 && gamma <= 1))) {
      throw new TesseraError('Trainer', `gamma (in (0, 1]) is for the 'steps' and 'step' schedules only; got ${JSON.stringify(opts.gamma)} with '${schedule}'`);
    }
    const every = opts.checkpointEvery;
    if (every !== undefined) {
      const bad = (v: number | undefined, integer: boolean) => v !== undefined && (!(v > 0) || !Number.isFinite(v) || (integer && !Number.isInteger(v)));
      if (bad(every.steps, true) || bad(every.seconds, false) || (every.steps === undefined && every.seconds === undefined)) {
        throw new TesseraError('Trainer', `checkpointEvery needs steps (a positive integer) and/or seconds (a positive number), got ${JSON.stringify(every)}`);
      }
    }
    // dropEpochs are 1-based epochs to start at the lower rate; MultiStepLR's milestones are the lastEpoch values
    // reached after the epochs before them, so epoch e starts at the rate milestone e − 1 set.
    this.scheduler =
      schedule === 'plateau'
        ? new optim.ReduceLROnPlateau(this.optimizer, { mode: 'min', factor: 0.1, patience: opts.patience ?? 0 })
        : schedule === 'steps'
          ? new optim.MultiStepLR(this.optimizer, { milestones: dropEpochs.map((e) => e - 1), gamma })
          : schedule === 'step'
            ? new optim.StepLR(this.optimizer, { stepSize: opts.stepSize!, gamma })
            : null;
  }

  /** The checkpoint written last (or loaded), if any. */
  get checkpoint(): string | null {
    return this.lastCheckpoint;
  }

  /**
   * Asks a running fit() to stop after the step in progress: it writes a checkpoint (mid-epoch, resumable) and
   * returns, leaving `stopped` set. Safe to call from a signal handler; a second call changes nothing.
   */
  requestStop(reason = 'stop'): void {
    this.stopRequest ??= reason;
  }

  private async log(record: Record<string, unknown>): Promise<void> {
    if (this.opts.logFile) await appendFile(this.opts.logFile, JSON.stringify(record) + '\n');
  }

  /** Whether a between-epochs checkpoint is due after the step just taken. */
  private checkpointDue(): boolean {
    const every = this.opts.checkpointEvery;
    if (!every || !this.opts.checkpointDir) return false;
    if (every.steps !== undefined && this.optimizer.stepCount % every.steps === 0) return true;
    return every.seconds !== undefined && performance.now() - this.lastCheckpointAt >= every.seconds * 1000;
  }

  /**
   * One pass over `train` (after a mid-epoch resume: the rest of it). Returns the mean training loss, or null when
   * requestStop() ended it before the epoch was done (`stopped` says where, and which checkpoint holds it).
   */
  async trainEpoch(train: BatchSource): Promise<{ loss: number; images: number; seconds: number } | null> {
    const model = this.model;
    const opt = this.optimizer;
    model.train();
    const logEvery = this.opts.logEvery ?? 10;
    const resumed = this.progress;
    this.progress = null;
    const t0 = performance.now();
    const priorSeconds = resumed?.seconds ?? 0;
    let step = resumed?.step ?? 0;
    let images = resumed?.images ?? 0;
    let sessionImages = 0;
    let lossSum: Tensor | null = resumed ? tensor([resumed.lossSum], [], { dtype: resumed.lossDtype }) : null;
    let pending: Tensor | null = null;
    const epoch = this.epoch;
    const nonFinite = (value: number) =>
      new TesseraError(
        'train',
        `the loss became ${value} at epoch ${epoch + 1}, step ${step}; training stopped. ` +
          (this.lastCheckpoint ? `The last good checkpoint is ${this.lastCheckpoint}` : 'No checkpoint had been written yet') +
          ' — lower the learning rate and resume from it.',
      );
    const readLoss = async (l: Tensor) => {
      const value = await l.item();
      if (!Number.isFinite(value)) throw nonFinite(value);
      const elapsed = (performance.now() - t0) / 1000;
      const info: StepInfo = {
        epoch: epoch + 1,
        step,
        stepsPerEpoch: train.length ?? null,
        images,
        loss: value,
        imagesPerSecond: sessionImages / elapsed,
        elapsedSeconds: priorSeconds + elapsed,
      };
      this.opts.onStep?.(info);
      await this.log({ type: 'step', ...info, lr: opt.lr });
    };
    const dir = this.opts.checkpointDir;
    const resumable = dir !== undefined && typeof train.state === 'function';
    const iterator = train.epoch()[Symbol.asyncIterator]();
    // A checkpoint decided on after a step is written once the next batch shows that the epoch goes on (after the
    // last batch the source's state already points at the next epoch, and the epoch checkpoint follows anyway).
    let due = false;
    let position: unknown = null;
    try {
      for (;;) {
        const next = await iterator.next();
        if (next.done) break;
        const batch = next.value;
        if (due) {
          due = false;
          let written: string | null;
          try {
            const sum = lossSum ? await lossSum.item() : 0;
            if (!Number.isFinite(sum)) throw nonFinite(sum);
            const seconds = priorSeconds + (performance.now() - t0) / 1000;
            written = await this.saveCheckpoint(dir!, position, { step, images, lossSum: sum, lossDtype: lossSum?.dtype ?? 'float32', seconds });
          } catch (err) {
            batch.images.dispose();
            batch.labels.dispose();
            lossSum?.dispose();
            throw err;
          }
          if (this.stopRequest !== null) {
            batch.images.dispose();
            batch.labels.dispose();
            this.stopped = { reason: this.stopRequest, epoch, step, checkpoint: written };
            lossSum?.dispose();
            return null;
          }
        }
        const n = batch.labels.shape[0]!;
        const loss = tidy(() => {
          opt.zeroGrad();
          const l = this.opts.loss ? this.opts.loss(model, batch.images, batch.labels) : F.crossEntropy(model.forward(batch.images), batch.labels);
          l.backward();
          opt.step();
          return l.detach();
        });
        batch.images.dispose();
        batch.labels.dispose();
        step++;
        images += n;
        sessionImages += n;
        const weighted = noGrad(() => loss.mul(n));
        if (lossSum) {
          const s: Tensor = lossSum.add(weighted);
          lossSum.dispose();
          weighted.dispose();
          lossSum = s;
        } else lossSum = weighted;
        if (step % logEvery === 0 || step === 1) {
          pending?.dispose();
          pending = null;
          await readLoss(loss);
          loss.dispose();
        } else {
          pending?.dispose();
          pending = loss;
        }
        if (this.stopRequest !== null && !resumable) {
          // Nowhere to keep the position: stop here, without a checkpoint.
          this.stopped = { reason: this.stopRequest, epoch, step, checkpoint: null };
          lossSum?.dispose();
          return null;
        }
        if (resumable && (this.stopRequest !== null || this.checkpointDue())) {
          due = true;
          position = train.state!();
        }
      }
      if (pending) await readLoss(pending);
    } finally {
      pending?.dispose();
      await iterator.return?.(undefined);
    }
    const total = lossSum ? await lossSum.item() : NaN;
    lossSum?.dispose();
    if (images > 0 && !Number.isFinite(total)) {
      throw new TesseraError(
        'train',
        `the loss became non-finite during epoch ${epoch + 1}; training stopped. The last good checkpoint is ${this.lastCheckpoint ?? 'none'}`,
      );
    }
    return { loss: total / images, images, seconds: priorSeconds + (performance.now() - t0) / 1000 };
  }

  /** Loss and top-1 / top-5 error over `source`; with crops > 1 the softmax outputs of each image's crops are averaged. */
  async evaluate(source: BatchSource, crops = 1): Promise<ErrorRates> {
    const wasTraining = this.model.training;
    this.model.eval();
    const meter = new ErrorMeter();
    try {
      for await (const batch of source.epoch()) {
        const probs = noGrad(() =>
          tidy(() => {
            const logits = this.model.forward(batch.images);
            const p = F.softmax(logits, -1);
            if (crops === 1) return p;
            const [rows, classes] = p.shape as [number, number];
            if (rows % crops !== 0) throw new TesseraError('evaluate', `${rows} outputs are not a multiple of ${crops} crops`);
            return p.reshape([rows / crops, crops, classes]).mean(1);
          }),
        );
        meter.add(probs, batch.labels);
        probs.dispose();
        batch.images.dispose();
        batch.labels.dispose();
      }
    } finally {
      this.model.train(wasTraining);
    }
    return meter.result();
  }

  /**
   * Trains until `epochs` are complete (continuing from `this.epoch` after a resume, mid-epoch if the checkpoint
   * was), evaluating on `val` (centre crop) and optionally `valTenCrop` after each epoch, stepping the schedule on
   * the validation top-1 error and writing a checkpoint. Ends early, with `stopped` set, after requestStop().
   */
  async fit(train: BatchSource, val?: BatchSource, valTenCrop?: BatchSource): Promise<EpochRecord[]> {
    this.stopped = null;
    this.lastCheckpointAt = performance.now();
    while (this.epoch < this.epochs) {
      if (this.stopRequest !== null) {
        // Between epochs: the epoch checkpoint just written (if any) is where it stands.
        this.stopped = { reason: this.stopRequest, epoch: this.epoch, step: 0, checkpoint: this.opts.checkpointDir ? this.lastCheckpoint : null };
        break;
      }
      const lr = this.optimizer.lr;
      const t = await this.trainEpoch(train);
      if (t === null) break;
      const record: EpochRecord = { epoch: this.epoch + 1, lr, trainLoss: t.loss, images: t.images, seconds: t.seconds };
      if (val) record.val = await this.evaluate(val, 1);
      if (valTenCrop) record.valTenCrop = await this.evaluate(valTenCrop, 10);
      this.epoch++;
      this.history.push(record);
      if (this.scheduler instanceof optim.ReduceLROnPlateau) this.scheduler.step(record.val ? record.val.top1Error : record.trainLoss);
      else this.scheduler?.step();
      await this.log({ type: 'epoch', ...record });
      if (this.opts.checkpointDir) await this.saveCheckpoint(this.opts.checkpointDir, train.state?.());
      this.opts.onEpoch?.(record);
    }
    this.stopRequest = null;
    return this.history;
  }

  /**
   * Writes a checkpoint — epoch-NNNN.safetensors (weights + optimizer tensors) and its JSON sidecar, or with
   * `progress` (a position inside the epoch after `this.epoch`) step-NNNNNNNN.* named by the optimizer's step
   * count — then points latest.json at it. Each file goes to a temporary name first and is renamed into place;
   * the step checkpoint written or loaded before is removed once latest.json has moved past it.
   */
  async saveCheckpoint(dir: string, loaderState?: unknown, progress?: EpochProgress): Promise<string> {
    await mkdir(dir, { recursive: true });
    const name = progress ? `step-${String(this.optimizer.stepCount).padStart(8, '0')}` : `epoch-${String(this.epoch).padStart(4, '0')}`;
    const weights = `${name}.safetensors`;
    const optState = this.optimizer.stateDict();
    const tensors = new Map<string, Tensor>();
    for (const [k, v] of this.model.stateDict()) tensors.set(`model.${k}`, v);
    for (const [k, v] of optState.tensors) tensors.set(`optimizer.${k}`, v);
    const metadata: Record<string, string> = { format: CHECKPOINT_SIDECAR_FORMAT, epoch: String(this.epoch) };
    if (progress) metadata.step = String(progress.step);
    const tmp = `${join(dir, weights)}.tmp-${process.pid}`;
    await saveSafetensors(tensors, tmp, { metadata });
    await syncFile(tmp);
    await rename(tmp, join(dir, weights));
    const sidecar: CheckpointSidecar = {
      format: CHECKPOINT_SIDECAR_FORMAT,
      version: CHECKPOINT_SIDECAR_VERSION,
      epoch: this.epoch,
      progress: progress ?? null,
      weights,
      optimizer: optState.meta,
      scheduler: this.scheduler?.stateDict() ?? null,
      rng: getRngState(),
      loader: loaderState ?? null,
      history: this.history,
      describe: this.opts.describe ?? {},
    };
    await writeJsonAtomic(join(dir, `${name}.json`), sidecar);
    await writeJsonAtomic(join(dir, 'latest.json'), { checkpoint: `${name}.json` });
    const previous = this.lastCheckpoint;
    this.lastCheckpoint = join(dir, `${name}.json`);
    this.lastCheckpointAt = performance.now();
    if (previous !== null && previous !== this.lastCheckpoint && /(^|\/)step-\d+\.json$/.test(previous)) {
      await rm(previous, { force: true });
      await rm(previous.replace(/\.json$/, '.safetensors'), { force: true });
    }
    return this.lastCheckpoint;
  }

  /**
   * Restores model, optimizer, schedule, random state, history and (for a mid-epoch checkpoint) the epoch in
   * progress from a sidecar (a path to epoch-NNNN.json / step-NNNNNNNN.json, or a checkpoint directory, meaning
   * its latest.json). Returns the sidecar: its `loader` field is the position to rebuild the training loader at.
   */
  async loadCheckpoint(path: string): Promise<CheckpointSidecar> {
    const sidecarPath = await resolveCheckpoint(path);
    const sidecar = await readCheckpointSidecar(sidecarPath);
    const dir = sidecarPath.slice(0, sidecarPath.lastIndexOf('/') + 1) || './';
    const file = await loadSafetensors(join(dir, sidecar.weights));
    const modelState = new Map<string, Tensor>();
    const optTensors = new Map<string, Tensor>();
    for (const [k, v] of file) {
      if (k.startsWith('model.')) modelState.set(k.slice('model.'.length), v);
      else if (k.startsWith('optimizer.')) optTensors.set(k.slice('optimizer.'.length), v);
    }
    this.model.loadStateDict(modelState);
    this.optimizer.loadStateDict({ meta: sidecar.optimizer, tensors: optTensors });
    this.restoreScheduler(sidecar);
    for (const t of file.values()) t.dispose();
    setRngState(sidecar.rng);
    this.history.splice(0, this.history.length, ...sidecar.history);
    this.epoch = sidecar.epoch;
    this.progress = sidecar.progress;
    this.lastCheckpoint = sidecarPath;
    return sidecar;
  }
  /**
   * The schedule's state from a sidecar written under the same schedule; a sidecar from another schedule (or one
   * without a scheduler) leaves a plateau schedule fresh and puts an epoch schedule at the sidecar's epoch, applying
   * the decay due at the start of the next epoch (the optimiser's lr, restored already, predates it).
   */
  private restoreScheduler(sidecar: CheckpointSidecar): void {
    const s = this.scheduler;
    const saved = sidecar.scheduler;
    const same = s !== null && typeof saved === 'object' && saved !== null && saved.type === s.kind;
    if (same) s.loadStateDict(saved);
    else if (s instanceof optim.MultiStepLR || s instanceof optim.StepLR) {
      s.lastEpoch = sidecar.epoch - 1;
      s.step();
    }
  }
}

/** Flushes a file to disk, so that the rename that follows never publishes a file the kernel has not written. */
async function syncFile(path: string): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, JSON.stringify(value, null, 1));
  await syncFile(tmp);
  await rename(tmp, path);
}

/** A sidecar path from a sidecar or a checkpoint directory (via its latest.json). */
export async function resolveCheckpoint(path: string): Promise<string> {
  if (path.endsWith('.json') && !path.endsWith('latest.json')) return path;
  const latest = path.endsWith('latest.json') ? path : join(path, 'latest.json');
  let text: string;
  try {
    text = await readFile(latest, 'utf8');
  } catch (err) {
    throw new TesseraError('resume', `no checkpoint at ${path}: cannot read ${latest} (${(err as Error).message})`);
  }
  try {
    const { checkpoint } = JSON.parse(text) as { checkpoint?: unknown };
    if (typeof checkpoint !== 'string') throw new Error('no "checkpoint" entry');
    return join(latest.slice(0, latest.lastIndexOf('/') + 1) || './', checkpoint);
  } catch (err) {
    throw new TesseraError('resume', `${latest} is not a tessera checkpoint pointer: ${(err as Error).message}`);
  }
}
