// Long runs survive interruption: a `tessera train` process stopped by SIGTERM mid-epoch, or killed outright
// (SIGKILL) after a --checkpoint-every step checkpoint, resumes to the same final weights and optimizer state,
// byte for byte, as a run that was never interrupted (cpu backend).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSyntheticImagenet } from '@tessera/data';
import { parseCheckpointEvery, resumeCommand } from '../src/training.js';
import { run } from './run-cli.js';

const BIN = fileURLToPath(new URL('../bin/tessera.js', import.meta.url));

let root: string;
let data: string;

// 3 classes × 40 images in batches of 8: one epoch of 15 steps.
const args = (out: string) => ['--backend', 'cpu', '--data', `synthetic:${data}`, '--epochs', '1', '--batch-size', '8', '--workers', '0', '--out', out];

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'tessera-cli-interrupt-'));
  data = join(root, 'synthetic');
  await generateSyntheticImagenet({ root: data, classes: 3, trainPerClass: 40, valPerClass: 4, longSide: [36, 48], seed: 5 });
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

/** Starts `tessera train …` in its own process; `exited` resolves with its status and stderr. */
function start(trainArgs: string[]): { child: ChildProcess; exited: Promise<Exit> } {
  const child = spawn(process.execPath, [BIN, 'train', ...trainArgs], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<Exit>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, stderr })));
  return { child, exited };
}

/** Polls until `ready()` holds (or the process ends first, which fails the test). */
async function waitFor(ready: () => boolean, exited: Promise<Exit>, what: string): Promise<void> {
  let done: Exit | null = null;
  void exited.then((e) => (done = e));
  for (;;) {
    if (ready()) return;
    if (done) throw new Error(`the training process ended before ${what}: ${JSON.stringify(done)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The step records of a run's log so far. */
function steps(out: string): { epoch: number; step: number }[] {
  const file = join(out, 'log.jsonl');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('{') && l.endsWith('}'))
    .map((l) => JSON.parse(l) as { type: string; epoch: number; step: number })
    .filter((r) => r.type === 'step');
}

/** The last checkpoint's weights and optimizer tensors, as the bytes of its safetensors file. */
const finalState = (out: string) => readFileSync(join(out, 'checkpoints', 'epoch-0001.safetensors'));

describe('tessera train: interrupted and resumed', () => {
  let reference: Buffer;

  beforeAll(async () => {
    const straight = await run(['train', ...args(join(root, 'straight'))]);
    expect(straight.code, straight.stderr).toBe(0);
    reference = finalState(join(root, 'straight'));
  });

  it('SIGTERM mid-epoch: a checkpoint, one line with the command to resume, exit 143; resuming ends on the same bytes', async () => {
    const out = join(root, 'sigterm');
    const { child, exited } = start([...args(out), '--log-every', '1']);
    await waitFor(() => steps(out).some((s) => s.epoch === 1 && s.step >= 3), exited, 'step 3 of epoch 1');
    child.kill('SIGTERM');
    const { code, stderr } = await exited;
    expect(code, stderr).toBe(143);
    const last = stderr.trim().split('\n').at(-1)!;
    const match = /^tessera train: interrupted by SIGTERM in epoch 1 after step (\d+): checkpoint (\S+); resume with: (tessera train .*)$/.exec(last);
    expect(match, stderr).not.toBeNull();
    const [, step, checkpoint, command] = match!;
    expect(Number(step)).toBeGreaterThanOrEqual(3);
    expect(Number(step), 'stopped mid-epoch').toBeLessThan(15);
    expect(checkpoint).toBe(join(out, 'checkpoints', `step-${step!.padStart(8, '0')}.json`));
    expect(JSON.parse(readFileSync(join(out, 'checkpoints', 'latest.json'), 'utf8'))).toEqual({ checkpoint: `step-${step!.padStart(8, '0')}.json` });
    expect(command).toBe(resumeCommand('train', [...args(out), '--log-every', '1'], out, join(out, 'checkpoints')));

    const words = command!.split(' ').slice(1); // the paths here need no quoting
    const resumed = await run(words);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(new RegExp(`resumed from \\S+step-0+${step}\\.json in epoch 1 after step ${step}`));
    expect(finalState(out).equals(reference), 'final weights and optimizer state, byte for byte').toBe(true);
  });

  it('SIGKILL after a --checkpoint-every step checkpoint: --resume continues from it to the same bytes', async () => {
    const out = join(root, 'sigkill');
    const trainArgs = [...args(out), '--checkpoint-every', '4'];
    const { child, exited } = start(trainArgs);
    const latest = join(out, 'checkpoints', 'latest.json');
    const pointer = () => (existsSync(latest) ? (JSON.parse(readFileSync(latest, 'utf8')) as { checkpoint: string }).checkpoint : '');
    await waitFor(() => pointer().startsWith('step-'), exited, 'a step checkpoint');
    child.kill('SIGKILL');
    const { signal } = await exited;
    expect(signal).toBe('SIGKILL');
    const at = pointer();
    expect(at, 'killed in the first epoch, at a step checkpoint').toMatch(/^step-000000(04|08|12)\.json$/);

    const resumed = await run(['train', ...trainArgs, '--resume', join(out, 'checkpoints')]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(new RegExp(`resumed from \\S+${at.replace('.', '\\.')} in epoch 1 after step ${Number(at.slice(5, 13))}`));
    expect(finalState(out).equals(reference), 'final weights and optimizer state, byte for byte').toBe(true);
  });

  it('--checkpoint-every takes steps or wall time, and says what it expected otherwise', async () => {
    expect(parseCheckpointEvery('500')).toEqual({ steps: 500 });
    expect(parseCheckpointEvery('90s')).toEqual({ seconds: 90 });
    expect(parseCheckpointEvery('10m')).toEqual({ seconds: 600 });
    expect(parseCheckpointEvery('1.5h')).toEqual({ seconds: 5400 });
    for (const bad of ['0', '2.5', '-3', '10x', 'm', '']) expect(() => parseCheckpointEvery(bad), bad).toThrow(/--checkpoint-every: must be a number of steps/);
    const r = await run(['train', ...args(join(root, 'bad')), '--checkpoint-every', 'soon']);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(
      'tessera train: --checkpoint-every: must be a number of steps (500) or of seconds, minutes or hours of wall time (90s, 10m, 1h), got "soon"',
    );
    expect(resumeCommand('train', ['--data', 'fashion-mnist:/my data', '--out', 'x', '--resume=y', '--lr', '0.1'], '/o', "/o/it's")).toBe(
      "tessera train --data 'fashion-mnist:/my data' --lr 0.1 --out /o --resume '/o/it'\\''s'",
    );
  });
});
