/**
 * The paper's training recipe (Section 5), every value overridable: SGD with batch 128, momentum 0.9 and weight
 * decay 5e-4 under the paper's update rule, learning rate 0.01 divided by 10 whenever the validation error
 * stops improving, 90 epochs. Checkpoints every epoch (weights + optimizer state in safetensors, the rest in a
 * JSON sidecar) so that a resumed run continues exactly; a non-finite loss stops training and leaves the last
 * good checkpoint in place.
 */
import { appendFile, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { F, TesseraError, getRngState, loadSafetensors, nn, noGrad, optim, saveSafetensors, setRngState, tidy, type Tensor } from '@tessera/tensor';
import { ErrorMeter, type ErrorRates } from './metrics.js';
import { CHECKPOINT_SIDECAR_FORMAT, readCheckpointSidecar, type CheckpointSidecar } from './checkpoint-sidecar.js';

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
  /** The position to save in a checkpoint (restored by whoever builds the source). */
  state?(): unknown;
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
   * 'plateau': divide the lr by 10 when the validation top-1 error stops improving (the paper); 'steps': divide it
   * by 10 at the start of each epoch listed in `dropEpochs` (1-based); 'none' keeps it.
   */
  schedule?: 'plateau' | 'steps' | 'none';
  dropEpochs?: readonly number[];
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
  /** 'plateau': ReduceLROnPlateau stepped with the validation error; 'steps': MultiStepLR; 'none': null. */
  readonly scheduler: optim.ReduceLROnPlateau | optim.MultiStepLR | null;
  /** Train until this many epochs are complete; raise it to continue training. */
  epochs: number;
  readonly history: EpochRecord[] = [];
  /** Epochs completed. */
  epoch = 0;
  private readonly opts: TrainerOptions;
  private lastCheckpoint: string | null = null;

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
    const dropEpochs = opts.dropEpochs ?? [];
    if (opts.schedule === 'steps' ? dropEpochs.length === 0 || dropEpochs.some((e) => !Number.isInteger(e) || e < 1) : dropEpochs.length > 0) {
      throw new TesseraError('Trainer', `schedule 'steps' needs dropEpochs (positive integers), and only it takes them; got ${JSON.stringify(dropEpochs)}`);
    }
    const schedule = opts.schedule ?? 'plateau';
    // dropEpochs are 1-based epochs to start at the lower rate; MultiStepLR's milestones are the lastEpoch values
    // reached after the epochs before them, so epoch e starts at the rate milestone e − 1 set.
    this.scheduler =
      schedule === 'plateau'
        ? new optim.ReduceLROnPlateau(this.optimizer, { mode: 'min', factor: 0.1, patience: opts.patience ?? 0 })
        : schedule === 'steps'
          ? new optim.MultiStepLR(this.optimizer, { milestones: dropEpochs.map((e) => e - 1), gamma: 0.1 })
          : null;
  }

  /** The checkpoint written last (or loaded), if any. */
  get checkpoint(): string | null {
    return this.lastCheckpoint;
  }

  private async log(record: Record<string, unknown>): Promise<void> {
    if (this.opts.logFile) await appendFile(this.opts.logFile, JSON.stringify(record) + '\n');
  }

  /** One pass over `train`. Returns the mean training loss. */
  async trainEpoch(train: BatchSource): Promise<{ loss: number; images: number; seconds: number }> {
    const model = this.model;
    const opt = this.optimizer;
    model.train();
    const logEvery = this.opts.logEvery ?? 10;
    const t0 = performance.now();
    let step = 0;
    let images = 0;
    let lossSum: Tensor | null = null;
    let pending: Tensor | null = null;
    const epoch = this.epoch;
    const readLoss = async (l: Tensor) => {
      const value = await l.item();
      if (!Number.isFinite(value)) {
        throw new TesseraError(
          'train',
          `the loss became ${value} at epoch ${epoch + 1}, step ${step}; training stopped. ` +
            (this.lastCheckpoint ? `The last good checkpoint is ${this.lastCheckpoint}` : 'No checkpoint had been written yet') +
            ' — lower the learning rate and resume from it.',
        );
      }
      const elapsed = (performance.now() - t0) / 1000;
      const info: StepInfo = {
        epoch: epoch + 1,
        step,
        stepsPerEpoch: train.length ?? null,
        loss: value,
        imagesPerSecond: images / elapsed,
        elapsedSeconds: elapsed,
      };
      this.opts.onStep?.(info);
      await this.log({ type: 'step', ...info, lr: opt.lr });
    };
    try {
      for await (const batch of train.epoch()) {
        const n = batch.labels.shape[0]!;
        const loss = tidy(() => {
          opt.zeroGrad();
          const l = F.crossEntropy(model.forward(batch.images), batch.labels);
          l.backward();
          opt.step();
          return l.detach();
        });
        batch.images.dispose();
        batch.labels.dispose();
        step++;
        images += n;
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
      }
      if (pending) await readLoss(pending);
    } finally {
      pending?.dispose();
    }
    const total = lossSum ? await lossSum.item() : NaN;
    lossSum?.dispose();
    if (images > 0 && !Number.isFinite(total)) {
      throw new TesseraError(
        'train',
        `the loss became non-finite during epoch ${epoch + 1}; training stopped. The last good checkpoint is ${this.lastCheckpoint ?? 'none'}`,
      );
    }
    return { loss: total / images, images, seconds: (performance.now() - t0) / 1000 };
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
   * Trains until `epochs` are complete (continuing from `this.epoch` after a resume), evaluating on `val` (centre
   * crop) and optionally `valTenCrop` after each epoch, stepping the schedule on the validation top-1 error and
   * writing a checkpoint.
   */
  async fit(train: BatchSource, val?: BatchSource, valTenCrop?: BatchSource): Promise<EpochRecord[]> {
    while (this.epoch < this.epochs) {
      const lr = this.optimizer.lr;
      const t = await this.trainEpoch(train);
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
    return this.history;
  }

  /** Writes epoch-NNNN.safetensors (weights + optimizer tensors) and its JSON sidecar, then points latest.json at it. */
  async saveCheckpoint(dir: string, loaderState?: unknown): Promise<string> {
    await mkdir(dir, { recursive: true });
    const name = `epoch-${String(this.epoch).padStart(4, '0')}`;
    const weights = `${name}.safetensors`;
    const optState = this.optimizer.stateDict();
    const tensors = new Map<string, Tensor>();
    for (const [k, v] of this.model.stateDict()) tensors.set(`model.${k}`, v);
    for (const [k, v] of optState.tensors) tensors.set(`optimizer.${k}`, v);
    await saveSafetensors(tensors, join(dir, weights), { metadata: { format: 'tessera.alexnet.checkpoint', epoch: String(this.epoch) } });
    const sidecar: CheckpointSidecar = {
      format: CHECKPOINT_SIDECAR_FORMAT,
      version: 1,
      epoch: this.epoch,
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
    this.lastCheckpoint = join(dir, `${name}.json`);
    return this.lastCheckpoint;
  }

  /**
   * Restores model, optimizer, schedule, random state and history from a sidecar (a path to epoch-NNNN.json, or a
   * checkpoint directory, meaning its latest.json). Returns the sidecar: its `loader` field is the position to
   * rebuild the training loader at.
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
    this.lastCheckpoint = sidecarPath;
    return sidecar;
  }
  /**
   * The schedule's state from a sidecar written under the same schedule; a sidecar from another schedule (or one
   * without a scheduler) leaves a plateau schedule fresh and puts a step schedule at the sidecar's epoch, applying
   * the drop due at the start of the next epoch (the optimiser's lr, restored already, predates it).
   */
  private restoreScheduler(sidecar: CheckpointSidecar): void {
    const s = this.scheduler;
    const saved = sidecar.scheduler;
    const same = s !== null && typeof saved === 'object' && saved !== null && saved.type === s.kind;
    if (same) s.loadStateDict(saved);
    else if (s instanceof optim.MultiStepLR) {
      s.lastEpoch = sidecar.epoch - 1;
      s.step();
    }
  }
}

async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, JSON.stringify(value, null, 1));
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
