/** Philox 4x32-10 random fills; the stream is defined (and implemented) once, in random/philox.ts. */
import type { RandomParams } from '../../backend/kernels.js';
import { philoxFill } from '../../random/philox.js';
import type { CpuBuffer } from '../backend.js';
import { floats } from './util.js';

export function random(out: CpuBuffer, p: RandomParams): void {
  philoxFill(floats(out, 'random', 'output'), p);
}
