// loadTorch: torch.save archives read without Python. Real files come from PyTorch itself (scripts/torch_fixture.py,
// when /usr/bin/python3 has torch); the malformed cases are built here byte by byte (a small zip writer and
// hand-assembled pickles), so each corruption is exactly the one named.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crc32 as zcrc32, deflateRawSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Tensor, TesseraError } from '../src/index.js';
import { TorchDict, loadTorch, loadTorchStateDict, parseTorch, torchStateDict, type TorchConversion, type TorchValue } from '../src/io/index.js';

const script = fileURLToPath(new URL('../scripts/torch_fixture.py', import.meta.url));

async function rejects(p: Promise<unknown>, op: string, ...fragments: (string | RegExp)[]): Promise<TesseraError> {
  let caught: unknown;
  try {
    await p;
  } catch (err) {
    caught = err;
  }
  expect(caught, `expected a TesseraError matching ${fragments.join(' … ')}`).toBeInstanceOf(TesseraError);
  expect((caught as TesseraError).op).toBe(op);
  for (const f of fragments) expect((caught as Error).message).toMatch(f);
  return caught as TesseraError;
}

// ---- a small zip writer (stored or deflated entries; optional ZIP64 records) -----------------------------------

interface ZipFileSpec {
  name: string;
  data: Uint8Array;
  deflate?: boolean;
  /** Overrides the CRC-32 written (to corrupt it). */
  crc?: number;
}

function zip(entries: ZipFileSpec[], opts: { zip64?: boolean } = {}): Uint8Array {
  const chunks: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  const u16 = (v: number) => [v & 0xff, (v >> 8) & 0xff];
  const u32 = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
  const u64 = (v: number) => [...u32(v % 2 ** 32), ...u32(Math.floor(v / 2 ** 32))];
  for (const e of entries) {
    const name = new TextEncoder().encode(e.name);
    const body = e.deflate ? new Uint8Array(deflateRawSync(e.data)) : e.data;
    const crc = e.crc ?? zcrc32(e.data);
    const method = e.deflate ? 8 : 0;
    const z = opts.zip64 === true;
    const extra = z ? [...u16(1), ...u16(24), ...u64(e.data.length), ...u64(body.length), ...u64(offset)] : [];
    const local = new Uint8Array([
      ...u32(0x04034b50),
      ...u16(45),
      ...u16(0),
      ...u16(method),
      ...u16(0),
      ...u16(0),
      ...u32(crc),
      ...u32(z ? 0xffffffff : body.length),
      ...u32(z ? 0xffffffff : e.data.length),
      ...u16(name.length),
      ...u16(0),
      ...name,
    ]);
    const cent = new Uint8Array([
      ...u32(0x02014b50),
      ...u16(45),
      ...u16(45),
      ...u16(0),
      ...u16(method),
      ...u16(0),
      ...u16(0),
      ...u32(crc),
      ...u32(z ? 0xffffffff : body.length),
      ...u32(z ? 0xffffffff : e.data.length),
      ...u16(name.length),
      ...u16(extra.length),
      ...u16(0),
      ...u16(0),
      ...u16(0),
      ...u32(0),
      ...u32(z ? 0xffffffff : offset),
      ...name,
      ...extra,
    ]);
    chunks.push(local, body);
    central.push(cent);
    offset += local.length + body.length;
  }
  const cdOffset = offset;
  const cdSize = central.reduce((a, c) => a + c.length, 0);
  const tail: number[] = [];
  if (opts.zip64) {
    const rec = cdOffset + cdSize;
    tail.push(
      ...u32(0x06064b50),
      ...u64(44),
      ...u16(45),
      ...u16(45),
      ...u32(0),
      ...u32(0),
      ...u64(entries.length),
      ...u64(entries.length),
      ...u64(cdSize),
      ...u64(cdOffset),
    );
    tail.push(...u32(0x07064b50), ...u32(0), ...u64(rec), ...u32(1));
    tail.push(...u32(0x06054b50), ...u16(0), ...u16(0), ...u16(0xffff), ...u16(0xffff), ...u32(0xffffffff), ...u32(0xffffffff), ...u16(0));
  } else {
    tail.push(...u32(0x06054b50), ...u16(0), ...u16(0), ...u16(entries.length), ...u16(entries.length), ...u32(cdSize), ...u32(cdOffset), ...u16(0));
  }
  const parts = [...chunks, ...central, new Uint8Array(tail)];
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

// ---- hand-assembled pickles ------------------------------------------------------------------------------------

const enc = new TextEncoder();
const P = {
  proto: [0x80, 2],
  stop: [0x2e],
  mark: [0x28],
  emptyDict: [0x7d],
  emptyTuple: [0x29],
  tuple: [0x74],
  reduce: [0x52],
  setitem: [0x73],
  setitems: [0x75],
  persid: [0x51],
  int1: (v: number) => [0x4b, v],
  int4: (v: number) => [0x4a, v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, (v >>> 24) & 0xff],
  str: (s: string) => {
    const b = enc.encode(s);
    return [0x58, b.length & 0xff, (b.length >> 8) & 0xff, 0, 0, ...b];
  },
  global: (m: string, n: string) => [0x63, ...enc.encode(`${m}\n${n}\n`)],
  false: [0x89],
};

/** pickle of {key: _rebuild_tensor_v2(storage(type, skey, numel), offset, size, stride, False, OrderedDict())}. */
function tensorPickle(key: string, type: string, skey: string, numel: number, offset: number, size: number[], stride: number[]): number[] {
  const tup = (xs: number[]) => [...P.mark, ...xs.flatMap((x) => P.int4(x)), ...P.tuple];
  return [
    ...P.proto,
    ...P.emptyDict,
    ...P.str(key),
    ...P.global('torch._utils', '_rebuild_tensor_v2'),
    ...P.mark,
    ...P.mark,
    ...P.str('storage'),
    ...P.global('torch', type),
    ...P.str(skey),
    ...P.str('cpu'),
    ...P.int4(numel),
    ...P.tuple,
    ...P.persid,
    ...P.int4(offset),
    ...tup(size),
    ...tup(stride),
    ...P.false,
    ...P.global('collections', 'OrderedDict'),
    ...P.emptyTuple,
    ...P.reduce,
    ...P.tuple,
    ...P.reduce,
    ...P.setitem,
    ...P.stop,
  ];
}

function archive(pkl: number[] | Uint8Array, storages: Record<string, Uint8Array> = {}, opts: { zip64?: boolean; deflate?: boolean } = {}): Uint8Array {
  return zip(
    [
      { name: 'archive/data.pkl', data: new Uint8Array(pkl), deflate: opts.deflate },
      ...Object.entries(storages).map(([k, data]) => ({ name: `archive/data/${k}`, data, deflate: opts.deflate })),
      { name: 'archive/version', data: enc.encode('3\n') },
    ],
    opts,
  );
}

const f32 = (...v: number[]) => new Uint8Array(new Float32Array(v).buffer);

describe('loadTorch on hand-built archives', () => {
  it('reads a strided view of a stored float32 storage, in plain and ZIP64 directories, stored or deflated', async () => {
    const pkl = tensorPickle('w', 'FloatStorage', '0', 6, 1, [2, 2], [1, 3]);
    for (const opts of [{}, { zip64: true }, { deflate: true }, { zip64: true, deflate: true }]) {
      const v = await parseTorch(archive(pkl, { 0: f32(0, 1, 2, 3, 4, 5) }, opts));
      expect(v).toBeInstanceOf(TorchDict);
      const t = (v as TorchDict).get('w') as Tensor;
      expect(t.shape).toEqual([2, 2]);
      // elements at 1 + i*1 + j*3: [[1, 4], [2, 5]]
      expect(Array.from(await t.data())).toEqual([1, 4, 2, 5]);
      t.dispose();
    }
  });

  it('refuses a file that is not a torch.save archive, naming what it is', async () => {
    await rejects(parseTorch(new Uint8Array()), 'parseTorch', 'empty');
    await rejects(parseTorch(enc.encode('GIF89a....................')), 'parseTorch', 'not a torch.save archive', '47 49 46 38');
    const st = new Uint8Array([2, 0, 0, 0, 0, 0, 0, 0, 0x7b, 0x7d]);
    await rejects(parseTorch(st), 'parseTorch', 'safetensors', 'loadSafetensors');
    await rejects(
      parseTorch(new Uint8Array([0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19])),
      'parseTorch',
      /legacy magic number pickle at byte \d+: .*truncated/,
    );
    await rejects(parseTorch(zip([{ name: 'foo/bar.txt', data: enc.encode('x') }])), 'parseTorch', 'no <name>/data.pkl', 'foo/bar.txt');
    await rejects(
      parseTorch(
        zip([
          { name: 'm/constants.pkl', data: enc.encode('x') },
          { name: 'm/code/m.py', data: enc.encode('x') },
        ]),
      ),
      'parseTorch',
      'TorchScript',
    );
  });

  it('refuses truncated and corrupt zips', async () => {
    const good = archive(tensorPickle('w', 'FloatStorage', '0', 2, 0, [2], [1]), { 0: f32(1, 2) });
    // Truncated anywhere: the end record (or what it points at) is gone.
    for (const n of [good.length - 1, good.length - 30, Math.floor(good.length / 2), 10]) {
      await rejects(parseTorch(good.subarray(0, n)), 'parseTorch', /corrupt zip archive: .*(no end-of-central-directory|truncated|runs past)/);
    }
    const badCrc = zip([
      { name: 'archive/data.pkl', data: new Uint8Array(tensorPickle('w', 'FloatStorage', '0', 2, 0, [2], [1])) },
      { name: 'archive/data/0', data: f32(1, 2), crc: 0x12345678 },
    ]);
    await rejects(parseTorch(badCrc), 'parseTorch', "entry 'archive/data/0' fails its CRC-32 check", '0x12345678');
    // A flipped byte inside the stored data.pkl (after its 30-byte local header and 16-byte name).
    const flipped = good.slice();
    flipped[30 + 16 + 20] = flipped[30 + 16 + 20]! ^ 0xff;
    await rejects(parseTorch(flipped), 'parseTorch', 'CRC-32');
    // Deflate data that is not deflate.
    const z = zip([{ name: 'archive/data.pkl', data: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]), deflate: true }]);
    z[30 + 'archive/data.pkl'.length] = 0xff; // corrupt the deflate stream's first byte
    await rejects(parseTorch(z), 'parseTorch', /not valid deflate data|CRC-32|inflates to/);
    // A deflated entry declaring 4 GB: refused before anything is allocated.
    const bomb = zip([{ name: 'archive/data.pkl', data: new Uint8Array(100), deflate: true }]);
    const cd = bomb.length - 22 - (46 + 'archive/data.pkl'.length);
    new DataView(bomb.buffer).setUint32(cd + 24, 0xfffffff0, true);
    await rejects(parseTorch(bomb), 'parseTorch', 'declares 4294967280 bytes', 'more than deflate can expand to');
    // An end record claiming more entries than the directory can hold.
    const lying = good.slice();
    const eocd = lying.length - 22;
    lying[eocd + 10] = 0xff;
    lying[eocd + 11] = 0x7f;
    await rejects(parseTorch(lying), 'parseTorch', 'claims 32767 entries');
  });

  it('refuses a pickle that refers to a missing storage, or a view past its storage', async () => {
    await rejects(
      parseTorch(archive(tensorPickle('w', 'FloatStorage', '7', 2, 0, [2], [1]), { 0: f32(1, 2) })),
      'parseTorch',
      "storage '7'",
      'no archive/data/7',
    );
    await rejects(
      parseTorch(archive(tensorPickle('w', 'FloatStorage', '0', 2, 1, [2], [1]), { 0: f32(1, 2) })),
      'parseTorch',
      "tensor 'w' [2]",
      'reaches element 2',
      'has 2',
    );
    await rejects(parseTorch(archive(tensorPickle('w', 'FloatStorage', '0', 3, 0, [2], [1]), { 0: f32(1, 2) })), 'parseTorch', 'needs 12 bytes', 'holds 8');
    // A zero-stride view "repeating" one element into 2^40: refused, not allocated.
    await rejects(
      parseTorch(archive(tensorPickle('w', 'FloatStorage', '0', 1, 0, [1 << 20, 1 << 20], [0, 0]), { 0: f32(1) })),
      'parseTorch',
      'more than tessera tensors hold',
    );
    await rejects(
      parseTorch(archive(tensorPickle('w', 'FloatStorage', '0', 1, 0, [1 << 14, 1 << 14], [0, 0]), { 0: f32(1) })),
      'parseTorch',
      'refusing the allocation',
    );
    await rejects(
      parseTorch(archive(tensorPickle('w', 'SecretStorage', '0', 1, 0, [1], [1]), { 0: f32(1) })),
      'parseTorch',
      'refuses the global torch.SecretStorage',
    );
  });

  it('refuses unknown opcodes, other globals, truncation and absurd lengths in the pickle', async () => {
    const run = (pkl: number[]) => parseTorch(archive(pkl));
    await rejects(run([...P.proto, 0x01, ...P.stop]), 'parseTorch', 'unsupported pickle opcode 0x01', 'byte 2');
    await rejects(
      run([...P.proto, ...P.global('os', 'system'), ...P.str('echo hi'), 0x85, ...P.reduce, ...P.stop]),
      'parseTorch',
      'refuses the global os.system',
      'nothing was executed',
    );
    await rejects(run([...P.proto, ...P.global('builtins', 'eval'), ...P.stop]), 'parseTorch', 'builtins.eval');
    await rejects(run([...P.proto, 0x81, ...P.stop]), 'parseTorch', 'instantiates a class');
    await rejects(run([...P.proto, 0x7d]), 'parseTorch', 'without a STOP');
    await rejects(run([...P.proto, 0x58, 0xff, 0xff, 0xff, 0x7f, 0x41]), 'parseTorch', 'needs 2147483647 bytes but only 1 remain');
    await rejects(run([...P.proto, 0x8d, 0, 0, 0, 0, 0, 0, 0x10, 0, ...P.stop]), 'parseTorch', 'needs 4503599627370496 bytes');
    await rejects(run([...P.proto, 0x68, 9, ...P.stop]), 'parseTorch', 'memo entry 9');
    await rejects(run([...P.proto, 0x30, ...P.stop]), 'parseTorch', 'pops an empty stack');
    await rejects(run([...P.proto, 0x80, 1, ...P.stop]), 'parseTorch', 'protocol 1');
    // 100 000 nested MARKs: bounded, not a crash.
    await rejects(run([...P.proto, ...new Array<number>(100_000).fill(0x28), ...P.stop]), 'parseTorch', 'more than 10000 MARKs');
    // Lists nested 5000 deep (EMPTY_LIST ×5000, then APPEND each into the one below): an error, not a stack overflow.
    const nested: number[] = [...P.proto, 0x5d];
    for (let i = 0; i < 5000; i++) nested.push(0x5d);
    for (let i = 0; i < 5000; i++) nested.push(0x61);
    nested.push(...P.stop);
    await rejects(run(nested), 'parseTorch', 'nests deeper than 200 levels');
    // A list that contains itself.
    await rejects(run([...P.proto, 0x5d, 0x71, 0, 0x68, 0, 0x61, ...P.stop]), 'parseTorch', 'contains itself');
  });

  it('refuses an int64 tensor with values outside int32, and reports conversions', async () => {
    const i64 = new Uint8Array(16);
    new DataView(i64.buffer).setBigInt64(0, 5n, true);
    new DataView(i64.buffer).setBigInt64(8, -(2n ** 31n), true);
    const conv: TorchConversion[] = [];
    const v = (await parseTorch(archive(tensorPickle('n', 'LongStorage', '0', 2, 0, [2], [1]), { 0: i64 }), { onConvert: (c) => conv.push(c) })) as TorchDict;
    const t = v.get('n') as Tensor;
    expect(t.dtype).toBe('int32');
    expect(Array.from(await t.data())).toEqual([5, -(2 ** 31)]);
    expect(conv).toEqual([{ path: 'n', from: 'int64', to: 'int32', exact: true }]);
    new DataView(i64.buffer).setBigInt64(8, 2n ** 31n, true);
    await rejects(
      parseTorch(archive(tensorPickle('n', 'LongStorage', '0', 2, 0, [2], [1]), { 0: i64 })),
      'parseTorch',
      "tensor 'n' [2]: int64 element 1 is 2147483648, outside the int32 range",
    );
  });

  it('names what it found when there is no state dict, and reads bytes and paths alike', async () => {
    const d = new TorchDict([
      ['epoch', 3],
      ['cfg', new TorchDict([['lr', 0.1]])],
    ]);
    expect(() => torchStateDict(d)).toThrow(/found no state dict .*'epoch': a number; 'cfg': a dict of 1 entries/);
    expect(() => torchStateDict([1, 2] as TorchValue)).toThrow(/a list of 2/);
    await rejects(loadTorch('/nonexistent/x.pth'), 'loadTorch', 'cannot read /nonexistent/x.pth');
  });
});

// ---- files written by PyTorch ----------------------------------------------------------------------------------

interface FixtureTensor {
  path: string;
  shape: number[];
  dtype: string;
  from: string;
  crc: number;
  first: number[];
}

function hasTorch(): Promise<boolean> {
  return new Promise((resolve) => {
    const c = spawn('/usr/bin/python3', ['-c', 'import torch, torchvision, numpy'], { stdio: 'ignore' });
    c.on('error', () => resolve(false));
    c.on('close', (s) => resolve(s === 0));
  });
}

function runFixture(out: string): Promise<{ files: Record<string, FixtureTensor[]> }> {
  return new Promise((resolve, reject) => {
    const c = spawn('/usr/bin/python3', [script, out, '--big'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let so = '';
    let se = '';
    c.stdout.setEncoding('utf8').on('data', (d: string) => (so += d));
    c.stderr.setEncoding('utf8').on('data', (d: string) => (se += d));
    c.on('error', reject);
    c.on('close', (s) =>
      s === 0 ? resolve(JSON.parse(so) as { files: Record<string, FixtureTensor[]> }) : reject(new Error(`torch_fixture.py failed: ${se}`)),
    );
  });
}

const torchAvailable = await hasTorch();
if (!torchAvailable) console.warn('torch-load.test.ts: PyTorch round-trip tests skipped: /usr/bin/python3 cannot import torch, torchvision and numpy');

function leaf(v: TorchValue, path: string): TorchValue {
  // Paths as the fixture writes them: dict keys joined by '.', list items as [i]; keys may contain dots
  // (state dicts), so match greedily against the keys present.
  let cur: TorchValue = v;
  let rest = path;
  while (rest !== '') {
    if (rest.startsWith('[')) {
      const close = rest.indexOf(']');
      cur = (cur as TorchValue[])[Number(rest.slice(1, close))]!;
      rest = rest.slice(close + 1).replace(/^\./, '');
      continue;
    }
    const m = cur as TorchDict;
    const key = [...m.keys()]
      .map(String)
      .filter((k) => rest === k || rest.startsWith(`${k}.`) || rest.startsWith(`${k}[`))
      .sort((a, b) => b.length - a.length)[0];
    if (key === undefined) throw new Error(`no key for ${rest}`);
    cur = m.get(key)!;
    rest = rest.slice(key.length).replace(/^\./, '');
  }
  return cur;
}

async function checkAll(v: TorchValue, expected: FixtureTensor[]): Promise<void> {
  for (const e of expected) {
    const t = leaf(v, e.path);
    expect(t, e.path).toBeInstanceOf(Tensor);
    const tt = t as Tensor;
    expect(tt.shape, e.path).toEqual(e.shape);
    expect(tt.dtype, e.path).toBe(e.dtype);
    const data = await tt.data();
    expect(zcrc32(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)), `${e.path}: CRC of the values`).toBe(e.crc);
  }
}

describe.skipIf(!torchAvailable)('loadTorch on files torch.save wrote (torch 1.13 via /usr/bin/python3)', () => {
  let dir = '';
  let fixtures: Record<string, FixtureTensor[]> = {};
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tessera-torch-'));
    fixtures = (await runFixture(dir)).files;
  }, 180_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('views, shared storages, 0-d and empty tensors, stored and deflated', async () => {
    for (const f of ['views.pth', 'deflated.pth']) {
      const v = await loadTorch(join(dir, f));
      await checkAll(v, fixtures[f]!);
      expect(((v as TorchDict).get('expanded') as Tensor).shape).toEqual([3, 4]);
    }
  });

  it('every storage dtype, converted and reported', async () => {
    const conv: TorchConversion[] = [];
    const v = await loadTorch(join(dir, 'dtypes.pth'), { onConvert: (c) => conv.push(c) });
    await checkAll(v, fixtures['dtypes.pth']!);
    expect(conv.map((c) => `${c.path}:${c.from}->${c.to}:${c.exact}`).sort()).toEqual(
      [
        'bf16:bfloat16->float32:true',
        'bool:bool->int32:true',
        'f16:float16->float32:true',
        'i16:int16->int32:true',
        'i64:int64->int32:true',
        'i8:int8->int32:true',
        'u8:uint8->int32:true',
      ].sort(),
    );
    const rounded = (await loadTorch(join(dir, 'dtypes.pth'), { float64: 'float32' })) as TorchDict;
    const f64 = rounded.get('f64') as Tensor;
    expect(f64.dtype).toBe('float32');
    expect(Array.from(await f64.data())).toEqual([Math.fround(0.1), Infinity, -2]);
  });

  it('nested checkpoints: the state dict under state_dict / model, and the other Python values', async () => {
    const v = (await loadTorch(join(dir, 'nested.pth'))) as TorchDict;
    await checkAll(v, fixtures['nested.pth']!);
    expect(v.get('epoch')).toBe(3);
    expect(v.get('best')).toBe(0.875);
    expect(v.get('name')).toBe('run');
    expect(v.get('none')).toBe(null);
    expect(v.get('big')).toBe(2n ** 62n);
    expect(v.get('history')).toEqual([1, 2, [3, 4.5]]);
    expect(Object.isFrozen((v.get('history') as TorchValue[])[2])).toBe(true);
    expect((v.get('flags') as TorchDict).get('a')).toBe(true);
    const sd = torchStateDict(v);
    expect(sd.foundAt).toBe('state_dict');
    expect([...sd.keys()]).toEqual([
      '0.weight',
      '0.bias',
      '1.weight',
      '1.bias',
      '1.running_mean',
      '1.running_var',
      '1.num_batches_tracked',
      '4.weight',
      '4.bias',
    ]);
    const inner = v.get('state_dict') as TorchDict;
    expect(inner.ordered).toBe(true);
    expect(inner.attributes?.get('_metadata')).toBeInstanceOf(TorchDict);
    const m = await loadTorchStateDict(join(dir, 'model_key.pth'));
    expect(m.foundAt).toBe('model');
    expect(m.get('1.num_batches_tracked')!.dtype).toBe('int32');
    expect(m.conversions).toEqual([{ path: '1.num_batches_tracked', from: 'int64', to: 'int32', exact: true }]);
    m.dispose();
  });

  it('the legacy (pre-1.6) format, and its truncations', async () => {
    const bytes = readFileSync(join(dir, 'legacy.pth'));
    const v = (await parseTorch(bytes)) as TorchDict;
    await checkAll(v, fixtures['legacy.pth']!);
    expect(v.get('epoch')).toBe(7);
    for (const n of [bytes.length - 1, bytes.length - 200, 400, 30]) await rejects(parseTorch(bytes.subarray(0, n)), 'parseTorch', /truncated|ends before/);
  });

  it('refuses os.system and out-of-range int64 in real files', async () => {
    await rejects(loadTorch(join(dir, 'evil.pth')), 'loadTorch', /refuses the global (posix|os)\.system/);
    await rejects(loadTorch(join(dir, 'int64_big.pth')), 'loadTorch', "tensor 'x' [1]: int64 element 0 is 1099511627776");
  });

  it('torchvision resnet18 and alexnet state dicts, bit for bit', async () => {
    for (const f of ['resnet18.pth', 'alexnet.pth']) {
      const bytes = readFileSync(join(dir, f));
      const sd = await loadTorchStateDict(bytes);
      expect(sd.foundAt).toBe('');
      expect([...sd.keys()]).toEqual(fixtures[f]!.map((e) => e.path));
      await checkAll(new TorchDict(sd), fixtures[f]!);
      sd.dispose();
    }
  }, 120_000);
});
