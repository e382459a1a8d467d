// Our torchvision-variant AlexNet against PyTorch's own, on weights and a batch exported by
// scripts/torchvision_fixture.py: logits, loss and every parameter gradient. The fixture is generated here
// when /usr/bin/python3 has torch and torchvision (Debian python3-torch, python3-torchvision; .ci/run installs
// them) unless TESSERA_TORCHVISION_FIXTURE points at one already made.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { F, loadSafetensors, type Tensor } from '@tessera/tensor';
import { alexnet } from '../src/index.js';
import { runPython } from './python.js';

const script = new URL('../scripts/torchvision_fixture.py', import.meta.url).pathname;
let dir: string | null = null;
let fixture: string | null = process.env.TESSERA_TORCHVISION_FIXTURE ?? null;
let unavailable = '';

beforeAll(async () => {
  if (fixture) return;
  const probe = spawnSync('/usr/bin/python3', ['-c', 'import torch, torchvision'], { encoding: 'utf8' });
  if (probe.status !== 0) {
    unavailable = `PyTorch comparison skipped: /usr/bin/python3 cannot import torch and torchvision (${(probe.stderr || String(probe.error)).trim().split('\n').at(-1)}); install python3-torch python3-torchvision`;
    console.log(unavailable);
    return;
  }
  dir = mkdtempSync(join(tmpdir(), 'tessera-tv-'));
  fixture = join(dir, 'torchvision-alexnet.safetensors');
  const res = await runPython([script, fixture, '--batch', '2', '--seed', '0']);
  if (res.status !== 0 || !existsSync(fixture)) throw new Error(`fixture script failed: ${res.stderr}`);
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function maxRelError(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let err = 0;
  let scale = 0;
  for (let i = 0; i < want.length; i++) {
    err = Math.max(err, Math.abs(got[i]! - want[i]!));
    scale = Math.max(scale, Math.abs(want[i]!));
  }
  return err / Math.max(scale, 1e-12);
}

describe('torchvision AlexNet: same logits and gradients as PyTorch', () => {
  it('forward, loss and every parameter gradient match', async (ctx) => {
    if (unavailable) return ctx.skip(unavailable);
    const file = await loadSafetensors(fixture!);
    const get = (k: string): Tensor => {
      const t = file.get(k);
      if (!t) throw new Error(`fixture lacks ${k}`);
      return t;
    };
    const model = alexnet({ variant: 'torchvision', init: 'none' });
    const weights = new Map<string, Tensor>();
    for (const [k, v] of file) if (k.startsWith('param.')) weights.set(k.slice('param.'.length), v);
    model.loadStateDict(weights);
    model.eval();
    const logits = model.forward(get('input'));
    expect(logits.shape).toEqual([2, 1000]);
    expect(maxRelError(await logits.data(), await get('logits').data())).toBeLessThan(1e-4);
    const loss = F.crossEntropy(logits, get('labels'));
    expect(await loss.item()).toBeCloseTo((await get('loss').data())[0]!, 4);
    loss.backward();
    let compared = 0;
    for (const [name, p] of model.namedParameters()) {
      const want = await get(`grad.${name}`).data();
      const err = maxRelError(await p.grad!.data(), want);
      expect(err, `gradient of ${name}`).toBeLessThan(1e-3);
      compared++;
    }
    expect(compared).toBe(16);
  });
});
