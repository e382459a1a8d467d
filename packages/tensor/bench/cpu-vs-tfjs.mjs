#!/usr/bin/env node
// AlexNet forward (torchvision widths 64-192-384-256-256, 224×224, eval mode) on tessera's CPU backend beside
// TensorFlow.js's CPU and WASM backends in the same process, with the same weights and input. Prints
// ms/image for each and the ratios, after checking that the three produce the same logits.
//
//   npm run bench -w @tessera/tensor -- [--batch 8] [--iters 3] [--tfjs-iters 1]
import { performance } from 'node:perf_hooks';
import os from 'node:os';
import { createRequire } from 'node:module';
import { F, noGrad, tensor, tidy } from '@tessera/tensor';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';

const args = process.argv.slice(2);
const arg = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const batch = arg('batch', 8);
const iters = arg('iters', 3);
const tfIters = arg('tfjs-iters', 1);

// Deterministic weights (scaled like PyTorch's default init so activations stay O(1)).
let state = 12345;
const rnd = () => {
  state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
  return state / 4294967296 - 0.5;
};
const filled = (n, scale) => Float32Array.from({ length: n }, () => rnd() * 2 * scale);
const convSpec = [
  // cin, cout, k, stride, pad, pool after
  [3, 64, 11, 4, 2, true],
  [64, 192, 5, 1, 2, true],
  [192, 384, 3, 1, 1, false],
  [384, 256, 3, 1, 1, false],
  [256, 256, 3, 1, 1, true],
];
const fcSpec = [
  [256 * 6 * 6, 4096, true],
  [4096, 4096, true],
  [4096, 1000, false],
];
const convW = convSpec.map(([cin, cout, k]) => ({ w: filled(cout * cin * k * k, 1 / Math.sqrt(cin * k * k)), b: filled(cout, 0.01) }));
const fcW = fcSpec.map(([fin, fout]) => ({ w: filled(fout * fin, 1 / Math.sqrt(fin)), b: filled(fout, 0.01) }));
const input = filled(batch * 3 * 224 * 224, 1);

// ---- tessera ------------------------------------------------------------------------------------------
const ours = {
  conv: convSpec.map(([cin, cout, k], i) => ({ w: tensor(convW[i].w, [cout, cin, k, k]), b: tensor(convW[i].b, [cout]) })),
  fc: fcSpec.map(([fin, fout], i) => ({ w: tensor(fcW[i].w, [fout, fin]), b: tensor(fcW[i].b, [fout]) })),
};
const x = tensor(input, [batch, 3, 224, 224]);
function oursForward() {
  return noGrad(() =>
    tidy(() => {
      let h = x;
      convSpec.forEach(([, , , stride, pad, pool], i) => {
        h = F.conv2d(h, ours.conv[i].w, ours.conv[i].b, { stride, padding: pad }).relu();
        if (pool) h = F.maxPool2d(h, { kernelSize: 3, stride: 2 });
      });
      h = F.adaptiveAvgPool2d(h, 6).flatten(1);
      fcSpec.forEach(([, , relu], i) => {
        h = F.linear(h, ours.fc[i].w, ours.fc[i].b);
        if (relu) h = h.relu();
      });
      return h;
    }),
  );
}

// ---- TF.js (NHWC; weights transposed from our OIHW / [out, in]) -----------------------------------------
function toHWIO(w, cout, cin, k) {
  const out = new Float32Array(w.length);
  for (let o = 0; o < cout; o++)
    for (let i = 0; i < cin; i++)
      for (let y = 0; y < k; y++) for (let xx = 0; xx < k; xx++) out[((y * k + xx) * cin + i) * cout + o] = w[((o * cin + i) * k + y) * k + xx];
  return out;
}
function nchwToNhwc(a, n, c, h, w) {
  const out = new Float32Array(a.length);
  for (let b = 0; b < n; b++)
    for (let ch = 0; ch < c; ch++)
      for (let y = 0; y < h; y++) for (let xx = 0; xx < w; xx++) out[((b * h + y) * w + xx) * c + ch] = a[((b * c + ch) * h + y) * w + xx];
  return out;
}
function makeTf() {
  const conv = convSpec.map(([cin, cout, k], i) => ({ w: tf.tensor4d(toHWIO(convW[i].w, cout, cin, k), [k, k, cin, cout]), b: tf.tensor1d(convW[i].b) }));
  // FC6 consumes the flattened features; flatten NHWC in NCHW order so the same weights apply.
  const fc = fcSpec.map(([fin, fout], i) => ({ w: tf.tensor2d(fcW[i].w, [fout, fin]), b: tf.tensor1d(fcW[i].b) }));
  const xt = tf.tensor4d(nchwToNhwc(input, batch, 3, 224, 224), [batch, 224, 224, 3]);
  const forward = () =>
    tf.tidy(() => {
      let h = xt;
      convSpec.forEach(([, , , stride, pad, pool], i) => {
        h = tf.relu(
          tf.add(
            tf.conv2d(h, conv[i].w, stride, [
              [0, 0],
              [pad, pad],
              [pad, pad],
              [0, 0],
            ]),
            conv[i].b,
          ),
        );
        if (pool) h = tf.maxPool(h, 3, 2, 'valid');
      });
      h = tf.reshape(tf.transpose(h, [0, 3, 1, 2]), [batch, 256 * 6 * 6]);
      fcSpec.forEach(([, , relu], i) => {
        h = tf.add(tf.matMul(h, fc[i].w, false, true), fc[i].b);
        if (relu) h = tf.relu(h);
      });
      return h;
    });
  return { forward, dispose: () => [...conv, ...fc].forEach((p) => (p.w.dispose(), p.b.dispose())) || xt.dispose() };
}

async function time(label, run, read, n) {
  const warm = run();
  const reference = await read(warm);
  const times = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const y = run();
    await read(y);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)];
  console.log(`${label.padEnd(26)} ${(median / batch).toFixed(1).padStart(9)} ms/image   (median of ${n}, batch ${batch})`);
  return { msPerImage: median / batch, logits: reference };
}

function maxRelDiff(a, b) {
  let worst = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    worst = Math.max(worst, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return worst / scale;
}

const require = createRequire(import.meta.url);
console.log(`AlexNet forward (torchvision widths), ${batch}×3×224×224, ${os.cpus()[0]?.model ?? 'cpu'} ×${os.cpus().length}, node ${process.version}`);
const oursResult = await time(
  'tessera cpu',
  oursForward,
  async (y) => {
    const d = await y.data();
    y.dispose();
    return d;
  },
  iters,
);

await tf.setBackend('cpu');
let tfm = makeTf();
const tfCpu = await time(
  'tfjs-backend-cpu 4.22.0',
  tfm.forward,
  async (y) => {
    const d = await y.data();
    y.dispose();
    return d;
  },
  tfIters,
);
tfm.dispose();

setWasmPaths(require.resolve('@tensorflow/tfjs-backend-wasm').replace(/[^/]+$/, ''));
await tf.setBackend('wasm');
tfm = makeTf();
const tfWasm = await time(
  'tfjs-backend-wasm 4.22.0',
  tfm.forward,
  async (y) => {
    const d = await y.data();
    y.dispose();
    return d;
  },
  Math.max(tfIters, 2),
);
tfm.dispose();

const diffCpu = maxRelDiff(oursResult.logits, tfCpu.logits);
const diffWasm = maxRelDiff(oursResult.logits, tfWasm.logits);
console.log(`logits agree: max |diff| / max |logit| = ${diffCpu.toExponential(2)} vs tfjs-cpu, ${diffWasm.toExponential(2)} vs tfjs-wasm`);
if (diffCpu > 1e-3 || diffWasm > 1e-3) {
  console.log('ERROR: the networks disagree; the timings compare different computations');
  process.exitCode = 1;
}
console.log(`ratio: tessera cpu is ${(tfCpu.msPerImage / oursResult.msPerImage).toFixed(2)}× faster than tfjs-backend-cpu (goal ≥ 10×)`);
console.log(`ratio: tessera cpu takes ${(oursResult.msPerImage / tfWasm.msPerImage).toFixed(2)}× the time of tfjs-backend-wasm (SIMD)`);
