// Every zoo model against PyTorch's own (torchvision 0.14's; LeNet-5 and ZFNet as scripts/torchvision_fixtures.py
// writes them in PyTorch): weights loaded strictly by torch's state-dict keys, then eval-mode logits, and after one
// train-mode forward + backward the loss, every parameter's gradient and the BatchNorm running statistics. One
// Python process serves the fixtures in order and prepares the next model while this one is checked, each file
// deleted once used (the VGG ones are 1 GB: 130 M parameters and their gradients). ResNet-50, MobileNetV2 and
// GoogLeNet run the comparison in float64 on both sides (see the script: at this batch and map size their
// train-mode BatchNorm backward leaves PyTorch's own float32 gradients up to 22 % from its float64 ones) and
// compare their float32 eval logits as well.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSafetensors, type Tensor } from '@tessera/tensor';
import { MODEL_NAMES, createModel, trainingLoss, type ModelName } from '../src/index.js';
import { PythonServer, torchUnavailable } from './python.js';

const script = new URL('../scripts/torchvision_fixtures.py', import.meta.url).pathname;

interface Ready {
  ready?: string;
  error?: string;
  message?: string;
  file: string;
  params: number;
  input: number[];
  options: Record<string, unknown>;
  float64: boolean;
  seconds: number;
}

const unavailable = torchUnavailable();
let server: PythonServer | null = null;
let dir = '';
const requested = new Set<string>();

function request(name: ModelName | undefined): void {
  if (!server || name === undefined || requested.has(name)) return;
  requested.add(name);
  server.send(name);
}

beforeAll(async () => {
  if (unavailable) {
    console.log(unavailable);
    return;
  }
  dir = mkdtempSync(join(tmpdir(), 'tessera-zoo-'));
  server = new PythonServer([script, '--serve', dir]);
  const hello = await server.next<{ versions?: Record<string, string> }>();
  if (!hello.versions) throw new Error(`fixture script did not start: ${JSON.stringify(hello)}`);
  request(MODEL_NAMES[0]);
});

afterAll(() => {
  server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** max |got − want| / max |want|: the error relative to the tensor's scale. */
function maxRelError(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let err = 0;
  let scale = 0;
  for (let i = 0; i < want.length; i++) {
    err = Math.max(err, Math.abs(got[i]! - want[i]!));
    scale = Math.max(scale, Math.abs(want[i]!));
  }
  return err / Math.max(scale, 1e-12);
}

function maxAbs(v: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < v.length; i++) m = Math.max(m, Math.abs(v[i]!));
  return m;
}

async function relError(got: Tensor, want: Tensor, what: string): Promise<number> {
  expect(got.shape, `${what}: shape`).toEqual(want.shape);
  return maxRelError(await got.data(), await want.data());
}

describe('every zoo model matches PyTorch on cpu', () => {
  MODEL_NAMES.forEach((name, index) => {
    it(`${name}: eval logits, train-mode loss, every gradient and the BatchNorm statistics`, async (ctx) => {
      if (unavailable) return ctx.skip(unavailable);
      const fx = await server!.next<Ready>();
      expect(fx.error, fx.message).toBeUndefined();
      expect(fx.ready).toBe(name);
      request(MODEL_NAMES[index + 1]);
      const file = await loadSafetensors(fx.file);
      rmSync(fx.file, { force: true });
      const get = (k: string): Tensor => {
        const t = file.get(k);
        if (!t) throw new Error(`fixture lacks ${k}`);
        return t;
      };
      const weights = new Map<string, Tensor>();
      for (const [k, v] of file) if (k.startsWith('param.')) weights.set(k.slice('param.'.length), v);
      // float32 eval logits (for the float64 models; the others are float32 throughout, below).
      if (fx.float64) {
        const m32 = createModel(name, { ...fx.options, init: 'none' } as never);
        m32.loadStateDict(weights);
        m32.eval();
        const l32 = m32.forward(get('input'));
        expect(await relError(l32, get('logits32'), 'float32 eval logits'), 'float32 eval logits').toBeLessThan(1e-4);
        l32.dispose();
        m32.dispose();
      }
      const dtype = fx.float64 ? 'float64' : 'float32';
      const model = createModel(name, { ...fx.options, init: 'none', ...(fx.float64 ? { dtype } : {}) } as never);
      const cast = (t: Tensor) => (t.dtype === 'int32' || t.dtype === dtype ? t : t.cast(dtype));
      try {
        expect(model.numParameters(), 'parameter count (torch: sum of numel)').toBe(fx.params);
        const casted = new Map([...weights].map(([k, v]) => [k, cast(v)]));
        model.loadStateDict(casted); // strict: every torch key and no other
        for (const [k, v] of casted) if (v !== weights.get(k)) v.dispose();
        const x = cast(get('input'));
        const labels = get('labels');

        model.eval();
        const logits = model.forward(x);
        expect(await relError(logits, get('logits'), 'eval logits'), 'eval logits').toBeLessThan(1e-4);
        logits.dispose();

        model.train();
        const { loss, logits: trainLogits } = trainingLoss(model, x, labels);
        expect(await relError(trainLogits, get('train_logits'), 'train logits'), 'train-mode logits').toBeLessThan(1e-4);
        const want = (await get('loss').data())[0]!;
        expect(Math.abs((await loss.item()) - want) / Math.abs(want), 'loss').toBeLessThan(1e-4);
        loss.backward();
        // A gradient that is zero in exact arithmetic (a bias followed by train-mode BatchNorm, directly or through a
        // convolution: the batch mean removes it) is rounding noise on both sides; it is checked to be ≈ 0 (below
        // 1e-5 of the model's largest gradient) instead of compared as a ratio of noises.
        const wantGrads = new Map<string, ArrayLike<number>>();
        for (const [k] of model.namedParameters()) wantGrads.set(k, await get(`grad.${k}`).data());
        const globalScale = Math.max(...[...wantGrads.values()].map(maxAbs));
        let grads = 0;
        for (const [k, p] of model.namedParameters()) {
          expect(p.grad, `gradient of ${k}`).toBeTruthy();
          expect(p.grad!.shape, `gradient of ${k}: shape`).toEqual(p.shape);
          const got = await p.grad!.data();
          const want = wantGrads.get(k)!;
          if (maxAbs(want) < 1e-6 * globalScale) expect(maxAbs(got) / globalScale, `gradient of ${k} (zero in exact arithmetic)`).toBeLessThan(1e-5);
          else expect(maxRelError(got, want), `gradient of ${k}`).toBeLessThan(1e-3);
          grads++;
        }
        expect(grads).toBe([...file.keys()].filter((k) => k.startsWith('grad.')).length);
        for (const [k, b] of model.namedBuffers()) {
          const after = get(`after.${k}`);
          if (b.dtype === 'int32') expect([...(await b.data())], k).toEqual([...(await after.data())]);
          else expect(await relError(b, after, k), `${k} after the train-mode forward`).toBeLessThan(1e-4);
        }
      } finally {
        model.dispose();
        file.dispose();
      }
    });
  });
});
