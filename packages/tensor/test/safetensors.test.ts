import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { Tensor, TesseraError, noGrad, randn, tensor, zeros } from '../src/index.js';
import type { DType } from '../src/index.js';
import { MAX_HEADER_BYTES, loadSafetensors, parseSafetensors, parseSafetensorsHeader, saveSafetensors, serializeSafetensors } from '../src/io/index.js';

const dir = mkdtempSync(join(tmpdir(), 'tessera-st-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function expectTessera(fn: () => unknown, op: string, ...fragments: (string | RegExp)[]): TesseraError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught, `expected a TesseraError containing ${fragments.join(' … ')}`).toBeInstanceOf(TesseraError);
  expect((caught as TesseraError).op).toBe(op);
  for (const f of fragments) expect((caught as Error).message).toMatch(f);
  return caught as TesseraError;
}

const enc = new TextEncoder();

/** [u64 N][header][data], with N the header's byte length unless overridden. */
function file(header: string | object, data: ArrayLike<number> = [], n?: bigint): Uint8Array {
  const h = typeof header === 'string' ? enc.encode(header) : enc.encode(JSON.stringify(header));
  return rawFile(h, data, n ?? BigInt(h.length));
}

function rawFile(h: Uint8Array, data: ArrayLike<number>, n: bigint): Uint8Array {
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, n, true);
  out.set(h, 8);
  out.set(Array.from(data), 8 + h.length);
  return out;
}

function f32Bytes(...v: number[]): number[] {
  return Array.from(new Uint8Array(new Float32Array(v).buffer));
}

function u16Bytes(...v: number[]): number[] {
  return v.flatMap((x) => [x & 0xff, x >> 8]);
}

function i64Bytes(...v: bigint[]): number[] {
  const b = new Uint8Array(8 * v.length);
  v.forEach((x, i) => new DataView(b.buffer).setBigInt64(8 * i, x, true));
  return Array.from(b);
}

async function values(t: Tensor): Promise<number[]> {
  return Array.from(await t.data());
}

describe('writing: byte-identical to the reference implementation', () => {
  // Expected bytes from the safetensors crate's own tests (safetensors/src/tensor.rs).
  it('one F32 tensor ("attn.0", test_serialization)', async () => {
    const attn = tensor([0, 1, 2, 3, 4, 5], [1, 2, 3]);
    const out = await serializeSafetensors(new Map([['attn.0', attn]]));
    expect(Array.from(out)).toEqual([
      64, 0, 0, 0, 0, 0, 0, 0, 123, 34, 97, 116, 116, 110, 46, 48, 34, 58, 123, 34, 100, 116, 121, 112, 101, 34, 58, 34, 70, 51, 50, 34, 44, 34, 115, 104, 97,
      112, 101, 34, 58, 91, 49, 44, 50, 44, 51, 93, 44, 34, 100, 97, 116, 97, 95, 111, 102, 102, 115, 101, 116, 115, 34, 58, 91, 48, 44, 50, 52, 93, 125, 125,
      0, 0, 0, 0, 0, 0, 128, 63, 0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128, 64, 0, 0, 160, 64,
    ]);
  });

  it('header padding to 8 bytes with spaces ("attn0", test_serialization_forced_alignement)', async () => {
    const out = await serializeSafetensors({ attn0: tensor([0, 1, 2, 3, 4, 5], [1, 1, 2, 3]) });
    expect(Array.from(out)).toEqual([
      72, 0, 0, 0, 0, 0, 0, 0, 123, 34, 97, 116, 116, 110, 48, 34, 58, 123, 34, 100, 116, 121, 112, 101, 34, 58, 34, 70, 51, 50, 34, 44, 34, 115, 104, 97, 112,
      101, 34, 58, 91, 49, 44, 49, 44, 50, 44, 51, 93, 44, 34, 100, 97, 116, 97, 95, 111, 102, 102, 115, 101, 116, 115, 34, 58, 91, 48, 44, 50, 52, 93, 125,
      125, 32, 32, 32, 32, 32, 32, 32, 0, 0, 0, 0, 0, 0, 128, 63, 0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128, 64, 0, 0, 160, 64,
    ]);
  });

  it('no tensors, with and without metadata (test_empty)', async () => {
    expect(Array.from(await serializeSafetensors(new Map()))).toEqual([8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32]);
    expect(Array.from(await serializeSafetensors({}, { metadata: { framework: 'pt' } }))).toEqual([
      40, 0, 0, 0, 0, 0, 0, 0, 123, 34, 95, 95, 109, 101, 116, 97, 100, 97, 116, 97, 95, 95, 34, 58, 123, 34, 102, 114, 97, 109, 101, 119, 111, 114, 107, 34,
      58, 34, 112, 116, 34, 125, 125, 32, 32, 32, 32, 32,
    ]);
  });

  it('orders tensors by descending dtype alignment, then by name bytes, so every tensor is aligned', async () => {
    const out = await serializeSafetensors({
      'b.int': tensor([1, 2, 3], undefined, { dtype: 'int32' }),
      'a.float': tensor([1.5]),
      z64: tensor([2.5], undefined, { dtype: 'float64' }),
      B: tensor([7]),
      é: tensor([8]),
      a64: tensor([1, 2], undefined, { dtype: 'float64' }),
    });
    const header = parseSafetensorsHeader(out);
    expect(header.entries.map((e) => [e.name, e.dtype, e.dataOffsets])).toEqual([
      ['a64', 'F64', [0, 16]],
      ['z64', 'F64', [16, 24]],
      ['B', 'F32', [24, 28]],
      ['a.float', 'F32', [28, 32]],
      ['é', 'F32', [32, 36]],
      ['b.int', 'I32', [36, 48]],
    ]);
    expect(header.dataStart % 8).toBe(0);
  });

  it('rejects what the format cannot hold', async () => {
    await expect(serializeSafetensors({ __metadata__: tensor([1]) })).rejects.toThrow(/reserves it/);
    await expect(serializeSafetensors({}, { metadata: { n: 5 as unknown as string } })).rejects.toThrow(/must be a string/);
    const dead = tensor([1]);
    dead.dispose();
    await expect(serializeSafetensors({ dead })).rejects.toThrow(/"dead".*disposed/);
    await expect(serializeSafetensors({ x: 3 as unknown as Tensor })).rejects.toThrow(/not a Tensor/);
  });
});

describe('round trips', () => {
  it('F32, I32 and F64 tensors of every rank (scalars and empty tensors included), names and metadata', async () => {
    const tensors = new Map<string, Tensor>([
      ['features.0.weight', randn([4, 3, 5, 5], { seed: 1 })],
      ['features.0.bias', tensor([-0, 1e-45, 3.4e38, -Infinity, Infinity, NaN])],
      ['step', tensor(41, undefined, { dtype: 'int32' })],
      ['labels', tensor([-2147483648, 0, 2147483647], undefined, { dtype: 'int32' })],
      ['gradcheck', tensor([Math.PI, 5e-324, -1e300], undefined, { dtype: 'float64' })],
      ['empty', zeros([0, 3])],
      ['名前 with "quotes" and \\ and \n', tensor([1])],
    ]);
    const metadata = { format: 'pt', config: JSON.stringify({ lr: 0.01, nested: { ok: true } }), '': 'empty key' };
    const path = join(dir, 'roundtrip.safetensors');
    await saveSafetensors(tensors, path, { metadata });
    const loaded = await loadSafetensors(path);
    expect(loaded.metadata).toEqual(metadata);
    expect([...loaded.keys()].sort()).toEqual([...tensors.keys()].sort());
    for (const [name, t] of tensors) {
      const u = loaded.get(name)!;
      expect(u.shape, name).toEqual(t.shape);
      expect(u.dtype, name).toBe(t.dtype);
      expect(await values(u), name).toEqual(await values(t)); // toEqual tells -0 from 0 and matches NaN
      expect(u.requiresGrad).toBe(false);
    }
    // In memory, the same bytes.
    expect(Buffer.from(await serializeSafetensors(tensors, { metadata })).equals(readFileSync(path))).toBe(true);
    const parsed = parseSafetensors(readFileSync(path));
    expect(await values(parsed.get('gradcheck')!)).toEqual([Math.PI, 5e-324, -1e300]);
    loaded.dispose();
    expect(loaded.size).toBe(0);
  });

  it('any set of tensors survives serialize → parse (property)', async () => {
    const dtypeArb = fc.constantFrom<DType>('float32', 'int32', 'float64');
    const specArb = fc.record({ dtype: dtypeArb, shape: fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 3 }), seed: fc.nat() });
    await fc.assert(
      fc.asyncProperty(
        fc.dictionary(
          fc.string({ maxLength: 6 }).filter((s) => s !== '__metadata__'),
          specArb,
          { maxKeys: 5 },
        ),
        fc.dictionary(fc.string(), fc.string(), { maxKeys: 3 }),
        async (specs, metadata) => {
          const tensors = new Map<string, Tensor>();
          for (const [name, s] of Object.entries(specs)) {
            const n = s.shape.reduce((a, b) => a * b, 1);
            const vals = Array.from({ length: n }, (_, i) => (s.dtype === 'int32' ? ((s.seed + i * 7919) % 2001) - 1000 : Math.sin(s.seed + i) * 1e3));
            tensors.set(name, tensor(vals, s.shape, { dtype: s.dtype }));
          }
          const bytes = await serializeSafetensors(tensors, { metadata });
          const back = parseSafetensors(bytes);
          expect(back.metadata).toEqual(metadata);
          expect(back.size).toBe(tensors.size);
          for (const [name, t] of tensors) {
            const u = back.get(name)!;
            expect(u.shape).toEqual(t.shape);
            expect(u.dtype).toBe(t.dtype);
            expect(await values(u)).toEqual(await values(t));
          }
          back.dispose();
          for (const t of tensors.values()) t.dispose();
        },
      ),
      { numRuns: 60 },
    );
  });

  it('saves atomically: replaces the file whole, leaves no temporary behind, and fails cleanly', async () => {
    const sub = mkdtempSync(join(dir, 'atomic-'));
    const path = join(sub, 'ckpt.safetensors');
    await saveSafetensors({ a: tensor([1, 2]) }, path);
    await saveSafetensors({ b: tensor([3]) }, path);
    expect(readdirSync(sub)).toEqual(['ckpt.safetensors']);
    expect([...(await loadSafetensors(path)).keys()]).toEqual(['b']);
    await expect(saveSafetensors({ a: tensor([1]) }, join(sub, 'missing', 'x.safetensors'))).rejects.toThrow(/saveSafetensors: cannot write/);
    expect(readdirSync(sub)).toEqual(['ckpt.safetensors']);
  });

  it('a save is a snapshot of the tensors at the call, even if they change before it completes', async () => {
    const t = tensor([1, 2, 3]);
    const path = join(dir, 'snapshot.safetensors');
    const pending = saveSafetensors({ t }, path);
    noGrad(() => t.copy_(tensor([9, 9, 9])));
    await pending;
    expect(await values((await loadSafetensors(path)).get('t')!)).toEqual([1, 2, 3]);
  });
});

describe('reading other writers’ files', () => {
  it('converts F16 and BF16 to float32 exactly (subnormals, infinities, NaN, −0)', async () => {
    const f16 = [0x3c00, 0xc000, 0x7bff, 0x0001, 0x03ff, 0x7c00, 0xfc00, 0x7e00, 0x8000, 0x3555];
    const bf16 = [0x3f80, 0xc049, 0x7f80, 0x0001, 0x8000];
    const m = parseSafetensors(
      file(
        {
          h: { dtype: 'F16', shape: [10], data_offsets: [0, 20] },
          b: { dtype: 'BF16', shape: [5], data_offsets: [20, 30] },
        },
        [...u16Bytes(...f16), ...u16Bytes(...bf16)],
      ),
    );
    expect(m.get('h')!.dtype).toBe('float32');
    expect(await values(m.get('h')!)).toEqual([1, -2, 65504, 2 ** -24, 1023 * 2 ** -24, Infinity, -Infinity, NaN, -0, 0.333251953125]);
    expect(await values(m.get('b')!)).toEqual([1, -3.140625, Infinity, Math.fround(2 ** -133), -0]);
  });

  it('converts integer dtypes to int32, range-checking the wide ones', async () => {
    const m = parseSafetensors(
      file(
        {
          __metadata__: { k: 'v' },
          l: { dtype: 'I64', shape: [4], data_offsets: [0, 32] },
          u: { dtype: 'U64', shape: [1], data_offsets: [32, 40] },
          i: { dtype: 'I16', shape: [2], data_offsets: [40, 44] },
          w: { dtype: 'U16', shape: [1], data_offsets: [44, 46] },
          c: { dtype: 'I8', shape: [2], data_offsets: [46, 48] },
          y: { dtype: 'U8', shape: [2], data_offsets: [48, 50] },
          z: { dtype: 'BOOL', shape: [2, 2], data_offsets: [50, 54] },
        },
        [
          ...i64Bytes(-2147483648n, 2147483647n, 0n, -1n),
          ...i64Bytes(2147483647n),
          ...u16Bytes(0x8000, 1234),
          ...u16Bytes(65535),
          0xff,
          0x7f,
          0xff,
          0,
          0,
          1,
          2,
          1,
        ],
      ),
    );
    for (const t of m.values()) expect(t.dtype).toBe('int32');
    expect(await values(m.get('l')!)).toEqual([-2147483648, 2147483647, 0, -1]);
    expect(await values(m.get('u')!)).toEqual([2147483647]);
    expect(await values(m.get('i')!)).toEqual([-32768, 1234]);
    expect(await values(m.get('w')!)).toEqual([65535]);
    expect(await values(m.get('c')!)).toEqual([-1, 127]);
    expect(await values(m.get('y')!)).toEqual([255, 0]);
    expect(await m.get('z')!.toArray()).toEqual([
      [0, 1],
      [1, 1],
    ]);
    expect(m.metadata).toEqual({ k: 'v' });
  });

  it('accepts whitespace around the JSON, entries in any order and unknown entry fields', async () => {
    const m = parseSafetensors(
      file(
        ' \n{ "b" : {"data_offsets":[4,8],"shape":[1],"dtype":"F32", "note": "x"},\t"a":{"dtype":"F32","shape":[],"data_offsets":[0,4]} }\n   ',
        f32Bytes(1, 2),
      ),
    );
    expect([...m.keys()]).toEqual(['b', 'a']);
    expect(await values(m.get('a')!)).toEqual([1]);
    expect(m.get('a')!.shape).toEqual([]);
    expect(await values(m.get('b')!)).toEqual([2]);
    expect(m.metadata).toEqual({});
  });

  it('creates the tensors on the backend asked for', () => {
    const m = parseSafetensors(file({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, f32Bytes(1)), { backend: 'cpu' });
    expect(m.get('a')!.backend).toBe('cpu');
    expectTessera(() => parseSafetensors(file({}), { backend: 'nope' }), 'parseSafetensors', 'no backend named "nope"');
  });
});

describe('malformed files: one clear error each, naming the tensor and what was expected', () => {
  const ok = { dtype: 'F32', shape: [2], data_offsets: [0, 8] };
  const cases: [string, Uint8Array, ...(string | RegExp)[]][] = [
    ['shorter than the length field', new Uint8Array(5), 'the file is 5 bytes long; a safetensors file starts with an 8-byte header length'],
    ['header length past the end', file('{}', [], 100n), 'the header length is 100 bytes but only 2 bytes follow the length field'],
    ['header length over the limit', file('{}', [], 1n << 40n), `over the format's limit of ${MAX_HEADER_BYTES}`],
    ['header length beyond 2^53', file('{}', [], (1n << 64n) - 1n), 'over the format'],
    ['invalid UTF-8', rawFile(new Uint8Array([0x7b, 0xff, 0x7d]), [], 3n), 'not valid UTF-8'],
    ['invalid JSON', file('{"a": {'), 'the header is not valid JSON'],
    ['text after the JSON', file('{} {}'), /not valid JSON: unexpected "\{" after the JSON value/],
    ['a NUL-padded header', file('{}\0\0'), 'not valid JSON'],
    ['header not an object', file('[1, 2]'), 'the header must be a JSON object', 'got the array [1,2]'],
    ['entry not an object', file({ a: 5 }), 'tensor "a": expected an object {dtype, shape, data_offsets}, got 5'],
    ['missing dtype', file({ a: { shape: [2], data_offsets: [0, 8] } }, f32Bytes(1, 2)), 'tensor "a": "dtype" must be a string such as "F32", got missing'],
    ['unknown dtype', file({ a: { ...ok, dtype: 'F31' } }, f32Bytes(1, 2)), 'tensor "a": unknown dtype "F31"', 'F32'],
    [
      'negative shape',
      file({ a: { ...ok, shape: [-2] } }, f32Bytes(1, 2)),
      'tensor "a": "shape" must be an array of non-negative integers, got the array [-2]',
    ],
    ['fractional shape', file({ a: { ...ok, shape: [1.5] } }, f32Bytes(1, 2)), '"shape" must be an array of non-negative integers'],
    ['shape not an array', file({ a: { ...ok, shape: 2 } }, f32Bytes(1, 2)), '"shape" must be an array', 'got 2'],
    ['missing data_offsets', file({ a: { dtype: 'F32', shape: [2] } }, f32Bytes(1, 2)), 'tensor "a": "data_offsets" must be [begin, end]', 'got missing'],
    ['three offsets', file({ a: { ...ok, data_offsets: [0, 4, 8] } }, f32Bytes(1, 2)), '"data_offsets" must be [begin, end]'],
    [
      'offsets backwards',
      file({ a: { dtype: 'F32', shape: [0], data_offsets: [8, 0] } }, f32Bytes(1, 2)),
      'tensor "a": data_offsets [8, 0] end before they begin',
    ],
    [
      'size not matching shape × dtype',
      file({ a: { ...ok, shape: [3] } }, f32Bytes(1, 2)),
      'tensor "a": F32 [3] needs 3 × 4 = 12 bytes but data_offsets [0, 8] span 8',
    ],
    ['offsets past the data', file({ a: ok }, f32Bytes(1)), 'tensor "a": data_offsets [0, 8] run past the end of the data (4 bytes'],
    [
      'overlapping tensors',
      file({ a: ok, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, f32Bytes(1, 2, 3)),
      'tensor "b": data_offsets [4, 12] overlap tensor "a" [0, 8]',
    ],
    [
      'a gap between tensors',
      file({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, b: { dtype: 'F32', shape: [1], data_offsets: [8, 12] } }, f32Bytes(1, 2, 3)),
      'bytes 4…7 of the data are not covered by any tensor (tensor "b" begins at 8)',
    ],
    ['data not starting at 0', file({ a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, f32Bytes(1, 2)), 'bytes 0…3 of the data are not covered'],
    [
      'trailing bytes',
      file({ a: ok }, f32Bytes(1, 2, 3)),
      'the file has 4 unused trailing bytes: the tensors end at data offset 8 but the data part is 12 bytes long',
    ],
    ['data but no tensors', file({}, [1, 2, 3]), '3 unused trailing bytes'],
    [
      'duplicate tensor names',
      file('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', f32Bytes(1, 2)),
      'duplicate tensor name "a"',
    ],
    [
      'duplicate keys inside an entry',
      file('{"a":{"dtype":"F32","dtype":"I32","shape":[1],"data_offsets":[0,4]}}', f32Bytes(1)),
      'duplicate key "dtype" in "a"',
    ],
    ['metadata not an object', file({ __metadata__: 'x' }), '"__metadata__" must be an object of strings'],
    ['a metadata value not a string', file({ __metadata__: { epoch: 3 } }), '"__metadata__" value for "epoch" must be a string, got 3'],
    [
      'an unsupported dtype',
      file({ a: { dtype: 'F8_E4M3', shape: [2], data_offsets: [0, 2] } }, [1, 2]),
      'tensor "a" has dtype F8_E4M3, which tessera cannot load',
    ],
    [
      'I64 beyond int32',
      file({ a: { dtype: 'I64', shape: [2], data_offsets: [0, 16] } }, i64Bytes(1n, 2147483648n)),
      'tensor "a": I64 element 1 of [2] is 2147483648, outside the int32 range',
    ],
    [
      'negative I64 beyond int32',
      file({ a: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }, i64Bytes(-2147483649n)),
      'is -2147483649, outside the int32 range',
    ],
    ['U32 beyond int32', file({ a: { dtype: 'U32', shape: [1], data_offsets: [0, 4] } }, [0, 0, 0, 0x80]), 'tensor "a": U32 element 0 is 2147483648'],
  ];
  for (const [what, bytes, ...fragments] of cases) {
    it(what, () => {
      expectTessera(() => parseSafetensors(bytes), 'parseSafetensors', ...fragments);
    });
  }

  it('loadSafetensors reports the same errors with its own name and the path, and unreadable files', async () => {
    const path = join(dir, 'bad.safetensors');
    writeFileSync(path, file({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, f32Bytes(1, 2, 3)));
    const err = await loadSafetensors(path).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TesseraError);
    expect((err as TesseraError).op).toBe('loadSafetensors');
    expect((err as Error).message).toBe(
      `loadSafetensors: ${path}: the file has 4 unused trailing bytes: the tensors end at data offset 8 but the data part is 12 bytes long`,
    );
    await expect(loadSafetensors(join(dir, 'nope.safetensors'))).rejects.toThrow(/loadSafetensors: cannot read .*nope\.safetensors.*ENOENT/);
  });

  it('never fails with anything but a TesseraError, however the bytes are damaged (property)', async () => {
    const valid = await serializeSafetensors(
      { w: randn([3, 2], { seed: 4 }), i: tensor([1, 2], undefined, { dtype: 'int32' }), d: tensor([0.5], undefined, { dtype: 'float64' }) },
      { metadata: { a: 'b' } },
    );
    fc.assert(
      fc.property(
        fc.oneof(
          fc.record({ kind: fc.constant('truncate' as const), at: fc.nat({ max: valid.length - 1 }) }),
          fc.record({ kind: fc.constant('flip' as const), at: fc.nat({ max: valid.length - 1 }), value: fc.integer({ min: 0, max: 255 }) }),
          fc.record({ kind: fc.constant('append' as const), extra: fc.uint8Array({ minLength: 1, maxLength: 9 }) }),
        ),
        (m) => {
          let bytes: Uint8Array;
          if (m.kind === 'truncate') bytes = valid.slice(0, m.at);
          else if (m.kind === 'append') bytes = new Uint8Array([...valid, ...m.extra]);
          else {
            bytes = valid.slice();
            bytes[m.at] = m.value;
          }
          try {
            parseSafetensors(bytes).dispose();
          } catch (err) {
            if (!(err instanceof TesseraError)) throw err;
          }
          // Damage that changes the structure is always caught.
          if (m.kind !== 'flip') expect(() => parseSafetensors(bytes)).toThrow(TesseraError);
        },
      ),
      { numRuns: 400 },
    );
  });
});

// ---- interop with an independent implementation (scripts/safetensors_fixture.py) ---------------------

const script = fileURLToPath(new URL('../scripts/safetensors_fixture.py', import.meta.url));
const python = ['python3', '/usr/bin/python3'].find((exe) => spawnSync(exe, ['-c', 'import struct, json, math'], { stdio: 'ignore' }).status === 0);
if (!python) console.warn('safetensors.test.ts: Python interop tests skipped: no python3 with the standard library on PATH');

function runPython(...args: string[]): unknown {
  const r = spawnSync(python!, [script, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${script} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout);
}

interface PyTensor {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
  values: (number | boolean | string)[];
}
interface PyFile {
  headerBytes: number;
  metadata: Record<string, string> | null;
  tensors: Record<string, PyTensor>;
  reference?: string;
}

const decodeNumber = (v: number | boolean | string): number => (typeof v === 'boolean' ? Number(v) : typeof v === 'string' ? Number(v) : v);

describe.skipIf(!python)('interop with an independent Python implementation (skipped without python3)', () => {
  it('loads every dtype of a file Python wrote, values and metadata exact', async () => {
    const out = mkdtempSync(join(dir, 'py-'));
    const desc = runPython('write', out) as Record<'mixed' | 'native', PyFile> & { reference: string };
    const loaded = await loadSafetensors(join(out, 'mixed.safetensors'));
    expect(loaded.metadata).toEqual(desc.mixed.metadata);
    expect([...loaded.keys()].sort()).toEqual(Object.keys(desc.mixed.tensors).sort());
    const expectedDtype: Record<string, DType> = { F32: 'float32', F16: 'float32', BF16: 'float32', F64: 'float64' };
    for (const [name, py] of Object.entries(desc.mixed.tensors)) {
      const t = loaded.get(name)!;
      expect(t.shape, name).toEqual(py.shape);
      expect(t.dtype, name).toBe(expectedDtype[py.dtype] ?? 'int32');
      const expected = py.values.map(decodeNumber).map((v) => (t.dtype === 'float32' ? Math.fround(v) : v));
      expect(await values(t), name).toEqual(expected);
    }
    expect(await values(loaded.get('half')!)).toContain(-0);
  });

  it('re-serialises Python’s F32/I32/F64 file byte for byte (and the reference package’s, when installed)', async () => {
    const out = mkdtempSync(join(dir, 'py-'));
    const desc = runPython('write', out) as Record<'mixed' | 'native', PyFile> & { reference: string };
    const original = readFileSync(join(out, 'native.safetensors'));
    const loaded = await loadSafetensors(join(out, 'native.safetensors'));
    const again = await serializeSafetensors(loaded, { metadata: loaded.metadata });
    expect(Buffer.from(again).equals(original)).toBe(true);
    if (desc.reference === 'written') {
      expect(Buffer.from(again).equals(readFileSync(join(out, 'native.ref.safetensors')))).toBe(true);
    } else {
      console.warn('safetensors.test.ts: the Python `safetensors` package is not installed; compared with the standard-library writer only');
    }
  });

  it('writes files Python reads back strictly, with the same offsets and values', async () => {
    const path = join(dir, 'for-python.safetensors');
    const tensors = {
      'conv.weight': randn([2, 3, 2], { seed: 3 }),
      scalar: tensor(-7.25),
      empty: zeros([3, 0]),
      ids: tensor([5, -6, 2147483647], undefined, { dtype: 'int32' }),
      grads: tensor([1 / 3, -1e-310], undefined, { dtype: 'float64' }),
      'ünïcode·name': tensor([42]),
    };
    await saveSafetensors(tensors, path, { metadata: { epoch: '12', note: 'ünïcode "quoted"' } });
    const py = runPython('read', path) as PyFile;
    expect(py.metadata).toEqual({ epoch: '12', note: 'ünïcode "quoted"' });
    const header = parseSafetensorsHeader(readFileSync(path));
    expect(py.headerBytes).toBe(header.headerBytes);
    for (const e of header.entries) {
      const p = py.tensors[e.name]!;
      expect(p.dtype).toBe(e.dtype);
      expect(p.shape).toEqual(e.shape);
      expect(p.data_offsets).toEqual(e.dataOffsets);
      expect(p.values.map(decodeNumber)).toEqual(await values(tensors[e.name as keyof typeof tensors]));
    }
    if (py.reference === 'agrees') console.info('safetensors.test.ts: the reference `safetensors` package reads the file identically');
  });
});
