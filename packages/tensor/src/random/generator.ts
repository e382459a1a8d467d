/**
 * The global random generator: a seed and a Philox block offset. Each draw without an explicit seed takes
 * the next ⌈n/4⌉ blocks, so the state (two numbers) is all a checkpoint needs for an exact resume.
 */
import { TesseraError } from '../errors.js';
import { blocksFor } from './philox.js';

export interface RngState {
  seed: number;
  offset: number;
}

let state: RngState = { seed: 0x7e55e7a, offset: 0 };

function checkSeed(seed: number, op: string): void {
  if (!Number.isSafeInteger(seed) || seed < 0) throw new TesseraError(op, `seed must be a non-negative safe integer, got ${seed}`);
}

/** Seeds the global generator (like torch.manual_seed). */
export function manualSeed(seed: number): void {
  checkSeed(seed, 'manualSeed');
  state = { seed, offset: 0 };
}

export function getRngState(): RngState {
  return { ...state };
}

export function setRngState(s: RngState): void {
  checkSeed(s.seed, 'setRngState');
  if (!Number.isSafeInteger(s.offset) || s.offset < 0) throw new TesseraError('setRngState', `offset must be a non-negative safe integer, got ${s.offset}`);
  state = { ...s };
}

/**
 * (seed, offset) for a draw of n numbers: the given seed from offset 0, or the global generator's next blocks.
 */
export function nextKey(n: number, seed: number | undefined, op: string): { seed: number; offset: number } {
  if (seed !== undefined) {
    checkSeed(seed, op);
    return { seed, offset: 0 };
  }
  const key = { seed: state.seed, offset: state.offset };
  state.offset += blocksFor(n);
  return key;
}
