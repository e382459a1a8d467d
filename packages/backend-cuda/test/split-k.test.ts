// GEMMs the kernel splits along K (few output tiles, K ≥ 512: filter gradients, long matmuls) — a path the
// catalogue's small conformance cases do not reach — against the CPU backend, batched and with groups.
import './emulator-target.js';
process.env.TESSERA_CUDA_MATH ??= 'fp32';
import { F, backendByName, tensor } from '@tessera/tensor';
import { describe, expect, it } from 'vitest';
import '../src/index.js';

function values(n: number, salt: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.61 + salt) * 0.8 + 0.1 * Math.cos(i * 2.3 + salt));
}

async function worstDiff(a: Float32Array, b: Float32Array): Promise<number> {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / Math.max(1, Math.abs(b[i]!)));
  return worst;
}

describe('split-K GEMMs match the CPU backend', () => {
  it('batched matmul with K = 1500 (ragged last split)', async () => {
    await backendByName('cuda');
    const [batch, m, k, n] = [3, 20, 1500, 24];
    const a = values(batch * m * k, 1);
    const b = values(batch * k * n, 2);
    const run = async (backend: string) =>
      Float32Array.from(
        await tensor(a, [batch, m, k], { backend })
          .matmul(tensor(b, [batch, k, n], { backend }))
          .data(),
      );
    expect(await worstDiff(await run('cuda'), await run('cpu'))).toBeLessThan(1e-4);
  });

  it('conv2d filter gradient with groups and a long batch·spatial K', async () => {
    const x = values(4 * 4 * 20 * 20, 3);
    const w = values(6 * 2 * 3 * 3, 4);
    const grads: Float32Array[] = [];
    for (const backend of ['cuda', 'cpu']) {
      const xt = tensor(x, [4, 4, 20, 20], { backend });
      const wt = tensor(w, [6, 2, 3, 3], { backend, requiresGrad: true });
      const y = F.conv2d(xt, wt, null, { padding: 1, groups: 2 });
      y.sum().backward();
      grads.push(Float32Array.from(await wt.grad!.data()));
    }
    expect(await worstDiff(grads[0]!, grads[1]!)).toBeLessThan(1e-4);
  });
});
