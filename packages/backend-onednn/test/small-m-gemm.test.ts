// The few-row product kernel (csrc/small_m_gemm.cc) only runs for products too large for the conformance
// kit's shapes (n·k ≥ 2¹⁶), so it is checked here against the CPU reference: every row-block remainder
// (m mod 4), an odd n (the lone last row of B) and k off the vector width, plus batches.
import { bmm, randn, tidy } from '@tessera/tensor';
import { describe, expect, it } from 'vitest';
import { nativeStatus } from '../src/index.js';

const built = nativeStatus()?.built === true;

describe.runIf(built)('few-row matmul against cpu', () => {
  for (const [batch, m, n, k] of [
    [1, 1, 257, 300],
    [1, 3, 257, 301],
    [1, 4, 256, 512],
    [1, 5, 1001, 77],
    [1, 8, 4096, 33],
    [1, 16, 129, 1000],
    [3, 7, 300, 250],
  ] as const) {
    it(`[${batch}, ${m}, ${k}] · [${batch}, ${n}, ${k}]ᵀ`, async () => {
      const run = (backend: string) =>
        tidy(() => {
          const a = randn([batch, m, k], { seed: m * 31 + k, backend });
          const b = randn([batch, n, k], { seed: n * 17 + k, backend });
          return bmm(a, b, { transB: true });
        });
      const ours = run('onednn');
      const ref = run('cpu');
      const got = await ours.data();
      const want = await ref.data();
      expect(ours.shape).toEqual([batch, m, n]);
      let worst = 0;
      for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!) / (1e-3 + Math.sqrt(k) * 1e-5 * (1 + Math.abs(want[i]!))));
      expect(worst, 'max error in units of the tolerance').toBeLessThanOrEqual(1);
      ours.dispose();
      ref.dispose();
    });
  }
});
