/** WGSL snippets shared by the kernels. */
import type { DType } from '@tessera/tensor';
import type { BindingKind } from '../runtime.js';

/** Workgroup size of the one-thread-per-element kernels. */
export const WG = 256;

/** A storage binding declaration (binding 0 is the uniform block). */
export function storage(binding: number, kind: BindingKind, name: string, type: string): string {
  return `@group(0) @binding(${binding}) var<storage, ${kind === 'read' ? 'read' : 'read_write'}> ${name}: array<${type}>;\n`;
}

/** The WGSL element type of a tensor dtype. */
export function wgslType(dtype: DType): 'f32' | 'i32' {
  if (dtype === 'float32') return 'f32';
  if (dtype === 'int32') return 'i32';
  throw new Error(`internal: webgpu holds no ${dtype} buffers`);
}

/** Entry point of a 1-D kernel over a 2-D grid; `i` is the flat invocation index. */
export function mainHeader(wg = WG): string {
  return (
    `@compute @workgroup_size(${wg})\n` +
    `fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {\n` +
    `  let i = gid.x + gid.y * nwg.x * ${wg}u;\n`
  );
}

/**
 * NaN tests on the bit pattern (WGSL lets compilers assume NaN never occurs in ordinary float comparisons),
 * NaN and infinity constants, and exact JavaScript conversions between f32 and i32.
 */
export const NUMERIC = /* wgsl */ `
fn is_nan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }
// Private variables, not constants: WGSL rejects NaN and infinity in constant expressions.
var<private> NAN_BITS: u32 = 0x7fc00000u;
var<private> INF_BITS: u32 = 0x7f800000u;
fn nan_f32() -> f32 { return bitcast<f32>(NAN_BITS); }
fn inf_f32() -> f32 { return bitcast<f32>(INF_BITS); }
// JavaScript ToInt32: truncate toward zero, wrap modulo 2^32; NaN and infinities give 0.
fn js_to_int32(x: f32) -> i32 {
  let b = bitcast<u32>(x);
  let e = i32((b >> 23u) & 0xffu) - 127;
  if (e < 0 || e == 128) { return 0; }
  let m = (b & 0x7fffffu) | 0x800000u;
  var v = 0u;
  if (e <= 23) { v = m >> u32(23 - e); } else if (e <= 54) { v = m << u32(e - 23); }
  if ((b >> 31u) != 0u) { v = ~v + 1u; }
  return bitcast<i32>(v);
}
// int32 → float32 rounded to nearest even (the WGSL conversion may round either way).
fn js_to_f32(v: i32) -> f32 { return f32(v >> 16u) * 65536.0 + f32(v & 0xffff); }
`;

/**
 * Reporting a bad index through the flag buffer: the first reporter stores the check id registered on the
 * host, the offending value and its position; `read` turns that into a TesseraError naming the op.
 */
export function flagDecl(binding: number): string {
  return (
    `@group(0) @binding(${binding}) var<storage, read_write> FLAGS: array<atomic<u32>>;\n` +
    `fn report(check: u32, value: i32, position: u32) {\n` +
    `  loop {\n` +
    `    let r = atomicCompareExchangeWeak(&FLAGS[0], 0u, check);\n` +
    `    if (r.exchanged) { atomicStore(&FLAGS[1], bitcast<u32>(value)); atomicStore(&FLAGS[2], position); break; }\n` +
    `    if (r.old_value != 0u) { break; }\n` +
    `  }\n` +
    `}\n`
  );
}
