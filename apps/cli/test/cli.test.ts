// The tessera command end to end on a tiny generated image set: bad arguments, backends, train → eval →
// predict → visualize, and resume.
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSyntheticImagenet } from '@tessera/data';
import { run } from './run-cli.js';

let root: string;
let data: string;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'tessera-cli-'));
  data = join(root, 'synthetic');
  await generateSyntheticImagenet({ root: data, classes: 3, trainPerClass: 24, valPerClass: 6, longSide: [36, 48], seed: 3 });
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('tessera', () => {
  it('bad arguments and missing data: one clear line and a non-zero exit', async () => {
    const unknown = await run(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown command "frobnicate"/);
    const badOption = await run(['train', '--no-such-flag']);
    expect(badOption.code).toBe(1);
    expect(badOption.stderr.trim().split('\n')).toHaveLength(1);
    expect(badOption.stderr).toMatch(/no-such-flag/);
    const badData = await run(['train', '--data', 'mnist']);
    expect(badData.code).toBe(1);
    expect(badData.stderr).toMatch(/unknown data source "mnist"/);
    const missing = await run(['train', '--data', `imagenet:${join(root, 'nope')}`]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/does not exist/);
    const fm = await run(['train', '--data', `fashion-mnist:${join(root, 'nope')}`]);
    expect(fm.stderr).toMatch(/Fashion-MNIST is not at/);
    const badEpochs = await run(['train', '--epochs', 'two']);
    expect(badEpochs.stderr).toMatch(/--epochs: must be an integer/);
    const noEpochs = await run(['train', '--epochs', '0']);
    expect(noEpochs.code).toBe(1);
    expect(noEpochs.stderr).toMatch(/--epochs: must be an integer ≥ 1, got "0"/);
    const noBackend = await run(['bench', '--backend', 'nonexistent']);
    expect(noBackend.code).toBe(1);
  });

  it('backends: cpu available, the others with a reason', async () => {
    const r = await run(['backends', '--json']);
    expect(r.code).toBe(0);
    const list = JSON.parse(r.stdout) as { name: string; available: boolean; reason: string }[];
    expect(list.find((b) => b.name === 'cpu')?.available).toBe(true);
    for (const name of ['webgpu', 'cuda']) {
      const b = list.find((x) => x.name === name);
      expect(b, name).toBeDefined();
      if (!b!.available) expect(b!.reason.length).toBeGreaterThan(5);
    }
    // Exactly one default: onednn where its addon is built, else cpu, with the reason.
    const defaults = (list as { name: string; available: boolean; default?: boolean; defaultReason?: string }[]).filter((b) => b.default);
    expect(defaults).toHaveLength(1);
    const onednn = list.find((b) => b.name === 'onednn');
    expect(onednn).toBeDefined();
    expect(defaults[0]!.name).toBe(onednn!.available ? 'onednn' : 'cpu');
    expect(defaults[0]!.defaultReason).toMatch(/priority/);
    const text = await run(['backends']);
    expect(text.stdout).toMatch(new RegExp(`^default: ${defaults[0]!.name} \\(`, 'm'));
  });

  it('train → eval → predict → visualize, and resume', async () => {
    const out = join(root, 'run');
    const trained = await run(['train', '--data', `synthetic:${data}`, '--epochs', '1', '--batch-size', '16', '--out', out, '--workers', '0', '--json']);
    expect(trained.code, trained.stderr).toBe(0);
    const result = JSON.parse(trained.stdout.trim().split('\n').at(-1)!);
    expect(result.testAccuracy).toBeGreaterThanOrEqual(0);
    expect(existsSync(join(out, 'checkpoints', 'latest.json'))).toBe(true);
    expect(existsSync(join(out, 'figures', 'conv1-filters.png'))).toBe(true);
    expect(existsSync(join(out, 'figures', 'curves.svg'))).toBe(true);
    expect(readFileSync(join(out, 'log.jsonl'), 'utf8')).toMatch(/"type":"epoch"/);

    const evaluated = await run(['eval', '--checkpoint', join(out, 'checkpoints'), '--workers', '0', '--json']);
    expect(evaluated.code, evaluated.stderr).toBe(0);
    expect(JSON.parse(evaluated.stdout).centre.count).toBe(18);

    const classDir = readdirSync(join(data, 'val'))[0]!;
    const file = join(data, 'val', classDir, readdirSync(join(data, 'val', classDir))[0]!);
    const predicted = await run(['predict', file, '--checkpoint', join(out, 'checkpoints')]);
    expect(predicted.code, predicted.stderr).toBe(0);
    expect(predicted.stdout).toContain(file);
    expect(predicted.stdout.trim().split('\n')).toHaveLength(4); // the image, then 3 classes (only 3 exist)
    expect(predicted.stdout).toMatch(/%\s+\S+/);
    const badTop = await run(['predict', file, '--checkpoint', join(out, 'checkpoints'), '--top', 'abc']);
    expect(badTop.code).toBe(1);
    expect(badTop.stderr).toMatch(/--top: must be an integer ≥ 1, got "abc"/);

    // Figures for a checkpoint, written elsewhere: the curves still come from the run's own step log.
    const elsewhere = await run(['visualize', '--checkpoint', join(out, 'checkpoints'), '--out', join(root, 'vis-ckpt')]);
    expect(elsewhere.code, elsewhere.stderr).toBe(0);
    expect(elsewhere.stdout).toContain(join(root, 'vis-ckpt', 'conv1-filters.png'));
    expect(readFileSync(join(root, 'vis-ckpt', 'curves.svg'), 'utf8')).toBe(readFileSync(join(out, 'figures', 'curves.svg'), 'utf8'));

    const vis = await run(['visualize', '--log', join(out, 'log.jsonl'), '--out', join(root, 'vis')]);
    expect(vis.code, vis.stderr).toBe(0);
    expect(existsSync(join(root, 'vis', 'curves.png'))).toBe(true);

    const resumed = await run([
      'train',
      '--data',
      `synthetic:${data}`,
      '--epochs',
      '2',
      '--batch-size',
      '16',
      '--out',
      out,
      '--workers',
      '0',
      '--resume',
      join(out, 'checkpoints'),
    ]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/resumed from .*epoch-0001\.json after epoch 1/);
    expect(existsSync(join(out, 'checkpoints', 'epoch-0002.json'))).toBe(true);
  });
});
