/** Figures the commands write beside a run. */
import { join } from 'node:path';
import { writeFilterGrid, type AlexNet } from '@tessera/alexnet';
import { TesseraError, nn } from '@tessera/tensor';

/** The first convolution's filters as a PNG grid, `conv1-filters.png` in `dir`; returns the file written. */
export async function writeConv1Filters(model: AlexNet, dir: string): Promise<string> {
  const conv1 = model.features.at(0);
  if (!(conv1 instanceof nn.Conv2d)) throw new TesseraError('conv1 filters', `the first layer of the ${model.variant} AlexNet is not a convolution`);
  const file = join(dir, 'conv1-filters.png');
  await writeFilterGrid(conv1.weight, file);
  return file;
}
