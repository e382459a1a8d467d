// The benchmark's page (bundled by gpujs-vs-tfjs-webgl.mjs): AlexNet with torchvision's widths, forward in
// inference mode and one training step (dropout, cross-entropy, backward, SGD with momentum), on tessera's
// gpujs backend (WebGL2), on @tensorflow/tfjs-backend-webgl in the same page and the same WebGL2
// implementation, and on tessera's webgpu backend where the page has a WebGPU adapter. Same weights and
// inputs for all; the forward logits are checked against each other.
import * as T from '@tessera/tensor';
import '@tessera/backend-webgpu';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-backend-webgl';
import '../src/index.js';

/** [out, in, k, stride, pad] per conv; 3/2 max-pools after conv 1, 2 and 5. */
const CONVS = [
  [64, 3, 11, 4, 2],
  [192, 64, 5, 1, 2],
  [384, 192, 3, 1, 1],
  [256, 384, 3, 1, 1],
  [256, 256, 3, 1, 1],
] as const;
/** Row blocks of fc6's weight on the tessera side (each 1024 × 9216 = 9.4 M elements, below 2²⁴). */
const FC6_BLOCKS = 4;
const FCS = [
  [4096, 256 * 6 * 6],
  [4096, 4096],
  [1000, 4096],
] as const;

/** Seeded host values (mulberry32). */
function values(n: number, seed: number, scale: number): Float32Array {
  let a = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = ((((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1) * scale;
  }
  return out;
}

interface Timing {
  forwardMs: number;
  stepMs: number;
}

/** Best of `reps` runs after one warm-up (kernels compile, textures are created). */
async function best(fn: () => Promise<void>, reps: number): Promise<number> {
  await fn();
  let t = Infinity;
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await fn();
    t = Math.min(t, performance.now() - t0);
  }
  return t;
}

function weights() {
  return {
    convW: CONVS.map(([o, i, k], l) => values(o * i * k * k, 10 + l, Math.sqrt(3 / (i * k * k)))),
    convB: CONVS.map(([o], l) => values(o, 20 + l, 0.01)),
    fcW: FCS.map(([o, i], l) => values(o * i, 30 + l, Math.sqrt(3 / i))),
    fcB: FCS.map(([o], l) => values(o, 40 + l, 0.01)),
  };
}

async function tessera(backend: string, batch: number, reps: number, image: Float32Array, labels: Int32Array): Promise<Timing & { logits: Float32Array }> {
  await T.setBackend(backend);
  const w = weights();
  const params = [
    ...CONVS.flatMap(([o, i, k], l) => [T.tensor(w.convW[l]!, [o, i, k, k], { requiresGrad: true }), T.tensor(w.convB[l]!, [o], { requiresGrad: true })]),
    ...FCS.flatMap(([o, i], l) => [
      l === 0 ? T.zeros([1]) : T.tensor(w.fcW[l]!, [o, i], { requiresGrad: true }),
      T.tensor(w.fcB[l]!, [o], { requiresGrad: true }),
    ]),
  ];
  // fc6's weight (4096 × 9216 = 37.7 M elements) exceeds the gpujs backend's 2²⁴-element tensor limit, so the
  // tessera runs hold it as FC6_BLOCKS row blocks and concatenate their outputs: the same function.
  const fc6 = params[10]!;
  const fc6Blocks = Array.from({ length: FC6_BLOCKS }, (_, b) => {
    const rows = 4096 / FC6_BLOCKS;
    return T.tensor(w.fcW[0]!.subarray(b * rows * 9216, (b + 1) * rows * 9216), [rows, 9216], { requiresGrad: true });
  });
  fc6.dispose();
  params.splice(10, 1, ...fc6Blocks);
  const fcParam = (l: number) => (l === 0 ? null : params[10 + FC6_BLOCKS - 1 + 2 * l]!);
  const fcBias = (l: number) => params[10 + FC6_BLOCKS + (l === 0 ? 0 : 2 * l)]!;
  const x = T.tensor(image, [batch, 3, 224, 224]);
  const y = T.tensor(labels, [batch]);
  const net = (training: boolean) => {
    let h: T.Tensor = x;
    for (let l = 0; l < 5; l++) {
      const [, , , stride, padding] = CONVS[l]!;
      h = T.F.conv2d(h, params[2 * l]!, params[2 * l + 1]!, { stride, padding }).relu();
      if (l === 0 || l === 1 || l === 4) h = T.F.maxPool2d(h, { kernelSize: 3, stride: 2 });
    }
    h = T.F.adaptiveAvgPool2d(h, [6, 6]).flatten(1);
    for (let l = 0; l < 3; l++) {
      if (training && l < 2) h = T.F.dropout(h, 0.5, true);
      const weight = fcParam(l);
      h = weight
        ? T.F.linear(h, weight, fcBias(l))
        : T.cat(
            fc6Blocks.map((blk) => T.F.linear(h, blk, null)),
            1,
          ).add(fcBias(0));
      if (l < 2) h = h.relu();
    }
    return h;
  };
  const forwardMs = await best(async () => {
    const out = T.noGrad(() => net(false));
    await out.data();
    out.dispose();
  }, reps);
  const logitsT = T.noGrad(() => net(false));
  const logits = Float32Array.from(await logitsT.data());
  logitsT.dispose();
  const opt = new T.optim.SGD(params, { lr: 0.01, momentum: 0.9 });
  const stepMs = await best(async () => {
    const loss = T.tidy(() => {
      opt.zeroGrad();
      const l = T.F.crossEntropy(net(true), y);
      l.backward();
      opt.step();
      return l.detach();
    });
    await loss.data();
    loss.dispose();
  }, reps);
  opt.zeroGrad();
  [...params, x, y].forEach((t) => t.dispose());
  return { forwardMs, stepMs, logits };
}

async function tfjs(batch: number, reps: number, image: Float32Array, labels: Int32Array): Promise<Timing & { logits: Float32Array }> {
  if (!(await tf.setBackend('webgl'))) throw new Error('tfjs could not initialise its webgl backend');
  const w = weights();
  // NHWC: weights to [k, k, in, out]; FC6 columns permuted from (c, h, w) to (h, w, c) order.
  const toHwio = (src: Float32Array, [o, i, k]: readonly number[]) => {
    const out = new Float32Array(src.length);
    for (let a = 0; a < o!; a++)
      for (let b = 0; b < i!; b++)
        for (let r = 0; r < k!; r++) for (let s = 0; s < k!; s++) out[((r * k! + s) * i! + b) * o! + a] = src[((a * i! + b) * k! + r) * k! + s]!;
    return out;
  };
  const fc6 = (src: Float32Array) => {
    const out = new Float32Array(src.length);
    for (let o = 0; o < 4096; o++) for (let c = 0; c < 256; c++) for (let p = 0; p < 36; p++) out[(p * 256 + c) * 4096 + o] = src[o * 9216 + c * 36 + p]!;
    return out;
  };
  const fcT = (src: Float32Array, [o, i]: readonly number[]) => {
    const out = new Float32Array(src.length);
    for (let a = 0; a < o!; a++) for (let b = 0; b < i!; b++) out[b * o! + a] = src[a * i! + b]!;
    return out;
  };
  const vars = [
    ...CONVS.flatMap((c, l) => [tf.variable(tf.tensor4d(toHwio(w.convW[l]!, c), [c[2], c[2], c[1], c[0]])), tf.variable(tf.tensor1d(w.convB[l]!))]),
    ...FCS.flatMap((c, l) => [tf.variable(tf.tensor2d(l === 0 ? fc6(w.fcW[l]!) : fcT(w.fcW[l]!, c), [c[1], c[0]])), tf.variable(tf.tensor1d(w.fcB[l]!))]),
  ];
  const nhwc = new Float32Array(image.length);
  for (let n = 0; n < batch; n++)
    for (let c = 0; c < 3; c++) for (let p = 0; p < 224 * 224; p++) nhwc[(n * 224 * 224 + p) * 3 + c] = image[(n * 3 + c) * 224 * 224 + p]!;
  const tx = tf.tensor4d(nhwc, [batch, 224, 224, 3]);
  const ty = tf.oneHot(tf.tensor1d(labels, 'int32'), 1000);
  const forward = (training: boolean) => {
    let h: tf.Tensor4D | tf.Tensor2D = tx;
    for (let l = 0; l < 5; l++) {
      const [, , , stride, pad] = CONVS[l]!;
      const padded = tf.pad(h as tf.Tensor4D, [
        [0, 0],
        [pad, pad],
        [pad, pad],
        [0, 0],
      ]);
      h = tf.relu(tf.add(tf.conv2d(padded, vars[2 * l] as tf.Tensor4D, stride, 'valid'), vars[2 * l + 1]!)) as tf.Tensor4D;
      if (l === 0 || l === 1 || l === 4) h = tf.maxPool(h, 3, 2, 'valid');
    }
    // A 13×13 input pools to 6×6 already: the adaptive pool is the identity.
    h = tf.reshape(h, [batch, 6 * 6 * 256]) as tf.Tensor2D;
    for (let l = 0; l < 3; l++) {
      if (training && l < 2) h = tf.dropout(h, 0.5) as tf.Tensor2D;
      h = tf.add(tf.matMul(h, vars[10 + 2 * l] as tf.Tensor2D), vars[11 + 2 * l]!) as tf.Tensor2D;
      if (l < 2) h = tf.relu(h);
    }
    return h;
  };
  const forwardMs = await best(async () => {
    const out = tf.tidy(() => forward(false));
    await out.data();
    out.dispose();
  }, reps);
  const out = tf.tidy(() => forward(false));
  const logits = Float32Array.from(await out.data());
  out.dispose();
  const optimizer = tf.train.momentum(0.01, 0.9);
  const stepMs = await best(async () => {
    const loss = optimizer.minimize(() => tf.losses.softmaxCrossEntropy(ty, forward(true)) as tf.Scalar, true, vars);
    await loss!.data();
    loss!.dispose();
  }, reps);
  [...vars, tx, ty].forEach((t) => t.dispose());
  return { forwardMs, stepMs, logits };
}

export interface BenchReport {
  renderer: string;
  gpujs: Timing;
  tfjs: Timing | null;
  webgpu: Timing | null;
  webgpuReason: string;
  maxDiffTfjs: number | null;
  maxDiffWebgpu: number | null;
  logitScale: number;
}

const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

async function runBench(batch: number, reps: number): Promise<BenchReport> {
  const image = values(batch * 3 * 224 * 224, 50, 1);
  const labels = Int32Array.from({ length: batch }, (_, i) => (i * 97) % 1000);
  const ours = await tessera('gpujs', batch, reps, image, labels);
  const renderer = ((await T.backendByName('gpujs')) as unknown as { adapter: string }).adapter;
  let peer: (Timing & { logits: Float32Array }) | null = null;
  peer = await tfjs(batch, reps, image, labels);
  let webgpu: (Timing & { logits: Float32Array }) | null = null;
  let webgpuReason = '';
  try {
    webgpu = await tessera('webgpu', batch, reps, image, labels);
  } catch (err) {
    webgpuReason = String(err);
  }
  return {
    renderer,
    gpujs: { forwardMs: ours.forwardMs, stepMs: ours.stepMs },
    tfjs: peer && { forwardMs: peer.forwardMs, stepMs: peer.stepMs },
    webgpu: webgpu && { forwardMs: webgpu.forwardMs, stepMs: webgpu.stepMs },
    webgpuReason,
    maxDiffTfjs: peer && maxDiff(ours.logits, peer.logits),
    maxDiffWebgpu: webgpu && maxDiff(ours.logits, webgpu.logits),
    logitScale: ours.logits.reduce((m, v) => Math.max(m, Math.abs(v)), 0),
  };
}

(globalThis as { runBench?: typeof runBench }).runBench = runBench;
