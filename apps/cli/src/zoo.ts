/**
 * The model zoo as the commands see it: `--model NAME` (AlexNet by default), the input side a zoo model is fed
 * at (`--image-size`), the learning-rate schedule options, and the table of models with their reference recipes
 * that `tessera models` and `tessera train --help` print.
 */
import type { TrainerOptions } from '@tessera/alexnet';
import { MODEL_NAMES, listModels, modelInfo, type ModelName, type TrainingRecipe as ZooRecipe } from '@tessera/models';
import { TesseraError } from '@tessera/tensor';
import type { DataSpec } from './data.js';
import type { ModelOptionValues } from './model-description.js';
import { intOption, numberOption } from './options.js';

/** `--model`: a zoo name, or undefined when absent. */
export function parseModelName(value: unknown): ModelName | undefined {
  if (value === undefined) return undefined;
  if (!MODEL_NAMES.includes(value as ModelName)) {
    throw new TesseraError('--model', `unknown model ${JSON.stringify(value)}; one of ${MODEL_NAMES.join(', ')} (tessera models lists them)`);
  }
  return value as ModelName;
}

/** The side small images (Fashion-MNIST 28×28, the synthetic 32 → 28 crops) are fed to a zoo model at by default. */
export function smallSide(name: ModelName): number {
  // LeNet-5 reads 28×28 itself (its first convolution pads by 2: the paper's 28 → 32 framing of MNIST digits).
  if (name === 'lenet5') return 28;
  return Math.max(28, modelInfo(name).minInput[0]);
}

/**
 * A zoo model's input side and the builder options it implies: `--image-size`, else 28 (LeNet-5; every model whose
 * minimum input is at most 28) or the model's minimum input on the small sets (Fashion-MNIST is resized to it), and
 * the model's default input (224) on ImageNet.
 */
export function zooGeometry(name: ModelName, spec: DataSpec, imageSize: unknown): { side: number; options: ModelOptionValues } {
  const info = modelInfo(name);
  const side = imageSize !== undefined ? intOption(imageSize, 'image-size', 0, 1) : spec.kind === 'imagenet' ? info.defaultInput[1] : smallSide(name);
  if (name === 'lenet5') {
    if (side !== 28 && side !== 32)
      throw new TesseraError('--image-size', `LeNet-5 reads 28×28 (padded by its first convolution) or 32×32 images, got ${side}`);
    return { side, options: side === 28 ? { inputSize: 28 } : {} };
  }
  const min = info.minInput[0];
  if (side < min) throw new TesseraError('--image-size', `${name} needs an input of at least ${min}×${min}, got ${side}`);
  return { side, options: {} };
}

/** The Trainer's schedule options from --lr-drop, --lr-step-size and --lr-gamma over the recipe's schedule. */
export function trainingSchedule(
  values: Record<string, unknown>,
  zoo: ZooRecipe | null,
  alexnetDrop: () => number | null,
): Pick<TrainerOptions, 'schedule' | 'dropEpochs' | 'stepSize' | 'gamma'> {
  const gamma = values['lr-gamma'] !== undefined ? numberOption(values['lr-gamma'], 'lr-gamma', 0) : undefined;
  if (gamma !== undefined && !(gamma > 0 && gamma <= 1)) throw new TesseraError('--lr-gamma', `must be in (0, 1], got ${JSON.stringify(values['lr-gamma'])}`);
  if (values['lr-drop'] !== undefined && values['lr-step-size'] !== undefined)
    throw new TesseraError('--lr-drop', 'and --lr-step-size are two schedules: give one');
  if (values['lr-drop'] !== undefined) return { schedule: 'steps', dropEpochs: [intOption(values['lr-drop'], 'lr-drop', 0, 1)], ...(gamma ? { gamma } : {}) };
  const zooStep = zoo?.schedule.kind === 'step' ? zoo.schedule : null;
  if (values['lr-step-size'] !== undefined) {
    return { schedule: 'step', stepSize: intOption(values['lr-step-size'], 'lr-step-size', 0, 1), gamma: gamma ?? zooStep?.gamma ?? 0.1 };
  }
  if (zooStep) return { schedule: 'step', stepSize: zooStep.stepSize, gamma: gamma ?? zooStep.gamma };
  const drop = zoo ? null : alexnetDrop();
  if (drop !== null) return { schedule: 'steps', dropEpochs: [drop], ...(gamma ? { gamma } : {}) };
  if (gamma !== undefined) throw new TesseraError('--lr-gamma', `applies to a step schedule: add --lr-step-size N or --lr-drop EPOCH`);
  return { schedule: zoo ? 'none' : 'plateau' };
}

const scheduleText = (r: ZooRecipe | typeof PAPER_RECIPE) =>
  r.schedule.kind === 'step' ? `×${r.schedule.gamma} every ${r.schedule.stepSize}` : r.schedule.kind === 'plateau' ? '÷10 on plateau*' : 'constant';

/** AlexNet's row: the paper's §5 recipe, what tessera train uses for it. */
const PAPER_RECIPE = { epochs: 90, batchSize: 128, lr: 0.01, momentum: 0.9, weightDecay: 5e-4, schedule: { kind: 'plateau' as const } };

/** Every model with parameters, GFLOPs at its default input and its reference recipe, as text. */
export function modelsTable(): string {
  const rows = listModels().map((s) => {
    // tessera train --model alexnet is the paper's AlexNet and recipe, not torchvision's.
    const r = s.name === 'alexnet' ? PAPER_RECIPE : modelInfo(s.name).recipe;
    return [
      s.name,
      s.title,
      (s.params / 1e6).toFixed(2) + 'M',
      s.flops === null ? '—' : (s.flops / 1e9).toFixed(2),
      s.defaultInput.join('×'),
      `${s.minInput[0]}`,
      `${r.epochs}`,
      `${r.batchSize}`,
      `${r.lr}`,
      `${r.momentum}`,
      `${r.weightDecay}`,
      scheduleText(r),
    ];
  });
  const header = ['model', 'title', 'params', 'GFLOPs', 'input', 'min', 'epochs', 'batch', 'lr', 'mom.', 'wd', 'lr schedule'];
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  const right = new Set([2, 3, 6, 7]);
  return all
    .map((r) =>
      r
        .map((c, i) => (right.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** What --help says about models, inputs and recipes. */
export const MODEL_HELP = `models (--model NAME; default alexnet: the paper's model and recipe, see --variant)
${'{TABLE}'}
  *AlexNet: the paper's recipe (§5), which tessera train keeps; its params and GFLOPs are torchvision's variant's.
  params and GFLOPs (2 × multiply-adds of conv/linear layers) at the model's default input and 1000 classes;
  min: the smallest square input. The recipe columns are torchvision's reference recipes (its
  references/classification; LeNet-5 has none, so tessera's), the defaults of --epochs, --batch-size, --lr,
  --momentum, --weight-decay and --lr-step-size/--lr-gamma for that model, each overridable; SGD with PyTorch's
  update rule (--rule pytorch). AlexNet keeps the paper's recipe (tessera train: SGD paper rule, lr 0.01 ÷10 on
  a validation plateau, 90 epochs; the reduced variant 10 epochs at 0.04). GoogLeNet trains with its auxiliary
  heads (loss = main + 0.3 × (aux1 + aux2)).
  Input: Fashion-MNIST (1×28×28) and the synthetic set (28×28 crops) are fed at 28×28 when the model's minimum is
  at most 28 (LeNet-5 too: its first convolution pads by 2, the paper's 32×32 framing), else resized (bilinear)
  to the model's minimum (zfnet 47, vgg* 32); ImageNet at the model's default 224 (256 → 224 crops).
  --image-size N feeds N×N instead (Fashion-MNIST resized to N, folders resized to N × 8/7 and cropped to N).`;

export function modelHelp(): string {
  return MODEL_HELP.replace('{TABLE}', modelsTable().replace(/^/gm, '  '));
}
