// Assertions the core's test files share.
import { expect } from 'vitest';
import { TesseraError, type Tensor } from '../src/index.js';

/** Runs `fn`, expects a TesseraError whose message contains (or matches) every fragment, and returns it. */
export function expectTessera(fn: () => unknown, ...fragments: (string | RegExp)[]): TesseraError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(TesseraError);
  for (const f of fragments) expect((caught as Error).message).toMatch(f);
  return caught as TesseraError;
}

export async function values(t: Tensor): Promise<number[]> {
  return Array.from(await t.data());
}
