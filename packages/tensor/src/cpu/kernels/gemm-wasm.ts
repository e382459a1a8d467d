/**
 * The GEMM inner loops as a WebAssembly SIMD module, assembled here at load time (about 750 bytes; no
 * toolchain, no binary blob). V8 runs its f64x2 arithmetic about 4× faster than the best scalar JS
 * micro-kernel (≈23 vs ≈6 GFLOP/s per core measured on Zen 5), and it still accumulates in doubles.
 *
 * Exports `mem` (16 pages = 1 MiB, holding the packed panels and the C tile) and
 *   block(mcp, ncp, kc, pa, pb, ct, ldt, first)
 * which, for every 4×4 tile (ir, jr) of an mcp×ncp block, computes Σ_k pa[ir-panel][k] ⊗ pb[jr-panel][k]
 * over kc steps and stores (first ≠ 0) or adds it to the float64 tile at byte address ct + ir·ldt + jr·8.
 * pa and pb are byte addresses of panels packed exactly as packA / packB in matmul.ts lay them out.
 *
 * The 4×4 tile keeps 8 f64x2 accumulators; measured alternatives (6×4, 4×6, 4×8, 8×4, k-unrolling) were
 * 40–50% slower, apparently from register pressure in V8's code generator.
 */

/** Unsigned and signed LEB128. */
function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const section = (id: number, bytes: number[]): number[] => [id, ...uleb(bytes.length), ...bytes];
const name = (s: string): number[] => vec([...s].map((c) => [c.charCodeAt(0)]));

const I32 = 0x7f;
const V128 = 0x7b;
// Opcodes (WebAssembly core 2.0 and its fixed-width SIMD proposal; SIMD ops follow the 0xfd prefix as LEB128).
const get = (i: number): number[] => [0x20, ...uleb(i)];
const set = (i: number): number[] => [0x21, ...uleb(i)];
const tee = (i: number): number[] => [0x22, ...uleb(i)];
const i32 = (v: number): number[] => [0x41, ...sleb(v)];
const I32_ADD = [0x6a];
const I32_SUB = [0x6b];
const I32_MUL = [0x6c];
const I32_SHL = [0x74];
const I32_LT_U = [0x49];
const I32_EQZ = [0x45];
const BLOCK = [0x02, 0x40];
const LOOP = [0x03, 0x40];
const IF = [0x04, 0x40];
const ELSE = [0x05];
const END = [0x0b];
const br = (depth: number): number[] => [0x0c, ...uleb(depth)];
const brIf = (depth: number): number[] => [0x0d, ...uleb(depth)];
/** v128.load / v128.store with 16-byte alignment hint (2^4) and a constant offset. */
const v128Load = (offset: number): number[] => [0xfd, 0x00, 4, ...uleb(offset)];
const v128Store = (offset: number): number[] => [0xfd, 0x0b, 4, ...uleb(offset)];
/** v128.load64_splat: one double broadcast to both lanes. */
const load64Splat = (offset: number): number[] => [0xfd, 0x0a, 3, ...uleb(offset)];
const V128_ZERO = [0xfd, 0x0c, ...new Array<number>(16).fill(0)];
const F64X2_ADD = [0xfd, ...uleb(0xf0)];
const F64X2_MUL = [0xfd, ...uleb(0xf2)];

function assemble(): Uint8Array {
  // Parameters 0–7, then locals.
  const [MCP, NCP, KC, PA, PB, CT, LDT, FIRST] = [0, 1, 2, 3, 4, 5, 6, 7];
  const [JR, IR, K, AP, BP, CP] = [8, 9, 10, 11, 12, 13];
  const ACC = 14; // 8 accumulators: row i, column pair v at ACC + 2i + v
  const B = ACC + 8; // 2 B vectors
  const A = B + 2; // the broadcast A element
  const code: number[] = [];
  const emit = (...parts: number[][]): void => {
    for (const p of parts) code.push(...p);
  };
  emit(i32(0), set(JR), BLOCK, LOOP); // for (jr = 0; jr < ncp; jr += 4)
  emit(get(JR), get(NCP), I32_LT_U, I32_EQZ, brIf(1));
  emit(i32(0), set(IR), BLOCK, LOOP); // for (ir = 0; ir < mcp; ir += 4)
  emit(get(IR), get(MCP), I32_LT_U, I32_EQZ, brIf(1));
  // ap = pa + ir·kc·8 and bp = pb + jr·kc·8: the panels of this tile.
  emit(get(PA), get(IR), get(KC), I32_MUL, i32(3), I32_SHL, I32_ADD, set(AP));
  emit(get(PB), get(JR), get(KC), I32_MUL, i32(3), I32_SHL, I32_ADD, set(BP));
  for (let c = 0; c < 8; c++) emit(V128_ZERO, set(ACC + c));
  emit(get(KC), set(K), BLOCK, get(K), I32_EQZ, brIf(0), LOOP); // for (k = kc; k > 0; k--)
  emit(get(BP), v128Load(0), set(B), get(BP), v128Load(16), set(B + 1));
  for (let i = 0; i < 4; i++) {
    emit(get(AP), load64Splat(8 * i), set(A));
    for (let v = 0; v < 2; v++) emit(get(A), get(B + v), F64X2_MUL, get(ACC + 2 * i + v), F64X2_ADD, set(ACC + 2 * i + v));
  }
  emit(get(AP), i32(32), I32_ADD, set(AP), get(BP), i32(32), I32_ADD, set(BP));
  emit(get(K), i32(1), I32_SUB, tee(K), brIf(0), END, END);
  // cp = ct + ir·ldt + jr·8; store or accumulate the four rows.
  emit(get(CT), get(IR), get(LDT), I32_MUL, I32_ADD, get(JR), i32(3), I32_SHL, I32_ADD, set(CP));
  for (const first of [true, false]) {
    emit(first ? [...get(FIRST), ...IF] : ELSE);
    for (let i = 0; i < 4; i++) {
      for (let v = 0; v < 2; v++) {
        if (first) emit(get(CP), get(ACC + 2 * i + v), v128Store(16 * v));
        else emit(get(CP), get(CP), v128Load(16 * v), get(ACC + 2 * i + v), F64X2_ADD, v128Store(16 * v));
      }
      if (i < 3) emit(get(CP), get(LDT), I32_ADD, set(CP));
    }
  }
  emit(END);
  emit(get(IR), i32(4), I32_ADD, set(IR), br(0), END, END);
  emit(get(JR), i32(4), I32_ADD, set(JR), br(0), END, END);
  emit(END);
  const body = [
    ...vec([
      [...uleb(6), I32],
      [...uleb(11), V128],
    ]),
    ...code,
  ];
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00], // magic, version 1
    ...section(1, vec([[0x60, ...vec(new Array<number[]>(8).fill([I32])), ...vec([])]])), // type: (i32×8) → ()
    ...section(3, vec([[0]])), // function 0 has type 0
    ...section(5, vec([[0x00, ...uleb(16)]])), // memory 0: 16 pages, no maximum
    ...section(
      7,
      vec([
        [...name('mem'), 0x02, 0],
        [...name('block'), 0x00, 0],
      ]),
    ), // exports
    ...section(10, vec([[...uleb(body.length), ...body]])), // code
  ]);
}

interface WasmValidate {
  validate(bytes: Uint8Array): boolean;
}

/** The module bytes, or null where WebAssembly or its SIMD extension is unavailable. */
export const GEMM_WASM: Uint8Array | null = (() => {
  const wasm = (globalThis as unknown as { WebAssembly?: WasmValidate }).WebAssembly;
  if (!wasm) return null;
  const bytes = assemble();
  try {
    return wasm.validate(bytes) ? bytes : null;
  } catch {
    return null;
  }
})();
