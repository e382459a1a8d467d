/**
 * AlexNet (torchvision widths) at batch 128 on `cuda`: training step (forward, cross-entropy, backward,
 * SGD momentum) and forward alone, TF32 and strict fp32; then PyTorch's torchvision AlexNet on the same GPU
 * in the same run (python3 with torch + torchvision, when present), printing images/s and our ratio.
 */
import { spawnSync } from 'node:child_process';
import { backendByName, F, noGrad, optim, tensor, tidy } from '@tessera/tensor';
import { alexnet } from '@tessera/alexnet';
import type { CudaBackend } from '../src/index.js';

const BATCH = Number(process.env.BENCH_BATCH ?? 128);
const WARMUP = 3;
const ITERS = Number(process.env.BENCH_ITERS ?? 20);

async function timeIt(fn: () => void, sync: () => Promise<void>): Promise<number> {
  for (let i = 0; i < WARMUP; i++) fn();
  await sync();
  const t0 = performance.now();
  for (let i = 0; i < ITERS; i++) fn();
  await sync();
  return (performance.now() - t0) / ITERS;
}

const PY = String.raw`
import json, sys, time, torch, torchvision
B, W, N = int(sys.argv[1]), 3, int(sys.argv[2])
dev = 'cuda'
out = {'torch': torch.__version__, 'torchvision': torchvision.__version__, 'gpu': torch.cuda.get_device_name(0)}
for mode in ['tf32', 'fp32']:
    torch.backends.cuda.matmul.allow_tf32 = mode == 'tf32'
    torch.backends.cudnn.allow_tf32 = mode == 'tf32'
    torch.backends.cudnn.benchmark = True
    m = torchvision.models.alexnet().to(dev)
    opt = torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    x = torch.randn(B, 3, 224, 224, device=dev); y = torch.randint(0, 1000, (B,), device=dev)
    def train():
        opt.zero_grad(set_to_none=True); loss = torch.nn.functional.cross_entropy(m(x), y); loss.backward(); opt.step()
    def fwd():
        with torch.no_grad(): m.eval(); m(x); m.train()
    for name, fn in [('train', train), ('forward', fwd)]:
        for _ in range(W): fn()
        torch.cuda.synchronize(); t = time.perf_counter()
        for _ in range(N): fn()
        torch.cuda.synchronize(); out[f'{mode}_{name}_ms'] = (time.perf_counter() - t) / N * 1e3
print(json.dumps(out))
`;

async function main(): Promise<void> {
  const cuda = (await backendByName('cuda')) as CudaBackend;
  console.log(`AlexNet (torchvision) batch ${BATCH} on ${cuda.device.name}, driver ${cuda.device.driverVersion}, CUDA runtime ${cuda.device.runtimeVersion}`);
  const x = new Float32Array(BATCH * 3 * 224 * 224).map((_, i) => Math.sin(i));
  const labels = Int32Array.from({ length: BATCH }, (_, i) => i % 1000);
  const ours: Record<string, number> = {};
  for (const math of ['tf32', 'fp32'] as const) {
    cuda.math = math;
    const model = alexnet({ variant: 'torchvision', seed: 1 });
    await model.to('cuda');
    const opt = new optim.SGD(model.parameters(), { lr: 0.01, momentum: 0.9, weightDecay: 5e-4 });
    const xs = tensor(x, [BATCH, 3, 224, 224], { backend: 'cuda' });
    const ys = tensor(labels, [BATCH], { backend: 'cuda', dtype: 'int32' });
    const sync = () => cuda.sync();
    ours[`${math}_train_ms`] = await timeIt(
      () =>
        tidy(() => {
          opt.zeroGrad();
          F.crossEntropy(model.forward(xs), ys).backward();
          opt.step();
        }),
      sync,
    );
    model.eval();
    ours[`${math}_forward_ms`] = await timeIt(() => tidy(() => noGrad(() => void model.forward(xs))), sync);
    model.train();
    xs.dispose();
    ys.dispose();
    for (const p of model.parameters()) p.dispose();
  }
  const py = spawnSync(process.env.PYTHON ?? 'python3', ['-c', PY, String(BATCH), String(ITERS)], { encoding: 'utf8' });
  let torch: Record<string, number | string> | null = null;
  if (py.status === 0) torch = JSON.parse(py.stdout.trim().split('\n').pop()!) as Record<string, number | string>;
  else console.log(`PyTorch not measured: ${(py.stderr || String(py.error)).trim().split('\n').pop()}`);
  if (torch) console.log(`PyTorch ${torch.torch}, torchvision ${torch.torchvision}, ${torch.gpu}`);
  const ips = (ms: number) => (BATCH * 1000) / ms;
  console.log('\n| mode | pass | tessera img/s | PyTorch img/s | ratio |\n|---|---|---|---|---|');
  for (const math of ['tf32', 'fp32'])
    for (const pass of ['train', 'forward']) {
      const k = `${math}_${pass}_ms`;
      const a = ips(ours[k]!);
      const b = torch && typeof torch[k] === 'number' ? ips(torch[k]) : NaN;
      console.log(
        `| ${math} | ${pass} | ${a.toFixed(0)} | ${Number.isNaN(b) ? 'n/a' : b.toFixed(0)} | ${Number.isNaN(b) ? 'n/a' : (a / b).toFixed(2) + '×'} |`,
      );
    }
}

void main();
