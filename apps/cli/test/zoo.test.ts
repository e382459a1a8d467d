// Any zoo model from the command line: `tessera models`, `train --model` with the model's reference recipe (each
// value overridable), checkpoints that remember the model so eval/predict/resume need no --model, GoogLeNet's
// auxiliary loss, the input geometry, and the errors for options that do not fit the model.
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSyntheticImagenet } from '@tessera/data';
import { MODEL_NAMES, listModels, modelInfo } from '@tessera/models';
import { trainingSchedule, zooGeometry } from '../src/zoo.js';
import { run } from './run-cli.js';

let root: string;
let data: string;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'tessera-cli-zoo-'));
  data = join(root, 'synthetic');
  await generateSyntheticImagenet({ root: data, classes: 3, trainPerClass: 12, valPerClass: 3, longSide: [36, 48], seed: 9 });
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

const small = (out: string) => ['--backend', 'cpu', '--data', `synthetic:${data}`, '--out', out, '--train-images', '24', '--test-images', '6'];

/** The single error line of a failed command. */
async function fails(args: string[]): Promise<string> {
  const r = await run(args);
  expect(r.code, r.stderr).toBe(1);
  const lines = r.stderr.trim().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  return lines[0]!;
}

describe('tessera models', () => {
  it('lists every zoo model with parameters, GFLOPs and its reference recipe', async () => {
    const text = await run(['models']);
    expect(text.code).toBe(0);
    const rows = text.stdout.trim().split('\n');
    expect(rows[0]).toMatch(/^model\s+title\s+params\s+GFLOPs\s+input\s+min\s+epochs\s+batch\s+lr/);
    expect(rows.slice(1).map((r) => r.split(/\s+/)[0])).toEqual([...MODEL_NAMES]);
    const resnet = rows.find((r) => r.startsWith('resnet18 '))!;
    const summary = listModels().find((s) => s.name === 'resnet18')!;
    expect(resnet).toContain(`${(summary.params / 1e6).toFixed(2)}M`);
    expect(resnet).toContain(`${(summary.flops! / 1e9).toFixed(2)}`);
    expect(resnet).toMatch(/\s90\s+256\s+0\.1\s+0\.9\s+0\.0001\s+×0\.1 every 30$/);
    // AlexNet's row is the paper's recipe, which tessera train keeps for it.
    expect(rows.find((r) => r.startsWith('alexnet '))).toMatch(/\s90\s+128\s+0\.01\s+0\.9\s+0\.0005\s+÷10 on plateau\*$/);

    const json = await run(['models', '--json']);
    const list = JSON.parse(json.stdout) as { name: string; recipe: unknown }[];
    expect(list.map((m) => m.name)).toEqual([...MODEL_NAMES]);
    expect(list.find((m) => m.name === 'mobilenet_v2')!.recipe).toEqual(modelInfo('mobilenet_v2').recipe);

    const help = await run(['train', '--help']);
    expect(help.stdout).toMatch(/--model NAME/);
    expect(help.stdout).toMatch(/--checkpoint-every E/);
    expect(help.stdout).toMatch(/^ {2}mobilenet_v2 .*×0\.98 every 1$/m);
  });
});

describe('tessera train --model', () => {
  it('LeNet-5 with its recipe; the checkpoint remembers the model for eval, predict and resume', async () => {
    const out = join(root, 'lenet');
    // The recipe's defaults (lr 0.01, momentum 0.9, no weight decay, constant) but for the batch and a step schedule.
    const trained = await run([
      'train',
      ...small(out),
      '--model',
      'lenet5',
      '--epochs',
      '2',
      '--batch-size',
      '8',
      '--lr-step-size',
      '1',
      '--lr-gamma',
      '0.5',
      '--workers',
      '1',
    ]);
    expect(trained.code, trained.stderr).toBe(0);
    expect(trained.stderr).toMatch(
      /^tessera train: LeNet-5 \(lenet5\) at 3×28×28 \([\d,]+ parameters\) on synthetic images .*; the first 24 training and 6 test images, backend cpu$/m,
    );
    expect(trained.stderr).toMatch(
      /^recipe: 2 epochs, batch 8, SGD lr 0\.01 momentum 0\.9 weight decay 0 \(pytorch rule\), lr ×0\.5 every 1 epochs; output in /m,
    );
    const sidecar = JSON.parse(readFileSync(join(out, 'checkpoints', 'epoch-0002.json'), 'utf8'));
    expect((sidecar.history as { lr: number; images: number; val: { count: number } }[]).map((h) => [h.lr, h.images, h.val.count])).toEqual([
      [0.01, 24, 6],
      [0.005, 24, 6],
    ]);
    expect(sidecar.describe).toMatchObject({ model: 'lenet5', modelOptions: { inputSize: 28 }, variant: null, channels: 3, side: 28, numClasses: 3 });
    expect(sidecar.scheduler).toMatchObject({ type: 'StepLR', stepSize: 1, gamma: 0.5 });

    const checkpoints = join(out, 'checkpoints');
    const evaluated = await run(['eval', '--backend', 'cpu', '--checkpoint', checkpoints, '--workers', '0', '--json']);
    expect(evaluated.code, evaluated.stderr).toBe(0);
    expect(JSON.parse(evaluated.stdout).centre.count).toBe(9);
    const first = await run(['eval', '--backend', 'cpu', '--checkpoint', checkpoints, '--workers', '0', '--test-images', '4', '--json']);
    expect(JSON.parse(first.stdout).centre.count).toBe(4);
    const classDir = readdirSync(join(data, 'val'))[0]!;
    const image = join(data, 'val', classDir, readdirSync(join(data, 'val', classDir))[0]!);
    const predicted = await run(['predict', image, '--backend', 'cpu', '--checkpoint', checkpoints]);
    expect(predicted.code, predicted.stderr).toBe(0);
    expect(predicted.stdout.trim().split('\n')).toHaveLength(4);
    const vis = await run(['visualize', '--checkpoint', checkpoints, '--out', join(root, 'lenet-vis')]);
    expect(vis.code, vis.stderr).toBe(0);

    // Resuming needs no --model; a different one is refused, here and in eval and predict.
    const resumed = await run([
      'train',
      ...small(out),
      '--epochs',
      '3',
      '--batch-size',
      '8',
      '--lr-step-size',
      '1',
      '--lr-gamma',
      '0.5',
      '--resume',
      checkpoints,
    ]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/^tessera train: LeNet-5 \(lenet5\)/m);
    expect(resumed.stderr).toMatch(/resumed from \S+epoch-0002\.json after epoch 2/);
    const other = `the checkpoint ${join(checkpoints, 'epoch-0003.json')} holds lenet5, not resnet18`;
    expect(await fails(['train', ...small(out), '--model', 'resnet18', '--resume', checkpoints])).toBe(`tessera train: --model: ${other}`);
    expect(await fails(['eval', '--checkpoint', checkpoints, '--model', 'resnet18'])).toBe(`tessera eval: --model: ${other}`);
    expect(await fails(['predict', image, '--checkpoint', checkpoints, '--model', 'resnet18'])).toBe(`tessera predict: --model: ${other}`);
  });

  it('GoogLeNet trains on main + 0.3 × (aux1 + aux2): its first loss is about 1.6 × ln 3 on 3 classes', async () => {
    const out = join(root, 'googlenet');
    const r = await run([
      'train',
      ...small(out),
      '--model',
      'googlenet',
      '--image-size',
      '32',
      '--train-images',
      '4',
      '--test-images',
      '3',
      '--batch-size',
      '4',
      '--epochs',
      '1',
      '--workers',
      '0',
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const { history } = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { history: { trainLoss: number }[] };
    // Near-uniform logits at initialisation: each cross-entropy is close to ln 3 (1.0986); the main loss alone would be.
    expect(history[0]!.trainLoss).toBeGreaterThan(1.6 * Math.log(3) - 0.15);
    expect(history[0]!.trainLoss).toBeLessThan(1.6 * Math.log(3) + 0.15);
  });

  it('options that do not fit the model are one clear line', async () => {
    const out = join(root, 'bad');
    expect(await fails(['train', ...small(out), '--model', 'resnet'])).toMatch(
      /^tessera train: --model: unknown model "resnet"; one of lenet5, zfnet, alexnet, .*googlenet/,
    );
    expect(await fails(['train', ...small(out), '--model', 'lenet5', '--variant', 'paper'])).toBe(
      "tessera train: --variant: is AlexNet's; lenet5 has none (use --image-size for its input)",
    );
    expect(await fails(['train', ...small(out), '--image-size', '64'])).toBe(
      "tessera train: --image-size: is for the zoo models; AlexNet's input follows from --variant",
    );
    expect(await fails(['train', ...small(out), '--model', 'vgg11', '--image-size', '20'])).toBe(
      'tessera train: --image-size: vgg11 needs an input of at least 32×32, got 20',
    );
    expect(await fails(['train', ...small(out), '--model', 'lenet5', '--image-size', '30'])).toBe(
      'tessera train: --image-size: LeNet-5 reads 28×28 (padded by its first convolution) or 32×32 images, got 30',
    );
    expect(await fails(['train', ...small(out), '--model', 'lenet5', '--lr-gamma', '0.5'])).toBe(
      'tessera train: --lr-gamma: applies to a step schedule: add --lr-step-size N or --lr-drop EPOCH',
    );
    expect(await fails(['train', ...small(out), '--lr-drop', '2', '--lr-step-size', '1'])).toBe(
      'tessera train: --lr-drop: and --lr-step-size are two schedules: give one',
    );
    expect(await fails(['train', ...small(out), '--train-images', '0'])).toBe('tessera train: --train-images: must be an integer ≥ 1, got "0"');
  });

  it('input geometry and schedules per model', () => {
    const fashion = { kind: 'fashion-mnist' } as const;
    expect(zooGeometry('lenet5', fashion, undefined)).toEqual({ side: 28, options: { inputSize: 28 } });
    expect(zooGeometry('lenet5', fashion, '32')).toEqual({ side: 32, options: {} });
    expect(zooGeometry('resnet18', fashion, undefined)).toEqual({ side: 28, options: {} });
    expect(zooGeometry('vgg11_bn', fashion, undefined)).toEqual({ side: 32, options: {} });
    expect(zooGeometry('zfnet', fashion, undefined).side).toBe(Math.max(28, modelInfo('zfnet').minInput[0]));
    expect(zooGeometry('resnet50', { kind: 'imagenet', dir: '/x' }, undefined)).toEqual({ side: 224, options: {} });
    expect(zooGeometry('mobilenet_v2', fashion, '64')).toEqual({ side: 64, options: {} });

    const none = () => null;
    expect(trainingSchedule({}, modelInfo('resnet18').recipe, none)).toEqual({ schedule: 'step', stepSize: 30, gamma: 0.1 });
    expect(trainingSchedule({ 'lr-gamma': '0.5' }, modelInfo('mobilenet_v2').recipe, none)).toEqual({ schedule: 'step', stepSize: 1, gamma: 0.5 });
    expect(trainingSchedule({ 'lr-step-size': '5' }, modelInfo('mobilenet_v2').recipe, none)).toEqual({ schedule: 'step', stepSize: 5, gamma: 0.98 });
    expect(trainingSchedule({ 'lr-drop': '3' }, modelInfo('resnet18').recipe, none)).toEqual({ schedule: 'steps', dropEpochs: [3] });
    expect(trainingSchedule({}, modelInfo('lenet5').recipe, none)).toEqual({ schedule: 'none' });
    // AlexNet: the paper's plateau schedule, or the recipe's drop epoch (demo).
    expect(trainingSchedule({}, null, none)).toEqual({ schedule: 'plateau' });
    expect(trainingSchedule({}, null, () => 3)).toEqual({ schedule: 'steps', dropEpochs: [3] });
  });
});
