#!/usr/bin/env node
// The CPU backend's GEMM variants on AlexNet's forward layers (torchvision widths, batch 8), in one run:
// float32 with relaxed-SIMD multiply-add (the default where the engine has it), float32 with f32x4 multiply
// then add (relaxedSimd: false), and the float64 reference path. Prints ms per batch for each layer, the
// variants interleaved round by round so that machine load affects them alike.
//
//   node bench/cpu-gemm-layers.mjs [--batch 8] [--rounds 3] [--threads N]
import os from 'node:os';
// The backend class is not part of the package's public API; the bench runs against the build.
import { createCpuBackend } from '../dist/cpu/index.js';

const args = process.argv.slice(2);
const arg = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const batch = arg('batch', 8);
const rounds = arg('rounds', 3);
const threads = arg('threads', undefined);

const conv = [
  // cin, cout, kernel, stride, pad, input size, output size
  [3, 64, 11, 4, 2, 224, 55],
  [64, 192, 5, 1, 2, 27, 27],
  [192, 384, 3, 1, 1, 13, 13],
  [384, 256, 3, 1, 1, 13, 13],
  [256, 256, 3, 1, 1, 13, 13],
];
const fc = [
  [9216, 4096],
  [4096, 4096],
  [4096, 1000],
];
const variants = [
  ['f32 relaxed', 'float32', {}],
  ['f32 mul+add', 'float32', { relaxedSimd: false }],
  ['f64', 'float64', {}],
];

let seed = 1;
const fill = (b) => {
  for (let i = 0; i < b.size; i++) {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    b.data[i] = seed / 4294967296 - 0.5;
  }
  return b;
};

/** Per variant: its backend and one closure per layer. */
const setups = [];
for (const [label, dtype, options] of variants) {
  const be = createCpuBackend({ ...options, ...(threads ? { threads } : {}), name: `cpu-${label}` });
  await be.startThreads();
  const layers = [];
  for (const [cin, cout, k, s, pad, h, o] of conv) {
    const p = {
      n: batch,
      cIn: cin,
      h,
      w: h,
      cOut: cout,
      kh: k,
      kw: k,
      outH: o,
      outW: o,
      strideH: s,
      strideW: s,
      padH: pad,
      padW: pad,
      dilationH: 1,
      dilationW: 1,
      groups: 1,
    };
    const x = fill(be.alloc(dtype, batch * cin * h * h));
    const w = fill(be.alloc(dtype, cout * cin * k * k));
    const b = fill(be.alloc(dtype, cout));
    const y = be.alloc(dtype, batch * cout * o * o);
    layers.push([`conv ${cin}→${cout}`, () => be.kernels.conv2d(x, w, b, y, p)]);
  }
  for (const [fin, fout] of fc) {
    const x = fill(be.alloc(dtype, batch * fin));
    const w = fill(be.alloc(dtype, fout * fin));
    const y = be.alloc(dtype, batch * fout);
    const p = { batch: 1, m: batch, n: fout, k: fin, transA: false, transB: true, aBatchStride: 0, bBatchStride: 0 };
    layers.push([`fc ${fin}→${fout}`, () => be.kernels.matmul(x, w, y, p)]);
  }
  setups.push({ label, be, layers });
}

const best = setups.map((s) => s.layers.map(() => Infinity));
for (let r = 0; r <= rounds; r++) {
  setups.forEach((s, v) =>
    s.layers.forEach(([, run], l) => {
      const t0 = performance.now();
      run();
      const ms = performance.now() - t0;
      if (r > 0) best[v][l] = Math.min(best[v][l], ms); // round 0 warms up
    }),
  );
}

console.log(
  `AlexNet forward layers, batch ${batch}, ${os.cpus()[0]?.model ?? 'cpu'} ×${os.cpus().length}, node ${process.version}, load ${os.loadavg()[0].toFixed(1)}`,
);
console.log(`threads ${setups[0].be.threads}, relaxed SIMD ${setups[0].be.relaxedSimd ? 'on' : 'unavailable'}; best of ${rounds}, ms per batch`);
console.log(['layer'.padEnd(16), ...setups.map((s) => s.label.padStart(12))].join(''));
setups[0].layers.forEach(([name], l) => console.log([name.padEnd(16), ...best.map((b) => b[l].toFixed(1).padStart(12))].join('')));
const totals = best.map((b) => b.reduce((a, c) => a + c, 0));
console.log(['total'.padEnd(16), ...totals.map((t) => t.toFixed(1).padStart(12))].join(''));
console.log(
  `relaxed-SIMD multiply-add: ${(totals[1] / totals[0]).toFixed(2)}× faster than f32x4 mul + add; float32 path ${(totals[2] / totals[0]).toFixed(2)}× faster than float64`,
);
for (const s of setups) s.be.dispose();
