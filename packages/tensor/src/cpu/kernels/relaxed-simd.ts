/**
 * Feature detection for WebAssembly relaxed SIMD (f32x4.relaxed_madd), which browsers ship (Chrome 114+,
 * Firefox 120+) and V8 before 11.4 — Node 20 — keeps behind --experimental-wasm-relaxed-simd. In Node the
 * flag is set with v8.setFlagsFromString when the first probe fails; V8 reads its wasm feature flags at
 * every validation and compilation, and flags are process-wide, so worker threads see it too. Nothing here
 * runs at import time: the CPU backend calls relaxedSimdAvailable() before it compiles its GEMM module.
 */

interface WasmValidate {
  validate(bytes: Uint8Array): boolean;
}

const V128_ZERO = [0xfd, 0x0c, ...new Array<number>(16).fill(0)];
/** The body of `(func (result v128) (f32x4.relaxed_madd (v128.const 0) (v128.const 0) (v128.const 0)))`. */
const PROBE_BODY = [0x00, ...V128_ZERO, ...V128_ZERO, ...V128_ZERO, 0xfd, 0x85, 0x02, 0x0b];
const PROBE = new Uint8Array([
  ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
  ...[0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b], // type 0: () → v128
  ...[0x03, 0x02, 0x01, 0x00], // function 0: type 0
  ...[0x0a, PROBE_BODY.length + 2, 0x01, PROBE_BODY.length, ...PROBE_BODY], // code: one body
]);

function validates(): boolean {
  const wasm = (globalThis as unknown as { WebAssembly?: WasmValidate }).WebAssembly;
  try {
    return wasm !== undefined && wasm.validate(PROBE);
  } catch {
    return false;
  }
}

interface V8Flags {
  setFlagsFromString(flags: string): void;
}

/** Node's v8 module, or null elsewhere (browsers, Deno without Node compatibility, bundlers' shims). */
function nodeV8(): V8Flags | null {
  try {
    const proc = (globalThis as unknown as { process?: { versions?: { node?: string }; getBuiltinModule?: (id: string) => unknown } }).process;
    if (!proc?.versions?.node || typeof proc.getBuiltinModule !== 'function') return null;
    return (proc.getBuiltinModule('node:v8') as V8Flags | undefined) ?? null;
  } catch {
    return null;
  }
}

let available: boolean | undefined;

/** Whether this engine validates relaxed SIMD, after enabling it in Node if needed. */
export function relaxedSimdAvailable(): boolean {
  if (available !== undefined) return available;
  available = validates();
  if (!available) {
    const v8 = nodeV8();
    if (v8) {
      v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
      available = validates();
    }
  }
  return available;
}
