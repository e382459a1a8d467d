import { gunzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import { F, optim, tensor, tidy, keep, noGrad, nn } from '@tessera/tensor';
import { alexnet } from '@tessera/alexnet';
const dir = '/usr/share/datasets/fashion-mnist/';
const idx = (f) => gunzipSync(readFileSync(dir + f));
const tri = idx('train-images-idx3-ubyte.gz').subarray(16),
  trl = idx('train-labels-idx1-ubyte.gz').subarray(8);
const tei = idx('t10k-images-idx3-ubyte.gz').subarray(16),
  tel = idx('t10k-labels-idx1-ubyte.gz').subarray(8);
const args = Object.fromEntries(process.argv.slice(2).map((a) => a.split('=')));
const B = +(args.batch ?? 128),
  epochs = +(args.epochs ?? 1),
  lr = +(args.lr ?? 0.01),
  wm = +(args.wm ?? 1),
  init = args.init ?? 'paper',
  limit = +(args.limit ?? 60000);
const m = alexnet({ variant: 'reduced', seed: 1, widthMultiplier: wm, init, dropout: +(args.dropout ?? 0.5) });
if (args.kaiming && false)
  for (const mod of m.modules())
    if (mod instanceof nn.Conv2d || mod instanceof nn.Linear) {
      nn.init.kaimingNormal_(mod.weight, { nonlinearity: 'relu', seed: 5 });
      nn.init.constant_(mod.bias, 0);
    }
console.log('params', m.parameterCount());
const opt = new optim.SGD(m.parameters(), { lr, momentum: 0.9, weightDecay: 5e-4, rule: 'paper' });
const batch = (imgs, labels, idxs) => {
  const x = new Float32Array(idxs.length * 784);
  const y = new Int32Array(idxs.length);
  idxs.forEach((j, i) => {
    for (let p = 0; p < 784; p++) x[i * 784 + p] = (imgs[j * 784 + p] / 255 - 0.286) / 0.353;
    y[i] = labels[j];
  });
  return [tensor(x, [idxs.length, 1, 28, 28]), tensor(y)];
};
const t0 = performance.now();
let step = 0;
for (let e = 0; e < epochs; e++) {
  if (args.drop && e === +args.drop) {
    opt.lr = opt.lr * 0.1;
    console.log('lr', opt.lr);
  }
  const order = Array.from({ length: limit }, (_, i) => i).sort(() => Math.random() - 0.5);
  for (let s = 0; s + B <= limit; s += B) {
    const [x, y] = batch(tri, trl, order.slice(s, s + B));
    const l = tidy(() => {
      opt.zeroGrad();
      const l = F.crossEntropy(m.forward(x), y);
      l.backward();
      opt.step();
      return l.detach();
    });
    x.dispose();
    y.dispose();
    if (step++ % 50 === 0)
      console.log(
        e,
        s,
        (await l.item()).toFixed(4),
        ((performance.now() - t0) / 1000).toFixed(1) + 's',
        ((step * B) / ((performance.now() - t0) / 1000)).toFixed(0) + ' img/s',
      );
    l.dispose();
  }
}
m.eval();
let correct = 0;
for (let s = 0; s < 10000; s += 500) {
  const [x, y] = batch(
    tei,
    tel,
    Array.from({ length: 500 }, (_, i) => s + i),
  );
  correct += await noGrad(() => tidy(() => m.forward(x).argmax(1).eq(y).sum())).item();
}
console.log('test accuracy', correct / 10000, 'time', ((performance.now() - t0) / 1000).toFixed(1));
