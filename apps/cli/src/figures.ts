/** Figures the commands write beside a run. */
import { join } from 'node:path';
import { writeFilterGrid } from '@tessera/alexnet';
import { TesseraError, type nn } from '@tessera/tensor';
import { firstConv } from './model-description.js';

/** The first convolution's filters as a PNG grid, `conv1-filters.png` in `dir`; returns the file written. */
export async function writeConv1Filters(model: nn.Module, dir: string): Promise<string> {
  const conv1 = firstConv(model);
  if (conv1 === null) throw new TesseraError('conv1 filters', `the model (${model.constructor.name}) has no convolution`);
  const file = join(dir, 'conv1-filters.png');
  await writeFilterGrid(conv1.weight, file);
  return file;
}
