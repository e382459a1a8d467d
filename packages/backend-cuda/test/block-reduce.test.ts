// Reductions that use the whole block (reduce over long rows, softmax, cross-entropy: warp shuffles, then
// per-warp partials through shared memory) on rows long enough that every warp holds real data and values
// that change from row to row — so a partial read before it is written gives a wrong answer.
import './emulator-target.js';
import { F, backendByName, tensor } from '@tessera/tensor';
import { describe, expect, it } from 'vitest';
import '../src/index.js';

const rows = 7;
const cols = 3000;
const x = Float32Array.from({ length: rows * cols }, (_, i) => Math.sin(i * 0.37) * (1 + (i % cols) / cols) + Math.floor(i / cols));
const labels = Int32Array.from({ length: rows }, (_, r) => (r * 431) % cols);

async function both(f: (backend: string) => ReturnType<typeof tensor>): Promise<[Float32Array, Float32Array]> {
  await backendByName('cuda');
  return [Float32Array.from(await f('cuda').data()), Float32Array.from(await f('cpu').data())];
}

function expectClose(got: Float32Array, want: Float32Array, tol: number): void {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++)
    expect(Math.abs(got[i]! - want[i]!), `element ${i}: ${got[i]} vs ${want[i]}`).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(want[i]!)));
}

describe('block-wide reductions over long rows match the CPU backend', () => {
  for (const op of ['sum', 'max', 'min'] as const) {
    it(`${op} over rows of ${cols}`, async () => {
      const [got, want] = await both((backend) => tensor(x, [rows, cols], { backend })[op](1));
      expectClose(got, want, 1e-6);
    });
  }

  it('softmax and logSoftmax over rows of 3000', async () => {
    const [s, sw] = await both((backend) => F.softmax(tensor(x, [rows, cols], { backend }), 1));
    expectClose(s, sw, 1e-6);
    const [l, lw] = await both((backend) => F.logSoftmax(tensor(x, [rows, cols], { backend }), 1));
    expectClose(l, lw, 1e-6);
  });

  it('crossEntropy over rows of 3000', async () => {
    const [got, want] = await both((backend) =>
      F.crossEntropy(tensor(x, [rows, cols], { backend }), tensor(labels, [rows], { backend, dtype: 'int32' }), { reduction: 'none' }),
    );
    expectClose(got, want, 1e-6);
  });
});
