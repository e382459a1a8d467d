/** Command-line options: the ones every command understands, strict parsing, and number checks. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { TesseraError } from '@tessera/tensor';

export type OptionTable = NonNullable<ParseArgsConfig['options']>;

/** Options every command understands; each command adds its own. */
export const COMMON: OptionTable = {
  backend: { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', default: false },
};

/** Parses `args` against COMMON plus `options`; an unknown or malformed option is a TesseraError. */
export function parse(args: string[], options: OptionTable, positionals = false) {
  try {
    return parseArgs({ args, options: { ...COMMON, ...options }, allowPositionals: positionals, strict: true });
  } catch (err) {
    throw new TesseraError('arguments', (err as Error).message);
  }
}

/** A positive integer option, or the default. */
export function intOption(value: unknown, name: string, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new TesseraError(`--${name}`, `must be an integer ≥ ${min}, got ${JSON.stringify(value)}`);
  return n;
}

export function numberOption(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new TesseraError(`--${name}`, `must be a non-negative number, got ${JSON.stringify(value)}`);
  return n;
}
