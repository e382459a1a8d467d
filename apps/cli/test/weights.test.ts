// tessera predict with weights made by PyTorch: torchvision's own .pth layout (AlexNet under torchvision's file
// name; ResNet-18 with batch-norm buffers stored as int64), the same weights as .safetensors, and an ONNX graph
// from torch.onnx.export. The files and PyTorch's probabilities come from scripts/torchvision_weights.py when
// /usr/bin/python3 has torch and torchvision; otherwise the test says why it skipped.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createModel } from '@tessera/models';
import { loadTorchStateDict, saveSafetensors } from '@tessera/tensor';
import { run } from './run-cli.js';

const script = fileURLToPath(new URL('../scripts/torchvision_weights.py', import.meta.url));
let dir: string;
let unavailable = '';
let expected: Record<string, { file: string; probs: number[] }>;

/** /usr/bin/python3 without blocking the worker (a spawnSync this long times out vitest's RPC). */
function python(args: string[]): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('/usr/bin/python3', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stderr }));
  });
}

beforeAll(async () => {
  const probe = spawnSync('/usr/bin/python3', ['-c', 'import torch, torchvision, PIL'], { encoding: 'utf8' });
  if (probe.status !== 0) {
    unavailable = `PyTorch weights skipped: /usr/bin/python3 cannot import torch, torchvision and PIL (${(probe.stderr || String(probe.error)).trim().split('\n').at(-1)}); install python3-torch python3-torchvision python3-pil`;
    console.log(unavailable);
    return;
  }
  dir = mkdtempSync(join(tmpdir(), 'tessera-cli-weights-'));
  const res = await python([script, dir]);
  if (res.status !== 0 || !existsSync(join(dir, 'expected.json'))) throw new Error(`weights script failed: ${res.stderr}`);
  expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8'));
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Predicts with `args`; the top-5 must be PyTorch's top-5 and carry PyTorch's probabilities. */
async function matchesPytorch(model: string, args: string[]): Promise<string> {
  const r = await run(['predict', join(dir, 'image.png'), '--backend', 'cpu', '--json', ...args]);
  expect(r.code, r.stderr).toBe(0);
  const [result] = JSON.parse(r.stdout) as { top: { index: number; probability: number }[] }[];
  const want = expected[model]!.probs;
  const fifth = [...want].sort((a, b) => b - a)[4]!;
  for (const t of result!.top) {
    expect(Math.abs(t.probability - want[t.index]!), `${model} class ${t.index}`).toBeLessThan(1e-5);
    expect(want[t.index]!, `${model} class ${t.index} is in PyTorch's top 5`).toBeGreaterThanOrEqual(fifth - 1e-5);
  }
  expect(result!.top[0]!.index).toBe(want.indexOf(Math.max(...want)));
  return r.stderr;
}

describe('tessera predict --weights from PyTorch', () => {
  it('torchvision AlexNet .pth by its own file name', async (ctx) => {
    if (unavailable) return ctx.skip(unavailable);
    await matchesPytorch('alexnet', ['--weights', join(dir, 'alexnet-owt-7be5be79.pth'), '--model', 'alexnet']);
  });

  it('ResNet-18 .pth (int64 batch-norm counters converted, and said so) and the same weights as .safetensors', async (ctx) => {
    if (unavailable) return ctx.skip(unavailable);
    await matchesPytorch('resnet18', ['--weights', join(dir, 'resnet18.pth'), '--model', 'resnet18']);
    const said = await run(['predict', join(dir, 'image.png'), '--backend', 'cpu', '--weights', join(dir, 'resnet18.pth'), '--model', 'resnet18']);
    expect(said.stderr).toContain(`${join(dir, 'resnet18.pth')}: converted 20 tensors int64 → int32`);
    // safetensors with torchvision's keys, as safetensors.torch.save_file(model.state_dict()) would write them.
    const dict = await loadTorchStateDict(join(dir, 'resnet18.pth'));
    const file = join(dir, 'resnet18.safetensors');
    await saveSafetensors(dict, file);
    dict.dispose();
    await matchesPytorch('resnet18', ['--weights', file, '--model', 'resnet18']);
    expect(createModel('resnet18').stateDict().size).toBe(122);
  });

  it('an ONNX export of SqueezeNet 1.1 runs as its graph', async (ctx) => {
    if (unavailable) return ctx.skip(unavailable);
    await matchesPytorch('squeezenet1_1', ['--weights', join(dir, 'squeezenet1_1.onnx'), '--model', 'squeezenet1_1']);
  });

  it('a file of the wrong kind or for another model is one clear line', async (ctx) => {
    if (unavailable) return ctx.skip(unavailable);
    const image = join(dir, 'image.png');
    const wrong = join(dir, 'weights.bin');
    writeFileSync(wrong, 'not weights');
    const ext = await run(['predict', image, '--weights', wrong, '--model', 'resnet18']);
    expect(ext.code).toBe(1);
    expect(ext.stderr.trim()).toBe(`tessera predict: --weights: ${wrong}: expected .pth/.pt (torch.save), .safetensors or .onnx`);
    const other = await run(['predict', image, '--backend', 'cpu', '--weights', join(dir, 'resnet18.pth'), '--model', 'squeezenet1_1']);
    expect(other.code).toBe(1);
    expect(other.stderr.trim().split('\n')).toHaveLength(1);
    expect(other.stderr).toMatch(
      new RegExp(
        `^tessera predict: --weights: ${join(dir, 'resnet18.pth')} does not fit squeezenet1_1 \\(torchvision's state-dict keys\\): missing key\\(s\\): "features\\.0\\.weight".*; unexpected key\\(s\\): "conv1\\.weight"`,
      ),
    );
    const lenet = await run(['predict', image, '--weights', join(dir, 'resnet18.pth'), '--model', 'lenet5']);
    expect(lenet.stderr.trim()).toBe(
      'tessera predict: --weights: lenet5 has no ImageNet weights to predict with (it reads 1×32×32); use a --checkpoint from tessera train',
    );
  });
});
