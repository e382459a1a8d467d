/** Hyperparameter checks shared by the optimisers and schedulers. */
import { TesseraError } from '../errors.js';

/** A finite number ≥ min (and ≤ max / < max when given). */
export function checkNumber(op: string, name: string, v: unknown, min: number, max?: number, maxExclusive = false): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || (max !== undefined && (maxExclusive ? v >= max : v > max))) {
    const range = max === undefined ? `≥ ${min}` : `in [${min}, ${max}${maxExclusive ? ')' : ']'}`;
    throw new TesseraError(op, `${name} must be a finite number ${range}, got ${JSON.stringify(v) ?? String(v)}`);
  }
  return v;
}

export function checkBoolean(op: string, name: string, v: unknown): boolean {
  if (typeof v !== 'boolean') throw new TesseraError(op, `${name} must be true or false, got ${JSON.stringify(v) ?? String(v)}`);
  return v;
}

export function checkChoice<T extends string>(op: string, name: string, v: unknown, choices: readonly T[]): T {
  if (typeof v !== 'string' || !(choices as readonly string[]).includes(v)) {
    throw new TesseraError(op, `${name} must be one of ${choices.map((c) => `'${c}'`).join(', ')}, got ${JSON.stringify(v) ?? String(v)}`);
  }
  return v as T;
}

export function checkInteger(op: string, name: string, v: unknown, min: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min)
    throw new TesseraError(op, `${name} must be an integer ≥ ${min}, got ${JSON.stringify(v) ?? String(v)}`);
  return v;
}
