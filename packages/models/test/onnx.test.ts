// The zoo through ONNX and PyTorch checkpoints, on the cpu backend:
//  1. exportOnnx(zoo model) → onnxruntime-node (CPU execution provider) gives our logits, and loadOnnxModel of the
//     same bytes runs it back with the module's own state-dict keys (no PyTorch needed).
//  2. torch.onnx.export of torchvision's model (scripts/onnx_zoo.py, seeded, small inputs) → loadOnnxModel gives
//     PyTorch's logits; torch.save(state_dict) → loadTorchStateDict loads strictly into createModel(name) and gives
//     PyTorch's logits too, and the same state dict written as safetensors (the script's own writer) loads strictly and
//     equals it bit for bit. Plus a module of the non-zoo operators torch emits, at opsets 11, 13 and 17.
// Part 1 leaves out AlexNet and ResNet-50 for time (part 2 runs both, and their layers are all in part 1's models).
// VGG is left out of both: its 25088×4096 classifier makes every file 0.5 GB, and torch can export its adaptive
// pooling only at 224×224 (7.6 GMACs per image on the reference backend), beyond this file's CI budget.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSafetensors, loadTorchStateDict, manualSeed, noGrad, rand, randn, setBackend, tensor, type Tensor, type nn } from '@tessera/tensor';
import { exportOnnx, loadOnnxModel } from '@tessera/onnx';
import { createModel, type ModelName } from '../src/index.js';
import { torchUnavailable } from './python.js';

const script = new URL('../scripts/onnx_zoo.py', import.meta.url).pathname;

/** max |a − b| / max |b|, max |b| and the spread of b (so a degenerate, constant reference is visible). */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): { rel: number; scale: number; spread: number } {
  expect(a.length).toBe(b.length);
  let d = 0;
  let s = 0;
  for (let i = 0; i < b.length; i++) {
    d = Math.max(d, Math.abs(a[i]! - b[i]!));
    s = Math.max(s, Math.abs(b[i]!));
  }
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < b.length; i++) {
    lo = Math.min(lo, b[i]!);
    hi = Math.max(hi, b[i]!);
  }
  return { rel: d / s, scale: s, spread: hi - lo };
}

function f32File(path: string): Float32Array {
  const b = readFileSync(path);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
}

beforeAll(async () => {
  await setBackend('cpu');
});

/**
 * Redraws every float parameter and buffer: He-normal weights, BatchNorm scales in [0.5, 1.5), variances in
 * [0.5, 1.5), biases and means N(0, 0.2²). Default BatchNorm statistics are an identity, and GoogLeNet's default
 * init shrinks its features below float32 resolution (its logits would equal the fc bias), so either would let a
 * wrong export pass.
 */
function perturb(model: nn.Module): void {
  manualSeed(1);
  noGrad(() => {
    for (const [k, t] of model.stateDict()) {
      if (t.dtype !== 'float32') continue;
      const fanIn = t.shape.slice(1).reduce((a, b) => a * b, 1);
      const v =
        t.rank >= 2
          ? randn(t.shape).mul(Math.sqrt(2 / fanIn))
          : k.endsWith('running_var') || k.endsWith('weight')
            ? rand(t.shape).add(0.5)
            : randn(t.shape).mul(0.2);
      t.copy_(v);
      v.dispose();
    }
  });
}

const EXPORTS: [ModelName, number[], Record<string, unknown>][] = [
  ['lenet5', [2, 1, 32, 32], {}],
  ['resnet18', [2, 3, 64, 64], {}],
  ['squeezenet1_1', [2, 3, 64, 64], {}],
  ['mobilenet_v2', [2, 3, 64, 64], {}],
  ['googlenet', [2, 3, 64, 64], { auxLogits: false }],
];

describe('exportOnnx: zoo models read by onnxruntime-node and by loadOnnxModel', () => {
  for (const [name, shape, opts] of EXPORTS) {
    it(`${name} ${JSON.stringify(shape)}`, async () => {
      manualSeed(0);
      const model = createModel(name, opts as never);
      perturb(model);
      model.eval();
      const x = randn(shape);
      const ours = await noGrad(() => model.forward(x)).data();
      const bytes = await exportOnnx(model, shape);
      const session = await ort.InferenceSession.create(bytes, { executionProviders: ['cpu'] });
      const res = await session.run({ input: new ort.Tensor('float32', Float32Array.from(await x.data()), shape) });
      const ortOut = res.output!.data as Float32Array;
      const e = relErr(ortOut, ours);
      expect(e.spread, `${name}: logits vary`).toBeGreaterThan(0.1);
      expect(e.rel, `${name}: onnxruntime vs tessera`).toBeLessThan(1e-4);
      const back = await loadOnnxModel(bytes);
      const keys = new Set(back.stateDict().keys());
      for (const k of model.stateDict().keys()) if (!k.endsWith('num_batches_tracked')) expect(keys.has(k), `${name}: state-dict key ${k}`).toBe(true);
      const again = await noGrad(() => back.forward(x)).data();
      expect(relErr(again, ours).rel, `${name}: loadOnnxModel(exportOnnx(model)) vs model`).toBeLessThan(1e-5);
      await session.release();
    }, 120_000);
  }
});

const unavailable = torchUnavailable();
if (unavailable) console.log(`onnx.test.ts: ${unavailable}`);

interface ZooFixtures {
  models: Record<string, { input: number[]; output: number[]; opsets?: number[] }>;
}

function runScript(out: string): Promise<ZooFixtures> {
  return new Promise((resolve, reject) => {
    const c = spawn('/usr/bin/python3', [script, out], { stdio: ['ignore', 'pipe', 'pipe'] });
    let so = '';
    let se = '';
    c.stdout.setEncoding('utf8').on('data', (d: string) => (so += d));
    c.stderr.setEncoding('utf8').on('data', (d: string) => (se += d));
    c.on('error', reject);
    c.on('close', (s) =>
      s === 0 ? resolve(JSON.parse(so.trim().split('\n').at(-1)!) as ZooFixtures) : reject(new Error(`onnx_zoo.py failed: ${se.slice(-2000)}`)),
    );
  });
}

const TORCH_MODELS: [string, ModelName, Record<string, unknown>][] = [
  ['alexnet', 'alexnet', {}],
  ['resnet18', 'resnet18', {}],
  ['resnet50', 'resnet50', {}],
  ['squeezenet1_1', 'squeezenet1_1', {}],
  ['mobilenet_v2', 'mobilenet_v2', {}],
  ['googlenet', 'googlenet', { auxLogits: false }],
];

describe.skipIf(unavailable !== null)('torchvision models exported by torch.onnx.export, and their torch.save state dicts', () => {
  let dir = '';
  let fx: ZooFixtures = { models: {} };
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tessera-onnx-zoo-'));
    fx = await runScript(dir);
  }, 300_000);
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  for (const [file, name, opts] of TORCH_MODELS) {
    const viaTorch = file !== 'alexnet'; // see scripts/onnx_zoo.py
    it(`${file}: loadOnnxModel${viaTorch ? ` and loadTorchStateDict / loadSafetensors → createModel('${name}')` : ''} give${viaTorch ? '' : 's'} PyTorch's logits`, async () => {
      const { input } = fx.models[file]!;
      const x = tensor(f32File(join(dir, `${file}.input.bin`)), input);
      const want = f32File(join(dir, `${file}.logits.bin`));
      const onnx = await loadOnnxModel(join(dir, `${file}.onnx`));
      const viaOnnx = await noGrad(() => onnx.forward(x)).data();
      const e = relErr(viaOnnx, want);
      expect(e.spread, `${file}: PyTorch's logits vary`).toBeGreaterThan(file === 'alexnet' ? 0.01 : 0.1);
      expect(e.rel, `${file}: ONNX interpreter vs PyTorch`).toBeLessThan(1e-4);
      if (!viaTorch) return;
      const sd = await loadTorchStateDict(join(dir, `${file}.pth`));
      const model = createModel(name, opts as never);
      model.loadStateDict(sd); // strict: torchvision's keys, shapes and dtypes
      // The same state dict as safetensors loads strictly too, bit for bit the tensors of the .pth.
      const st = await loadSafetensors(join(dir, `${file}.safetensors`));
      const keys = [...st.keys()].filter((k) => !k.endsWith('num_batches_tracked'));
      expect(keys.sort()).toEqual([...sd.keys()].filter((k) => !k.endsWith('num_batches_tracked')).sort());
      model.loadStateDict(st); // strict (loadSafetensors reads num_batches_tracked's I64 as int32, as the model holds it)
      const raw = async (t: Tensor): Promise<Buffer> => {
        const d = await t.data();
        return Buffer.from(d.buffer, d.byteOffset, d.byteLength);
      };
      for (const k of keys) expect((await raw(st.get(k)!)).equals(await raw(sd.get(k)!)), k).toBe(true);
      st.dispose();
      sd.dispose();
      model.eval();
      const viaPth = await noGrad(() => model.forward(x)).data();
      expect(relErr(viaPth, want).rel, `${file}: zoo model with the .pth weights vs PyTorch`).toBeLessThan(1e-4);
      for (const t of model.stateDict().values()) (t as Tensor).dispose();
    }, 120_000);
  }

  it('a module of the other operators torch emits (BatchNormalization, Pad, Pow, Transpose, Shape/Gather/Reshape, ReduceMean, Clip, Softmax/LogSoftmax, Squeeze/Unsqueeze) at opsets 11, 13 and 17', async () => {
    const { input, opsets } = fx.models['ops']!;
    const x = tensor(f32File(join(dir, 'ops.input.bin')), input);
    const want = f32File(join(dir, 'ops.logits.bin'));
    for (const o of opsets!) {
      const m = await loadOnnxModel(join(dir, `ops_opset${o}.onnx`));
      expect(m.model.opsets.get('')).toBe(o);
      expect([...m.stateDict().keys()]).toEqual([
        'bn.weight',
        'bn.bias',
        'bn.running_mean',
        'bn.running_var',
        'conv.weight',
        'conv.bias',
        'fc.weight',
        'fc.bias',
      ]);
      const got = await noGrad(() => m.forward(x)).data();
      expect(relErr(got, want).rel, `opset ${o}`).toBeLessThan(1e-4);
    }
  });
});
