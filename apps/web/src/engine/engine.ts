/**
 * Everything the page computes, on one tessera backend: training the reduced AlexNet, classifying, checkpoints
 * (the CLI's format), ONNX import, the conformance checks and the timings. It runs the same in a dedicated
 * Worker (engine-worker.ts) and on the main thread (for a backend the worker cannot open); both talk to the UI
 * through the `EngineApi` methods and an event callback. Long loops yield to the event loop between steps so
 * that pause / stop (and, on the main thread, the UI) are handled while they run.
 */
import {
  CHECKPOINT_SIDECAR_FORMAT,
  ErrorMeter,
  alexnet,
  importOnnx,
  loadOnnxInto,
  parseCheckpointSidecar,
  type AlexNet,
  type EpochRecord,
} from '@tessera/alexnet/browser';
import { FASHION_MNIST_MEAN, FASHION_MNIST_STD, IMAGENET_MEAN, IMAGENET_STD, transformImage, type TransformSpec } from '@tessera/data/browser';
import {
  F,
  TesseraError,
  availableBackends,
  getBackend,
  getRngState,
  manualSeed,
  noGrad,
  optim,
  parseSafetensors,
  randn,
  serializeSafetensors,
  setBackend,
  tensor,
  tidy,
  type BackendAvailability,
  type Tensor,
} from '@tessera/tensor';
import { runConformance, type CheckResult } from './conformance.js';
import { fashionMnistFromFiles, fetchServedFashionMnist, syntheticDataSet, type DataSet, type Split } from './data.js';

export type EngineEvent =
  | { type: 'step'; epoch: number; step: number; stepsPerEpoch: number; loss: number; accuracy: number; imagesPerSecond: number; images: number }
  | { type: 'filters'; step: number; shape: number[]; values: Float32Array }
  | {
      type: 'epoch';
      /** 0: before training (only fitLoss is set). */
      epoch: number;
      trainLoss: number;
      /** Eval-mode loss on the training images themselves (when they are at most FIT_LIMIT), NaN otherwise. */
      fitLoss: number;
      testAccuracy: number;
      testLoss: number;
      testCount: number;
      seconds: number;
    }
  | { type: 'training'; state: 'running' | 'pausing' | 'paused' | 'stopped' | 'done' | 'failed'; message?: string }
  | { type: 'check'; result: CheckResult; index: number; total: number };

export interface TrainConfig {
  epochs: number;
  batchSize: number;
  lr: number;
  /** Train on the first N images of the training set (shuffled every epoch); all when 0. */
  trainLimit: number;
  /** Test images evaluated after each epoch (all when 0). */
  testLimit: number;
  seed: number;
}

export interface ModelInfo {
  kind: 'reduced' | 'torchvision' | 'paper';
  source: string;
  classNames: readonly string[];
  /** Input: channels and side. */
  channels: number;
  side: number;
  parameters: number;
  trainedSteps: number;
}

export interface Prediction {
  index: number;
  name: string;
  probability: number;
}

export interface CheckpointFiles {
  sidecarName: string;
  sidecar: string;
  weightsName: string;
  weights: Uint8Array;
}

export interface Timing {
  backend: string;
  variant: 'reduced' | 'torchvision';
  batch: number;
  forwardMs: number;
  trainStepMs: number;
  reps: number;
}

/** The sidecar's `describe`, as `tessera train` writes it (apps/cli/src/model-description.ts). */
interface ModelDescription {
  variant: 'reduced';
  numClasses: number;
  channels: number;
  side: number;
  classNames: string[] | null;
  data: string;
  testTransform: TransformSpec;
}

const FASHION_TRANSFORM: TransformSpec = { normalize: { kind: 'channel', mean: [FASHION_MNIST_MEAN], std: [FASHION_MNIST_STD] } };
const IMAGENET_TRANSFORM: TransformSpec = { normalize: { kind: 'channel', mean: [...IMAGENET_MEAN], std: [...IMAGENET_STD] } };

/** Up to this many training images, each epoch also reports the eval-mode loss on them (is it learning?). */
const FIT_LIMIT = 4096;

const yieldToLoop = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/** A seeded permutation (mulberry32-driven Fisher–Yates). */
function permutation(n: number, seed: number): Uint32Array {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const p = new Uint32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    const t = p[i]!;
    p[i] = p[j]!;
    p[j] = t;
  }
  return p;
}

export class Engine {
  private backend = '';
  private data: DataSet | null = null;
  private model: AlexNet | null = null;
  private info: ModelInfo | null = null;
  private optimizer: optim.SGD | null = null;
  private lr = 0.03;
  private history: EpochRecord[] = [];
  private epochsDone = 0;
  private transform: TransformSpec = FASHION_TRANSFORM;
  private paused = false;
  private stopRequested = false;
  private resume: (() => void) | null = null;
  private training = false;

  constructor(private readonly emit: (e: EngineEvent) => void) {}

  async backends(): Promise<BackendAvailability[]> {
    return availableBackends();
  }

  /**
   * The threads the current backend computes on, where it has its own (`cpu`: the engine's thread plus its
   * workers once booted; 1 where the page cannot share memory with them), else null.
   */
  async threads(): Promise<number | null> {
    const b = getBackend() as { startThreads?: (timeoutMs?: number) => Promise<number> };
    return typeof b.startThreads === 'function' ? 1 + (await b.startThreads(20_000)) : null;
  }

  /** Makes `name` the backend; a model already built moves along (its weights and optimizer state). */
  async useBackend(name: string): Promise<string> {
    if (this.training) throw new TesseraError('backend', 'stop training before switching backends');
    const carried = this.model && this.info?.kind === 'reduced' ? await this.saveCheckpoint() : null;
    await setBackend(name);
    this.backend = name;
    if (carried) await this.loadCheckpoint(carried.sidecar, carried.weights, carried.sidecarName);
    else if (this.model && this.info) {
      const bytes = await serializeSafetensors(this.model.stateDict());
      const info = this.info;
      this.model.dispose();
      this.model = info.kind === 'torchvision' || info.kind === 'paper' ? alexnet({ variant: info.kind, init: 'none' }) : this.newReduced(0);
      this.model.loadStateDict(parseSafetensors(bytes));
    }
    return getBackend().name;
  }

  /** Loads the data: 'served' (the build's copy), 'files' (the user's four IDX files) or 'synthetic'. */
  async loadData(
    source: { kind: 'served'; base: string } | { kind: 'files'; files: { name: string; bytes: Uint8Array }[] } | { kind: 'synthetic' },
  ): Promise<{ kind: string; description: string }> {
    let data: DataSet | null;
    if (source.kind === 'served') data = (await fetchServedFashionMnist(source.base)) ?? syntheticDataSet();
    else if (source.kind === 'files') data = await fashionMnistFromFiles(source.files, 'the files you picked');
    else data = syntheticDataSet();
    this.data = data;
    return { kind: data.kind, description: data.description };
  }

  private newReduced(seed: number): AlexNet {
    // Dropout 0.3, as `tessera train` builds the reduced variant.
    return alexnet({ variant: 'reduced', numClasses: 10, inChannels: 1, inputSize: 28, seed, dropout: 0.3 });
  }

  private ensureModel(seed: number): AlexNet {
    if (this.model && this.info?.kind === 'reduced') return this.model;
    if (!this.data) throw new TesseraError('train', 'no data loaded yet');
    this.model?.dispose();
    this.model = this.newReduced(seed);
    this.optimizer = null;
    this.history = [];
    this.epochsDone = 0;
    this.transform = FASHION_TRANSFORM;
    this.info = {
      kind: 'reduced',
      source: `reduced AlexNet, initialised (seed ${seed})`,
      classNames: this.data.classNames,
      channels: 1,
      side: 28,
      parameters: this.model.numParameters(),
      trainedSteps: 0,
    };
    return this.model;
  }

  modelInfo(): ModelInfo | null {
    return this.info;
  }

  /** Forgets the model (the next training starts from a fresh initialisation). */
  resetModel(): void {
    if (this.training) throw new TesseraError('train', 'stop training before resetting the model');
    this.model?.dispose();
    this.model = null;
    this.info = null;
    this.optimizer = null;
    this.history = [];
    this.epochsDone = 0;
  }

  /**
   * Asks the loop to pause before its next step: 'pausing' now, 'paused' once the step in flight (or the epoch's
   * evaluation) has finished and nothing runs any more.
   */
  pause(): void {
    if (this.training && !this.paused) {
      this.paused = true;
      this.emit({ type: 'training', state: 'pausing' });
    }
  }

  resumeTraining(): void {
    if (this.paused) {
      this.paused = false;
      this.emit({ type: 'training', state: 'running' });
      this.resume?.();
    }
  }

  stop(): void {
    if (this.training) {
      this.stopRequested = true;
      this.resumeTraining();
    }
  }

  private batch(split: Split, order: Uint32Array, from: number, n: number): { images: Tensor; labels: Tensor } {
    const x = new Float32Array(n * 784);
    const y = new Int32Array(n);
    for (let b = 0; b < n; b++) {
      const i = order[from + b]!;
      const img = split.images.subarray(i * 784, (i + 1) * 784);
      for (let p = 0; p < 784; p++) x[b * 784 + p] = (img[p]! / 255 - FASHION_MNIST_MEAN) / FASHION_MNIST_STD;
      y[b] = split.labels[i]!;
    }
    return { images: tensor(x, [n, 1, 28, 28]), labels: tensor(y, [n], { dtype: 'int32' }) };
  }

  private async emitFilters(step: number): Promise<void> {
    const w = this.model!.stateDict().get('features.0.weight')!;
    this.emit({ type: 'filters', step, shape: [...w.shape], values: Float32Array.from(await w.data()) });
  }

  /** Trains for `config.epochs` epochs (continuing the current model), reporting steps, filters and epochs. */
  async train(config: TrainConfig): Promise<{ stopped: boolean; steps: number }> {
    if (this.training) throw new TesseraError('train', 'training is already running');
    if (!this.data) throw new TesseraError('train', 'no data loaded yet');
    for (const [k, v] of Object.entries({ epochs: config.epochs, batchSize: config.batchSize })) {
      if (!Number.isInteger(v) || v < 1) throw new TesseraError('train', `${k} must be a positive integer, got ${v}`);
    }
    if (!(config.lr > 0) || !Number.isFinite(config.lr)) throw new TesseraError('train', `learning rate must be a positive number, got ${config.lr}`);
    manualSeed(config.seed);
    const model = this.ensureModel(config.seed);
    if (!this.optimizer || this.lr !== config.lr) {
      const state = this.optimizer?.stateDict();
      this.optimizer = new optim.SGD(model.parameters(), { lr: config.lr, momentum: 0.9, weightDecay: 5e-4, rule: 'paper' });
      if (state) {
        this.optimizer.loadStateDict(state);
        this.optimizer.lr = config.lr;
      }
      this.lr = config.lr;
    }
    const opt = this.optimizer;
    const data = this.data;
    this.training = true;
    this.paused = false;
    this.stopRequested = false;
    this.emit({ type: 'training', state: 'running' });
    let steps = 0;
    try {
      const trainCount = config.trainLimit > 0 ? Math.min(config.trainLimit, data.train.count) : data.train.count;
      const testCount = config.testLimit > 0 ? Math.min(config.testLimit, data.test.count) : data.test.count;
      const stepsPerEpoch = Math.ceil(trainCount / config.batchSize);
      const fit = async () => (trainCount <= FIT_LIMIT ? (await this.evaluate(data.train, trainCount, config.batchSize)).loss : NaN);
      await this.emitFilters(0);
      if (this.epochsDone === 0 && this.info!.trainedSteps === 0) {
        this.emit({ type: 'epoch', epoch: 0, trainLoss: NaN, fitLoss: await fit(), testAccuracy: NaN, testLoss: NaN, testCount: 0, seconds: 0 });
      }
      for (let e = 0; e < config.epochs && !this.stopRequested; e++) {
        const epoch = this.epochsDone + 1;
        const order = permutation(trainCount, config.seed * 1000 + epoch);
        model.train();
        const t0 = performance.now();
        let images = 0;
        let lossSum = 0;
        for (let s = 0; s < stepsPerEpoch; s++) {
          if (this.paused) {
            this.emit({ type: 'training', state: 'paused' });
            await new Promise<void>((resolve) => (this.resume = resolve));
          }
          this.resume = null;
          if (this.stopRequested) break;
          const n = Math.min(config.batchSize, trainCount - s * config.batchSize);
          const batch = this.batch(data.train, order, s * config.batchSize, n);
          const [loss, correct] = tidy(() => {
            opt.zeroGrad();
            const logits = model.forward(batch.images);
            const l = F.crossEntropy(logits, batch.labels);
            l.backward();
            opt.step();
            const hits = noGrad(() => F.topk(logits.detach(), 1).indices.reshape([-1]).eq(batch.labels).cast('float32').sum());
            return [l.detach(), hits];
          });
          batch.images.dispose();
          batch.labels.dispose();
          const value = await loss.item();
          const hits = await correct.item();
          loss.dispose();
          correct.dispose();
          if (!Number.isFinite(value)) throw new TesseraError('train', `the loss became ${value} at epoch ${epoch}, step ${s + 1}; lower the learning rate`);
          steps++;
          this.info!.trainedSteps++;
          images += n;
          lossSum += value * n;
          this.emit({
            type: 'step',
            epoch,
            step: this.info!.trainedSteps,
            stepsPerEpoch,
            loss: value,
            accuracy: hits / n,
            imagesPerSecond: images / ((performance.now() - t0) / 1000),
            images: s + 1,
          });
          if (steps % 10 === 0) await this.emitFilters(this.info!.trainedSteps);
          await yieldToLoop();
        }
        if (this.stopRequested) break;
        const seconds = (performance.now() - t0) / 1000;
        const val = await this.evaluate(data.test, testCount, config.batchSize);
        const fitLoss = await fit();
        this.epochsDone = epoch;
        this.history.push({ epoch, lr: opt.lr, trainLoss: lossSum / images, images, seconds, val });
        this.emit({
          type: 'epoch',
          epoch,
          trainLoss: lossSum / images,
          fitLoss,
          testAccuracy: 1 - val.top1Error,
          testLoss: val.loss,
          testCount: val.count,
          seconds,
        });
      }
      await this.emitFilters(this.info!.trainedSteps);
      const stopped = this.stopRequested;
      this.emit({ type: 'training', state: stopped ? 'stopped' : 'done' });
      return { stopped, steps };
    } catch (err) {
      this.emit({ type: 'training', state: 'failed', message: err instanceof Error ? err.message : String(err) });
      throw err;
    } finally {
      this.training = false;
      this.paused = false;
      this.stopRequested = false;
    }
  }

  private async evaluate(split: Split, count: number, batchSize: number) {
    const model = this.model!;
    model.eval();
    const meter = new ErrorMeter();
    const order = Uint32Array.from({ length: count }, (_, i) => i);
    for (let from = 0; from < count; from += batchSize) {
      const n = Math.min(batchSize, count - from);
      const batch = this.batch(split, order, from, n);
      const probs = noGrad(() => tidy(() => F.softmax(model.forward(batch.images), -1)));
      meter.add(probs, batch.labels);
      probs.dispose();
      batch.images.dispose();
      batch.labels.dispose();
      await yieldToLoop();
    }
    model.train();
    return meter.result();
  }

  /**
   * The top five classes for an image: `pixels` is height × width × channels bytes (grayscale 28×28 for the
   * reduced model; RGB at the model's side for an ImageNet model), normalised as the model was trained.
   */
  async classify(pixels: Uint8Array, height: number, width: number, channels: number): Promise<Prediction[]> {
    const model = this.model;
    const info = this.info;
    if (!model || !info) throw new TesseraError('classify', 'no model yet: train one, or load a checkpoint or an ONNX file');
    if (channels !== info.channels || height !== info.side || width !== info.side) {
      throw new TesseraError('classify', `the model takes ${info.channels}×${info.side}×${info.side} images, got ${channels}×${height}×${width}`);
    }
    const x = transformImage({ data: pixels, height, width, channels }, { ...this.transform, channels: info.channels });
    model.eval();
    const probs = noGrad(() => tidy(() => F.softmax(model.forward(tensor(x, [1, channels, height, width])), -1)));
    const { values, indices } = F.topk(probs, Math.min(5, info.classNames.length));
    const p = await values.data();
    const idx = await indices.data();
    [probs, values, indices].forEach((t) => t.dispose());
    model.train();
    return Array.from(idx, (index, j) => ({ index, name: info.classNames[index] ?? `class ${index}`, probability: p[j]! }));
  }

  /** The model as the CLI's checkpoint: epoch-NNNN.safetensors (model.* and optimizer.* tensors) and its sidecar. */
  async saveCheckpoint(): Promise<CheckpointFiles> {
    const model = this.model;
    const info = this.info;
    if (!model || !info) throw new TesseraError('checkpoint', 'no model to save yet');
    if (info.kind !== 'reduced')
      throw new TesseraError('checkpoint', `only the reduced model trained here is saved as a checkpoint, not an imported ${info.kind} AlexNet`);
    const opt = this.optimizer ?? new optim.SGD(model.parameters(), { lr: this.lr, momentum: 0.9, weightDecay: 5e-4, rule: 'paper' });
    this.optimizer = opt;
    const name = `epoch-${String(this.epochsDone).padStart(4, '0')}`;
    const optState = opt.stateDict();
    const tensors = new Map<string, Tensor>();
    for (const [k, v] of model.stateDict()) tensors.set(`model.${k}`, v);
    for (const [k, v] of optState.tensors) tensors.set(`optimizer.${k}`, v);
    const weights = await serializeSafetensors(tensors, { metadata: { format: CHECKPOINT_SIDECAR_FORMAT, epoch: String(this.epochsDone) } });
    const describe: ModelDescription = {
      variant: 'reduced',
      numClasses: info.classNames.length,
      channels: 1,
      side: 28,
      classNames: [...info.classNames],
      data: this.data?.kind === 'synthetic' ? 'browser-synthetic' : 'fashion-mnist',
      testTransform: this.transform,
    };
    const sidecar = {
      format: CHECKPOINT_SIDECAR_FORMAT,
      version: 1,
      epoch: this.epochsDone,
      weights: `${name}.safetensors`,
      optimizer: optState.meta,
      scheduler: null,
      rng: getRngState(),
      loader: null,
      history: this.history,
      describe,
    };
    return { sidecarName: `${name}.json`, sidecar: JSON.stringify(sidecar, null, 1), weightsName: `${name}.safetensors`, weights };
  }

  /** Loads a checkpoint the CLI (or this page) wrote: the sidecar's text and the safetensors bytes it names. */
  async loadCheckpoint(sidecarText: string, weights: Uint8Array, sidecarName: string): Promise<ModelInfo> {
    if (this.training) throw new TesseraError('checkpoint', 'stop training before loading a checkpoint');
    const sidecar = parseCheckpointSidecar(sidecarText, sidecarName, (d, f) => ({
      variant: f.oneOf(d.variant, 'variant', ['reduced', 'torchvision', 'paper'] as const),
      numClasses: f.integer(d.numClasses, 'numClasses', 1),
      channels: f.integer(d.channels, 'channels', 1),
      side: f.integer(d.side, 'side', 1),
      classNames: d.classNames === null ? null : f.array(d.classNames, 'classNames').map((n, i) => f.string(n, `classNames[${i}]`)),
      data: f.string(d.data, 'data'),
      testTransform: f.object(d.testTransform, 'testTransform') as TransformSpec,
    }));
    const d = sidecar.describe;
    if (d.variant !== 'reduced' || d.channels !== 1 || d.side !== 28) {
      throw new TesseraError(
        'checkpoint',
        `${sidecarName}: this page trains and classifies the reduced 1×28×28 AlexNet; the checkpoint is a ${d.variant} model on ${d.channels}×${d.side}×${d.side} images`,
      );
    }
    const file = parseSafetensors(weights);
    const modelState = new Map<string, Tensor>();
    const optTensors = new Map<string, Tensor>();
    for (const [k, v] of file) {
      if (k.startsWith('model.')) modelState.set(k.slice('model.'.length), v);
      else if (k.startsWith('optimizer.')) optTensors.set(k.slice('optimizer.'.length), v);
    }
    const model = alexnet({ variant: 'reduced', numClasses: d.numClasses, inChannels: 1, inputSize: 28, init: 'none' });
    try {
      model.loadStateDict(modelState);
    } catch (err) {
      model.dispose();
      throw new TesseraError('checkpoint', `${sidecar.weights} does not fit the model the sidecar describes: ${(err as Error).message}`);
    }
    const lr = typeof sidecar.optimizer.paramGroups[0]?.lr === 'number' ? (sidecar.optimizer.paramGroups[0].lr as number) : this.lr;
    const opt = new optim.SGD(model.parameters(), { lr, momentum: 0.9, weightDecay: 5e-4, rule: 'paper' });
    if (sidecar.optimizer.type === 'SGD') opt.loadStateDict({ meta: sidecar.optimizer, tensors: optTensors });
    for (const t of file.values()) t.dispose();
    this.model?.dispose();
    this.model = model;
    this.optimizer = opt;
    this.lr = lr;
    this.history = [...sidecar.history];
    this.epochsDone = sidecar.epoch;
    this.transform = d.testTransform;
    const classNames = d.classNames ?? Array.from({ length: d.numClasses }, (_, i) => `class ${i}`);
    this.info = {
      kind: 'reduced',
      source: `checkpoint ${sidecarName} (epoch ${sidecar.epoch}, trained on ${d.data})`,
      classNames,
      channels: 1,
      side: 28,
      parameters: model.numParameters(),
      trainedSteps: sidecar.optimizer.stepCount,
    };
    return this.info;
  }

  /** An ONNX AlexNet (torchvision's export, or the paper's), classifying into ImageNet's classes. */
  async loadOnnx(bytes: Uint8Array, name: string, imagenetNames: readonly string[]): Promise<ModelInfo> {
    if (this.training) throw new TesseraError('onnx', 'stop training before loading a model');
    let found: { variant: 'paper' | 'torchvision'; numClasses: number; conv1Padding?: number };
    try {
      const probe = await importOnnx(bytes);
      for (const t of probe.stateDict.values()) t.dispose();
      found = { variant: probe.variant, numClasses: probe.numClasses, ...(probe.conv1Padding !== undefined ? { conv1Padding: probe.conv1Padding } : {}) };
    } catch (err) {
      throw new TesseraError('onnx', `${name}: ${(err as Error).message}`);
    }
    const model = alexnet({
      variant: found.variant,
      numClasses: found.numClasses,
      ...(found.conv1Padding !== undefined ? { conv1Padding: found.conv1Padding } : {}),
      init: 'none',
    });
    try {
      await loadOnnxInto(model, bytes, { lrn: 'graph' });
    } catch (err) {
      model.dispose();
      throw new TesseraError('onnx', `${name}: ${(err as Error).message}`);
    }
    this.model?.dispose();
    this.model = model;
    this.optimizer = null;
    this.history = [];
    this.epochsDone = 0;
    this.transform = IMAGENET_TRANSFORM;
    const side = model.inputShape[1];
    const classNames = found.numClasses === imagenetNames.length ? imagenetNames : Array.from({ length: found.numClasses }, (_, i) => `class ${i}`);
    this.info = {
      kind: found.variant,
      source: `ONNX ${name} (${found.variant} AlexNet, ${found.numClasses} classes)`,
      classNames,
      channels: 3,
      side,
      parameters: model.numParameters(),
      trainedSteps: 0,
    };
    return this.info;
  }

  async conformance(numRuns: number, filter?: string[]): Promise<CheckResult[]> {
    return runConformance(this.backend || getBackend().name, { numRuns, ...(filter ? { filter } : {}) }, (result, index, total) =>
      this.emit({ type: 'check', result, index, total }),
    );
  }

  /** Mean forward and training-step time (after one warm-up) of a fresh model at `batch`. */
  async time(backend: string, variant: 'reduced' | 'torchvision', batch: number, reps: number): Promise<Timing> {
    if (this.training) throw new TesseraError('time', 'stop training before timing');
    if (!Number.isInteger(batch) || batch < 1) throw new TesseraError('time', `batch size must be a positive integer, got ${batch}`);
    await setBackend(backend);
    try {
      return await this.timeOn(backend, variant, batch, reps);
    } finally {
      if (this.backend) await setBackend(this.backend);
    }
  }

  private async timeOn(backend: string, variant: 'reduced' | 'torchvision', batch: number, reps: number): Promise<Timing> {
    const model = variant === 'reduced' ? this.newReduced(1) : alexnet({ variant: 'torchvision', seed: 1 });
    const [c, h, w] = model.inputShape;
    const classes = model.numClasses;
    const opt = new optim.SGD(model.parameters(), { lr: 1e-3, momentum: 0.9 });
    const x = randn([batch, c, h, w], { seed: 3 });
    const y = tensor(
      Int32Array.from({ length: batch }, (_, i) => i % classes),
      [batch],
      { dtype: 'int32' },
    );
    try {
      const forward = async () => {
        model.eval();
        const out = noGrad(() => model.forward(x));
        await out.data();
        out.dispose();
      };
      const step = async () => {
        model.train();
        const l = tidy(() => {
          opt.zeroGrad();
          const loss = F.crossEntropy(model.forward(x), y);
          loss.backward();
          opt.step();
          return loss.detach();
        });
        await l.item();
        l.dispose();
      };
      const measure = async (fn: () => Promise<void>) => {
        await fn();
        await yieldToLoop();
        const t0 = performance.now();
        for (let i = 0; i < reps; i++) {
          await fn();
          await yieldToLoop();
        }
        return (performance.now() - t0) / reps;
      };
      const forwardMs = await measure(forward);
      const trainStepMs = await measure(step);
      return { backend, variant, batch, forwardMs, trainStepMs, reps };
    } finally {
      x.dispose();
      y.dispose();
      opt.zeroGrad();
      model.dispose();
    }
  }
}
