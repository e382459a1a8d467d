/**
 * The JSON sidecar the Trainer writes beside each `epoch-NNNN.safetensors` checkpoint, and its one reader.
 *
 * The reader checks every field the Trainer writes, so a hand-edited or truncated sidecar ends in one line
 * naming the file and the field (`checkpoint: run/epoch-0003.json: "rng.seed" must be …, got "x"`) instead of
 * an `undefined` deep inside whoever uses it. Nested states owned by other modules (optimizer, scheduler,
 * loader) are checked to the depth their types declare; their owners' `loadStateDict` checks the meaning.
 */
import { TesseraError, type DType, type RngState, type optim } from '@tessera/tensor';
import type { ErrorRates } from './metrics.js';
import type { EpochRecord } from './trainer.js';

const OP = 'checkpoint';
export const CHECKPOINT_SIDECAR_FORMAT = 'tessera.alexnet.checkpoint';
/** Version 2 added `progress` (mid-epoch checkpoints); version 1 files read with `progress: null`. */
export const CHECKPOINT_SIDECAR_VERSION = 2;

/** The epoch in progress at a mid-epoch checkpoint: what the Trainer has summed so far. */
export interface EpochProgress {
  /** Steps of the epoch done (the source's `loader` state is the position after them). */
  step: number;
  images: number;
  /** Σ batch loss × batch size so far, exactly as the running sum held it, and that sum's dtype. */
  lossSum: number;
  lossDtype: DType;
  /** Wall time spent in the epoch so far. */
  seconds: number;
}

/** Exactly what `Trainer.saveCheckpoint` writes, as JSON: `describe` is the caller's own record. */
export interface CheckpointSidecar<Describe = Record<string, unknown>> {
  format: typeof CHECKPOINT_SIDECAR_FORMAT;
  version: 1 | 2;
  /** Epochs completed. */
  epoch: number;
  /** null at the end of an epoch; inside the next one, how far it got (the loader state is that position). */
  progress: EpochProgress | null;
  /** The safetensors file, relative to the sidecar's directory. */
  weights: string;
  optimizer: optim.OptimizerMeta;
  /** null when the Trainer has no plateau scheduler. */
  scheduler: optim.SchedulerState | null;
  rng: RngState;
  /** The training source's `state()`, opaque here (its owner validates it); null when it has none. */
  loader: unknown;
  /** Rates JSON could not hold (NaN, written as null: an empty validation set) are read back as NaN. */
  history: EpochRecord[];
  describe: Describe;
}

/**
 * Checks fields and throws one-line TesseraErrors naming the file and the field. A `describe` reader gets one
 * whose field names are relative to `describe`.
 */
export class SidecarFieldReader {
  constructor(
    readonly file: string,
    private readonly prefix = '',
  ) {}

  /** The same file, with field names under `field`. */
  under(field: string): SidecarFieldReader {
    return new SidecarFieldReader(this.file, `${this.prefix}${field}.`);
  }

  fail(field: string, expected: string, got: unknown): never {
    const name = `"${this.prefix}${field}"`;
    const problem = got === undefined ? `${name} is missing (expected ${expected})` : `${name} must be ${expected}, got ${preview(got)}`;
    throw new TesseraError(OP, `${this.file}: ${problem}`);
  }

  object(value: unknown, field: string): Record<string, unknown> {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) this.fail(field, 'an object', value);
    return value as Record<string, unknown>;
  }

  array(value: unknown, field: string): unknown[] {
    if (!Array.isArray(value)) this.fail(field, 'an array', value);
    return value;
  }

  /** A non-empty string. */
  string(value: unknown, field: string): string {
    if (typeof value !== 'string' || value.length === 0) this.fail(field, 'a non-empty string', value);
    return value;
  }

  boolean(value: unknown, field: string): boolean {
    if (typeof value !== 'boolean') this.fail(field, 'true or false', value);
    return value;
  }

  /** A safe integer ≥ min. */
  integer(value: unknown, field: string, min = 0): number {
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) this.fail(field, `an integer ≥ ${min}`, value);
    return value;
  }

  /** A finite number ≥ min. */
  number(value: unknown, field: string, min = -Infinity): number {
    if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
      this.fail(field, min === -Infinity ? 'a finite number' : `a finite number ≥ ${min}`, value);
    }
    return value;
  }

  oneOf<T extends string | number>(value: unknown, field: string, choices: readonly T[]): T {
    if (!choices.includes(value as T)) this.fail(field, choices.map((c) => JSON.stringify(c)).join(' or '), value);
    return value as T;
  }
}

/** A JSON value for a message: one line, at most about 60 characters. */
function preview(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}…` : text;
}

/** Reads the caller's `describe` record into its own type; fields it names are reported under `describe.`. */
export type DescribeReader<Describe> = (describe: Record<string, unknown>, fields: SidecarFieldReader) => Describe;

/** Parses the text of a sidecar; `file` names it in errors. */
export function parseCheckpointSidecar(text: string, file: string): CheckpointSidecar;
export function parseCheckpointSidecar<Describe>(text: string, file: string, readDescribe: DescribeReader<Describe>): CheckpointSidecar<Describe>;
export function parseCheckpointSidecar<Describe>(
  text: string,
  file: string,
  readDescribe?: DescribeReader<Describe>,
): CheckpointSidecar<Describe | Record<string, unknown>> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new TesseraError(OP, `${file} is not valid JSON, perhaps truncated or hand-edited (${(err as Error).message.split('\n')[0]})`);
  }
  const f = new SidecarFieldReader(file);
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new TesseraError(OP, `${file} is not a tessera AlexNet checkpoint sidecar: expected a JSON object, got ${preview(json)}`);
  }
  const s = json as Record<string, unknown>;
  const rng = (r: Record<string, unknown>): RngState => ({ seed: f.integer(r.seed, 'rng.seed'), offset: f.integer(r.offset, 'rng.offset') });
  const describe = (d: Record<string, unknown>) => (readDescribe ? readDescribe(d, f.under('describe')) : d);
  return {
    format: f.oneOf(s.format, 'format', [CHECKPOINT_SIDECAR_FORMAT]),
    ...versionAndProgress(s, f),
    epoch: f.integer(s.epoch, 'epoch'),
    weights: f.string(s.weights, 'weights'),
    optimizer: readOptimizerMeta(f.object(s.optimizer, 'optimizer'), f.under('optimizer')),
    scheduler: s.scheduler === null ? null : readSchedulerState(f.object(s.scheduler, 'scheduler'), f.under('scheduler')),
    rng: rng(f.object(s.rng, 'rng')),
    // The Trainer writes null for a source without state(); a missing key means the file was edited.
    loader: s.loader === undefined ? f.fail('loader', 'the loader state or null', undefined) : s.loader,
    history: f.array(s.history, 'history').map((e, i) => readEpochRecord(f.object(e, `history[${i}]`), f.under(`history[${i}]`))),
    describe: describe(f.object(s.describe, 'describe')),
  };
}

/** Reads and parses the sidecar at `path` (an `epoch-NNNN.json`; resolve a directory with resolveCheckpoint). */
export async function readCheckpointSidecar(path: string): Promise<CheckpointSidecar>;
export async function readCheckpointSidecar<Describe>(path: string, readDescribe: DescribeReader<Describe>): Promise<CheckpointSidecar<Describe>>;
export async function readCheckpointSidecar<Describe>(
  path: string,
  readDescribe?: DescribeReader<Describe>,
): Promise<CheckpointSidecar<Describe | Record<string, unknown>>> {
  let text: string;
  try {
    // Loaded on use (the specifier in a variable keeps bundlers away), so browsers can parse sidecars.
    const fsName = 'node:fs/promises';
    const { readFile } = (await import(fsName)) as typeof import('node:fs/promises');
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new TesseraError(OP, `cannot read ${path}: ${(err as Error).message}`);
  }
  return readDescribe ? parseCheckpointSidecar(text, path, readDescribe) : parseCheckpointSidecar(text, path);
}

function versionAndProgress(s: Record<string, unknown>, f: SidecarFieldReader): { version: 1 | 2; progress: EpochProgress | null } {
  const version = f.oneOf(s.version, 'version', [1, 2] as const);
  if (version === 1 || s.progress === null) return { version, progress: null };
  const p = f.object(s.progress, 'progress');
  return {
    version,
    progress: {
      step: f.integer(p.step, 'progress.step', 1),
      images: f.integer(p.images, 'progress.images'),
      lossSum: f.number(p.lossSum, 'progress.lossSum'),
      lossDtype: f.oneOf(p.lossDtype, 'progress.lossDtype', ['float32', 'float64'] as const),
      seconds: f.number(p.seconds, 'progress.seconds', 0),
    },
  };
}

function readOptimizerMeta(m: Record<string, unknown>, f: SidecarFieldReader): optim.OptimizerMeta {
  return {
    format: f.oneOf(m.format, 'format', ['tessera.optimizer'] as const),
    version: f.oneOf(m.version, 'version', [1] as const),
    type: f.string(m.type, 'type'),
    stepCount: f.integer(m.stepCount, 'stepCount'),
    paramGroups: f.array(m.paramGroups, 'paramGroups').map((g, i) => {
      const group = f.object(g, `paramGroups[${i}]`);
      const hyper: Record<string, optim.HyperValue> = {};
      for (const [k, v] of Object.entries(group)) {
        if (k !== 'params') hyper[k] = readHyperValue(v, `paramGroups[${i}].${k}`, f);
      }
      const params = f.array(group.params, `paramGroups[${i}].params`).map((p, j) => f.integer(p, `paramGroups[${i}].params[${j}]`));
      return { ...hyper, params };
    }),
    state: Object.fromEntries(
      Object.entries(f.object(m.state, 'state')).map(([index, entry]) => [
        index,
        Object.fromEntries(Object.entries(f.object(entry, `state.${index}`)).map(([k, v]) => [k, f.number(v, `state.${index}.${k}`)])),
      ]),
    ),
  };
}

function readHyperValue(v: unknown, field: string, f: SidecarFieldReader): optim.HyperValue {
  if (typeof v === 'boolean' || typeof v === 'string') return v;
  if (Array.isArray(v)) return v.map((x, i) => f.number(x, `${field}[${i}]`));
  return f.number(v, field);
}

function readSchedulerState(s: Record<string, unknown>, f: SidecarFieldReader): optim.SchedulerState {
  const state: optim.SchedulerState = {};
  for (const [k, v] of Object.entries(s)) {
    if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') state[k] = v;
    else if (Array.isArray(v) && v.every((x) => typeof x === 'number' || typeof x === 'string')) state[k] = v as (number | string)[];
    else f.fail(k, 'a number, string, boolean or a list of numbers and strings', v);
  }
  return state;
}

function readEpochRecord(e: Record<string, unknown>, f: SidecarFieldReader): EpochRecord {
  const record: EpochRecord = {
    epoch: f.integer(e.epoch, 'epoch', 1),
    lr: f.number(e.lr, 'lr', 0),
    trainLoss: rate(e.trainLoss, 'trainLoss', f),
    images: f.integer(e.images, 'images'),
    seconds: f.number(e.seconds, 'seconds', 0),
  };
  if (e.val !== undefined) record.val = readErrorRates(f.object(e.val, 'val'), f.under('val'));
  if (e.valTenCrop !== undefined) record.valTenCrop = readErrorRates(f.object(e.valTenCrop, 'valTenCrop'), f.under('valTenCrop'));
  return record;
}

function readErrorRates(r: Record<string, unknown>, f: SidecarFieldReader): ErrorRates {
  return {
    loss: rate(r.loss, 'loss', f),
    top1Error: rate(r.top1Error, 'top1Error', f),
    top5Error: rate(r.top5Error, 'top5Error', f),
    count: f.integer(r.count, 'count'),
  };
}

/** A loss or error rate: JSON writes the NaN of an empty set as null, and it reads back as NaN. */
function rate(value: unknown, field: string, f: SidecarFieldReader): number {
  return value === null ? NaN : f.number(value, field);
}
