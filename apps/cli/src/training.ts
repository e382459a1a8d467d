/**
 * The training run behind `tessera train` and `tessera demo`: both take the same options and differ only in
 * their recipe (the defaults and where the data comes from when --data is absent). Writes checkpoints, a
 * JSON-lines log, the curves and the conv1 filter grid, and ends with `test accuracy: 0.XXXX`.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { LoaderState } from '@tessera/data';
import { Trainer, readTrainingLog, writeCurves, type AlexNetVariant, type CheckpointEvery, type EpochRecord, type StepInfo } from '@tessera/alexnet';
import { modelInfo, trainingLoss } from '@tessera/models';
import { TesseraError, manualSeed, type Tensor, type nn } from '@tessera/tensor';
import { openCheckpoint } from './checkpoint.js';
import type { Context } from './context.js';
import { parseDataSpec, prepareData, testLoader, trainLoader } from './data.js';
import { writeConv1Filters } from './figures.js';
import { ALEXNET_VARIANTS, buildModel, describeModel, modelName, type ModelOptionValues } from './model-description.js';
import { intOption, numberOption, parse, type OptionTable } from './options.js';
import { Progress } from './progress.js';
import { selectBackend } from './select-backend.js';
import { parseModelName, trainingSchedule, zooGeometry } from './zoo.js';

/** What `train` and `demo` differ in; every option overrides it. */
export interface TrainingRecipe {
  /** The command: it names the run in the log and the default output directory, out/<name>. */
  readonly name: string;
  /** The --data source when none is given (may log why it chose it). */
  defaultData(ctx: Context): string;
  /** The --epochs, --batch-size and --lr defaults; the variant follows from the data unless --variant is given. */
  epochs(variant: AlexNetVariant): number;
  readonly batchSize: number;
  lr(variant: AlexNetVariant): number;
  /** Without --lr-drop: the 1-based epoch that starts at lr ÷ 10, or null to divide it when validation stops improving. */
  lrDrop(epochs: number): number | null;
}

export const TRAINING_OPTIONS: OptionTable = {
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
  'checkpoint-every': { type: 'string' },
  model: { type: 'string' },
  'image-size': { type: 'string' },
  'train-images': { type: 'string' },
  'test-images': { type: 'string' },
  'lr-step-size': { type: 'string' },
  'lr-gamma': { type: 'string' },
};

/**
 * Ends a run that a signal stopped: main() returns `exitCode` (130 for SIGINT, 143 for SIGTERM) after the one line
 * saying where the checkpoint is and how to resume has been written.
 */
export class TrainingInterrupted extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
    this.name = 'TrainingInterrupted';
  }
}

const SIGNAL_EXIT: Record<'SIGINT' | 'SIGTERM', number> = { SIGINT: 130, SIGTERM: 143 };

/** `--checkpoint-every N` (optimizer steps), `Ns`, `Nm` or `Nh` (wall time). */
export function parseCheckpointEvery(text: string): CheckpointEvery {
  const m = /^(\d+(?:\.\d+)?)([smh]?)$/.exec(text.trim());
  const n = m ? Number(m[1]) : NaN;
  if (!m || !(n > 0) || (m[2] === '' && !Number.isInteger(n))) {
    throw new TesseraError(
      '--checkpoint-every',
      `must be a number of steps (500) or of seconds, minutes or hours of wall time (90s, 10m, 1h), got ${JSON.stringify(text)}`,
    );
  }
  return m[2] === '' ? { steps: n } : { seconds: n * { s: 1, m: 60, h: 3600 }[m[2] as 's' | 'm' | 'h'] };
}

/** A word for a POSIX shell: as is when safe, else single-quoted. */
function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The command line that resumes this run: the same options, with --out and --resume pointing at this run. */
export function resumeCommand(command: string, args: readonly string[], out: string, checkpoints: string): string {
  const kept: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--resume' || a === '--out') i++;
    else if (!a.startsWith('--resume=') && !a.startsWith('--out=')) kept.push(a);
  }
  return ['tessera', command, ...kept, '--out', out, '--resume', checkpoints].map(shellWord).join(' ');
}

/** One `train` or `demo` run: `args` are the command's options, `recipe` its defaults. */
export async function runTraining(args: string[], ctx: Context, recipe: TrainingRecipe): Promise<void> {
  const { values } = parse(args, TRAINING_OPTIONS);
  const backend = await selectBackend(values.backend as string | undefined);
  // A resumed run is the checkpoint's model unless --model says otherwise (then they must agree).
  const resumeFrom = values.resume !== undefined ? await openCheckpoint(values.resume as string) : null;
  const fromCheckpoint = resumeFrom ? modelName(resumeFrom.sidecar.describe) : undefined;
  const name = parseModelName(values.model) ?? fromCheckpoint ?? 'alexnet';
  if (fromCheckpoint !== undefined && name !== fromCheckpoint) {
    throw new TesseraError('--model', `the checkpoint ${resumeFrom!.sidecarPath} holds ${fromCheckpoint}, not ${name}`);
  }
  const isAlexNet = name === 'alexnet';
  const dataSource = (values.data as string | undefined) ?? recipe.defaultData(ctx);
  const spec = parseDataSpec(dataSource);
  const variant = values.variant as AlexNetVariant | undefined;
  if (variant !== undefined && !isAlexNet) throw new TesseraError('--variant', `is AlexNet's; ${name} has none (use --image-size for its input)`);
  if (variant !== undefined && !ALEXNET_VARIANTS.includes(variant)) {
    throw new TesseraError('--variant', `must be paper, torchvision or reduced, got ${JSON.stringify(variant)}`);
  }
  if (values['image-size'] !== undefined && isAlexNet) throw new TesseraError('--image-size', "is for the zoo models; AlexNet's input follows from --variant");
  const geometry = isAlexNet ? null : zooGeometry(name, spec, values['image-size']);
  const data = await prepareData(spec, {
    ...(variant ? { variant } : {}),
    ...(geometry ? { side: geometry.side } : {}),
    ...(values['train-images'] !== undefined ? { trainImages: intOption(values['train-images'], 'train-images', 0, 1) } : {}),
    ...(values['test-images'] !== undefined ? { testImages: intOption(values['test-images'], 'test-images', 0, 1) } : {}),
    log: ctx.log,
    ...(values.stats ? { stats: values.stats as string } : {}),
  });
  const zoo = isAlexNet ? null : modelInfo(name).recipe;
  const rule = (values.rule as string | undefined) ?? (isAlexNet ? 'paper' : 'pytorch');
  if (rule !== 'paper' && rule !== 'pytorch') throw new TesseraError('--rule', `must be paper or pytorch, got ${JSON.stringify(rule)}`);
  const epochs = intOption(values.epochs, 'epochs', zoo ? zoo.epochs : recipe.epochs(data.variant), 1);
  const batchSize = intOption(values['batch-size'], 'batch-size', zoo ? zoo.batchSize : recipe.batchSize);
  const lr = numberOption(values.lr, 'lr', zoo ? zoo.lr : recipe.lr(data.variant));
  const momentum = numberOption(values.momentum, 'momentum', zoo ? zoo.momentum : 0.9);
  const weightDecay = numberOption(values['weight-decay'], 'weight-decay', zoo ? zoo.weightDecay : 5e-4);
  const seed = intOption(values.seed, 'seed', 0, 0);
  // AlexNet's dropout has a default per variant; a zoo model keeps its builder's unless --dropout is given.
  const dropout = isAlexNet
    ? numberOption(values.dropout, 'dropout', data.variant === 'reduced' ? 0.3 : 0.5)
    : values.dropout !== undefined
      ? numberOption(values.dropout, 'dropout', 0)
      : undefined;
  const schedule = trainingSchedule(values, zoo, () => recipe.lrDrop(epochs));
  // In-memory Fashion-MNIST needs no decoding: worker threads would only take cores from training.
  const workers = values.workers !== undefined ? intOption(values.workers, 'workers', 0, 0) : spec.kind === 'fashion-mnist' ? 0 : undefined;
  const checkpointEvery = values['checkpoint-every'] !== undefined ? parseCheckpointEvery(values['checkpoint-every'] as string) : undefined;
  const out = resolve((values.out as string | undefined) ?? join('out', recipe.name));
  mkdirSync(out, { recursive: true });
  // A fresh run starts a fresh log; a resumed one appends to it (readTrainingLog lets later lines win).
  if (values.resume === undefined) rmSync(join(out, 'log.jsonl'), { force: true });
  manualSeed(seed);

  const modelOptions: ModelOptionValues = geometry?.options ?? {};
  if (dropout !== undefined && !isAlexNet) modelOptions.dropout = dropout;
  const description = describeModel(data, dataSource, name, modelOptions);
  const model = buildModel(description, { seed, ...(dropout !== undefined ? { dropout } : {}) });
  const title = isAlexNet ? `${data.variant} AlexNet` : `${modelInfo(name).title} (${name}) at ${data.channels}×${data.side}×${data.side}`;
  ctx.log(`tessera ${recipe.name}: ${title} (${model.numParameters().toLocaleString('en-US')} parameters) on ${data.description}, backend ${backend}`);
  const scheduleText =
    schedule.schedule === 'steps'
      ? `, lr ${schedule.gamma === undefined ? '÷10' : `×${schedule.gamma}`} from epoch ${schedule.dropEpochs![0]}`
      : schedule.schedule === 'step'
        ? `, lr ×${schedule.gamma} every ${schedule.stepSize} epochs`
        : schedule.schedule === 'plateau'
          ? ', lr ÷10 when validation error stops improving'
          : ', constant lr';
  ctx.log(
    `recipe: ${epochs} epochs, batch ${batchSize}, SGD lr ${lr} momentum ${momentum} weight decay ${weightDecay} (${rule} rule)${dropout !== undefined ? `, dropout ${dropout}` : ''}${scheduleText}; output in ${out}`,
  );
  if (zoo && values.lr === undefined && values.epochs === undefined) ctx.log(`recipe source: ${zoo.source}`);

  let progress: Progress | null = null;
  let epochShown = 0;
  const trainer = new Trainer({
    model,
    epochs,
    lr,
    momentum,
    weightDecay,
    rule,
    ...schedule,
    ...(isAlexNet ? {} : { loss: (m: nn.Module, images: Tensor, labels: Tensor) => trainingLoss(m, images, labels).loss }),
    checkpointDir: join(out, 'checkpoints'),
    ...(checkpointEvery ? { checkpointEvery } : {}),
    logFile: join(out, 'log.jsonl'),
    logEvery: intOption(values['log-every'], 'log-every', 5),
    describe: description,
    onStep: (s: StepInfo) => {
      if (s.epoch !== epochShown) {
        progress?.finish();
        epochShown = s.epoch;
        progress = new Progress(`epoch ${s.epoch}/${epochs}`, data.train.length, { unit: 'img', quiet: ctx.json });
      }
      progress?.update(Math.min(data.train.length, s.images), `loss ${s.loss.toFixed(4)}`);
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
  if (resumeFrom !== null) {
    const { sidecarPath, sidecar } = resumeFrom;
    await trainer.loadCheckpoint(sidecarPath);
    // The loader's own state, checked by createLoader against the data it is rebuilt over.
    loaderState = (sidecar.loader ?? undefined) as LoaderState | undefined;
    const at = sidecar.progress ? `in epoch ${sidecar.epoch + 1} after step ${sidecar.progress.step}` : `after epoch ${sidecar.epoch}`;
    ctx.log(`resumed from ${sidecarPath} ${at}`);
  }
  const loaderConfig = { batchSize, seed, ...(workers !== undefined ? { workers } : {}), backend };
  const train = trainLoader(data, { ...loaderConfig, ...(loaderState ? { state: loaderState } : {}) });
  const test = testLoader(data, loaderConfig);
  const tenCrop = values['ten-crop'] ? testLoader(data, loaderConfig, true) : undefined;
  const t0 = performance.now();
  // Ctrl-C or SIGTERM: finish the step in progress, write a checkpoint, say how to resume; a second one exits at once.
  const onSignal = (signal: 'SIGINT' | 'SIGTERM') => {
    if (interruptedBy !== null) {
      process.stderr.write(`\ntessera ${recipe.name}: second ${signal}, exiting without a checkpoint\n`);
      process.exit(SIGNAL_EXIT[signal]);
    }
    interruptedBy = signal;
    (progress as Progress | null)?.finish();
    ctx.log(`${signal}: finishing the current step, then writing a checkpoint (${signal} again exits at once)`);
    trainer.requestStop(signal);
  };
  let interruptedBy: 'SIGINT' | 'SIGTERM' | null = null;
  const handlers = (['SIGINT', 'SIGTERM'] as const).map((signal) => [signal, () => onSignal(signal)] as const);
  for (const [signal, handler] of handlers) process.on(signal, handler);
  try {
    await trainer.fit(train, test, tenCrop);
  } finally {
    for (const [signal, handler] of handlers) process.off(signal, handler);
    await train.close();
    await test.close();
    await tenCrop?.close();
  }
  const stopped = trainer.stopped;
  if (stopped !== null) {
    (progress as Progress | null)?.finish();
    const signal = stopped.reason as 'SIGINT' | 'SIGTERM';
    const where = stopped.step > 0 ? `in epoch ${stopped.epoch + 1} after step ${stopped.step}` : `after epoch ${stopped.epoch}`;
    const command = resumeCommand(recipe.name, args, out, join(out, 'checkpoints'));
    const message = `interrupted by ${signal} ${where}: checkpoint ${stopped.checkpoint}; resume with: ${command}`;
    if (ctx.json)
      process.stdout.write(
        JSON.stringify({ interrupted: signal, epoch: stopped.epoch, step: stopped.step, checkpoint: stopped.checkpoint, resume: command }) + '\n',
      );
    throw new TrainingInterrupted(message, SIGNAL_EXIT[signal] ?? 1);
  }
  const seconds = (performance.now() - t0) / 1000;
  const report = train.report(trainer.epoch - 1);
  if (report.skipped.length > 0) {
    ctx.log(`skipped ${report.skipped.length} unreadable images in the last epoch:`);
    for (const s of report.skipped.slice(0, 20)) ctx.log(`  ${s.source}: ${s.reason}`);
  }
  const figures = join(out, 'figures');
  mkdirSync(figures, { recursive: true });
  const filters = await writeConv1Filters(model, figures);
  const log = await readTrainingLog(join(out, 'log.jsonl'));
  await writeCurves(log.epochs, log.steps, join(figures, 'curves'));
  const last = trainer.history.at(-1);
  const accuracy = last?.val ? 1 - last.val.top1Error : NaN;
  ctx.log(`wrote ${trainer.checkpoint}, ${join(figures, 'curves.png')} (.svg), ${filters} and ${join(out, 'log.jsonl')}`);
  ctx.log(`${epochs} epochs in ${seconds.toFixed(1)} s`);
  ctx.out(`test accuracy: ${accuracy.toFixed(4)}`, {
    testAccuracy: accuracy,
    top5Accuracy: last?.val ? 1 - last.val.top5Error : null,
    seconds,
    checkpoint: trainer.checkpoint,
    history: trainer.history,
  });
}
