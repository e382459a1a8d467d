/**
 * `tessera train` and `tessera demo`. The demo is train with the embedded defaults: the reduced AlexNet on
 * Fashion-MNIST (or on a generated synthetic set, saying so, where the Debian data is absent) on the CPU,
 * writing curves, the conv1 filter grid and a checkpoint, and ending with `test accuracy: 0.XXXX`.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { FASHION_MNIST_DIR, fashionMnistAvailable, type LoaderState } from '@tessera/data';
import {
  Trainer,
  alexnet,
  readSidecar,
  readTrainingLog,
  resolveCheckpoint,
  writeCurves,
  writeFilterGrid,
  type AlexNetVariant,
  type EpochRecord,
  type StepInfo,
} from '@tessera/alexnet';
import { TesseraError, manualSeed } from '@tessera/tensor';
import { intOption, numberOption, parse, selectBackend, type Context } from '../main.js';
import { parseDataSpec, prepareData, testLoader, trainLoader, type PreparedData } from '../data.js';
import { Progress } from '../progress.js';

/** What a checkpoint must remember to rebuild the model and its input pipeline (eval, predict, resume). */
export interface ModelDescription {
  variant: AlexNetVariant;
  numClasses: number;
  channels: number;
  side: number;
  classNames: readonly string[] | null;
  data: string;
  testTransform: PreparedData['testTransform'];
}

export function modelFromDescription(d: ModelDescription) {
  if (d.variant === 'reduced') return alexnet({ variant: 'reduced', numClasses: d.numClasses, inChannels: d.channels, inputSize: d.side, init: 'none' });
  return alexnet({ variant: d.variant, numClasses: d.numClasses, init: 'none' });
}

export async function trainCommand(args: string[], ctx: Context, demo: boolean): Promise<void> {
  const { values } = parse(args, {
    data: { type: 'string' },
    variant: { type: 'string' },
    epochs: { type: 'string' },
    'batch-size': { type: 'string' },
    lr: { type: 'string' },
    momentum: { type: 'string' },
    'weight-decay': { type: 'string' },
    rule: { type: 'string' },
    dropout: { type: 'string' },
    seed: { type: 'string' },
    workers: { type: 'string' },
    out: { type: 'string' },
    resume: { type: 'string' },
    'ten-crop': { type: 'boolean', default: false },
    stats: { type: 'string' },
    'log-every': { type: 'string' },
    'lr-drop': { type: 'string' },
  });
  const backend = await selectBackend(values.backend as string | undefined);
  let dataText = values.data as string | undefined;
  if (demo && dataText === undefined) {
    if (fashionMnistAvailable(FASHION_MNIST_DIR)) dataText = 'fashion-mnist';
    else {
      ctx.log(`Fashion-MNIST is not installed at ${FASHION_MNIST_DIR} (Debian package dataset-fashion-mnist); training on a generated synthetic set instead.`);
      dataText = 'synthetic';
    }
  }
  const spec = parseDataSpec(dataText ?? 'fashion-mnist');
  const variant = values.variant as AlexNetVariant | undefined;
  if (variant !== undefined && !['paper', 'torchvision', 'reduced'].includes(variant)) {
    throw new TesseraError('--variant', `must be paper, torchvision or reduced, got ${JSON.stringify(variant)}`);
  }
  const data = await prepareData(spec, { ...(variant ? { variant } : {}), log: ctx.log, ...(values.stats ? { stats: values.stats as string } : {}) });
  const rule = (values.rule as string | undefined) ?? 'paper';
  if (rule !== 'paper' && rule !== 'pytorch') throw new TesseraError('--rule', `must be paper or pytorch, got ${JSON.stringify(rule)}`);
  // The demo's recipe: the paper's SGD (momentum 0.9, weight decay 5e-4) with batch 64 at a higher rate for a
  // short run, ÷10 for the last of its 3 epochs (0.889 test accuracy on Fashion-MNIST when measured).
  const epochs = intOption(values.epochs, 'epochs', demo ? 3 : data.variant === 'reduced' ? 10 : 90, 0);
  const batchSize = intOption(values['batch-size'], 'batch-size', demo ? 64 : 128);
  const lr = numberOption(values.lr, 'lr', demo ? 0.03 : data.variant === 'reduced' ? 0.04 : 0.01);
  const seed = intOption(values.seed, 'seed', 0, 0);
  const dropout = numberOption(values.dropout, 'dropout', data.variant === 'reduced' ? 0.3 : 0.5);
  const lrDrop = values['lr-drop'] !== undefined ? intOption(values['lr-drop'], 'lr-drop', 0, 1) : demo ? epochs : null;
  // In-memory Fashion-MNIST needs no decoding: worker threads would only take cores from training.
  const workers = values.workers !== undefined ? intOption(values.workers, 'workers', 0, 0) : spec.kind === 'fashion-mnist' ? 0 : undefined;
  const out = resolve((values.out as string | undefined) ?? join('out', demo ? 'demo' : 'train'));
  mkdirSync(out, { recursive: true });
  // A fresh run starts a fresh log; a resumed one appends to it (readTrainingLog lets later lines win).
  if (values.resume === undefined) rmSync(join(out, 'log.jsonl'), { force: true });
  manualSeed(seed);

  const description: ModelDescription = {
    variant: data.variant,
    numClasses: data.numClasses,
    channels: data.channels,
    side: data.side,
    classNames: data.classNames ?? null,
    data: dataText ?? 'fashion-mnist',
    testTransform: data.testTransform,
  };
  const model =
    data.variant === 'reduced'
      ? alexnet({ variant: 'reduced', numClasses: data.numClasses, inChannels: data.channels, inputSize: data.side, seed, dropout })
      : alexnet({ variant: data.variant, numClasses: data.numClasses, seed, dropout });
  ctx.log(
    `tessera ${demo ? 'demo' : 'train'}: ${data.variant} AlexNet (${model.parameterCount().toLocaleString('en-US')} parameters) on ${data.description}, backend ${backend}`,
  );
  ctx.log(
    `recipe: ${epochs} epochs, batch ${batchSize}, SGD lr ${lr} momentum ${values.momentum ?? 0.9} weight decay ${values['weight-decay'] ?? 5e-4} (${rule} rule), dropout ${dropout}${lrDrop ? `, lr ÷10 from epoch ${lrDrop}` : ', lr ÷10 when validation error stops improving'}; output in ${out}`,
  );

  let progress: Progress | null = null;
  let epochShown = 0;
  const trainer = new Trainer({
    model,
    epochs,
    lr,
    momentum: numberOption(values.momentum, 'momentum', 0.9),
    weightDecay: numberOption(values['weight-decay'], 'weight-decay', 5e-4),
    rule,
    ...(lrDrop ? { schedule: 'steps' as const, dropEpochs: [lrDrop] } : { schedule: 'plateau' as const }),
    checkpointDir: join(out, 'checkpoints'),
    logFile: join(out, 'log.jsonl'),
    logEvery: intOption(values['log-every'], 'log-every', 5),
    describe: description as unknown as Record<string, unknown>,
    onStep: (s: StepInfo) => {
      if (s.epoch !== epochShown) {
        progress?.finish();
        epochShown = s.epoch;
        progress = new Progress(`epoch ${s.epoch}/${epochs}`, data.train.length, { unit: 'img', quiet: ctx.json });
      }
      progress?.update(Math.min(data.train.length, Math.round(s.imagesPerSecond * s.elapsedSeconds)), `loss ${s.loss.toFixed(4)}`);
    },
    onEpoch: (e: EpochRecord) => {
      progress?.finish(`train loss ${e.trainLoss.toFixed(4)}`);
      progress = null;
      const val = e.val ? ` · test loss ${e.val.loss.toFixed(4)} · top-1 error ${e.val.top1Error.toFixed(4)} · top-5 error ${e.val.top5Error.toFixed(4)}` : '';
      const ten = e.valTenCrop ? ` · 10-crop top-1 error ${e.valTenCrop.top1Error.toFixed(4)}` : '';
      ctx.log(
        `epoch ${e.epoch}: lr ${e.lr} · ${e.seconds.toFixed(1)} s · ${(e.images / e.seconds).toFixed(0)} img/s · train loss ${e.trainLoss.toFixed(4)}${val}${ten}`,
      );
    },
  });

  let loaderState: LoaderState | undefined;
  if (values.resume !== undefined) {
    const sidecarPath = await resolveCheckpoint(values.resume as string);
    const sidecar = await readSidecar(sidecarPath);
    await trainer.loadCheckpoint(sidecarPath);
    loaderState = (sidecar.loader ?? undefined) as LoaderState | undefined;
    ctx.log(`resumed from ${sidecarPath} after epoch ${sidecar.epoch}`);
  }
  const loaderConfig = { batchSize, seed, ...(workers !== undefined ? { workers } : {}), backend };
  const train = trainLoader(data, { ...loaderConfig, ...(loaderState ? { state: loaderState } : {}) });
  const test = testLoader(data, loaderConfig);
  const tenCrop = values['ten-crop'] ? testLoader(data, loaderConfig, true) : undefined;
  const t0 = performance.now();
  try {
    await trainer.fit(train, test, tenCrop);
  } finally {
    await train.close();
    await test.close();
    await tenCrop?.close();
  }
  const seconds = (performance.now() - t0) / 1000;
  const report = train.report(trainer.epoch - 1);
  if (report.skipped.length > 0) {
    ctx.log(`skipped ${report.skipped.length} unreadable images in the last epoch:`);
    for (const s of report.skipped.slice(0, 20)) ctx.log(`  ${s.source}: ${s.reason}`);
  }
  const figures = join(out, 'figures');
  mkdirSync(figures, { recursive: true });
  const conv1 = (model.features.at(0) as unknown as { weight: import('@tessera/tensor').Tensor }).weight;
  await writeFilterGrid(conv1, join(figures, 'conv1-filters.png'));
  const log = await readTrainingLog(join(out, 'log.jsonl'));
  await writeCurves(log.epochs, log.steps, join(figures, 'curves'));
  const last = trainer.history.at(-1);
  const accuracy = last?.val ? 1 - last.val.top1Error : NaN;
  ctx.log(`wrote ${trainer.checkpoint}, ${join(figures, 'curves.png')} (.svg), ${join(figures, 'conv1-filters.png')} and ${join(out, 'log.jsonl')}`);
  ctx.log(`${epochs} epochs in ${seconds.toFixed(1)} s`);
  ctx.out(`test accuracy: ${accuracy.toFixed(4)}`, {
    testAccuracy: accuracy,
    top5Accuracy: last?.val ? 1 - last.val.top5Error : null,
    seconds,
    checkpoint: trainer.checkpoint,
    history: trainer.history,
  });
}
