/** `tessera train`: the paper's recipe (Section 5) by default, on Fashion-MNIST unless --data says otherwise. */
import type { Context } from '../context.js';
import { runTraining, type TrainingRecipe } from '../training.js';

/** 90 epochs of batch 128 at lr 0.01 for the full variants; the reduced one, 10 epochs at 0.04. */
export const TRAIN_RECIPE: TrainingRecipe = {
  name: 'train',
  defaultData: () => 'fashion-mnist',
  epochs: (variant) => (variant === 'reduced' ? 10 : 90),
  batchSize: 128,
  lr: (variant) => (variant === 'reduced' ? 0.04 : 0.01),
  lrDrop: () => null,
};

export async function trainCommand(args: string[], ctx: Context): Promise<void> {
  await runTraining(args, ctx, TRAIN_RECIPE);
}
