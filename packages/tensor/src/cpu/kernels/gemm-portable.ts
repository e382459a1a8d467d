/**
 * The portable GEMM micro-kernels: JS twins of gemm-wasm.ts's block64, block32 and dot32 (without relaxed
 * SIMD), rounding for rounding, for engines without WebAssembly SIMD and as the tests' executable
 * specification of the module. Panel layouts are matmul.ts's packPanels and copyRows.
 */

/**
 * ct[4×8 at co, row stride ldt] = Σ_k pa[ao + 4k + i] · pb[bo + 8k + j] in float32 arithmetic: each product
 * and each sum rounded to float32 (Math.fround of a double operation on float32 values is the float32
 * operation), exactly as block32's f32x4.mul and f32x4.add. The tile shape is gemm-wasm.ts's F32_MR×F32_NR.
 */
// prettier-ignore
export function micro32(kc: number, pa: Float32Array, ao: number, pb: Float32Array, bo: number, ct: Float32Array, co: number, ldt: number): void {
  const f = Math.fround;
  let c00 = 0, c01 = 0, c02 = 0, c03 = 0, c04 = 0, c05 = 0, c06 = 0, c07 = 0;
  let c10 = 0, c11 = 0, c12 = 0, c13 = 0, c14 = 0, c15 = 0, c16 = 0, c17 = 0;
  let c20 = 0, c21 = 0, c22 = 0, c23 = 0, c24 = 0, c25 = 0, c26 = 0, c27 = 0;
  let c30 = 0, c31 = 0, c32 = 0, c33 = 0, c34 = 0, c35 = 0, c36 = 0, c37 = 0;
  for (let kk = 0; kk < kc; kk++, ao += 4, bo += 8) {
    const a0 = pa[ao]!, a1 = pa[ao + 1]!, a2 = pa[ao + 2]!, a3 = pa[ao + 3]!;
    const b0 = pb[bo]!, b1 = pb[bo + 1]!, b2 = pb[bo + 2]!, b3 = pb[bo + 3]!, b4 = pb[bo + 4]!, b5 = pb[bo + 5]!, b6 = pb[bo + 6]!, b7 = pb[bo + 7]!;
    c00 = f(c00 + f(a0 * b0)); c01 = f(c01 + f(a0 * b1)); c02 = f(c02 + f(a0 * b2)); c03 = f(c03 + f(a0 * b3)); c04 = f(c04 + f(a0 * b4)); c05 = f(c05 + f(a0 * b5)); c06 = f(c06 + f(a0 * b6)); c07 = f(c07 + f(a0 * b7));
    c10 = f(c10 + f(a1 * b0)); c11 = f(c11 + f(a1 * b1)); c12 = f(c12 + f(a1 * b2)); c13 = f(c13 + f(a1 * b3)); c14 = f(c14 + f(a1 * b4)); c15 = f(c15 + f(a1 * b5)); c16 = f(c16 + f(a1 * b6)); c17 = f(c17 + f(a1 * b7));
    c20 = f(c20 + f(a2 * b0)); c21 = f(c21 + f(a2 * b1)); c22 = f(c22 + f(a2 * b2)); c23 = f(c23 + f(a2 * b3)); c24 = f(c24 + f(a2 * b4)); c25 = f(c25 + f(a2 * b5)); c26 = f(c26 + f(a2 * b6)); c27 = f(c27 + f(a2 * b7));
    c30 = f(c30 + f(a3 * b0)); c31 = f(c31 + f(a3 * b1)); c32 = f(c32 + f(a3 * b2)); c33 = f(c33 + f(a3 * b3)); c34 = f(c34 + f(a3 * b4)); c35 = f(c35 + f(a3 * b5)); c36 = f(c36 + f(a3 * b6)); c37 = f(c37 + f(a3 * b7));
  }
  const o0 = co + 0 * ldt;
  ct[o0] = c00; ct[o0 + 1] = c01; ct[o0 + 2] = c02; ct[o0 + 3] = c03; ct[o0 + 4] = c04; ct[o0 + 5] = c05; ct[o0 + 6] = c06; ct[o0 + 7] = c07;
  const o1 = co + 1 * ldt;
  ct[o1] = c10; ct[o1 + 1] = c11; ct[o1 + 2] = c12; ct[o1 + 3] = c13; ct[o1 + 4] = c14; ct[o1 + 5] = c15; ct[o1 + 6] = c16; ct[o1 + 7] = c17;
  const o2 = co + 2 * ldt;
  ct[o2] = c20; ct[o2 + 1] = c21; ct[o2 + 2] = c22; ct[o2 + 3] = c23; ct[o2 + 4] = c24; ct[o2 + 5] = c25; ct[o2 + 6] = c26; ct[o2 + 7] = c27;
  const o3 = co + 3 * ldt;
  ct[o3] = c30; ct[o3 + 1] = c31; ct[o3 + 2] = c32; ct[o3 + 3] = c33; ct[o3 + 4] = c34; ct[o3 + 5] = c35; ct[o3 + 6] = c36; ct[o3 + 7] = c37;
}

/**
 * ct[4×4 at co, row stride ldt] (=, or += unless `first`) Σ_k pa[ao + 4k + i] · pb[bo + 4k + j]. The 16
 * accumulators live in locals, i.e. in registers (with a few spills) once V8 optimises the function.
 */
// prettier-ignore
export function micro4x4(kc: number, pa: Float64Array, ao: number, pb: Float64Array, bo: number, ct: Float64Array, co: number, ldt: number, first: boolean): void {
  let c00 = 0, c01 = 0, c02 = 0, c03 = 0;
  let c10 = 0, c11 = 0, c12 = 0, c13 = 0;
  let c20 = 0, c21 = 0, c22 = 0, c23 = 0;
  let c30 = 0, c31 = 0, c32 = 0, c33 = 0;
  for (let kk = 0; kk < kc; kk++, ao += 4, bo += 4) {
    const a0 = pa[ao]!, a1 = pa[ao + 1]!, a2 = pa[ao + 2]!, a3 = pa[ao + 3]!;
    const b0 = pb[bo]!, b1 = pb[bo + 1]!, b2 = pb[bo + 2]!, b3 = pb[bo + 3]!;
    c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
    c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
    c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
    c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
  }
  const o0 = co, o1 = co + ldt, o2 = o1 + ldt, o3 = o2 + ldt;
  if (first) {
    ct[o0] = c00; ct[o0 + 1] = c01; ct[o0 + 2] = c02; ct[o0 + 3] = c03;
    ct[o1] = c10; ct[o1 + 1] = c11; ct[o1 + 2] = c12; ct[o1 + 3] = c13;
    ct[o2] = c20; ct[o2 + 1] = c21; ct[o2 + 2] = c22; ct[o2 + 3] = c23;
    ct[o3] = c30; ct[o3 + 1] = c31; ct[o3 + 2] = c32; ct[o3 + 3] = c33;
  } else {
    ct[o0] = ct[o0]! + c00; ct[o0 + 1] = ct[o0 + 1]! + c01; ct[o0 + 2] = ct[o0 + 2]! + c02; ct[o0 + 3] = ct[o0 + 3]! + c03;
    ct[o1] = ct[o1]! + c10; ct[o1 + 1] = ct[o1 + 1]! + c11; ct[o1 + 2] = ct[o1 + 2]! + c12; ct[o1 + 3] = ct[o1 + 3]! + c13;
    ct[o2] = ct[o2]! + c20; ct[o2 + 1] = ct[o2 + 1]! + c21; ct[o2 + 2] = ct[o2 + 2]! + c22; ct[o2 + 3] = ct[o2 + 3]! + c23;
    ct[o3] = ct[o3]! + c30; ct[o3 + 1] = ct[o3 + 1]! + c31; ct[o3 + 2] = ct[o3 + 2]! + c32; ct[o3 + 3] = ct[o3 + 3]! + c33;
  }
}

/**
 * dot32 in JS: ct[i·ldt + j] = Σ_k pa[i·kcp + k] · pb[j·kcp + k] with lane t of a float32 accumulator taking
 * k ≡ t (mod 4), then (l0 + l1) + (l2 + l3) — gemm-wasm.ts's dot32 without relaxed SIMD, rounding for rounding.
 */
export function dot32js(mcp: number, ncp: number, kcp: number, pa: Float32Array, pb: Float32Array, ct: Float32Array, ldt: number): void {
  const f = Math.fround;
  for (let i = 0; i < mcp; i++) {
    const a = i * kcp;
    for (let j = 0; j < ncp; j++) {
      const b = j * kcp;
      let l0 = 0;
      let l1 = 0;
      let l2 = 0;
      let l3 = 0;
      for (let kk = 0; kk < kcp; kk += 4) {
        l0 = f(l0 + f(pa[a + kk]! * pb[b + kk]!));
        l1 = f(l1 + f(pa[a + kk + 1]! * pb[b + kk + 1]!));
        l2 = f(l2 + f(pa[a + kk + 2]! * pb[b + kk + 2]!));
        l3 = f(l3 + f(pa[a + kk + 3]! * pb[b + kk + 3]!));
      }
      ct[i * ldt + j] = f(f(l0 + l1) + f(l2 + l3));
    }
  }
}
