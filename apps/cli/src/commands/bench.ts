/**
 * `tessera bench`: forward and training-step time of a model (AlexNet by default, any zoo model with --model) on
 * each backend asked for (default: every available one).
 */
import { alexnet, type AlexNetVariant } from '@tessera/alexnet';
import { createModel, modelInfo, trainingLoss } from '@tessera/models';
import { F, TesseraError, availableBackends, keep, manualSeed, noGrad, optim, randn, setBackend, tensor, tidy, type nn } from '@tessera/tensor';
import type { Context } from '../context.js';
import { ALEXNET_VARIANTS } from '../model-description.js';
import { intOption, parse } from '../options.js';
import { loadBackendPackages } from '../select-backend.js';
import { parseModelName } from '../zoo.js';

export async function benchCommand(args: string[], ctx: Context): Promise<void> {
  const { values } = parse(args, {
    model: { type: 'string' },
    variant: { type: 'string' },
    'image-size': { type: 'string' },
    'batch-size': { type: 'string' },
    iters: { type: 'string' },
  });
  const name = parseModelName(values.model) ?? 'alexnet';
  const isAlexNet = name === 'alexnet';
  if (!isAlexNet && values.variant !== undefined) throw new TesseraError('--variant', `is AlexNet's; ${name} has none (use --image-size)`);
  if (isAlexNet && values['image-size'] !== undefined) throw new TesseraError('--image-size', "is for the zoo models; AlexNet's input follows from --variant");
  const variant = ((values.variant as string | undefined) ?? 'torchvision') as AlexNetVariant;
  if (!ALEXNET_VARIANTS.includes(variant)) throw new TesseraError('--variant', `must be paper, torchvision or reduced, got ${variant}`);
  const info = isAlexNet ? null : modelInfo(name);
  const side = info ? intOption(values['image-size'], 'image-size', info.defaultInput[1]) : 0;
  if (info && name !== 'lenet5' && side < info.minInput[0])
    throw new TesseraError('--image-size', `${name} needs an input of at least ${info.minInput[0]}×${info.minInput[0]}, got ${side}`);
  if (name === 'lenet5' && side !== 28 && side !== 32) throw new TesseraError('--image-size', `LeNet-5 reads 28×28 or 32×32 images, got ${side}`);
  const small = isAlexNet ? variant === 'reduced' : side <= 64;
  const batch = intOption(values['batch-size'], 'batch-size', small ? 128 : 8);
  const iters = intOption(values.iters, 'iters', 3);
  const title = isAlexNet ? `${variant} AlexNet` : `${info!.title} at ${info!.defaultInput[0]}×${side}×${side}`;
  const build = (): { model: nn.Module; input: [number, number, number]; classes: number } => {
    if (isAlexNet) {
      const a = alexnet({ variant, seed: 0 });
      return { model: a, input: a.inputShape, classes: a.numClasses };
    }
    const options = name === 'lenet5' && side === 28 ? { seed: 0, inputSize: 28 as const } : { seed: 0 };
    return { model: createModel(name, options), input: [info!.defaultInput[0], side, side], classes: name === 'lenet5' ? 10 : 1000 };
  };
  await loadBackendPackages();
  const all = await availableBackends();
  const names = values.backend ? [values.backend as string] : all.filter((b) => b.available).map((b) => b.name);
  const rows: { backend: string; forwardMs: number; trainStepMs: number; forwardImagesPerSecond: number; trainImagesPerSecond: number }[] = [];
  for (const backendName of names) {
    await setBackend(backendName);
    manualSeed(0);
    const { model, input, classes } = build();
    const [c, h, w] = input;
    const x = keep(randn([batch, c, h, w], { seed: 1 }));
    const y = keep(tensor(Int32Array.from({ length: batch }, (_, i) => i % classes)));
    const opt = new optim.SGD(model.parameters(), { lr: 1e-4, momentum: 0.9, weightDecay: 5e-4, rule: 'paper' });
    const time = async (fn: () => import('@tessera/tensor').Tensor) => {
      const warm = fn(); // warm-up, read back so that queued work is counted
      await warm.data();
      warm.dispose();
      const times: number[] = [];
      for (let i = 0; i < iters; i++) {
        const t0 = performance.now();
        const out = fn();
        await out.data();
        out.dispose();
        times.push(performance.now() - t0);
      }
      return times.sort((a, b) => a - b)[Math.floor(times.length / 2)]!;
    };
    ctx.log(`${backendName}: timing ${title} at batch ${batch} (median of ${iters}) …`);
    model.eval();
    const forwardMs = await time(() => noGrad(() => tidy(() => model.forward(x))));
    model.train();
    const trainStepMs = await time(() =>
      tidy(() => {
        opt.zeroGrad();
        const l = isAlexNet ? F.crossEntropy(model.forward(x), y) : trainingLoss(model, x, y).loss;
        l.backward();
        opt.step();
        return l.detach();
      }),
    );
    rows.push({
      backend: backendName,
      forwardMs,
      trainStepMs,
      forwardImagesPerSecond: (batch * 1000) / forwardMs,
      trainImagesPerSecond: (batch * 1000) / trainStepMs,
    });
    opt.zeroGrad();
    opt.disposeState();
    model.dispose();
    x.dispose();
    y.dispose();
  }
  const text = rows
    .map(
      (r) =>
        `${r.backend.padEnd(8)} forward ${r.forwardMs.toFixed(1)} ms (${r.forwardImagesPerSecond.toFixed(1)} img/s) · training step ${r.trainStepMs.toFixed(1)} ms (${r.trainImagesPerSecond.toFixed(1)} img/s)`,
    )
    .join('\n');
  ctx.out(`${title}, batch ${batch}\n${text}`, {
    model: name,
    ...(isAlexNet ? { variant } : { input: [info!.defaultInput[0], side, side] }),
    batch,
    iters,
    results: rows,
  });
}
