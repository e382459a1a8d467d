// The checkpoint sidecar reader: what the Trainer writes reads back unchanged; a hand-edited or truncated sidecar
// ends in one TesseraError line naming the file and the field.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TesseraError, manualSeed, randn, tensor } from '@tessera/tensor';
import { Trainer, alexnet, type BatchSource, type CheckpointSidecar as TrainerSidecar, type SidecarFieldReader } from '../src/index.js';
import { parseCheckpointSidecar, readCheckpointSidecar, type CheckpointSidecar } from '../src/checkpoint-sidecar.js';

/** `batches` batches of 8 random 1×28×28 images over 4 classes; with `withState`, a position to save. */
function source(batches: number, withState: boolean): BatchSource {
  let epoch = 0;
  return {
    length: batches,
    ...(withState ? { state: () => ({ epoch, shuffle: false }) } : {}),
    async *epoch() {
      epoch++;
      for (let b = 0; b < batches; b++) {
        yield { images: randn([8, 1, 28, 28], { seed: epoch * 100 + b }), labels: tensor(Int32Array.from({ length: 8 }, (_, i) => (i + b) % 4)) };
      }
    },
  };
}

let root: string;
/** A plateau run with a validation set and loader state. */
let plateauFile: string;
let plateauText: string;
/** A run without a scheduler, loader state or validation images: null scheduler and loader, NaN rates. */
let bareFile: string;
let bareText: string;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'tessera-sidecar-'));
  manualSeed(4);
  const model = () => alexnet({ variant: 'reduced', numClasses: 4, seed: 1, widthMultiplier: 0.25 });
  const plateau = new Trainer({ model: model(), epochs: 2, lr: 0.01, checkpointDir: join(root, 'plateau'), describe: { note: 'plateau', side: 28 } });
  await plateau.fit(source(2, true), source(1, false));
  plateauFile = join(root, 'plateau', 'epoch-0002.json');
  plateauText = readFileSync(plateauFile, 'utf8');
  const bare = new Trainer({ model: model(), epochs: 1, lr: 0.01, schedule: 'none', checkpointDir: join(root, 'bare') });
  await bare.fit(source(1, false), source(0, false));
  bareFile = join(root, 'bare', 'epoch-0001.json');
  bareText = readFileSync(bareFile, 'utf8');
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

/** JSON.parse, with the rates JSON wrote as null (NaN) turned back into NaN, as the reader returns them. */
function expected(text: string): unknown {
  const raw = JSON.parse(text) as { history: Record<string, unknown>[] };
  for (const e of raw.history) {
    if (e.trainLoss === null) e.trainLoss = NaN;
    for (const key of ['val', 'valTenCrop']) {
      const r = e[key] as Record<string, unknown> | undefined;
      for (const k of ['loss', 'top1Error', 'top5Error']) if (r && r[k] === null) r[k] = NaN;
    }
  }
  return raw;
}

/** What `fn` threw, or null. */
function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
    return null;
  } catch (err) {
    return err;
  }
}

/** The error `fn` throws, which must be a one-line TesseraError naming `file`. */
function oneLineError(fn: () => unknown, file: string): string {
  const caught = thrownBy(fn);
  expect(caught).toBeInstanceOf(TesseraError);
  const message = (caught as TesseraError).message;
  expect(message).toContain(file);
  expect(message).not.toContain('\n');
  return message;
}

/** JSON.parse's own result type: the edits below reach into the parsed sidecar at any depth. */
type JsonObject = ReturnType<typeof JSON.parse>;

/** The sidecar text with `edit` applied to its parsed JSON. */
function edited(text: string, edit: (s: JsonObject) => void): string {
  const s = JSON.parse(text) as JsonObject;
  edit(s);
  return JSON.stringify(s);
}

describe('readCheckpointSidecar', () => {
  it('reads what the Trainer writes, unchanged', async () => {
    const plateau: CheckpointSidecar = await readCheckpointSidecar(plateauFile);
    expect(plateau).toEqual(expected(plateauText));
    expect(plateau.epoch).toBe(2);
    expect(plateau.scheduler).not.toBeNull();
    expect(plateau.loader).toEqual({ epoch: 2, shuffle: false });
    expect(plateau.history.map((e) => e.val?.count)).toEqual([8, 8]);
    // The reader's type is one the Trainer's loadCheckpoint result can stand in for.
    const asTrainer: TrainerSidecar = plateau;
    expect(asTrainer.weights).toBe('epoch-0002.safetensors');

    const bare = parseCheckpointSidecar(bareText, bareFile);
    expect(bare).toEqual(expected(bareText));
    expect(bare.scheduler).toBeNull();
    expect(bare.loader).toBeNull();
    expect(bare.describe).toEqual({});
    expect(bare.history[0]!.val).toEqual({ loss: NaN, top1Error: NaN, top5Error: NaN, count: 0 });
  });

  it('names the file and the field of a hand edit', () => {
    const cases: [string, (s: JsonObject) => void, string][] = [
      ['format', (s) => (s.format = 'tessera.other'), '"format" must be "tessera.alexnet.checkpoint", got "tessera.other"'],
      ['version', (s) => (s.version = 3), '"version" must be 1 or 2, got 3'],
      ['missing epoch', (s) => delete s.epoch, '"epoch" is missing (expected an integer ≥ 0)'],
      ['epoch as text', (s) => (s.epoch = '2'), '"epoch" must be an integer ≥ 0, got "2"'],
      ['weights', (s) => (s.weights = ''), '"weights" must be a non-empty string, got ""'],
      ['optimizer type', (s) => delete s.optimizer.type, '"optimizer.type" is missing'],
      ['a parameter index', (s) => (s.optimizer.paramGroups[0].params[1] = 1.5), '"optimizer.paramGroups[0].params[1]" must be an integer ≥ 0, got 1.5'],
      ['a hyperparameter', (s) => (s.optimizer.paramGroups[0].lr = null), '"optimizer.paramGroups[0].lr" must be a finite number, got null'],
      ['optimizer state', (s) => (s.optimizer.state['0'] = 3), '"optimizer.state.0" must be an object, got 3'],
      ['scheduler', (s) => (s.scheduler.best = { a: 1 }), '"scheduler.best" must be a number, string, boolean or a list of numbers and strings, got {"a":1}'],
      ['rng', (s) => (s.rng.seed = -1), '"rng.seed" must be an integer ≥ 0, got -1'],
      ['missing rng', (s) => delete s.rng, '"rng" is missing (expected an object)'],
      ['loader', (s) => delete s.loader, '"loader" is missing (expected the loader state or null)'],
      ['history', (s) => (s.history = {}), '"history" must be an array, got {}'],
      ['an epoch number', (s) => (s.history[1].epoch = 0), '"history[1].epoch" must be an integer ≥ 1, got 0'],
      ['a validation rate', (s) => (s.history[0].val.top1Error = 'low'), '"history[0].val.top1Error" must be a finite number, got "low"'],
      ['a rate count', (s) => delete s.history[0].val.count, '"history[0].val.count" is missing'],
      ['describe', (s) => (s.describe = ['x']), '"describe" must be an object, got ["x"]'],
    ];
    for (const [what, edit, message] of cases) {
      const got = oneLineError(() => parseCheckpointSidecar(edited(plateauText, edit), plateauFile), plateauFile);
      expect(got, what).toContain(`checkpoint: ${plateauFile}: ${message}`);
    }
    const long = oneLineError(
      () =>
        parseCheckpointSidecar(
          edited(plateauText, (s) => (s.epoch = 'x'.repeat(500))),
          plateauFile,
        ),
      plateauFile,
    );
    expect(long.length, 'a long value is shortened').toBeLessThan(plateauFile.length + 200);
    expect(() =>
      parseCheckpointSidecar(
        edited(plateauText, (s) => (s.weights = ['x'])),
        plateauFile,
      ),
    ).toThrow(/"weights" must be a non-empty string, got \["x"\]/);
  });

  it('a file that is not a sidecar object, or cannot be read, says so', async () => {
    for (const text of ['[]', '"epoch-0001"', 'null', '3']) {
      expect(oneLineError(() => parseCheckpointSidecar(text, 'x.json'), 'x.json')).toMatch(
        /x\.json is not a tessera AlexNet checkpoint sidecar: expected a JSON object/,
      );
    }
    expect(oneLineError(() => parseCheckpointSidecar('', 'empty.json'), 'empty.json')).toMatch(/empty\.json is not valid JSON/);
    const missing = join(root, 'no-such.json');
    await expect(readCheckpointSidecar(missing)).rejects.toThrow(new RegExp(`^checkpoint: cannot read ${missing}: ENOENT`));
  });

  it('every truncation of a sidecar is one clear line naming the file', () => {
    fc.assert(
      fc.property(fc.nat({ max: plateauText.length - 1 }), (at) => {
        expect(oneLineError(() => parseCheckpointSidecar(plateauText.slice(0, at), plateauFile), plateauFile)).toMatch(/is not valid JSON/);
      }),
      { numRuns: 200 },
    );
  });

  it('any field replaced by any JSON value reads, or fails with one line naming the file and that field', () => {
    // Every path into the sidecar, as key lists.
    const paths: (string | number)[][] = [];
    const walk = (value: unknown, path: (string | number)[]) => {
      if (path.length > 0) paths.push(path);
      if (typeof value === 'object' && value !== null) for (const [k, v] of Object.entries(value)) walk(v, [...path, Array.isArray(value) ? Number(k) : k]);
    };
    walk(JSON.parse(plateauText), []);
    fc.assert(
      fc.property(fc.constantFrom(...paths), fc.jsonValue(), (path, value) => {
        const text = edited(plateauText, (s) => {
          let node: JsonObject = s;
          for (const key of path.slice(0, -1)) node = node[key];
          node[path.at(-1)!] = value;
        });
        const caught = thrownBy(() => parseCheckpointSidecar(text, plateauFile));
        if (caught === null) return;
        expect(caught).toBeInstanceOf(TesseraError);
        const message = (caught as TesseraError).message;
        expect(message.startsWith(`checkpoint: ${plateauFile}: "`)).toBe(true);
        expect(message).not.toContain('\n');
        // The field named is the one edited or one inside it (an object replaced by another lacks its keys).
        const named = /: "([^"]+)"/.exec(message)![1]!;
        const edited_ = path
          .map((k) => (typeof k === 'number' ? `[${k}]` : `.${k}`))
          .join('')
          .replace(/^\./, '')
          .replace(/\.\[/g, '[');
        expect(named.startsWith(edited_) || edited_.startsWith(named), `${named} vs ${edited_}`).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('a describe reader types the record and reports its fields under "describe."', () => {
    const readSide = (d: Record<string, unknown>, f: SidecarFieldReader) => ({ side: f.integer(d.side, 'side', 1) });
    const sidecar = parseCheckpointSidecar(plateauText, plateauFile, readSide);
    expect(sidecar.describe.side).toBe(28);
    const message = oneLineError(
      () =>
        parseCheckpointSidecar(
          edited(plateauText, (s) => (s.describe.side = 0)),
          plateauFile,
          readSide,
        ),
      plateauFile,
    );
    expect(message).toContain(`checkpoint: ${plateauFile}: "describe.side" must be an integer ≥ 1, got 0`);
  });
});
