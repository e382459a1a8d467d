#!/usr/bin/env node
// Training-path throughput: decode + resize + augment + batch, in images/s, for @tessera/data's loader beside
// torchvision's ImageFolder + DataLoader with the equivalent transforms (Resize(256), CenterCrop(256),
// RandomCrop(224), RandomHorizontalFlip(), ToTensor(), Normalize()) and PIL, on the same generated JPEG files,
// measured in the same run. Also the rate from the shard cache (decoded once to 256×256, no JPEG decoding).
//
//   node bench/loader-vs-torchvision.mjs [--images 1600] [--large 240] [--batch 64] [--workers 2] [--rounds 3] [--json]
//
// Two sets of generated JPEGs (written once to the temp directory and reused): ILSVRC-sized files (longer side
// 375–500 px, like most of ILSVRC-2012) — the headline — and, with --large N, N camera-sized files (longer side
// 1200–1800 px), where libvips' shrink-on-load decodes at reduced scale.
//
// Both loaders stay alive (persistent workers) and their epochs alternate — tessera, torchvision, tessera, … —
// after one warm-up epoch each, so that load from other processes on a shared machine hits both alike. The best
// epoch of each is reported, with CPU time per image (all threads / worker processes) as a second, load-robust
// measure. Needs the package built (npm run build) and /usr/bin/python3 with torch and torchvision (Debian:
// python3-torch, python3-torchvision).
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { createLoader, generateSyntheticImagenet, IMAGENET_PCA, openImagenet, openShards, torchvisionTrainTransform, writeShards } from '../dist/index.js';

const { values: args } = parseArgs({
  options: {
    images: { type: 'string', default: '1600' },
    large: { type: 'string', default: '240' },
    batch: { type: 'string', default: '64' },
    workers: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '3' },
    json: { type: 'boolean', default: false },
  },
});
const images = Number(args.images);
const large = Number(args.large);
const batchSize = Number(args.batch);
const workers = Number(args.workers);
const rounds = Number(args.rounds);
const log = (...a) => {
  if (!args.json) console.log(...a);
};
const transform = torchvisionTrainTransform();

/** Generates (once) a 20-class set of `count` JPEGs with the given longer-side range. */
async function imageSet(name, count, longSide) {
  const classes = 20;
  const perClass = Math.ceil(count / classes);
  const gen = { classes, trainPerClass: perClass, valPerClass: 0, longSide, aspect: [1.2, 1.5], quality: 90, seed: 2012, grayscale: 4, cmyk: 2 };
  // The stamp also names the generator's version, so that a change to the images regenerates the set.
  const version = 2;
  const root = join(tmpdir(), `tessera-bench-${name}-${classes}x${perClass}`);
  const stamp = join(root, 'generated.json');
  if (!existsSync(stamp) || readFileSync(stamp, 'utf8') !== JSON.stringify({ version, ...gen })) {
    rmSync(root, { recursive: true, force: true });
    const t = performance.now();
    await generateSyntheticImagenet({ root, ...gen });
    writeFileSync(stamp, JSON.stringify({ version, ...gen }));
    log(`generated ${classes * perClass} JPEGs in ${root} (${((performance.now() - t) / 1000).toFixed(1)} s)`);
  }
  const trainDir = join(root, 'train');
  let bytes = 0;
  let files = 0;
  for (const d of readdirSync(trainDir)) {
    for (const f of readdirSync(join(trainDir, d))) {
      bytes += statSync(join(trainDir, d, f)).size;
      files++;
    }
  }
  return { root, trainDir, files, meanKiB: bytes / files / 1024 };
}

/** A tessera loader whose epochs can be timed one at a time. */
function ours(dataset, spec, host = false) {
  const loader = createLoader(dataset, { batchSize, workers, seed: 0, transform: spec });
  return {
    async epoch() {
      let n = 0;
      const c0 = process.cpuUsage();
      const t = performance.now();
      if (host) for await (const b of loader.epochHost()) n += b.size;
      else {
        for await (const b of loader.epoch()) {
          n += b.size;
          b.images.dispose();
          b.labels.dispose();
        }
      }
      const s = (performance.now() - t) / 1000;
      const c = process.cpuUsage(c0);
      const skipped = loader.report().skipped.length;
      if (skipped > 0) throw new Error(`${skipped} images skipped`);
      return { rate: n / s, cpuMs: (c.user + c.system) / 1000 / n };
    },
    close: () => loader.close(),
  };
}

const PEER = `
import sys, time, json, os, torch, torchvision
from torchvision import datasets, transforms as T
root, batch, workers = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
tf = T.Compose([T.Resize(256), T.CenterCrop(256), T.RandomCrop(224), T.RandomHorizontalFlip(), T.ToTensor(),
                T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
ds = datasets.ImageFolder(root, transform=tf)
dl = torch.utils.data.DataLoader(ds, batch_size=batch, shuffle=True, num_workers=workers, persistent_workers=True)
tick = os.sysconf('SC_CLK_TCK')
def cpu(pids):
    total = 0
    for pid in pids:
        with open(f'/proc/{pid}/stat') as f:
            fields = f.read().rsplit(')', 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / tick
    return total
print(json.dumps({'ready': True, 'torch': torch.__version__, 'torchvision': torchvision.__version__}), flush=True)
for line in sys.stdin:
    it = iter(dl)
    pids = [os.getpid()] + [w.pid for w in getattr(it, '_workers', [])]
    c0, n, t = cpu(pids), 0, time.perf_counter()
    for x, y in it:
        n += x.shape[0]
    s = time.perf_counter() - t
    print(json.dumps({'rate': n / s, 'cpuMs': (cpu(pids) - c0) / n * 1000}), flush=True)
`;

/** torchvision in a persistent Python process: each `epoch()` runs one epoch and reports it. */
async function peer(trainDir) {
  const child = spawn('/usr/bin/python3', ['-c', PEER, trainDir, String(batchSize), String(workers)], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async () => {
    const { value, done } = await lines.next();
    if (done) throw new Error(`python3 exited: ${stderr.trim().split('\n').pop()}`);
    return JSON.parse(value);
  };
  const hello = await next();
  return {
    versions: `torch ${hello.torch}, torchvision ${hello.torchvision}`,
    async epoch() {
      child.stdin.write('epoch\n');
      return next();
    },
    async close() {
      child.stdin.end();
      await new Promise((r) => child.on('exit', r));
    },
  };
}

/** Alternates epochs of the two pipelines; returns the best epoch of each. */
async function duel(a, b) {
  await a.epoch();
  await b.epoch();
  const ra = [];
  const rb = [];
  for (let r = 0; r < rounds; r++) {
    ra.push(await a.epoch());
    rb.push(await b.epoch());
  }
  const best = (xs) => xs.reduce((m, x) => (x.rate > m.rate ? x : m));
  return [best(ra), best(rb)];
}

async function solo(a) {
  await a.epoch();
  const rs = [];
  for (let r = 0; r < Math.max(2, rounds - 1); r++) rs.push(await a.epoch());
  await a.close();
  return rs.reduce((m, x) => (x.rate > m.rate ? x : m));
}

log(
  `batch ${batchSize}, ${workers} workers / DataLoader workers; ${cpus().length} CPUs (${availableParallelism()} available); load average ${loadavg()[0].toFixed(1)}`,
);
const typical = await imageSet('ilsvrc-size', images, [375, 500]);
log(`ILSVRC-sized set: ${typical.files} files, ${typical.meanKiB.toFixed(0)} KiB on average`);
const jpeg = await openImagenet({ root: typical.root, split: 'train' });
log('timing tessera and torchvision, alternating …');
const tv = await peer(typical.trainDir);
const mine = ours(jpeg, transform);
const [oursBest, peerBest] = await duel(mine, tv);
await mine.close();
await tv.close();
log('timing tessera with host arrays, and with the PCA colour augmentation …');
const hostBest = await solo(ours(jpeg, transform, true));
const pcaBest = await solo(ours(jpeg, { ...transform, lighting: { ...IMAGENET_PCA, std: 0.1 } }));
log('writing and timing the shard cache …');
const cacheDir = join(typical.root, 'shards');
rmSync(cacheDir, { recursive: true, force: true });
let t = performance.now();
await writeShards(jpeg, { dir: cacheDir });
const shardWrite = typical.files / ((performance.now() - t) / 1000);
t = performance.now();
const shards = await openShards(cacheDir);
const verifySeconds = (performance.now() - t) / 1000;
const cachedBest = await solo(ours(shards, transform));
await shards.close();
rmSync(cacheDir, { recursive: true, force: true });

let big = null;
if (large > 0) {
  const set = await imageSet('camera-size', large, [1200, 1800]);
  log(`camera-sized set: ${set.files} files, ${set.meanKiB.toFixed(0)} KiB on average; timing, alternating …`);
  const bigTv = await peer(set.trainDir);
  const bigOurs = ours(await openImagenet({ root: set.root, split: 'train' }), transform);
  const [o, p] = await duel(bigOurs, bigTv);
  await bigOurs.close();
  await bigTv.close();
  big = { files: set.files, meanKiB: set.meanKiB, tessera: o, torchvision: p, ratio: o.rate / p.rate, cpuRatio: p.cpuMs / o.cpuMs };
}

const result = {
  files: typical.files,
  meanFileKiB: typical.meanKiB,
  batchSize,
  workers,
  loadAverage: loadavg()[0],
  tessera: oursBest,
  torchvision: peerBest,
  ratio: oursBest.rate / peerBest.rate,
  cpuRatio: peerBest.cpuMs / oursBest.cpuMs,
  tesseraHost: hostBest,
  tesseraPca: pcaBest,
  shardCache: cachedBest,
  shardWrite,
  shardVerifySeconds: verifySeconds,
  large: big,
  peer: tv.versions,
};
if (args.json) {
  console.log(JSON.stringify(result));
} else {
  const f = (x) => `${x.rate.toFixed(0).padStart(5)} images/s  ${x.cpuMs.toFixed(2)} CPU ms/image`;
  console.log('');
  console.log(`ILSVRC-sized JPEGs (${typical.files}, ${typical.meanKiB.toFixed(0)} KiB mean): decode → 256 → random 224 crop, flip, normalise, batch`);
  console.log(`  tessera loader → float32 tensors               ${f(oursBest)}`);
  console.log(`  torchvision ImageFolder + DataLoader (PIL)     ${f(peerBest)}   (${tv.versions})`);
  console.log(
    `  ratio tessera / torchvision                    ${result.ratio.toFixed(2)}× the images/s; CPU per image, torchvision / tessera: ${result.cpuRatio.toFixed(2)}`,
  );
  console.log(`  tessera loader → host Float32Arrays            ${f(hostBest)}`);
  console.log(`  tessera loader + PCA colour augmentation       ${f(pcaBest)}`);
  console.log(`  tessera loader from the shard cache            ${f(cachedBest)}`);
  console.log(`  writing the shard cache ${shardWrite.toFixed(0)} images/s; opening it with full CRC-32 verification ${verifySeconds.toFixed(2)} s`);
  if (big) {
    console.log(`Camera-sized JPEGs (${big.files}, ${big.meanKiB.toFixed(0)} KiB mean), same pipeline:`);
    console.log(`  tessera loader → float32 tensors               ${f(big.tessera)}`);
    console.log(`  torchvision ImageFolder + DataLoader (PIL)     ${f(big.torchvision)}`);
    console.log(
      `  ratio tessera / torchvision                    ${big.ratio.toFixed(2)}× the images/s; CPU per image, torchvision / tessera: ${big.cpuRatio.toFixed(2)}`,
    );
  }
  console.log(`load average at the end: ${loadavg()[0].toFixed(1)} on ${cpus().length} CPUs. Under load from other processes the images/s`);
  console.log('ratio also reflects each pipeline’s share of the CPUs; CPU per image is the measure of work done.');
}
