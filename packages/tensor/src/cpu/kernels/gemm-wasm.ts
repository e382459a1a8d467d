/**
 * The GEMM inner loops as a WebAssembly SIMD module, assembled here at load time (about 1.5 KB; no
 * toolchain, no binary blob). Exports `mem` (16 pages = 1 MiB, holding the packed panels and the C tile) and
 * two block kernels with the same signature,
 *   block64(mcp, ncp, kc, pa, pb, ct, ldt, first)   float64 panels, 4×4 tiles of f64x2 arithmetic
 *   block32(mcp, ncp, kc, pa, pb, ct, ldt, first)   float32 panels, F32_MR×F32_NR tiles of f32x4 arithmetic
 * and dot32 (see dotBody) for thin products with a transposed B,
 * which, for every tile (ir, jr) of an mcp×ncp block, compute Σ_k pa[ir-panel][k] ⊗ pb[jr-panel][k] over kc
 * steps and store (first ≠ 0) or add it to the tile at byte address ct + ir·ldt + jr·(element bytes).
 * pa and pb are byte addresses of panels packed as matmul.ts's packPanels lays them out.
 *
 * block64 is the float64 reference: its 4×4 tile keeps 8 f64x2 accumulators; measured alternatives (6×4,
 * 4×6, 4×8, 8×4, k-unrolling) were 40–50% slower, apparently from register pressure in V8's code generator.
 * block32 does twice the lanes per instruction. Its multiply-add is f32x4.mul then f32x4.add (two roundings,
 * exactly what Math.fround arithmetic computes in JS), or with `relaxed` f32x4.relaxed_madd, which the engine
 * may fuse (one rounding; x64 V8 with FMA3 does), so its results are not reproducible in JS.
 */

/**
 * Rows and columns of block32's register tile: 4 rows × 2 f32x4 columns = 8 accumulators, 11 registers live
 * (V8 allocates 15 of x64's 16 vector registers). matmul.ts's micro32 is written out for this shape.
 */
export const F32_MR = 4;
export const F32_NR = 8;

/** Rows of A and of B (a transposed B's rows: C's columns) per dot32 tile: 8 accumulators, 14 registers live. */
export const DOT_MR = 4;
export const DOT_NR = 2;

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
// Opcodes (WebAssembly core 2.0, its fixed-width SIMD and relaxed SIMD extensions; SIMD ops follow the 0xfd
// prefix as LEB128).
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
const simd = (op: number): number[] => [0xfd, ...uleb(op)];
/** v128.load / v128.store with 16-byte alignment hint (2^4) and a constant offset. */
const v128Load = (offset: number): number[] => [...simd(0x00), 4, ...uleb(offset)];
const v128Store = (offset: number): number[] => [...simd(0x0b), 4, ...uleb(offset)];
/** v128.load32_splat / load64_splat: one float or double broadcast to every lane. */
const load32Splat = (offset: number): number[] => [...simd(0x09), 2, ...uleb(offset)];
const load64Splat = (offset: number): number[] => [...simd(0x0a), 3, ...uleb(offset)];
const V128_ZERO = [...simd(0x0c), ...new Array<number>(16).fill(0)];
const F32X4_ADD = simd(0xe4);
const F32X4_MUL = simd(0xe6);
const F64X2_ADD = simd(0xf0);
const F64X2_MUL = simd(0xf2);
const F32_ADD = [0x92];
const extractLane = (lane: number): number[] => [...simd(0x1f), lane];
const f32Store = (offset: number): number[] => [0x38, 2, ...uleb(offset)];
/** f32x4.relaxed_madd(a, b, c) = a·b + c, fused or not at the engine's choice. */
const F32X4_RELAXED_MADD = simd(0x105);

interface TileShape {
  /** Rows per tile (one broadcast A element each). */
  mr: number;
  /** Vectors per tile row; the tile has lanes·nv columns. */
  nv: number;
  lanes: number;
  /** log2 of the element size in bytes. */
  shift: number;
  splat: (offset: number) => number[];
  /** Emits acc ← a·b + acc given the local indices of a, b and acc. */
  madd: (a: number, b: number, acc: number) => number[];
  add: number[];
}

/** One block kernel: for jr, for ir, for k: the tile's accumulators, then store into or add onto the C tile. */
function blockBody(t: TileShape): number[] {
  // Parameters 0–7, then locals.
  const [MCP, NCP, KC, PA, PB, CT, LDT, FIRST] = [0, 1, 2, 3, 4, 5, 6, 7];
  const [JR, IR, K, AP, BP, CP] = [8, 9, 10, 11, 12, 13];
  const ACC = 14; // mr·nv accumulators: row i, vector v at ACC + nv·i + v
  const B = ACC + t.mr * t.nv; // nv B vectors
  const A = B + t.nv; // the broadcast A element
  const nr = t.lanes * t.nv;
  const bytes = 1 << t.shift;
  const code: number[] = [];
  const emit = (...parts: number[][]): void => {
    for (const p of parts) code.push(...p);
  };
  emit(i32(0), set(JR), BLOCK, LOOP); // for (jr = 0; jr < ncp; jr += nr)
  emit(get(JR), get(NCP), I32_LT_U, I32_EQZ, brIf(1));
  emit(i32(0), set(IR), BLOCK, LOOP); // for (ir = 0; ir < mcp; ir += mr)
  emit(get(IR), get(MCP), I32_LT_U, I32_EQZ, brIf(1));
  // ap = pa + ir·kc·bytes and bp = pb + jr·kc·bytes: the panels of this tile.
  emit(get(PA), get(IR), get(KC), I32_MUL, i32(t.shift), I32_SHL, I32_ADD, set(AP));
  emit(get(PB), get(JR), get(KC), I32_MUL, i32(t.shift), I32_SHL, I32_ADD, set(BP));
  for (let c = 0; c < t.mr * t.nv; c++) emit(V128_ZERO, set(ACC + c));
  emit(get(KC), set(K), BLOCK, get(K), I32_EQZ, brIf(0), LOOP); // for (k = kc; k > 0; k--)
  for (let v = 0; v < t.nv; v++) emit(get(BP), v128Load(16 * v), set(B + v));
  for (let i = 0; i < t.mr; i++) {
    emit(get(AP), t.splat(bytes * i), set(A));
    for (let v = 0; v < t.nv; v++) emit(t.madd(A, B + v, ACC + t.nv * i + v));
  }
  emit(get(AP), i32(bytes * t.mr), I32_ADD, set(AP), get(BP), i32(bytes * nr), I32_ADD, set(BP));
  emit(get(K), i32(1), I32_SUB, tee(K), brIf(0), END, END);
  // cp = ct + ir·ldt + jr·bytes; store or accumulate the tile's rows.
  emit(get(CT), get(IR), get(LDT), I32_MUL, I32_ADD, get(JR), i32(t.shift), I32_SHL, I32_ADD, set(CP));
  for (const first of [true, false]) {
    emit(first ? [...get(FIRST), ...IF] : ELSE);
    for (let i = 0; i < t.mr; i++) {
      for (let v = 0; v < t.nv; v++) {
        const acc = ACC + t.nv * i + v;
        if (first) emit(get(CP), get(acc), v128Store(16 * v));
        else emit(get(CP), get(CP), v128Load(16 * v), get(acc), t.add, v128Store(16 * v));
      }
      if (i < t.mr - 1) emit(get(CP), get(LDT), I32_ADD, set(CP));
    }
  }
  emit(END);
  emit(get(IR), i32(t.mr), I32_ADD, set(IR), br(0), END, END);
  emit(get(JR), i32(nr), I32_ADD, set(JR), br(0), END, END);
  emit(END);
  return [
    ...vec([
      [...uleb(6), I32],
      [...uleb(t.mr * t.nv + t.nv + 1), V128],
    ]),
    ...code,
  ];
}

const F64_TILE: TileShape = {
  mr: 4,
  nv: 2,
  lanes: 2,
  shift: 3,
  splat: load64Splat,
  madd: (a, b, acc) => [...get(a), ...get(b), ...F64X2_MUL, ...get(acc), ...F64X2_ADD, ...set(acc)],
  add: F64X2_ADD,
};

function f32Tile(relaxed: boolean): TileShape {
  return {
    mr: F32_MR,
    nv: F32_NR / 4,
    lanes: 4,
    shift: 2,
    splat: load32Splat,
    madd: relaxed
      ? (a, b, acc) => [...get(a), ...get(b), ...get(acc), ...F32X4_RELAXED_MADD, ...set(acc)]
      : (a, b, acc) => [...get(a), ...get(b), ...F32X4_MUL, ...get(acc), ...F32X4_ADD, ...set(acc)],
    add: F32X4_ADD,
  };
}

/**
 * dot32(mcp, ncp, kcp, pa, pb, ct, ldt): ct[i, j] = Σ_k pa[i, k] · pb[j, k] for the mcp×ncp tile, where
 * pa and pb hold rows of kcp floats (kcp a multiple of 4, zero-padded; mcp, ncp multiples of DOT_MR, DOT_NR).
 * For a thin product with a transposed B (a linear layer: few rows times a large [out, in] weight), B's rows
 * are copied as they are instead of being repacked into panels. Each accumulator sums lane t over
 * k ≡ t (mod 4); the lanes are then added as (l0 + l1) + (l2 + l3) in float32.
 */
function dotBody(relaxed: boolean): number[] {
  const [MCP, NCP, KCP, PA, PB, CT, LDT] = [0, 1, 2, 3, 4, 5, 6];
  const [JR, IR, KOFF, KEND, RS, CP] = [7, 8, 9, 10, 11, 12];
  const ROWA = 13; // DOT_MR row addresses of A, then DOT_NR of B
  const ROWB = ROWA + DOT_MR;
  const I32_LOCALS = ROWB + DOT_NR - JR;
  const ACC = ROWB + DOT_NR; // DOT_MR·DOT_NR accumulators: (i, j) at ACC + DOT_NR·i + j
  const VA = ACC + DOT_MR * DOT_NR;
  const VB = VA + DOT_MR;
  const code: number[] = [];
  const emit = (...parts: number[][]): void => {
    for (const p of parts) code.push(...p);
  };
  emit(get(KCP), i32(2), I32_SHL, set(RS)); // bytes per row
  emit(i32(0), set(JR), BLOCK, LOOP); // for (jr = 0; jr < ncp; jr += DOT_NR)
  emit(get(JR), get(NCP), I32_LT_U, I32_EQZ, brIf(1));
  emit(i32(0), set(IR), BLOCK, LOOP); // for (ir = 0; ir < mcp; ir += DOT_MR)
  emit(get(IR), get(MCP), I32_LT_U, I32_EQZ, brIf(1));
  emit(get(PA), get(IR), get(RS), I32_MUL, I32_ADD, set(ROWA));
  for (let i = 1; i < DOT_MR; i++) emit(get(ROWA + i - 1), get(RS), I32_ADD, set(ROWA + i));
  emit(get(PB), get(JR), get(RS), I32_MUL, I32_ADD, set(ROWB));
  for (let j = 1; j < DOT_NR; j++) emit(get(ROWB + j - 1), get(RS), I32_ADD, set(ROWB + j));
  for (let c = 0; c < DOT_MR * DOT_NR; c++) emit(V128_ZERO, set(ACC + c));
  emit(i32(0), set(KOFF), get(RS), set(KEND));
  emit(BLOCK, get(KEND), I32_EQZ, brIf(0), LOOP); // for (koff = 0; koff < kcp·4; koff += 16)
  for (let i = 0; i < DOT_MR; i++) emit(get(ROWA + i), get(KOFF), I32_ADD, v128Load(0), set(VA + i));
  for (let j = 0; j < DOT_NR; j++) emit(get(ROWB + j), get(KOFF), I32_ADD, v128Load(0), set(VB + j));
  for (let i = 0; i < DOT_MR; i++) {
    for (let j = 0; j < DOT_NR; j++) {
      const acc = ACC + DOT_NR * i + j;
      if (relaxed) emit(get(VA + i), get(VB + j), get(acc), F32X4_RELAXED_MADD, set(acc));
      else emit(get(VA + i), get(VB + j), F32X4_MUL, get(acc), F32X4_ADD, set(acc));
    }
  }
  emit(get(KOFF), i32(16), I32_ADD, tee(KOFF), get(KEND), I32_LT_U, brIf(0), END, END);
  // cp = ct + ir·ldt + jr·4; each accumulator's lanes summed into one float.
  emit(get(CT), get(IR), get(LDT), I32_MUL, I32_ADD, get(JR), i32(2), I32_SHL, I32_ADD, set(CP));
  for (let i = 0; i < DOT_MR; i++) {
    for (let j = 0; j < DOT_NR; j++) {
      const acc = ACC + DOT_NR * i + j;
      emit(get(CP), get(acc), extractLane(0), get(acc), extractLane(1), F32_ADD);
      emit(get(acc), extractLane(2), get(acc), extractLane(3), F32_ADD, F32_ADD, f32Store(4 * j));
    }
    if (i < DOT_MR - 1) emit(get(CP), get(LDT), I32_ADD, set(CP));
  }
  emit(get(IR), i32(DOT_MR), I32_ADD, set(IR), br(0), END, END);
  emit(get(JR), i32(DOT_NR), I32_ADD, set(JR), br(0), END, END);
  emit(END);
  return [
    ...vec([
      [...uleb(I32_LOCALS), I32],
      [...uleb(DOT_MR * DOT_NR + DOT_MR + DOT_NR), V128],
    ]),
    ...code,
  ];
}

function assemble(relaxed: boolean): Uint8Array {
  const bodies = [blockBody(F64_TILE), blockBody(f32Tile(relaxed)), dotBody(relaxed)];
  const params = (n: number): number[] => [0x60, ...vec(new Array<number[]>(n).fill([I32])), ...vec([])];
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00], // magic, version 1
    ...section(1, vec([params(8), params(7)])), // types: (i32×8) → (), (i32×7) → ()
    ...section(3, vec([[0], [0], [1]])), // functions' types
    ...section(5, vec([[0x00, ...uleb(16)]])), // memory 0: 16 pages, no maximum
    ...section(
      7,
      vec([
        [...name('mem'), 0x02, 0],
        [...name('block64'), 0x00, 0],
        [...name('block32'), 0x00, 1],
        [...name('dot32'), 0x00, 2],
      ]),
    ), // exports
    ...section(10, vec(bodies.map((body) => [...uleb(body.length), ...body]))), // code
  ]);
}

interface WasmValidate {
  validate(bytes: Uint8Array): boolean;
}

function validated(bytes: Uint8Array): Uint8Array | null {
  const wasm = (globalThis as unknown as { WebAssembly?: WasmValidate }).WebAssembly;
  if (!wasm) return null;
  try {
    return wasm.validate(bytes) ? bytes : null;
  } catch {
    return null;
  }
}

const modules = new Map<boolean, Uint8Array | null>();

/**
 * The module's bytes, or null where WebAssembly or its SIMD extension is unavailable (or, with `relaxed`,
 * where the engine lacks relaxed SIMD: see relaxed-simd.ts for enabling it in Node 20).
 */
export function gemmWasm(relaxed: boolean): Uint8Array | null {
  let bytes = modules.get(relaxed);
  if (bytes === undefined) modules.set(relaxed, (bytes = validated(assemble(relaxed))));
  return bytes;
}
