#!/usr/bin/env node
// One zoo model trained briefly on Fashion-MNIST on the `cpu` backend: a time-budgeted pass over the shuffled
// training set (SGD, momentum 0.9, through @tessera/alexnet's Trainer with the zoo's trainingLoss), then top-1
// accuracy on the test set (or its first --test images). Prints one JSON line with the figures, the machine's
// load average before and after, and the short recipe used.
//
//   node packages/models/bench/fashion-mnist.mjs --model resnet18 [--seconds 180] [--test 10000] [--batch 64]
//        [--lr 0.01] [--side N] [--seed 0]
//
// Images are resized (bilinear) to the model's input side: 28 for LeNet-5 (its first convolution pads by 2) and for
// every model whose minimum input is at most 28, else the minimum (VGG: 32, ZFNet: 47, AlexNet: 63); one grayscale channel
// (inChannels 1), normalised with Fashion-MNIST's mean and std.
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { Trainer } from '@tessera/alexnet';
import { FASHION_MNIST_MEAN, FASHION_MNIST_STD, loadFashionMnist } from '@tessera/data';
import { createModel, modelInfo, trainingLoss } from '@tessera/models';
import { manualSeed, noGrad, setBackend, tensor, tidy } from '@tessera/tensor';

const { values } = parseArgs({
  options: {
    model: { type: 'string' },
    seconds: { type: 'string', default: '180' },
    test: { type: 'string', default: '10000' },
    batch: { type: 'string', default: '64' },
    lr: { type: 'string', default: '0.01' },
    side: { type: 'string' },
    seed: { type: 'string', default: '0' },
  },
});
const name = values.model;
if (!name) throw new Error('--model NAME is required');
const seconds = Number(values.seconds);
const testCount = Number(values.test);
const batch = Number(values.batch);
const lr = Number(values.lr);
const seed = Number(values.seed);
const info = modelInfo(name);
const side = values.side ? Number(values.side) : name === 'lenet5' ? 28 : Math.max(28, info.minInput[0]);

await setBackend('cpu');
manualSeed(seed);
const load0 = loadavg();
const t0 = performance.now();
const train = loadFashionMnist({ split: 'train', ...(side === 28 ? {} : { resize: side }) });
const test = loadFashionMnist({ split: 'test', ...(side === 28 ? {} : { resize: side }) });
const plane = side * side;

function batchTensors(ds, indices) {
  const x = new Float32Array(indices.length * plane);
  const y = new Int32Array(indices.length);
  indices.forEach((idx, b) => {
    const src = ds.images.subarray(idx * plane, (idx + 1) * plane);
    for (let p = 0; p < plane; p++) x[b * plane + p] = (src[p] / 255 - FASHION_MNIST_MEAN) / FASHION_MNIST_STD;
    y[b] = ds.labels[idx];
  });
  return { images: tensor(x, [indices.length, 1, side, side]), labels: tensor(y, [indices.length]) };
}

// A seeded shuffle (xorshift32) of the training set, cut off when the time budget is spent.
let state = (seed * 2654435761 + 1) >>> 0 || 1;
const rand = () => {
  state ^= state << 13;
  state >>>= 0;
  state ^= state >>> 17;
  state ^= state << 5;
  state >>>= 0;
  return state / 2 ** 32;
};
const order = Array.from({ length: train.count }, (_, i) => i);
for (let i = order.length - 1; i > 0; i--) {
  const j = Math.floor(rand() * (i + 1));
  [order[i], order[j]] = [order[j], order[i]];
}
let trainedImages = 0;
let trainStart = 0;
const source = {
  length: Math.floor(train.count / batch),
  async *epoch() {
    trainStart = performance.now();
    for (let s = 0; s + batch <= order.length; s += batch) {
      if ((performance.now() - trainStart) / 1000 >= seconds) return;
      trainedImages += batch;
      yield batchTensors(train, order.slice(s, s + batch));
    }
  },
};

const opts = { numClasses: 10, seed, ...(name === 'lenet5' ? (side === 28 ? { inputSize: 28 } : {}) : { inChannels: 1 }) };
const model = createModel(name, opts);
const trainer = new Trainer({
  model,
  epochs: 1,
  lr,
  momentum: 0.9,
  weightDecay: 1e-4,
  rule: 'pytorch',
  schedule: 'none',
  loss: (m, images, labels) => trainingLoss(m, images, labels).loss,
});
model.train();
const result = await trainer.trainEpoch(source);
const trainSeconds = (performance.now() - trainStart) / 1000;

model.eval();
let correct = 0;
const n = Math.min(testCount, test.count);
const evalStart = performance.now();
for (let s = 0; s < n; s += 256) {
  const idx = Array.from({ length: Math.min(256, n - s) }, (_, i) => s + i);
  const { images, labels } = batchTensors(test, idx);
  const pred = tidy(() => noGrad(() => model.forward(images).argmax(1)));
  const p = await pred.data();
  const l = await labels.data();
  for (let i = 0; i < idx.length; i++) if (p[i] === l[i]) correct++;
  pred.dispose();
  images.dispose();
  labels.dispose();
}
const evalSeconds = (performance.now() - evalStart) / 1000;
console.log(
  JSON.stringify({
    model: name,
    params: model.numParameters(),
    side,
    trainImages: trainedImages,
    epochs: +(trainedImages / train.count).toFixed(3),
    trainLoss: result ? +result.loss.toFixed(4) : null,
    trainSeconds: +trainSeconds.toFixed(1),
    imagesPerSecond: +(trainedImages / trainSeconds).toFixed(1),
    testImages: n,
    testAccuracy: +(correct / n).toFixed(4),
    evalSeconds: +evalSeconds.toFixed(1),
    wallSeconds: +((performance.now() - t0) / 1000).toFixed(1),
    recipe: { optimizer: 'sgd', lr, momentum: 0.9, weightDecay: 1e-4, batch, schedule: 'constant', budgetSeconds: seconds },
    loadavgBefore: load0.map((v) => +v.toFixed(2)),
    loadavgAfter: loadavg().map((v) => +v.toFixed(2)),
    date: new Date().toISOString(),
  }),
);
