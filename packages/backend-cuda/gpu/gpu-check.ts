/**
 * Everything that needs an NVIDIA GPU, in one Node entry point (bundled by scripts/bundle-gpu.mjs):
 * the shared conformance suite on `cuda` (exact fp32 GEMMs), a small CNN training step against `cpu`
 * (fp32 and TF32), error handling (out-of-range labels, out-of-memory survival), and a summary line.
 */
process.env.TESSERA_CUDA_MATH ??= 'fp32';
import { backendByName, tensor, F } from '@tessera/tensor';
import { describeConformance } from '@tessera/tensor/testing';
import { type CudaBackend, nativeStatus } from '../src/index.js';
import { compareCnnSteps } from './cnn-step.js';
import { runRegistered } from './vitest-shim.js';

async function main(): Promise<void> {
  let cuda: CudaBackend;
  try {
    cuda = (await backendByName('cuda')) as CudaBackend;
  } catch (err) {
    console.log(`gpu-check: cuda unavailable — ${err instanceof Error ? err.message : String(err)}`);
    console.log(`native build: ${JSON.stringify(nativeStatus())}`);
    process.exit(2);
  }
  const d = cuda.device;
  console.log(
    `gpu-check on ${d.name} (sm ${d.computeCapability}, ${d.multiProcessors} SMs, ${(d.totalMemory / 2 ** 30).toFixed(1)} GiB), driver ${d.driverVersion}, runtime ${d.runtimeVersion}`,
  );

  const extra: { name: string; run: () => Promise<void> }[] = [];
  for (const math of ['fp32', 'tf32'] as const) {
    extra.push({
      name: `small CNN, 3 SGD steps, cuda (${math}) vs cpu`,
      run: async () => {
        cuda.math = math;
        const r = await compareCnnSteps('cuda');
        const tol = math === 'fp32' ? 1e-4 : 2e-2;
        console.log(
          `        losses cpu ${r.losses.cpu.map((l) => l.toFixed(6))} cuda ${r.losses.other.map((l) => l.toFixed(6))}; worst param ${r.worstParam.name} ${r.worstParam.diff.toExponential(2)}`,
        );
        if (!(r.worstLoss < tol)) throw new Error(`loss differs by ${r.worstLoss}`);
        if (!(r.worstParam.diff < tol * Math.max(1, r.worstParam.scale))) throw new Error(`parameter ${r.worstParam.name} differs by ${r.worstParam.diff}`);
        cuda.math = 'fp32';
      },
    });
  }
  extra.push({
    name: 'an out-of-range label rejects the next read with a TesseraError naming crossEntropy',
    run: async () => {
      const logits = tensor(new Float32Array(6), [2, 3], { backend: 'cuda' });
      const labels = tensor(Int32Array.from([1, 7]), [2], { backend: 'cuda', dtype: 'int32' });
      const loss = F.crossEntropy(logits, labels, { reduction: 'none' });
      const msg = await loss.data().then(
        () => '',
        (e: unknown) => (e instanceof Error ? e.message : String(e)),
      );
      [logits, labels, loss].forEach((t) => t.dispose());
      if (!/crossEntropy.*label 7 at row 1/.test(msg)) throw new Error(`expected a label error, got ${JSON.stringify(msg)}`);
      await cuda.sync();
    },
  });
  extra.push({
    name: 'out of memory is a TesseraError with the request and free memory, and the process survives it',
    run: async () => {
      // 8 GiB blocks until the device is full (an H200 holds 17 of them), then all of them back.
      let msg = '';
      const held: ReturnType<CudaBackend['alloc']>[] = [];
      try {
        for (let i = 0; i < 256; i++) held.push(cuda.alloc('float32', 2 ** 31 - 1));
      } catch (e) {
        msg = e instanceof Error ? e.message : String(e);
      }
      held.forEach((b) => cuda.free(b));
      cuda.trim();
      if (!/out of device memory: requested \d+ bytes.*free/.test(msg)) throw new Error(`expected an OOM report, got ${JSON.stringify(msg)}`);
      const t = tensor(Float32Array.from([1, 2, 3]), [3], { backend: 'cuda' });
      const back = await t.mul(t).data();
      t.dispose();
      if (back[2] !== 9) throw new Error('the backend does not work after the OOM');
    },
  });

  console.log('\n== conformance (fp32)');
  describeConformance('cuda', { numRuns: Number(process.env.TESSERA_CONFORMANCE_RUNS ?? 25) });
  const r = await runRegistered();
  console.log('\n== training step and errors');
  for (const e of extra) {
    const t0 = Date.now();
    try {
      await e.run();
      r.passed++;
      console.log(`  ok    ${e.name} (${Date.now() - t0} ms)`);
    } catch (err) {
      r.failed++;
      r.failures.push(`${e.name}: ${err instanceof Error ? err.message : String(err)}`);
      console.log(`  FAIL  ${e.name}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  const mem = cuda.nativeMemory();
  console.log(`\nallocator: ${mem.mallocCalls} cudaMalloc calls, ${(mem.bytesReserved / 2 ** 20).toFixed(1)} MiB reserved`);
  console.log(`gpu-check summary: ${r.passed} passed, ${r.failed} failed, ${r.skipped} skipped`);
  process.exit(r.failed > 0 ? 1 : 0);
}

void main();
