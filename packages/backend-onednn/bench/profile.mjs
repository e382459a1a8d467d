#!/usr/bin/env node
// Where a training step's time goes on the `onednn` backend: every native launch is timed (wall clock,
// performance.now around the synchronous call) and grouped by kernel name and its geometry, plus the time
// spent in JS between launches (autograd, tensor bookkeeping, the kernels' argument checks).
//
//   node bench/profile.mjs [--model torchvision|reduced] [--batch 8] [--steps 3] [--threads N] [--forward]
import os from 'node:os';
import { performance } from 'node:perf_hooks';

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const model = opt('model', 'torchvision');
const batch = Number(opt('batch', model === 'torchvision' ? 8 : 64));
const steps = Number(opt('steps', 3));
const forwardOnly = args.includes('--forward');
process.env.TESSERA_ONEDNN_THREADS = opt('threads', String(os.availableParallelism()));

const { F, noGrad, optim, setBackend, tensor, tidy } = await import('@tessera/tensor');
const { KERNEL_NAMES } = await import('@tessera/tensor/backend');
const { alexnet } = await import('@tessera/alexnet');
const { loadNative } = await import('@tessera/backend-onednn');

const native = loadNative();
const launch = native.launch.bind(native);
const table = new Map();
let recording = false;
let inKernels = 0;
native.launch = (id, b0, b1, b2, b3, b4, params) => {
  if (!recording) return launch(id, b0, b1, b2, b3, b4, params);
  const t0 = performance.now();
  launch(id, b0, b1, b2, b3, b4, params);
  const dt = performance.now() - t0;
  inKernels += dt;
  const name = KERNEL_NAMES[id];
  const geom = name.startsWith('conv') ? Array.from(params.subarray(0, 16)).join(',') : name === 'matmul' ? Array.from(params.subarray(0, 6)).join(',') : '';
  const key = `${name} ${geom}`;
  const e = table.get(key) ?? { calls: 0, ms: 0, name };
  e.calls++;
  e.ms += dt;
  table.set(key, e);
};

await setBackend('onednn');
const variant = model === 'torchvision' ? { variant: 'torchvision', seed: 1 } : { variant: 'reduced', seed: 2, numClasses: 10 };
const net = alexnet(variant);
const shape = model === 'torchvision' ? [batch, 3, 224, 224] : [batch, 1, 28, 28];
const n = shape.reduce((a, b) => a * b, 1);
const x = tensor(
  Float32Array.from({ length: n }, (_, i) => Math.sin(i)),
  shape,
);
const y = tensor(
  Int32Array.from({ length: batch }, (_, i) => (i * 37) % (model === 'torchvision' ? 1000 : 10)),
  [batch],
);
const sgd = new optim.SGD(net.parameters(), { lr: 0.01, momentum: 0.9 });
const step = async () => {
  if (forwardOnly) {
    net.eval();
    const l = noGrad(() => tidy(() => net.forward(x)));
    await l.data();
    l.dispose();
    return;
  }
  const loss = tidy(() => {
    sgd.zeroGrad();
    const l = F.crossEntropy(net.forward(x), y);
    l.backward();
    sgd.step();
    return l.detach();
  });
  await loss.data();
  loss.dispose();
};
await step();
await step();
recording = true;
const t0 = performance.now();
for (let i = 0; i < steps; i++) await step();
const total = performance.now() - t0;
recording = false;

const perStep = (v) => (v / steps).toFixed(2).padStart(8);
console.log(`${model} batch ${batch}, ${forwardOnly ? 'forward' : 'training step'}, ${steps} steps, load ${os.loadavg()[0].toFixed(2)}`);
console.log(`total ${perStep(total)} ms/step; in kernels ${perStep(inKernels)}; outside (JS) ${perStep(total - inKernels)}`);
const byName = new Map();
for (const e of table.values()) {
  const g = byName.get(e.name) ?? { calls: 0, ms: 0 };
  g.calls += e.calls;
  g.ms += e.ms;
  byName.set(e.name, g);
}
console.log('\nby kernel (ms/step, calls/step):');
for (const [name, g] of [...byName].sort((a, b) => b[1].ms - a[1].ms)) console.log(`${perStep(g.ms)}  ${String(g.calls / steps).padStart(5)}  ${name}`);
console.log('\nby kernel and geometry (top 30):');
for (const [key, e] of [...table].sort((a, b) => b[1].ms - a[1].ms).slice(0, 30))
  console.log(`${perStep(e.ms)}  ${String(e.calls / steps).padStart(5)}  ${key}`);
