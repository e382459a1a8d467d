// The TF32 tensor-core path (WMMA m16n16k8, TF32 inputs, fp32 accumulation): the catalogue's GEMM and
// convolution cases at a TF32 tolerance, and one matmul against a host reference that rounds its inputs to
// TF32 exactly as the kernel must — so the path is shown to round, not merely to be close.
import './emulator-target.js';
process.env.TESSERA_CUDA_MATH = 'tf32';
import { backendByName, tensor } from '@tessera/tensor';
import { OP_CASES, compareEvaluations, evaluate } from '@tessera/tensor/testing';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import type { CudaBackend } from '../src/index.js';
import '../src/index.js';

/** TF32 keeps 10 mantissa bits: inputs carry up to 2⁻¹¹ relative error each, products ~2⁻¹⁰. */
const TF32_TOL = { atol: 5e-3, rtol: 5e-3 };

/** Round to TF32, nearest with ties away from zero (cvt.rna.tf32.f32). */
function toTf32(x: number): number {
  const f = new Float32Array([x]);
  const u = new Uint32Array(f.buffer);
  if ((u[0]! & 0x7f800000) !== 0x7f800000) u[0] = ((u[0]! + 0x1000) & 0xffffe000) >>> 0;
  return f[0]!;
}

describe('cuda TF32 GEMMs and convolutions', () => {
  let cuda: CudaBackend;
  beforeAll(async () => {
    cuda = (await backendByName('cuda')) as CudaBackend;
    await backendByName('cpu');
    expect(cuda.math).toBe('tf32');
  });

  for (const c of OP_CASES.filter((k) => k.kernels.some((n) => n === 'matmul' || n.startsWith('conv2d')))) {
    it(`${c.name} [${c.kernels.join(', ')}] at TF32 tolerance`, async () => {
      await fc.assert(
        fc.asyncProperty(c.arb, async (inst) => {
          const want = await evaluate('cpu', 'float64', inst, true);
          const got = await evaluate('cuda', 'float32', inst, true);
          compareEvaluations(`${c.name} (${inst.label}, tf32)`, got, want, {
            atol: Math.max(c.tol.atol, TF32_TOL.atol),
            rtol: Math.max(c.tol.rtol, TF32_TOL.rtol),
          });
        }),
        { numRuns: Number(process.env.TESSERA_CONFORMANCE_RUNS ?? 6) },
      );
    });
  }

  it('a matmul rounds its inputs to TF32 and accumulates in fp32', async () => {
    const m = 37,
      k = 70,
      n = 45; // ragged edges of the 64×128 tile, several k-tiles
    const a = Float32Array.from({ length: m * k }, (_, i) => Math.sin(i * 0.731) * 1.37);
    const b = Float32Array.from({ length: k * n }, (_, i) => Math.cos(i * 0.293) * 0.91);
    const out = tensor(a, [m, k], { backend: 'cuda' }).matmul(tensor(b, [k, n], { backend: 'cuda' }));
    const got = await out.data();
    let worstTf32 = 0,
      worstExact = 0;
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let tf = 0,
          exact = 0,
          mag = 0;
        for (let q = 0; q < k; q++) {
          tf += toTf32(a[i * k + q]!) * toTf32(b[q * n + j]!);
          exact += a[i * k + q]! * b[q * n + j]!;
          mag += Math.abs(a[i * k + q]! * b[q * n + j]!);
        }
        worstTf32 = Math.max(worstTf32, Math.abs(got[i * n + j]! - tf) / mag);
        worstExact = Math.max(worstExact, Math.abs(got[i * n + j]! - exact) / mag);
      }
    // fp32 accumulation of exact TF32 products: within a few fp32 ulps of the TF32 reference …
    expect(worstTf32).toBeLessThan(1e-6);
    // … and visibly not the exact fp32 product.
    expect(worstExact).toBeGreaterThan(1e-5);
  });
});
