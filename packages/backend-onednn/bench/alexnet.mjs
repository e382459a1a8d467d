#!/usr/bin/env node
// One run, every peer: AlexNet (torchvision widths, 224×224) forward at batch 8 and training steps on the
// torchvision model (batch 8) and the reduced model (1×28×28, batch 64), on tessera `onednn` and `cpu`,
// onnxruntime-node, TF.js (wasm, cpu; forward only) and PyTorch (Debian python3-torch, via bench/torch_peer.py).
// Every peer gets the same weights (written here from tessera's seeded init) and the same input; the logits
// are cross-checked before any figure is printed. Ratios are computed from figures of this same run.
//
// On a shared machine the load moves while a benchmark runs, so the peers the goals compare — `onednn`,
// onnxruntime-node and PyTorch (a long-lived bench/torch_peer.py --serve process) — are measured in
// interleaved rounds: each round times every one of them for a few calls, in an order that alternates from
// round to round, and the table gives each peer's median over the rounds (the ratios are those of the
// medians; every round's own ratios are printed too). `cpu` and TF.js, far slower, are timed once.
//
//   node bench/alexnet.mjs [--threads N] [--batch 8] [--reduced-batch 64] [--iters 3] [--train-iters 2]
//                          [--rounds 5] [--skip-tfjs] [--skip-torch] [--skip-cpu]
import { Buffer } from 'node:buffer';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
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
const rounds = num('rounds', 5);
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

/**
 * Both models on one tessera backend: their forward logits, and forward(n) / train(n), each the mean ms per
 * batch over n calls after one untimed call.
 */
async function tesseraPeer(backend) {
  await setBackend(backend);
  const peers = {};
  for (const [name, x0, y0, b] of [
    ['torchvision', inputTv, labelsTv, batch],
    ['reduced', inputRed, labelsRed, reducedBatch],
  ]) {
    const model = alexnet(modelOptions[name]);
    const shape = name === 'torchvision' ? [b, 3, 224, 224] : [b, 1, 28, 28];
    const x = tensor(x0, shape);
    const y = tensor(y0, [b]);
    const opt = new optim.SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
    const forward = async () => {
      model.eval();
      const logits = noGrad(() => tidy(() => model.forward(x)));
      const data = await logits.data();
      logits.dispose();
      return data;
    };
    const step = async () => {
      model.train();
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
    peers[name] = {
      logits: Array.from((await forward()).slice(0, 64)),
      forward: (n) => ms(forward, n),
      train: (n) => ms(step, n),
      dispose() {
        opt.zeroGrad();
        model.parameters().forEach((p) => p.dispose());
        x.dispose();
        y.dispose();
      },
    };
  }
  return peers;
}

/** Times of the `cpu` backend, measured once (it is far slower than the peers the goals compare). */
async function tesseraOnce(backend) {
  const peers = await tesseraPeer(backend);
  const out = {};
  for (const [name, n] of [
    ['torchvision', iters],
    ['reduced', iters * 5],
  ]) {
    const p = peers[name];
    out[name] = { logits: p.logits, forwardMs: await p.forward(n), trainMs: await p.train(name === 'torchvision' ? trainIters : trainIters * 10) };
    p.dispose();
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

function torchArgs(dir, extra) {
  return [join(here, 'torch_peer.py'), '--dir', dir, '--threads', String(threads), ...extra];
}

/** Exports the ONNX model only (for --skip-torch). */
function torchExport(dir) {
  const res = spawnSync('/usr/bin/python3', torchArgs(dir, ['--export-only']), { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (res.status !== 0) throw new Error(`torch_peer.py failed: ${res.stderr.trim().split('\n').slice(-3).join(' | ')}`);
}

/** bench/torch_peer.py --serve: exports the ONNX model, reports versions and logits, then times on request. */
async function torchServer(dir) {
  const child = spawn('/usr/bin/python3', torchArgs(dir, ['--serve']), { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async () => {
    const { value, done } = await lines.next();
    if (done) throw new Error(`torch_peer.py ended: ${stderr.trim().split('\n').slice(-3).join(' | ')}`);
    return JSON.parse(value);
  };
  const info = await next();
  const ask = async (op, name, n) => {
    child.stdin.write(`${op} ${name} ${n}\n`);
    return (await next()).ms;
  };
  return {
    info,
    forward: (name, n) => ask('forward', name, n),
    train: (name, n) => ask('train', name, n),
    close() {
      child.stdin.end('quit\n');
    },
  };
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
  const run = async () => (await session.run(feeds)).logits.data;
  const logits = await run();
  const version = JSON.parse(readFileSync(require.resolve('onnxruntime-node/package.json'), 'utf8')).version;
  return { forward: (n) => ms(run, n), logits: Array.from(logits.slice(0, 64)), version };
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

const median = (xs) => {
  const v = [...xs].sort((a, b) => a - b);
  return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
};

const dir = mkdtempSync(join(os.tmpdir(), 'tessera-bench-'));
const load = os.loadavg()[0];
let torch = null;
try {
  await writePeerFiles(dir);
  const cpu = flag('skip-cpu') ? null : await tesseraOnce('cpu');
  if (flag('skip-torch')) torchExport(dir);
  else torch = await torchServer(dir);
  const onednn = await tesseraPeer('onednn');
  const info = (await setBackend('onednn')).info;
  const ort = await onnxruntime(dir);

  // Same weights, same input: every forward must agree before its time means anything.
  const ref = onednn.torchvision.logits;
  const checks = [
    ['onnxruntime', ort.logits],
    ['cpu', cpu?.torchvision.logits],
    ['pytorch', torch?.info.torchvision.logits],
  ].filter(([, l]) => l);
  for (const [name, l] of checks) {
    const d = maxRelDiff(l, ref);
    if (!(d < 1e-3)) throw new Error(`${name} logits differ from onednn's by ${d.toExponential(2)} (relative to max |logit|)`);
  }
  for (const [name, l] of [
    ['cpu', cpu?.reduced.logits],
    ['pytorch', torch?.info.reduced.logits],
  ].filter(([, l]) => l)) {
    if (!(maxRelDiff(l, onednn.reduced.logits) < 1e-3)) throw new Error(`reduced-model logits differ between ${name} and onednn`);
  }

  // Interleaved rounds: every measurement of a round sees about the same load; the order flips each round.
  const measures = [
    ['onednn', 'forward', () => onednn.torchvision.forward(iters)],
    ['ort', 'forward', () => ort.forward(iters)],
    ['onednn', 'trainTv', () => onednn.torchvision.train(trainIters)],
    ['onednn', 'trainRed', () => onednn.reduced.train(trainIters * 10)],
  ];
  if (torch)
    measures.push(
      ['torch', 'forward', () => torch.forward('torchvision', iters)],
      ['torch', 'trainTv', () => torch.train('torchvision', trainIters)],
      ['torch', 'trainRed', () => torch.train('reduced', trainIters * 10)],
    );
  const samples = {};
  const perRound = [];
  for (let r = 0; r < rounds; r++) {
    const got = {};
    const order = r % 2 === 0 ? measures : [...measures].reverse();
    for (const [peer, what, fn] of order) {
      const t = await fn();
      (samples[`${peer}.${what}`] ??= []).push(t);
      got[`${peer}.${what}`] = t;
    }
    perRound.push({ ...got, load: os.loadavg()[0] });
  }
  const med = (key) => (samples[key] ? median(samples[key]) : undefined);
  const torchInfo = torch?.info;
  torch?.close();
  torch = null;

  const tfWasm = flag('skip-tfjs') ? null : await tfjs('wasm', dir);
  const tfCpu = flag('skip-tfjs') ? null : await tfjs('cpu', dir);
  for (const [name, l] of [
    ['tfjs-wasm', tfWasm?.logits],
    ['tfjs-cpu', tfCpu?.logits],
  ].filter(([, l]) => l)) {
    const d = maxRelDiff(l, ref);
    if (!(d < 1e-3)) throw new Error(`${name} logits differ from onednn's by ${d.toExponential(2)} (relative to max |logit|)`);
  }

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
  console.log(
    `onednn, onnxruntime, PyTorch: median of ${rounds} interleaved rounds (${iters} forward / ${trainIters} torchvision / ${trainIters * 10} reduced training calls each, after one untimed call); cpu, TF.js: timed once`,
  );
  console.log('| peer | version | threads | forward | train (torchvision) | train (reduced) |');
  console.log('|---|---|---|---|---|---|');
  console.log(
    row(
      'tessera `onednn`',
      `${pkgVersion}, oneDNN ${info.dnnlVersion} (${info.isa})`,
      info.threads,
      med('onednn.forward'),
      med('onednn.trainTv'),
      med('onednn.trainRed'),
    ),
  );
  if (cpu) console.log(row('tessera `cpu`', pkgVersion, threads, cpu.torchvision.forwardMs, cpu.torchvision.trainMs, cpu.reduced.trainMs));
  console.log(row('onnxruntime-node', ort.version, `${threads} intra-op`, med('ort.forward')));
  if (tfWasm) console.log(row('tfjs-wasm', tfWasm.version, 1, tfWasm.forwardMs));
  if (tfCpu) console.log(row('tfjs-cpu', tfCpu.version, 1, tfCpu.forwardMs));
  if (torchInfo) console.log(row('PyTorch (Debian)', torchInfo.torch, torchInfo.threads, med('torch.forward'), med('torch.trainTv'), med('torch.trainRed')));
  console.log('');
  console.log(
    'per round: onednn/onnxruntime forward time, onednn×PyTorch images/s (torchvision b' +
      batch +
      ', reduced b' +
      reducedBatch +
      '), load average after the round',
  );
  perRound.forEach((g, r) => {
    const parts = [`round ${r + 1}: forward ${(g['onednn.forward'] / g['ort.forward']).toFixed(2)}×`];
    if (g['torch.trainTv'] !== undefined)
      parts.push(
        `train tv ${(g['torch.trainTv'] / g['onednn.trainTv']).toFixed(2)}×`,
        `train reduced ${(g['torch.trainRed'] / g['onednn.trainRed']).toFixed(2)}×`,
      );
    parts.push(`load ${g.load.toFixed(2)}`);
    console.log(parts.join(', '));
  });
  console.log('');
  const inf = med('onednn.forward') / med('ort.forward');
  console.log(`inference: onednn takes ${inf.toFixed(2)}× onnxruntime's time (goal ≤ 1.0, done at ≤ 1.5): ${inf <= 1.5 ? 'met' : 'NOT met'}`);
  if (samples['torch.trainTv']) {
    const tv = med('torch.trainTv') / med('onednn.trainTv');
    const red = med('torch.trainRed') / med('onednn.trainRed');
    console.log(`training, torchvision b${batch}: onednn ${tv.toFixed(2)}× PyTorch's images/s (goal ≥ 2): ${tv >= 2 ? 'met' : 'NOT met'}`);
    console.log(`training, reduced b${reducedBatch}: onednn ${red.toFixed(2)}× PyTorch's images/s (goal ≥ 1.5): ${red >= 1.5 ? 'met' : 'NOT met'}`);
  }
  if (cpu) console.log(`forward: onednn ${(cpu.torchvision.forwardMs / med('onednn.forward')).toFixed(2)}× the cpu backend's speed`);
  if (tfWasm) console.log(`forward: tfjs-wasm takes ${(tfWasm.forwardMs / med('onednn.forward')).toFixed(2)}× onednn's time`);
  console.log(`load average ${os.loadavg()[0].toFixed(2)} at the end (figures from a shared machine under load are not comparable to quiet ones)`);
  onednn.torchvision.dispose();
  onednn.reduced.dispose();
} finally {
  torch?.close();
  rmSync(dir, { recursive: true, force: true });
}
void onednnPkg;
