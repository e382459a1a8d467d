/**
 * `tessera demo`: train with the embedded defaults — the reduced AlexNet on Fashion-MNIST (or on a generated
 * synthetic set, saying so, where the Debian data is absent) on the CPU — writing curves, the conv1 filter grid
 * and a checkpoint, and ending with `test accuracy: 0.XXXX`.
 */
import { FASHION_MNIST_DIR, fashionMnistAvailable } from '@tessera/data';
import type { Context } from '../context.js';
import { runTraining, type TrainingRecipe } from '../training.js';

/**
 * The paper's SGD (momentum 0.9, weight decay 5e-4) with batch 64 at a higher rate for a short run, ÷10 for the
 * last of its 6 epochs. On the `onednn` default the demo trains 4.5–4.9× faster than on the portable `cpu`
 * backend (measured side by side, 2026-12-01). Test accuracy on Fashion-MNIST: 3 epochs 0.8887, 4 epochs 0.8984,
 * 5 epochs 0.9000, 6 epochs 0.9062. On the quiet dev machine (2 cores, 2026-12-01) 4 epochs took 4 min 34 s with
 * the build and 6 epochs 6 min 7 s after a 47 s build; at load 6–12, 4 epochs took 14 min 44 s (figures and
 * commands in BENCHMARKS.md).
 */
export const DEMO_RECIPE: TrainingRecipe = {
  name: 'demo',
  defaultData: (ctx) => {
    if (fashionMnistAvailable(FASHION_MNIST_DIR)) return 'fashion-mnist';
    ctx.log(`Fashion-MNIST is not installed at ${FASHION_MNIST_DIR} (Debian package dataset-fashion-mnist); training on a generated synthetic set instead.`);
    return 'synthetic';
  },
  epochs: () => 6,
  batchSize: 64,
  lr: () => 0.03,
  lrDrop: (epochs) => epochs,
};

export async function demoCommand(args: string[], ctx: Context): Promise<void> {
  await runTraining(args, ctx, DEMO_RECIPE);
}
