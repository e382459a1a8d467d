// The catalogue's shapes are small, so most of its matmuls take the skinny (M ≤ 4) or shallow (K ≤ 16)
// kernels. These properties use shapes that reach every GEMM tile (8, 16, 32 and 64 rows, K slices of 4, 8
// and 16, edges that are not multiples of the tile) for matmul and for the three convolution kernels.
import { F, bmm } from '@tessera/tensor';
import { compareEvaluations, evaluate, type CaseInstance } from '@tessera/tensor/testing';
import fc from 'fast-check';
import { beforeAll, describe, it } from 'vitest';
import { adapterSkipReason } from './adapter.js';

const ACCUM = { atol: 1e-4, rtol: 1e-3 };

let skip: string | null = null;
beforeAll(async () => {
  skip = await adapterSkipReason('webgpu');
});

async function check(inst: CaseInstance): Promise<void> {
  const want = await evaluate('cpu', 'float64', inst, true);
  const got = await evaluate('webgpu', 'float32', inst, true);
  compareEvaluations(inst.label, got, want, ACCUM);
}

describe('GEMM tiles on larger shapes', () => {
  it('matmul: every tile height and K slice, transposed or not, batched', async (ctx) => {
    if (skip) return ctx.skip(skip);
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          m: fc.integer({ min: 5, max: 90 }),
          n: fc.integer({ min: 1, max: 90 }),
          k: fc.integer({ min: 17, max: 100 }),
          transA: fc.boolean(),
          transB: fc.boolean(),
          batch: fc.constantFrom(1, 2),
          seed: fc.nat(),
        }),
        async ({ m, n, k, transA, transB, batch, seed }) => {
          const a = [...(batch > 1 ? [batch] : []), ...(transA ? [k, m] : [m, k])];
          const b = transB ? [n, k] : [k, n];
          await check({
            label: `a [${a}]${transA ? 'ᵀ' : ''} b [${b}]${transB ? 'ᵀ' : ''}`,
            seed,
            inputs: [
              { shape: a, kind: 'float' },
              { shape: b, kind: 'float' },
            ],
            run: ([x, y]) => bmm(x!, y!, { transA, transB }),
          });
        },
      ),
      { numRuns: 25 },
    );
  });

  it('conv2d forward and gradients with many channels (tiles of 8 to 64 rows)', async (ctx) => {
    if (skip) return ctx.skip(skip);
    await fc.assert(
      fc.asyncProperty(
        fc
          .record({
            n: fc.integer({ min: 1, max: 2 }),
            groups: fc.integer({ min: 1, max: 2 }),
            cpg: fc.integer({ min: 1, max: 12 }),
            opg: fc.integer({ min: 1, max: 70 }),
            h: fc.integer({ min: 3, max: 11 }),
            w: fc.integer({ min: 3, max: 11 }),
            k: fc.integer({ min: 1, max: 5 }),
            stride: fc.integer({ min: 1, max: 3 }),
            pad: fc.integer({ min: 0, max: 2 }),
            dilation: fc.integer({ min: 1, max: 2 }),
            seed: fc.nat(),
          })
          .filter((c) => c.dilation * (c.k - 1) + 1 <= Math.min(c.h, c.w) + 2 * c.pad),
        async (c) => {
          const x = [c.n, c.groups * c.cpg, c.h, c.w];
          const w = [c.groups * c.opg, c.cpg, c.k, c.k];
          await check({
            label: `x [${x}] w [${w}] stride ${c.stride} pad ${c.pad} dilation ${c.dilation} groups ${c.groups}`,
            seed: c.seed,
            inputs: [
              { shape: x, kind: 'float' },
              { shape: w, kind: 'float' },
              { shape: [c.groups * c.opg], kind: 'float' },
            ],
            run: ([xt, wt, bt]) => F.conv2d(xt!, wt!, bt!, { stride: c.stride, padding: c.pad, dilation: c.dilation, groups: c.groups }),
          });
        },
      ),
      { numRuns: 20 },
    );
  });
});
