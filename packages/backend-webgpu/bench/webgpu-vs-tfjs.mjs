#!/usr/bin/env node
// tessera's webgpu backend beside @tensorflow/tfjs-backend-webgpu, in one process, on one adapter (in Node:
// Dawn from the npm package `webgpu`; here, without a GPU, SwiftShader from Debian's chromium):
//   1. matmul GFLOP/s, square sizes 256…2048;
//   2. AlexNet (torchvision layout) forward, inference mode, ms per image;
//   3. one AlexNet training step (forward with dropout, cross-entropy, backward, SGD with momentum), ms/img.
// Each library runs in its own native layout (NCHW here, NHWC in TF.js) on the same weights; the two forward
// results are checked against each other. Timings are the best of BENCH_REPS runs after a warm-up, each
// ending with a read of the result; wall time, and the process's CPU time (steadier on a shared machine).
// Knobs: BENCH_BATCH (default 8), BENCH_REPS (2), BENCH_SIZES
// (256,512,1024,2048), BENCH_SKIP_TFJS=1.
import { spawnSync } from 'node:child_process';
import { existsSync, statSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const pkg = join(here, '..');

// Dawn loads libvulkan when it starts, so the driver must be named before this process starts: re-run self.
const ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
if (!process.env.VK_ICD_FILENAMES && existsSync(ICD) && !process.env.TESSERA_BENCH_CHILD) {
  const systemLoader = ['/usr/lib/x86_64-linux-gnu/libvulkan.so.1', '/usr/lib/aarch64-linux-gnu/libvulkan.so.1', '/usr/lib64/libvulkan.so.1'].some(existsSync);
  const env = { ...process.env, VK_ICD_FILENAMES: ICD, TESSERA_BENCH_CHILD: '1' };
  if (!systemLoader) env.LD_LIBRARY_PATH = ['/usr/lib/chromium', process.env.LD_LIBRARY_PATH].filter(Boolean).join(':');
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit', env });
  process.exit(r.status ?? 1);
}

// Build this package when its output is missing or older than its sources.
const newest = (dir) =>
  readdirSync(dir, { withFileTypes: true }).reduce((t, e) => Math.max(t, e.isDirectory() ? newest(join(dir, e.name)) : statSync(join(dir, e.name)).mtimeMs), 0);
if (!existsSync(join(pkg, 'dist/index.js')) || newest(join(pkg, 'src')) > statSync(join(pkg, 'dist/index.js')).mtimeMs) {
  const r = spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: pkg, stdio: 'inherit' });
  if (r.status !== 0) process.exit(1);
}

const BATCH = Number(process.env.BENCH_BATCH ?? 8);
const REPS = Number(process.env.BENCH_REPS ?? 2);
const SIZES = (process.env.BENCH_SIZES ?? '256,512,1024,2048').split(',').map(Number);
const SKIP_TFJS = process.env.BENCH_SKIP_TFJS === '1';

// One Dawn instance for both libraries: TF.js finds it as navigator.gpu, and so does tessera.
const { create, globals } = await import('webgpu');
Object.assign(globalThis, globals);
const gpu = create([]);
Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });

const T = await import('@tessera/tensor');
const { createWebGpuBackend } = await import('../dist/index.js');
const backend = await T.setBackend('webgpu');
let tf = null;
if (!SKIP_TFJS) {
  // tfjs-core's Node build registers no gradients, and its ESM files cannot be imported by Node directly:
  // bundle core, its gradients and the webgpu backend from their ESM sources into one module (one engine).
  const { build } = await import('esbuild');
  const { mkdtempSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 'tessera-bench-'));
  const entry = join(dir, 'tfjs.mjs');
  writeFileSync(
    entry,
    "export * from '@tensorflow/tfjs-core';\nimport '@tensorflow/tfjs-core/dist/register_all_gradients';\nimport '@tensorflow/tfjs-backend-webgpu';\n",
  );
  await build({
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    platform: 'node',
    mainFields: ['module', 'main'],
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
    outfile: join(dir, 'tfjs.bundle.mjs'),
    nodePaths: [join(pkg, 'node_modules'), join(pkg, '../../node_modules')],
    logLevel: 'error',
  });
  tf = await import(join(dir, 'tfjs.bundle.mjs'));
  if (!(await tf.setBackend('webgpu'))) throw new Error('TF.js could not initialise its webgpu backend');
}
void createWebGpuBackend;

const adapter = await gpu.requestAdapter();
const info = adapter?.info ?? {};
console.log(`adapter: ${[info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' / ') || 'unknown'}`);
console.log(`node ${process.version}, batch ${BATCH}, best of ${REPS}\n`);

/**
 * Best wall time of `reps` runs after a warm-up (pipelines compile, pools fill), and the best CPU time of the
 * whole process (all of SwiftShader's threads): on a shared machine the CPU time is the steadier measure.
 */
async function best(fn, reps = REPS) {
  await fn();
  const cpuNow = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  let wall = Infinity;
  let cpu = Infinity;
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    const c0 = cpuNow();
    await fn();
    wall = Math.min(wall, performance.now() - t0);
    cpu = Math.min(cpu, cpuNow() - c0);
  }
  return { wall, cpu };
}

/** Seeded host values (mulberry32), shared by both libraries. */
function values(n, seed, scale) {
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

const rows = [];
const fmt = (v) => (v === null ? '—' : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
/** `ours` and `peer` are {wall, cpu} in ms; `toUnit` turns ms into the reported unit. */
function report(what, ours, peer, unit, toUnit, better) {
  const o = toUnit(ours.wall);
  const p = peer === null ? null : toUnit(peer.wall);
  const ratio = p === null ? null : better === 'higher' ? o / p : p / o;
  const cpuRatio = peer === null ? null : peer.cpu / ours.cpu;
  rows.push({ what, ours: o, peer: p, unit, ratio, cpuRatio });
  console.log(
    `${what.padEnd(34)} tessera ${fmt(o).padStart(8)} ${unit.padEnd(8)} tfjs ${fmt(p).padStart(8)} ${unit.padEnd(8)} ` +
      (ratio === null ? '' : `${ratio.toFixed(2)}× (CPU time ${cpuRatio.toFixed(2)}×)`),
  );
}

// ---- matmul ---------------------------------------------------------------------------------------
for (const n of SIZES) {
  const a = T.tensor(values(n * n, 1, 1), [n, n]);
  const b = T.tensor(values(n * n, 2, 1), [n, n]);
  const reps = n >= 2048 ? 1 : REPS;
  const ours = await best(async () => {
    const c = a.matmul(b);
    await c.data();
    c.dispose();
  }, reps);
  let peer = null;
  if (tf) {
    const ta = tf.tensor2d(values(n * n, 1, 1), [n, n]);
    const tb = tf.tensor2d(values(n * n, 2, 1), [n, n]);
    peer = await best(async () => {
      const c = tf.matMul(ta, tb);
      await c.data();
      c.dispose();
    }, reps);
    ta.dispose();
    tb.dispose();
  }
  report(`matmul ${n}×${n}`, ours, peer, 'GFLOP/s', (ms) => (2 * n ** 3) / ms / 1e6, 'higher');
  a.dispose();
  b.dispose();
}

// ---- AlexNet ---------------------------------------------------------------------------------------
// torchvision's AlexNet: [out, in, k, stride, pad] per conv; pools 3/2 after conv 1, 2 and 5.
const CONVS = [
  [64, 3, 11, 4, 2],
  [192, 64, 5, 1, 2],
  [384, 192, 3, 1, 1],
  [256, 384, 3, 1, 1],
  [256, 256, 3, 1, 1],
];
const FCS = [
  [4096, 256 * 6 * 6],
  [4096, 4096],
  [1000, 4096],
];
const convW = CONVS.map(([o, i, k], l) => values(o * i * k * k, 10 + l, Math.sqrt(3 / (i * k * k))));
const convB = CONVS.map(([o], l) => values(o, 20 + l, 0.01));
const fcW = FCS.map(([o, i], l) => values(o * i, 30 + l, Math.sqrt(3 / i)));
const fcB = FCS.map(([o], l) => values(o, 40 + l, 0.01));
const image = values(BATCH * 3 * 224 * 224, 50, 1);
const labels = Int32Array.from({ length: BATCH }, (_, i) => (i * 97) % 1000);

// tessera, NCHW.
const params = [
  ...CONVS.flatMap(([o, i, k], l) => [T.tensor(convW[l], [o, i, k, k], { requiresGrad: true }), T.tensor(convB[l], [o], { requiresGrad: true })]),
  ...FCS.flatMap(([o, i], l) => [T.tensor(fcW[l], [o, i], { requiresGrad: true }), T.tensor(fcB[l], [o], { requiresGrad: true })]),
];
const x = T.tensor(image, [BATCH, 3, 224, 224]);
const y = T.tensor(labels, [BATCH]);
function alexnet(input, training) {
  const { F } = T;
  let h = input;
  for (let l = 0; l < 5; l++) {
    const [, , , stride, pad] = CONVS[l];
    h = F.conv2d(h, params[2 * l], params[2 * l + 1], { stride, padding: pad }).relu();
    if (l === 0 || l === 1 || l === 4) h = F.maxPool2d(h, { kernelSize: 3, stride: 2 });
  }
  h = F.adaptiveAvgPool2d(h, [6, 6]).flatten(1);
  for (let l = 0; l < 3; l++) {
    if (training && l < 2) h = F.dropout(h, 0.5, true);
    h = F.linear(h, params[10 + 2 * l], params[11 + 2 * l]);
    if (l < 2) h = h.relu();
  }
  return h;
}

// TF.js, NHWC: weights transposed to [k, k, in, out]; FC6 columns permuted from (c, h, w) to (h, w, c) order.
let tfModel = null;
if (tf) {
  const toHwio = (w, [o, i, k]) => {
    const out = new Float32Array(w.length);
    for (let a = 0; a < o; a++)
      for (let b = 0; b < i; b++) for (let r = 0; r < k; r++) for (let s = 0; s < k; s++) out[((r * k + s) * i + b) * o + a] = w[((a * i + b) * k + r) * k + s];
    return out;
  };
  const fc6 = (w) => {
    const out = new Float32Array(w.length);
    for (let o = 0; o < 4096; o++) for (let c = 0; c < 256; c++) for (let p = 0; p < 36; p++) out[(p * 256 + c) * 4096 + o] = w[o * 9216 + c * 36 + p];
    return out;
  };
  const fcT = (w, [o, i]) => {
    const out = new Float32Array(w.length);
    for (let a = 0; a < o; a++) for (let b = 0; b < i; b++) out[b * o + a] = w[a * i + b];
    return out;
  };
  const vars = [
    ...CONVS.flatMap((c, l) => [tf.variable(tf.tensor4d(toHwio(convW[l], c), [c[2], c[2], c[1], c[0]])), tf.variable(tf.tensor1d(convB[l]))]),
    ...FCS.flatMap((c, l) => [tf.variable(tf.tensor2d(l === 0 ? fc6(fcW[l]) : fcT(fcW[l], c), [c[1], c[0]])), tf.variable(tf.tensor1d(fcB[l]))]),
  ];
  const nchw = image;
  const nhwc = new Float32Array(nchw.length);
  for (let n = 0; n < BATCH; n++)
    for (let c = 0; c < 3; c++) for (let p = 0; p < 224 * 224; p++) nhwc[(n * 224 * 224 + p) * 3 + c] = nchw[(n * 3 + c) * 224 * 224 + p];
  const tx = tf.tensor4d(nhwc, [BATCH, 224, 224, 3]);
  const ty = tf.oneHot(tf.tensor1d(labels, 'int32'), 1000);
  const forward = (training) => {
    let h = tx;
    for (let l = 0; l < 5; l++) {
      const [, , , stride, pad] = CONVS[l];
      h = tf.relu(
        tf.add(
          tf.conv2d(
            tf.pad(h, [
              [0, 0],
              [pad, pad],
              [pad, pad],
              [0, 0],
            ]),
            vars[2 * l],
            stride,
            'valid',
          ),
          vars[2 * l + 1],
        ),
      );
      if (l === 0 || l === 1 || l === 4) h = tf.maxPool(h, 3, 2, 'valid');
    }
    h = tf.reshape(h, [BATCH, 6 * 6 * 256]); // a 13×13 input pools to 6×6 already: the adaptive pool is the identity
    for (let l = 0; l < 3; l++) {
      if (training && l < 2) h = tf.dropout(h, 0.5);
      h = tf.add(tf.matMul(h, vars[10 + 2 * l]), vars[11 + 2 * l]);
      if (l < 2) h = tf.relu(h);
    }
    return h;
  };
  tfModel = { vars, tx, ty, forward, optimizer: tf.train.momentum(0.01, 0.9) };
}

// Forward, inference mode.
const oursForward = await best(async () => {
  const out = T.noGrad(() => alexnet(x, false));
  await out.data();
  out.dispose();
});
let peerForward = null;
if (tfModel) {
  peerForward = await best(async () => {
    const out = tf.tidy(() => tfModel.forward(false));
    await out.data();
    out.dispose();
  });
  // Both libraries computed the same function on the same weights.
  const a = T.noGrad(() => alexnet(x, false));
  const b = tf.tidy(() => tfModel.forward(false));
  const [av, bv] = [await a.data(), await b.data()];
  let worst = 0;
  let scale = 0;
  for (let i = 0; i < av.length; i++) {
    worst = Math.max(worst, Math.abs(av[i] - bv[i]));
    scale = Math.max(scale, Math.abs(bv[i]));
  }
  console.log(`forward check: max |tessera − tfjs| = ${worst.toExponential(2)} (logits up to ${scale.toFixed(3)})`);
  if (!(worst <= 1e-3 * Math.max(1, scale))) throw new Error('the two AlexNet forwards disagree');
  a.dispose();
  b.dispose();
}
report(`AlexNet forward, batch ${BATCH}`, oursForward, peerForward, 'ms/img', (ms) => ms / BATCH, 'lower');

// Training step.
const opt = new T.optim.SGD(params, { lr: 0.01, momentum: 0.9 });
const oursStep = await best(async () => {
  const loss = T.tidy(() => {
    opt.zeroGrad();
    const l = T.F.crossEntropy(alexnet(x, true), y);
    l.backward();
    opt.step();
    return l.detach();
  });
  await loss.data();
  loss.dispose();
});
let peerStep = null;
if (tfModel) {
  peerStep = await best(async () => {
    const loss = tfModel.optimizer.minimize(() => tf.losses.softmaxCrossEntropy(tfModel.ty, tfModel.forward(true)), true, tfModel.vars);
    await loss.data();
    loss.dispose();
  });
}
report(`AlexNet training step, batch ${BATCH}`, oursStep, peerStep, 'ms/img', (ms) => ms / BATCH, 'lower');

console.log(`\ntessera memory: ${JSON.stringify(backend.memory())}`);
console.log('\n| benchmark | tessera webgpu | tfjs-webgpu | speed-up (wall) | speed-up (CPU time) |\n| --- | --- | --- | --- | --- |');
for (const r of rows) {
  const x = (v) => (v === null ? '—' : `${v.toFixed(2)}×`);
  console.log(`| ${r.what} | ${fmt(r.ours)} ${r.unit} | ${fmt(r.peer)} ${r.unit} | ${x(r.ratio)} | ${x(r.cpuRatio)} |`);
}
process.exit(0);
