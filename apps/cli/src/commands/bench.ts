/** `tessera bench`: forward and training-step time of AlexNet on each backend asked for (default: every available one). */
import { alexnet, type AlexNetVariant } from '@tessera/alexnet';
import { F, TesseraError, availableBackends, keep, manualSeed, noGrad, optim, randn, setBackend, tensor, tidy } from '@tessera/tensor';
import type { Context } from '../context.js';
import { ALEXNET_VARIANTS } from '../model-description.js';
import { intOption, parse } from '../options.js';
import { loadBackendPackages } from '../select-backend.js';

export async function benchCommand(args: string[], ctx: Context): Promise<void> {
  const { values } = parse(args, { variant: { type: 'string' }, 'batch-size': { type: 'string' }, iters: { type: 'string' } });
  const variant = ((values.variant as string | undefined) ?? 'torchvision') as AlexNetVariant;
  if (!ALEXNET_VARIANTS.includes(variant)) throw new TesseraError('--variant', `must be paper, torchvision or reduced, got ${variant}`);
  const batch = intOption(values['batch-size'], 'batch-size', variant === 'reduced' ? 128 : 8);
  const iters = intOption(values.iters, 'iters', 3);
  await loadBackendPackages();
  const all = await availableBackends();
  const names = values.backend ? [values.backend as string] : all.filter((b) => b.available).map((b) => b.name);
  const rows: { backend: string; forwardMs: number; trainStepMs: number; forwardImagesPerSecond: number; trainImagesPerSecond: number }[] = [];
  for (const name of names) {
    await setBackend(name);
    manualSeed(0);
    const model = alexnet({ variant, seed: 0 });
    const [c, h, w] = model.inputShape;
    const x = keep(randn([batch, c, h, w], { seed: 1 }));
    const y = keep(tensor(Int32Array.from({ length: batch }, (_, i) => i % model.numClasses)));
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
    ctx.log(`${name}: timing ${variant} AlexNet at batch ${batch} (median of ${iters}) …`);
    model.eval();
    const forwardMs = await time(() => noGrad(() => tidy(() => model.forward(x))));
    model.train();
    const trainStepMs = await time(() =>
      tidy(() => {
        opt.zeroGrad();
        const l = F.crossEntropy(model.forward(x), y);
        l.backward();
        opt.step();
        return l.detach();
      }),
    );
    rows.push({
      backend: name,
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
  ctx.out(`${variant} AlexNet, batch ${batch}\n${text}`, { variant, batch, iters, results: rows });
}
