#!/usr/bin/env node
// One run, every peer: AlexNet (torchvision widths, 224×224) forward at batch 8 and training steps on the
// torchvision model (batch 8) and the reduced model (1×28×28, batch 64), on tessera `onednn` and `cpu`,
// onnxruntime-node, TF.js (wasm, cpu; forward only) and PyTorch (Debian python3-torch, via bench/torch_peer.py).
// Every peer gets the same weights (written here from tessera's seeded init) and the same input; the logits
// are cross-checked before any figure is printed. Ratios are computed from figures of this same run.
//
//   node bench/alexnet.mjs [--threads N] [--batch 8] [--reduced-batch 64] [--iters 3] [--train-iters 2]
//                          [--skip-tfjs] [--skip-torch] [--skip-cpu]
import { Buffer } from 'node:buffer';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const num = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const flag = (name) => args.includes(`--${name}`);
const threads = num('threads', os.availableParallelism());
const batch = num('batch', 8);
const reducedBatch = num('reduced-batch', 64);
const iters = num('iters', 3);
const trainIters = num('train-iters', 2);
// Thread counts are fixed before any backend starts: OpenMP reads them once.
process.env.TESSERA_ONEDNN_THREADS = String(threads);
process.env.TESSERA_CPU_THREADS = String(threads);

const { F, noGrad, optim, setBackend, tensor, tidy } = await import('@tessera/tensor');
const { alexnet } = await import('@tessera/alexnet');
const onednnPkg = await import('@tessera/backend-onednn');
const require = createRequire(import.meta.url);
const here = fileURLToPath(new URL('.', import.meta.url));

let state = 12345;
const lcg = () => {
  state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
  return state / 4294967296 - 0.5;
};
const inputTv = Float32Array.from({ length: batch * 3 * 224 * 224 }, () => 2 * lcg());
const inputRed = Float32Array.from({ length: reducedBatch * 28 * 28 }, () => 2 * lcg());
const labelsTv = Int32Array.from({ length: batch }, (_, i) => (i * 37) % 1000);
const labelsRed = Int32Array.from({ length: reducedBatch }, (_, i) => i % 10);
const modelOptions = { torchvision: { variant: 'torchvision', seed: 1 }, reduced: { variant: 'reduced', seed: 2, numClasses: 10 } };

const ms = async (fn, n) => {
  await fn();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await fn();
  return (performance.now() - t0) / n;
};

/** Forward and training-step times (ms per batch) of both models on one tessera backend, plus its logits. */
async function tessera(backend) {
  await setBackend(backend);
  const out = {};
  for (const [name, x0, y0, b, n] of [
    ['torchvision', inputTv, labelsTv, batch, iters],
    ['reduced', inputRed, labelsRed, reducedBatch, iters * 5],
  ]) {
    const model = alexnet(modelOptions[name]);
    const shape = name === 'torchvision' ? [b, 3, 224, 224] : [b, 1, 28, 28];
    const x = tensor(x0, shape);
    const y = tensor(y0, [b]);
    model.eval();
    const forward = async () => {
      const logits = noGrad(() => tidy(() => model.forward(x)));
      const data = await logits.data();
      logits.dispose();
      return data;
    };
    const logits = await forward();
    const forwardMs = await ms(forward, n);
    model.train();
    const opt = new optim.SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
    const step = async () => {
      const loss = tidy(() => {
        opt.zeroGrad();
        const l = F.crossEntropy(model.forward(x), y);
        l.backward();
        opt.step();
        return l.detach();
      });
      await loss.data();
      loss.dispose();
    };
    const trainMs = await ms(step, name === 'torchvision' ? trainIters : trainIters * 10);
    out[name] = { forwardMs, trainMs, logits: Array.from(logits.slice(0, 64)) };
    opt.zeroGrad();
    model.parameters().forEach((p) => p.dispose());
    x.dispose();
    y.dispose();
  }
  return out;
}

/** Weights (tessera's seeded init, identical on every backend) and inputs for the non-tessera peers. */
async function writePeerFiles(dir) {
  await setBackend('cpu');
  for (const name of ['torchvision', 'reduced']) {
    const model = alexnet(modelOptions[name]);
    const index = {};
    const parts = [];
    let offset = 0;
    for (const [key, t] of model.stateDict()) {
      const data = Float32Array.from(await t.data());
      index[key] = { shape: t.shape, offset };
      parts.push(Buffer.from(data.buffer));
      offset += data.length;
    }
    writeFileSync(join(dir, `${name}.json`), JSON.stringify(index));
    writeFileSync(join(dir, `${name}.bin`), Buffer.concat(parts));
    model.parameters().forEach((p) => p.dispose());
  }
  writeFileSync(join(dir, 'input-torchvision.bin'), Buffer.from(inputTv.buffer));
  writeFileSync(join(dir, 'input-reduced.bin'), Buffer.from(inputRed.buffer));
  writeFileSync(
    join(dir, 'meta.json'),
    JSON.stringify({
      torchvision: { input: [batch, 3, 224, 224], labels: Array.from(labelsTv) },
      reduced: { input: [reducedBatch, 1, 28, 28], labels: Array.from(labelsRed), classes: 10 },
    }),
  );
}

function torchPeer(dir, exportOnly) {
  const res = spawnSync(
    '/usr/bin/python3',
    [
      join(here, 'torch_peer.py'),
      '--dir',
      dir,
      '--threads',
      String(threads),
      '--iters',
      String(iters),
      '--train-iters',
      String(trainIters),
      ...(exportOnly ? ['--export-only'] : []),
    ],
    { encoding: 'utf8', maxBuffer: 1 << 26 },
  );
  if (res.status !== 0) throw new Error(`torch_peer.py failed: ${res.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  return JSON.parse(res.stdout.trim().split('\n').pop());
}

async function onnxruntime(dir) {
  const ort = require('onnxruntime-node');
  const session = await ort.InferenceSession.create(join(dir, 'alexnet.onnx'), {
    executionProviders: ['cpu'],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
  });
  const feeds = { input: new ort.Tensor('float32', inputTv, [batch, 3, 224, 224]) };
  let logits;
  const forwardMs = await ms(async () => {
    logits = (await session.run(feeds)).logits.data;
  }, iters);
  const version = JSON.parse(readFileSync(require.resolve('onnxruntime-node/package.json'), 'utf8')).version;
  return { forwardMs, logits: Array.from(logits.slice(0, 64)), version };
}

/** torchvision AlexNet forward in TF.js (NHWC; weights transposed from OIHW / [out, in]). */
async function tfjs(backendName, dir) {
  const tf = await import('@tensorflow/tfjs-core');
  if (backendName === 'cpu') await import('@tensorflow/tfjs-backend-cpu');
  else {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    wasm.setWasmPaths(join(require.resolve('@tensorflow/tfjs-backend-wasm/package.json'), '..', 'dist') + '/');
  }
  await tf.setBackend(backendName);
  await tf.ready();
  const index = JSON.parse(readFileSync(join(dir, 'torchvision.json'), 'utf8'));
  const blob = new Float32Array(readFileSync(join(dir, 'torchvision.bin')).buffer.slice(0));
  const raw = (key) => blob.subarray(index[key].offset, index[key].offset + index[key].shape.reduce((a, b) => a * b, 1));
  const hwio = (key) => {
    const [o, i, kh, kw] = index[key].shape;
    const w = raw(key);
    const out = new Float32Array(w.length);
    for (let a = 0; a < o; a++)
      for (let b = 0; b < i; b++)
        for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) out[((y * kw + x) * i + b) * o + a] = w[((a * i + b) * kh + y) * kw + x];
    return tf.tensor4d(out, [kh, kw, i, o]);
  };
  const convs = [
    ['features.0', 4, 2, true],
    ['features.3', 1, 2, true],
    ['features.6', 1, 1, false],
    ['features.8', 1, 1, false],
    ['features.10', 1, 1, true],
  ].map(([k, stride, pad, pool]) => ({ w: hwio(`${k}.weight`), b: tf.tensor1d(raw(`${k}.bias`)), stride, pad, pool }));
  const fcs = ['classifier.1', 'classifier.4', 'classifier.6'].map((k) => ({
    w: tf.tensor2d(raw(`${k}.weight`), index[`${k}.weight`].shape),
    b: tf.tensor1d(raw(`${k}.bias`)),
  }));
  const x = tf.transpose(tf.tensor4d(inputTv, [batch, 3, 224, 224]), [0, 2, 3, 1]);
  const forward = () =>
    tf.tidy(() => {
      let h = x;
      for (const c of convs) {
        const pad = [
          [0, 0],
          [c.pad, c.pad],
          [c.pad, c.pad],
          [0, 0],
        ];
        h = tf.relu(tf.add(tf.conv2d(h, c.w, c.stride, pad), c.b));
        if (c.pool) h = tf.maxPool(h, 3, 2, 'valid');
      }
      // The 224×224 input leaves 6×6 maps, where adaptive average pooling to 6×6 is the identity.
      h = tf.reshape(tf.transpose(h, [0, 3, 1, 2]), [batch, 256 * 6 * 6]);
      fcs.forEach((f, i) => {
        h = tf.add(tf.matMul(h, f.w, false, true), f.b);
        if (i < 2) h = tf.relu(h);
      });
      return h;
    });
  let logits;
  const forwardMs = await ms(async () => {
    const y = forward();
    logits = await y.data();
    y.dispose();
  }, 1);
  const version = JSON.parse(readFileSync(require.resolve('@tensorflow/tfjs-core/package.json'), 'utf8')).version;
  tf.disposeVariables();
  return { forwardMs, logits: Array.from(logits.slice(0, 64)), version };
}

function maxRelDiff(a, b) {
  const scale = Math.max(...b.map(Math.abs), 1e-6);
  return Math.max(...a.map((v, i) => Math.abs(v - b[i]))) / scale;
}

const dir = mkdtempSync(join(os.tmpdir(), 'tessera-bench-'));
const load = os.loadavg()[0];
try {
  await writePeerFiles(dir);
  const results = {};
  results.onednn = await tessera('onednn');
  const info = (await setBackend('onednn')).info;
  if (!flag('skip-cpu')) results.cpu = await tessera('cpu');
  const torch = flag('skip-torch') ? null : torchPeer(dir, false);
  if (flag('skip-torch')) torchPeer(dir, true);
  const ort = await onnxruntime(dir);
  const tfWasm = flag('skip-tfjs') ? null : await tfjs('wasm', dir);
  const tfCpu = flag('skip-tfjs') ? null : await tfjs('cpu', dir);

  // Same weights, same input: every forward must agree before its time means anything.
  const ref = results.onednn.torchvision.logits;
  const checks = [
    ['onnxruntime', ort.logits],
    ['cpu', results.cpu?.torchvision.logits],
    ['pytorch', torch?.torchvision.logits],
    ['tfjs-wasm', tfWasm?.logits],
    ['tfjs-cpu', tfCpu?.logits],
  ].filter(([, l]) => l);
  for (const [name, l] of checks) {
    const d = maxRelDiff(l, ref);
    if (!(d < 1e-3)) throw new Error(`${name} logits differ from onednn's by ${d.toExponential(2)} (relative to max |logit|)`);
  }
  if (torch && !(maxRelDiff(torch.reduced.logits, results.onednn.reduced.logits) < 1e-3))
    throw new Error('reduced-model logits differ between PyTorch and onednn');

  const perImage = (msBatch, b) => (msBatch / b).toFixed(2);
  const row = (name, version, thr, fwd, tv, red) =>
    `| ${name} | ${version} | ${thr} | ${fwd === undefined ? '—' : perImage(fwd, batch)} | ${tv === undefined ? '—' : perImage(tv, batch)} | ${red === undefined ? '—' : perImage(red, reducedBatch)} |`;
  const pkgVersion = JSON.parse(readFileSync(join(here, '..', 'package.json'), 'utf8')).version;
  console.log(
    `AlexNet on ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.availableParallelism()} logical CPUs, load average ${load.toFixed(2)} at start; Node ${process.version}`,
  );
  console.log(
    `ms/image; forward: torchvision AlexNet batch ${batch} (eval); train: one SGD step (momentum 0.9, cross-entropy), torchvision batch ${batch} / reduced batch ${reducedBatch}`,
  );
  console.log('| peer | version | threads | forward | train (torchvision) | train (reduced) |');
  console.log('|---|---|---|---|---|---|');
  const o = results.onednn;
  console.log(
    row(
      'tessera `onednn`',
      `${pkgVersion}, oneDNN ${info.dnnlVersion} (${info.isa})`,
      info.threads,
      o.torchvision.forwardMs,
      o.torchvision.trainMs,
      o.reduced.trainMs,
    ),
  );
  if (results.cpu) {
    const c = results.cpu;
    console.log(row('tessera `cpu`', pkgVersion, threads, c.torchvision.forwardMs, c.torchvision.trainMs, c.reduced.trainMs));
  }
  console.log(row('onnxruntime-node', ort.version, `${threads} intra-op`, ort.forwardMs));
  if (tfWasm) console.log(row('tfjs-wasm', tfWasm.version, 1, tfWasm.forwardMs));
  if (tfCpu) console.log(row('tfjs-cpu', tfCpu.version, 1, tfCpu.forwardMs));
  if (torch)
    console.log(row('PyTorch (Debian)', `${torch.torch}`, torch.threads, torch.torchvision.forwardMs, torch.torchvision.trainMs, torch.reduced.trainMs));
  console.log('');
  const inf = o.torchvision.forwardMs / ort.forwardMs;
  console.log(`inference: onednn takes ${inf.toFixed(2)}× onnxruntime's time (goal ≤ 1.0, done at ≤ 1.5): ${inf <= 1.5 ? 'met' : 'NOT met'}`);
  if (torch) {
    const tv = torch.torchvision.trainMs / o.torchvision.trainMs;
    const red = torch.reduced.trainMs / o.reduced.trainMs;
    console.log(`training, torchvision b${batch}: onednn ${tv.toFixed(2)}× PyTorch's images/s (goal ≥ 2): ${tv >= 2 ? 'met' : 'NOT met'}`);
    console.log(`training, reduced b${reducedBatch}: onednn ${red.toFixed(2)}× PyTorch's images/s (goal ≥ 1.5): ${red >= 1.5 ? 'met' : 'NOT met'}`);
  }
  if (results.cpu) console.log(`forward: onednn ${(results.cpu.torchvision.forwardMs / o.torchvision.forwardMs).toFixed(2)}× the cpu backend's speed`);
  if (tfWasm) console.log(`forward: tfjs-wasm takes ${(tfWasm.forwardMs / o.torchvision.forwardMs).toFixed(2)}× onednn's time`);
  console.log(`load average ${os.loadavg()[0].toFixed(2)} at the end (figures from a shared machine under load are not comparable to quiet ones)`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
void onednnPkg;
