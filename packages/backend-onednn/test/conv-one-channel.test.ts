// A convolution with one input channel takes its weight gradient from csrc/dnnl_conv.cc's im2col + sgemm path
// (oneDNN's jit kernel is far slower there), so that path is checked against the CPU reference: strides,
// padding, dilation, a geometry whose last input rows no window reads, odd batches split across threads.
import { F, randn } from '@tessera/tensor';
import { describe, expect, it } from 'vitest';
import { nativeStatus } from '../src/index.js';

const built = nativeStatus()?.built === true;

describe.runIf(built)('one-input-channel conv2d weight gradient against cpu', () => {
  for (const [n, cOut, h, w, k, opts] of [
    [64, 16, 28, 28, 5, { padding: 2 }],
    [3, 5, 11, 9, 3, { stride: 2 }],
    [1, 4, 12, 10, 3, { stride: [2, 3], padding: [1, 0], dilation: [1, 2] }],
    [5, 7, 10, 10, 4, { stride: 3, padding: 1 }],
  ] as const) {
    it(`x [${n}, 1, ${h}, ${w}], w [${cOut}, 1, ${k}, ${k}], ${JSON.stringify(opts)}`, async () => {
      const run = async (backend: string) => {
        const x = randn([n, 1, h, w], { seed: 7 + h, backend });
        const wt = randn([cOut, 1, k, k], { seed: 11 + k, backend, requiresGrad: true });
        const y = F.conv2d(x, wt, null, opts);
        // A weighted sum, so every output position carries its own gradient.
        const g = randn(y.shape, { seed: 3, backend });
        y.mul(g).sum().backward();
        const grad = await wt.grad!.data();
        for (const t of [x, wt, y, g]) t.dispose();
        return grad;
      };
      const got = await run('onednn');
      const want = await run('cpu');
      let worst = 0;
      const terms = n * h * w;
      for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!) / (1e-4 + Math.sqrt(terms) * 2e-6 * (1 + Math.abs(want[i]!))));
      expect(worst, 'max error in units of the tolerance').toBeLessThanOrEqual(1);
    });
  }
});
