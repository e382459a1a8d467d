// `demo` and `train` are one training run with two recipes; a hand-edited or truncated checkpoint sidecar ends
// every command that reads it in one line naming the file and the field.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSyntheticImagenet } from '@tessera/data';
import { run } from './run-cli.js';

let root: string;
let data: string;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'tessera-cli-recipes-'));
  data = join(root, 'synthetic');
  await generateSyntheticImagenet({ root: data, classes: 3, trainPerClass: 16, valPerClass: 4, longSide: [36, 48], seed: 5 });
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

/** The error line a failed command ends with: all of stderr (train --resume reads the checkpoint before anything else). */
function errorLine(stderr: string, command: string): string {
  const lines = stderr.trim().split('\n');
  expect(lines.length, stderr).toBe(1);
  expect(lines.at(-1)!.startsWith(`tessera ${command}: `), stderr).toBe(true);
  return lines.at(-1)!;
}

const short = (out: string) => ['--data', `synthetic:${data}`, '--epochs', '1', '--batch-size', '16', '--workers', '0', '--out', out];

describe('tessera demo and train', () => {
  it('take the same options and differ only in their defaults', async () => {
    const demo = await run(['demo', ...short(join(root, 'demo'))]);
    expect(demo.code, demo.stderr).toBe(0);
    expect(demo.stderr).toMatch(/^tessera demo: reduced AlexNet/m);
    expect(demo.stderr).toMatch(/^recipe: 1 epochs, batch 16, SGD lr 0\.03 .*, lr ÷10 from epoch 1; output in /m);
    expect(demo.stdout).toMatch(/^test accuracy: \d\.\d{4}$/m);

    const train = await run(['train', ...short(join(root, 'train'))]);
    expect(train.code, train.stderr).toBe(0);
    expect(train.stderr).toMatch(/^tessera train: reduced AlexNet/m);
    expect(train.stderr).toMatch(/^recipe: 1 epochs, batch 16, SGD lr 0\.04 .*, lr ÷10 when validation error stops improving; output in /m);
  });

  it('a hand-edited or truncated sidecar: one line naming the file and the field, in every command that reads it', async () => {
    const checkpoints = join(root, 'demo', 'checkpoints');
    const sidecar = join(checkpoints, 'epoch-0001.json');
    const good = readFileSync(sidecar, 'utf8');
    const commands = [
      ['eval', '--checkpoint', checkpoints, '--workers', '0'],
      ['predict', join(root, 'no-image.png'), '--checkpoint', checkpoints],
      ['visualize', '--checkpoint', checkpoints, '--out', join(root, 'figures')],
      ['train', ...short(join(root, 'resumed')), '--resume', checkpoints],
    ];
    const edits: [string, (s: Record<string, Record<string, unknown>>) => void, string][] = [
      ['side', (s) => (s.describe!.side = '28'), `checkpoint: ${sidecar}: "describe.side" must be an integer ≥ 1, got "28"`],
      ['variant', (s) => delete s.describe!.variant, `checkpoint: ${sidecar}: "describe.variant" is missing (expected "paper" or "torchvision" or "reduced")`],
      [
        'crop',
        (s) => ((s.describe!.testTransform as { crop: { size: unknown } }).crop.size = -1),
        `"describe.testTransform.crop.size" must be an integer ≥ 1, got -1`,
      ],
      ['rng', (s) => (s.rng = { seed: 1 }), `checkpoint: ${sidecar}: "rng.offset" is missing (expected an integer ≥ 0)`],
    ];
    try {
      for (const [what, edit, message] of edits) {
        const parsed = JSON.parse(good) as Record<string, Record<string, unknown>>;
        edit(parsed);
        writeFileSync(sidecar, JSON.stringify(parsed));
        for (const args of commands) {
          const r = await run(args);
          expect(r.code, `${what}: ${args[0]}`).toBe(1);
          expect(errorLine(r.stderr, args[0]!), `${what}: ${args[0]}`).toContain(message);
        }
      }
      writeFileSync(sidecar, good.slice(0, good.length / 2));
      for (const args of commands) {
        const r = await run(args);
        expect(r.code).toBe(1);
        expect(errorLine(r.stderr, args[0]!)).toContain(`checkpoint: ${sidecar} is not valid JSON, perhaps truncated or hand-edited (`);
      }
    } finally {
      writeFileSync(sidecar, good);
    }
    const restored = await run(['visualize', '--checkpoint', checkpoints, '--out', join(root, 'figures')]);
    expect(restored.code, restored.stderr).toBe(0);
  });
});
