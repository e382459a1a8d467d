import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 as zlibCrc32, inflateSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { randn, tensor, TesseraError } from '@tessera/tensor';
import {
  crc32,
  curvesPng,
  curvesSvg,
  encodePng,
  filterGrid,
  niceAxis,
  readTrainingLog,
  writeCurves,
  writeFilterGrid,
  type CurveEpoch,
  type CurveStep,
} from '../src/figures/index.js';

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'tessera-figures-'));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

// ---------------------------------------------------------------------------------------------------------------
// An independent PNG decoder (8-bit gray / RGB / RGBA, non-interlaced): chunk CRCs checked with node:zlib's crc32,
// IDATs concatenated and inflated with node:zlib, all five row filters undone.
// ---------------------------------------------------------------------------------------------------------------
interface Decoded {
  width: number;
  height: number;
  channels: number;
  pixels: Uint8Array;
  filters: number[];
  chunks: string[];
  text: Record<string, string>;
}

function decodePng(file: Uint8Array): Decoded {
  const sig = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  sig.forEach((b, i) => {
    if (file[i] !== b) throw new Error(`bad signature byte ${i}`);
  });
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  let off = 8;
  let width = 0;
  let height = 0;
  let channels = 0;
  const idat: Uint8Array[] = [];
  const chunks: string[] = [];
  const text: Record<string, string> = {};
  for (;;) {
    if (off + 12 > file.length) throw new Error('truncated chunk');
    const len = view.getUint32(off);
    const type = String.fromCharCode(...file.subarray(off + 4, off + 8));
    const data = file.subarray(off + 8, off + 8 + len);
    const crc = view.getUint32(off + 8 + len);
    if (zlibCrc32(file.subarray(off + 4, off + 8 + len)) >>> 0 !== crc) throw new Error(`${type}: CRC mismatch`);
    chunks.push(type);
    off += 12 + len;
    if (type === 'IHDR') {
      if (chunks.length !== 1) throw new Error('IHDR is not first');
      const d = new DataView(data.buffer, data.byteOffset, data.byteLength);
      width = d.getUint32(0);
      height = d.getUint32(4);
      const [depth, color, comp, filter, interlace] = [data[8], data[9], data[10], data[11], data[12]];
      if (depth !== 8 || comp !== 0 || filter !== 0 || interlace !== 0) throw new Error('unsupported IHDR');
      channels = ({ 0: 1, 2: 3, 6: 4 } as Record<number, number>)[color!] ?? 0;
      if (!channels) throw new Error(`unsupported colour type ${color}`);
    } else if (type === 'IDAT') idat.push(data);
    else if (type === 'tEXt') {
      const z = data.indexOf(0);
      text[Buffer.from(data.subarray(0, z)).toString('latin1')] = Buffer.from(data.subarray(z + 1)).toString('latin1');
    } else if (type === 'IEND') break;
  }
  if (off !== file.length) throw new Error('bytes after IEND');
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  if (raw.length !== (stride + 1) * height) throw new Error(`inflated ${raw.length} bytes, expected ${(stride + 1) * height}`);
  const out = new Uint8Array(stride * height);
  const filters: number[] = [];
  for (let y = 0; y < height; y++) {
    const f = raw[y * (stride + 1)]!;
    filters.push(f);
    const src = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let i = 0; i < stride; i++) {
      const a = i >= channels ? out[y * stride + i - channels]! : 0;
      const b = y > 0 ? out[(y - 1) * stride + i]! : 0;
      const c = i >= channels && y > 0 ? out[(y - 1) * stride + i - channels]! : 0;
      let pred: number;
      if (f === 0) pred = 0;
      else if (f === 1) pred = a;
      else if (f === 2) pred = b;
      else if (f === 3) pred = (a + b) >>> 1;
      else if (f === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a);
        const pb = Math.abs(p - b);
        const pc = Math.abs(p - c);
        pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      } else throw new Error(`bad filter type ${f}`);
      out[y * stride + i] = (src[i]! + pred) & 0xff;
    }
  }
  return { width, height, channels, pixels: out, filters, chunks, text };
}

/** Deterministic test pixels: noise, smooth gradients, flat areas and sharp edges, so every filter has a use. */
function testImage(w: number, h: number, c: number, seed: number): Uint8Array {
  const px = new Uint8Array(w * h * c);
  let s = seed * 2654435761;
  const rnd = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 16) & 0xff;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let k = 0; k < c; k++) {
        const region = (x * 4) / w + Math.floor((y * 3) / h);
        px[(y * w + x) * c + k] = region < 1.5 ? rnd() : region < 3 ? (x * 7 + y * 3 + k * 40) & 0xff : y % 2 ? 200 : 10 + k;
      }
    }
  }
  return px;
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

function python(): string | null {
  for (const exe of ['/usr/bin/python3', 'python3']) {
    const r = spawnSync(exe, ['-c', 'import sys; print(sys.version_info[0])'], { encoding: 'utf8' });
    if (r.status === 0 && r.stdout.trim() === '3') return exe;
  }
  return null;
}
const PY = python();
const HAS_PIL = PY !== null && spawnSync(PY, ['-c', 'import PIL.Image'], { encoding: 'utf8' }).status === 0;
if (!HAS_PIL) console.info('figures.test: Pillow (python3-pil) not found, so the PIL cross-check of PNG files is skipped');

/** Decodes PNG files with Pillow; returns mode, size, sha256 of the pixels and tEXt entries per file. */
function pilDecode(files: string[]): Record<string, { mode: string; size: [number, number]; sha256: string; text: Record<string, string> }> {
  const script = [
    'import sys, json, hashlib',
    'from PIL import Image',
    'out = {}',
    'for f in sys.argv[1:]:',
    '    im = Image.open(f); im.load()',
    '    out[f] = {"mode": im.mode, "size": list(im.size), "sha256": hashlib.sha256(im.tobytes()).hexdigest(), "text": dict(getattr(im, "text", {}))}',
    'print(json.dumps(out))',
  ].join('\n');
  const r = spawnSync(PY!, ['-c', script, ...files], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`Pillow failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as ReturnType<typeof pilDecode>;
}

describe('encodePng', () => {
  it('computes the standard CRC-32 (check value and agreement with zlib)', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
    const bytes = testImage(97, 13, 3, 5);
    expect(crc32(bytes)).toBe(zlibCrc32(bytes) >>> 0);
    // Continuation: crc of a‖b from crc of a.
    expect(crc32(bytes.subarray(100), crc32(bytes.subarray(0, 100)))).toBe(crc32(bytes));
  });

  const sizes: [number, number][] = [
    [1, 1],
    [2, 1],
    [1, 3],
    [3, 3],
    [7, 5],
    [13, 11],
    [64, 3],
    [101, 37],
  ];
  const channelCounts = [1, 3, 4] as const;

  it('round-trips through an independent decoder: sizes incl. 1×1 and odd widths, 1/3/4 channels', () => {
    for (const [w, h] of sizes) {
      for (const c of channelCounts) {
        const px = testImage(w, h, c, w * 31 + h * 7 + c);
        const png = encodePng(px, w, h, c);
        const d = decodePng(png);
        expect([d.width, d.height, d.channels], `${w}×${h}×${c}`).toEqual([w, h, c]);
        expect(d.chunks[0]).toBe('IHDR');
        expect(d.chunks[d.chunks.length - 1]).toBe('IEND');
        expect(Buffer.from(d.pixels).equals(Buffer.from(px)), `${w}×${h}×${c} pixels`).toBe(true);
      }
    }
  });

  it('chooses filters per row adaptively, and every fixed filter round-trips', () => {
    const w = 120;
    const h = 60;
    const px = testImage(w, h, 3, 11);
    const adaptive = decodePng(encodePng(px, w, h, 3));
    expect(new Set(adaptive.filters).size).toBeGreaterThanOrEqual(2);
    const sizes: number[] = [];
    for (const [i, filter] of (['none', 'sub', 'up', 'average', 'paeth'] as const).entries()) {
      const png = encodePng(px, w, h, 3, { filter });
      const d = decodePng(png);
      expect(d.filters.every((f) => f === i)).toBe(true);
      expect(Buffer.from(d.pixels).equals(Buffer.from(px))).toBe(true);
      sizes.push(png.length);
    }
    // A smooth gradient compresses much better with prediction than without.
    const grad = new Uint8Array(w * h);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) grad[y * w + x] = (x * 2 + y * 3) & 0xff;
    const g = decodePng(encodePng(grad, w, h, 1));
    expect(g.filters.slice(1).every((f) => f !== 0)).toBe(true);
    expect(encodePng(grad, w, h, 1).length).toBeLessThan(encodePng(grad, w, h, 1, { filter: 'none' }).length);
  });

  it('splits large compressed data over several IDAT chunks and writes tEXt', () => {
    const w = 700;
    const h = 600;
    const px = new Uint8Array(w * h * 3);
    let s = 12345;
    for (let i = 0; i < px.length; i++) px[i] = (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) >>> 24;
    const d = decodePng(encodePng(px, w, h, 3, { compressionLevel: 1, text: { Software: 'tessera', Comment: 'café' } }));
    expect(d.chunks.filter((c) => c === 'IDAT').length).toBeGreaterThan(1);
    expect(Buffer.from(d.pixels).equals(Buffer.from(px))).toBe(true);
    expect(d.text).toEqual({ Software: 'tessera', Comment: 'café' });
  });

  it('rejects inconsistent input with clear errors', () => {
    expect(() => encodePng(new Uint8Array(5), 2, 2, 1)).toThrow(/expected 2×2×1 = 4 bytes, got 5/);
    expect(() => encodePng(new Uint8Array(0), 0, 1, 1)).toThrow(/width must be an integer/);
    expect(() => encodePng(new Uint8Array(2), 1, 1, 2 as 1)).toThrow(/channels must be 1/);
    expect(() => encodePng(new Uint8Array(1), 1, 1, 1, { compressionLevel: 10 })).toThrow(TesseraError);
    expect(() => encodePng(new Uint8Array(1), 1, 1, 1, { text: { '': 'x' } })).toThrow(/keyword/);
    expect(() => encodePng(new Uint8Array(1), 1, 1, 1, { text: { k: '→' } })).toThrow(/Latin-1/);
  });

  it.skipIf(!HAS_PIL)('decodes identically with Pillow', () => {
    const dir = tmp();
    const expected = new Map<string, { mode: string; size: [number, number]; sha256: string }>();
    for (const [w, h] of sizes) {
      for (const c of channelCounts) {
        const px = testImage(w, h, c, w + h + c);
        const f = join(dir, `img-${w}x${h}x${c}.png`);
        writeFileSync(f, encodePng(px, w, h, c));
        expected.set(f, { mode: { 1: 'L', 3: 'RGB', 4: 'RGBA' }[c], size: [w, h], sha256: sha256(px) });
      }
    }
    const got = pilDecode([...expected.keys()]);
    for (const [f, e] of expected) expect(got[f], f).toMatchObject(e);
  });
});

// ---------------------------------------------------------------------------------------------------------------
describe('filterGrid', () => {
  /** 4 RGB kernels of 2×2; kernel k's value at (ch, v, u) = k + ch·4 + v·2 + u, kernel 3 constant. */
  function knownWeight() {
    const data: number[] = [];
    for (let k = 0; k < 4; k++)
      for (let ch = 0; ch < 3; ch++) for (let v = 0; v < 2; v++) for (let u = 0; u < 2; u++) data.push(k === 3 ? 0.5 : k + ch * 4 + v * 2 + u);
    return tensor(data, [4, 3, 2, 2]);
  }

  it('lays out min-max normalised RGB kernels with nearest-neighbour upscaling and padding', async () => {
    const w = knownWeight();
    const img = await filterGrid(w, { scale: 3, padding: 1, columns: 2 });
    expect([img.width, img.height, img.channels]).toEqual([15, 15, 3]);
    const at = (x: number, y: number) => Array.from(img.pixels.subarray((y * img.width + x) * 3, (y * img.width + x) * 3 + 3));
    // Per kernel, values span 0..11 → 255·value/11, channel c at offset 4c.
    const level = (v: number) => Math.round((255 * v) / 11);
    // Kernel 0 at (1, 1); its (v=0, u=0) block covers x, y ∈ [1, 4).
    for (const [x, y] of [
      [1, 1],
      [3, 3],
    ] as const)
      expect(at(x, y)).toEqual([level(0), level(4), level(8)]);
    // (v=1, u=1) of kernel 0: x, y ∈ [4, 7).
    expect(at(4, 4)).toEqual([level(3), level(7), level(11)]);
    expect(at(6, 6)).toEqual([level(3), level(7), level(11)]);
    // (v=0, u=1): x ∈ [4, 7), y ∈ [1, 4).
    expect(at(5, 2)).toEqual([level(1), level(5), level(9)]);
    // Kernel 1 (column 1) starts at x = 1 + 6 + 1 = 8; normalised on its own, so it looks the same as kernel 0.
    expect(at(8, 1)).toEqual([level(0), level(4), level(8)]);
    // Kernel 3 is constant: mid-gray.
    expect(at(8 + 5, 8 + 5)).toEqual([128, 128, 128]);
    // Padding is the white background: borders and the gutter between kernels.
    for (const [x, y] of [
      [0, 0],
      [7, 3],
      [3, 7],
      [14, 14],
      [0, 10],
    ] as const)
      expect(at(x, y), `(${x}, ${y})`).toEqual([255, 255, 255]);
    w.dispose();
  });

  it("normalize: 'layer' shares one range across kernels; grayscale for one input channel", async () => {
    const w = knownWeight();
    const img = await filterGrid(w, { scale: 1, padding: 0, columns: 4, normalize: 'layer', background: [0, 0, 0] });
    expect([img.width, img.height]).toEqual([8, 2]);
    // One range over the layer, 0..13: kernel 2's blue (v=1, u=1) value 13 → 255, kernel 0's red (0, 0) value 0 → 0,
    // and kernel 3 (constant 0.5) is dark rather than mid-gray.
    expect(img.pixels[0]).toBe(0);
    expect(img.pixels[(1 * 8 + 5) * 3 + 2]).toBe(255);
    expect(Array.from(img.pixels.subarray(6 * 3, 7 * 3))).toEqual([10, 10, 10]);
    expect(Math.round((255 * 0.5) / 13)).toBe(10);
    w.dispose();

    const g = tensor([0, 1, 2, 3, -1, -1, -1, 5], [2, 1, 2, 2]);
    const gi = await filterGrid(g, { scale: 2, padding: 1, background: 100 });
    expect([gi.width, gi.height, gi.channels, gi.columns]).toEqual([11, 6, 1, 2]);
    const gat = (x: number, y: number) => gi.pixels[y * gi.width + x];
    expect([gat(1, 1), gat(4, 1), gat(1, 4), gat(4, 4), gat(0, 0), gat(5, 2)]).toEqual([0, 85, 170, 255, 100, 100]);
    expect([gat(6, 1), gat(9, 4)]).toEqual([0, 255]);
    g.dispose();
  });

  it("draws the paper's 96 conv1 kernels as two blocks of 3 rows × 16 (Figure 3), and writes a PNG", async () => {
    const w = randn([96, 3, 11, 11], { seed: 3 });
    const img = await filterGrid(w);
    expect([img.columns, img.blocks, img.channels]).toEqual([16, 2, 3]);
    // 16 kernels of 44 px + 17 paddings wide; 2 blocks of 3 rows of (44 + 1) px, 1 px border, 8 px block gap.
    expect(img.width).toBe(1 + 16 * 45);
    expect(img.height).toBe(1 + 2 * 3 * 45 + 8);
    const row = (y: number) => img.pixels.subarray(y * img.width * 3, (y + 1) * img.width * 3);
    // Between the blocks (y ∈ [136, 144)) every pixel is background; kernel 48 starts at y = 144.
    for (let y = 136; y < 144; y++) expect(row(y).every((v) => v === 255)).toBe(true);
    expect(
      row(144)
        .subarray(3, 3 * 45)
        .some((v) => v !== 255),
    ).toBe(true);
    // Each kernel reaches both ends of its own range.
    const kernel = (k: number) => {
      const x0 = 1 + (k % 16) * 45;
      const y0 = 1 + Math.floor(k / 48) * (135 + 8) + Math.floor((k % 48) / 16) * 45;
      const vals: number[] = [];
      for (let y = y0; y < y0 + 44; y++) vals.push(...img.pixels.subarray((y * img.width + x0) * 3, (y * img.width + x0 + 44) * 3));
      return vals;
    };
    for (const k of [0, 47, 48, 95]) expect([Math.min(...kernel(k)), Math.max(...kernel(k))]).toEqual([0, 255]);

    const dir = tmp();
    const file = join(dir, 'sub', 'conv1.png');
    await writeFilterGrid(w, file);
    const d = decodePng(readFileSync(file));
    expect([d.width, d.height, d.channels]).toEqual([img.width, img.height, 3]);
    expect(Buffer.from(d.pixels).equals(Buffer.from(img.pixels))).toBe(true);
    if (HAS_PIL) expect(pilDecode([file])[file]).toMatchObject({ mode: 'RGB', size: [img.width, img.height], sha256: sha256(img.pixels) });
    w.dispose();
  });

  it('picks full rows by default and validates its input', async () => {
    const tv = await filterGrid({ shape: [64, 3, 11, 11], data: async () => new Float32Array(64 * 363).map((_, i) => Math.sin(i)) });
    expect([tv.columns, tv.blocks]).toEqual([8, 1]);
    const reduced = await filterGrid({ shape: [16, 1, 5, 5], data: async () => new Float32Array(16 * 25).map((_, i) => i % 7) });
    expect([reduced.columns, reduced.width, reduced.height, reduced.channels]).toEqual([4, 1 + 4 * 21, 1 + 4 * 21, 1]);
    const bad = (shape: number[], opts = {}, fill = 0) =>
      filterGrid({ shape, data: async () => new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(fill) }, opts);
    await expect(bad([4, 3, 3])).rejects.toThrow(/rank-3/);
    await expect(bad([8, 48, 5, 5])).rejects.toThrow(/1 \(grayscale\) or 3 \(RGB\) input channels/);
    await expect(bad([6, 3, 3, 3], { blocks: 4 })).rejects.toThrow(/must divide/);
    await expect(bad([6, 3, 3, 3], { scale: 0 })).rejects.toThrow(/scale must be an integer ≥ 1/);
    await expect(bad([6, 3, 3, 3], {}, NaN)).rejects.toThrow(/kernel 0 has a non-finite weight/);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// A tiny XML 1.0 well-formedness checker (elements, attributes, entity references, the XML declaration).
// ---------------------------------------------------------------------------------------------------------------
interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  text: string;
}

function parseXml(src: string): XmlElement {
  let i = 0;
  const fail = (msg: string): never => {
    throw new Error(`XML error at ${i} (${JSON.stringify(src.slice(i, i + 30))}): ${msg}`);
  };
  const NAME = /[A-Za-z_:][-A-Za-z0-9_.:]*/y;
  const name = () => {
    NAME.lastIndex = i;
    const m = NAME.exec(src);
    if (!m) fail('expected a name');
    i += m![0].length;
    return m![0];
  };
  const ws = () => {
    while (i < src.length && ' \t\r\n'.includes(src[i]!)) i++;
  };
  const unescape = (s: string) => {
    if (s.includes('<')) fail('raw < in text or attribute');
    return s.replace(/&([^;]*);?/g, (all, ent: string) => {
      if (!all.endsWith(';')) fail(`unterminated entity ${all}`);
      const named: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
      if (ent in named) return named[ent]!;
      const num = /^#(x[0-9a-fA-F]+|[0-9]+)$/.exec(ent);
      if (!num) fail(`unknown entity &${ent};`);
      return String.fromCodePoint(ent[1] === 'x' ? parseInt(ent.slice(2), 16) : parseInt(ent.slice(1), 10));
    });
  };
  if (src.startsWith('<?xml')) {
    i = src.indexOf('?>');
    if (i < 0) fail('unterminated XML declaration');
    i += 2;
  }
  const element = (): XmlElement => {
    if (src[i] !== '<') fail('expected <');
    i++;
    const el: XmlElement = { name: name(), attrs: {}, children: [], text: '' };
    for (;;) {
      ws();
      if (src.startsWith('/>', i)) {
        i += 2;
        return el;
      }
      if (src[i] === '>') {
        i++;
        break;
      }
      const a = name();
      ws();
      if (src[i] !== '=') fail('expected =');
      i++;
      ws();
      const q = src[i];
      if (q !== '"' && q !== "'") fail('attribute values must be quoted');
      const end = src.indexOf(q!, i + 1);
      if (end < 0) fail('unterminated attribute');
      if (a in el.attrs) fail(`duplicate attribute ${a}`);
      el.attrs[a] = unescape(src.slice(i + 1, end));
      i = end + 1;
    }
    for (;;) {
      const lt = src.indexOf('<', i);
      if (lt < 0) fail(`unclosed <${el.name}>`);
      el.text += unescape(src.slice(i, lt));
      i = lt;
      if (src.startsWith('</', i)) {
        i += 2;
        const n = name();
        if (n !== el.name) fail(`</${n}> closes <${el.name}>`);
        ws();
        if (src[i] !== '>') fail('expected >');
        i++;
        return el;
      }
      if (src.startsWith('<!--', i)) {
        const e = src.indexOf('-->', i);
        if (e < 0) fail('unterminated comment');
        i = e + 3;
        continue;
      }
      el.children.push(element());
    }
  };
  ws();
  const root = element();
  ws();
  if (i !== src.length) fail('content after the root element');
  return root;
}

const walk = (el: XmlElement, f: (e: XmlElement) => void) => {
  f(el);
  el.children.forEach((c) => walk(c, f));
};
const findAll = (root: XmlElement, pred: (e: XmlElement) => boolean) => {
  const out: XmlElement[] = [];
  walk(root, (e) => pred(e) && out.push(e));
  return out;
};

/** A run like the trainer logs: 12 epochs × 50 steps (logged every 10), lr ÷ 10 after epoch 8, val every epoch. */
function syntheticRun(): { records: CurveEpoch[]; steps: CurveStep[] } {
  const records: CurveEpoch[] = [];
  const steps: CurveStep[] = [];
  for (let e = 1; e <= 12; e++) {
    for (const s of [1, 10, 20, 30, 40, 50]) {
      const x = e - 1 + s / 50;
      steps.push({ epoch: e, step: s, loss: 0.4 + 2 * Math.exp(-x / 3) + 0.05 * Math.sin(x * 17), stepsPerEpoch: 50 });
    }
    const top1 = 0.1 + 0.7 * Math.exp(-e / 3);
    records.push({
      epoch: e,
      lr: e <= 8 ? 0.01 : 0.001,
      trainLoss: 0.4 + 2 * Math.exp(-(e - 0.5) / 3),
      val: { loss: 0.5 + 1.9 * Math.exp(-e / 3), top1Error: top1, top5Error: top1 / 3 },
    });
  }
  return { records, steps };
}

describe('training curves', () => {
  const TITLE = 'AlexNet <reduced> & "Fashion-MNIST" \u0001';

  it('curvesSvg is a well-formed SVG with two panels, axes, ticks, a legend and escaped text', () => {
    const { records, steps } = syntheticRun();
    const svg = curvesSvg(records, steps, { title: TITLE });
    const root = parseXml(svg);
    expect(root.name).toBe('svg');
    expect(root.attrs.xmlns).toBe('http://www.w3.org/2000/svg');
    expect(root.attrs.viewBox).toBe('0 0 960 400');
    const texts = findAll(root, (e) => e.name === 'text').map((e) => e.text);
    expect(texts).toContain('AlexNet <reduced> & "Fashion-MNIST" ');
    expect(svg).toContain('AlexNet &lt;reduced&gt; &amp; &quot;Fashion-MNIST&quot;');
    expect(findAll(root, (e) => e.name === 'title')[0]!.text).toContain('AlexNet <reduced>');
    for (const t of [
      'Loss (cross-entropy)',
      'Validation error',
      'epoch',
      'train (steps, smoothed)',
      'train (epoch mean)',
      'val',
      'top-1',
      'top-5',
      'lr 0.001',
    ]) {
      expect(texts, t).toContain(t);
    }
    // Tick labels: epochs on both panels, percentages on the error panel.
    expect(texts.filter((t) => t === '0').length).toBeGreaterThanOrEqual(2);
    expect(texts.some((t) => /^\d+%$/.test(t))).toBe(true);
    // Every numeric attribute is a finite number.
    const numeric = ['x', 'y', 'x1', 'y1', 'x2', 'y2', 'cx', 'cy', 'r', 'width', 'height', 'stroke-width', 'font-size'];
    walk(root, (e) => {
      for (const a of numeric) if (a in e.attrs) expect(Number.isFinite(Number(e.attrs[a])), `${e.name} ${a}=${e.attrs[a]}`).toBe(true);
      if (e.attrs.points) for (const v of e.attrs.points.split(/[\s,]+/)) expect(Number.isFinite(Number(v)), `points ${v}`).toBe(true);
    });
    // Each clip-path reference points at a defined clipPath.
    const ids = new Set(findAll(root, (e) => e.name === 'clipPath').map((e) => e.attrs.id));
    for (const e of findAll(root, (e) => 'clip-path' in e.attrs)) expect(ids.has(/^url\(#(.+)\)$/.exec(e.attrs['clip-path']!)![1])).toBe(true);
    const cls = (c: string) => findAll(root, (e) => (e.attrs.class ?? '').split(' ').includes(c));
    expect(cls('val-top1').filter((e) => e.name === 'polyline')).toHaveLength(1);
    expect(cls('val-top1').filter((e) => e.name === 'circle')).toHaveLength(12);
    expect(cls('lr-change')).toHaveLength(2);
    expect(cls('legend')).toHaveLength(2);
  });

  it.skipIf(PY === null)("the SVG parses with Python's XML parser too", () => {
    const { records, steps } = syntheticRun();
    const f = join(tmp(), 'c.svg');
    writeFileSync(f, curvesSvg(records, steps, { title: TITLE }));
    const r = spawnSync(PY!, ['-c', 'import sys, xml.dom.minidom as m; d = m.parse(sys.argv[1]); print(d.documentElement.tagName)', f], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('svg');
  });

  it('curvesPng draws the same plot: series colours along the SVG polylines, dark axes, white background', () => {
    const { records, steps } = syntheticRun();
    const ratio = 2;
    const svg = parseXml(curvesSvg(records, steps));
    const img = curvesPng(records, steps, { pixelRatio: ratio });
    expect([img.width, img.height, img.channels]).toEqual([1920, 800, 3]);
    const at = (x: number, y: number) => Array.from(img.pixels.subarray((y * img.width + x) * 3, (y * img.width + x) * 3 + 3));
    const near = (x: number, y: number, rgb: number[], tol = 40, radius = 1) => {
      for (let dy = -radius; dy <= radius; dy++)
        for (let dx = -radius; dx <= radius; dx++) {
          const p = at(Math.round(x * ratio) + dx, Math.round(y * ratio) + dy);
          if (p.every((v, k) => Math.abs(v - rgb[k]!) <= tol)) return true;
        }
      return false;
    };
    const polyline = (c: string) => {
      const el = findAll(svg, (e) => e.name === 'polyline' && (e.attrs.class ?? '').split(' ').includes(c))[0]!;
      const v = el.attrs.points!.split(/[\s,]+/).map(Number);
      return Array.from({ length: v.length / 2 }, (_, i) => [v[2 * i]!, v[2 * i + 1]!] as const);
    };
    const checks: [string, number[]][] = [
      ['val-top1', [0xd6, 0x27, 0x28]],
      ['val-top5', [0x94, 0x67, 0xbd]],
      ['val-loss', [0xff, 0x7f, 0x0e]],
      ['train-steps-smoothed', [0x1f, 0x77, 0xb4]],
    ];
    for (const [c, rgb] of checks) {
      const pts = polyline(c);
      expect(pts.length).toBeGreaterThan(5);
      // Midpoints of segments (away from the markers) are in the series colour (markers on top share it anyway).
      let hits = 0;
      for (let i = 1; i < pts.length; i++) {
        const [x0, y0] = pts[i - 1]!;
        const [x1, y1] = pts[i]!;
        if (near((x0 + x1) / 2, (y0 + y1) / 2, rgb)) hits++;
      }
      expect(hits / (pts.length - 1), c).toBeGreaterThan(0.8);
    }
    // The y axis of the loss panel: a dark vertical line; the figure's corners are background.
    const axis = findAll(svg, (e) => e.name === 'polyline' && !e.attrs.class && e.attrs.stroke === '#333333')[0]!;
    const [ax, ay] = axis.attrs.points!.split(/[\s,]+/).map(Number) as [number, number];
    expect(near(ax, ay + 50, [0x33, 0x33, 0x33], 30, 0)).toBe(true);
    for (const [x, y] of [
      [0, 0],
      [img.width - 1, img.height - 1],
      [img.width - 1, 0],
    ] as const)
      expect(at(x, y)).toEqual([255, 255, 255]);
    // Text is drawn (tick labels in dark gray beside the axis).
    let ink = 0;
    for (let y = Math.round((ay + 20) * ratio); y < Math.round((ay + 200) * ratio); y++)
      for (let x = 0; x < Math.round(ax * ratio) - 4; x++) if (at(x, y)[0]! < 128) ink++;
    expect(ink).toBeGreaterThan(20);
  });

  it('handles no data, a single epoch, NaN metrics and steps without stepsPerEpoch', () => {
    for (const [records, steps] of [
      [[], []],
      [[{ epoch: 1, lr: 0.01, trainLoss: 2.3 }], []],
      [[{ epoch: 1, lr: 0.01, trainLoss: NaN, val: { loss: NaN, top1Error: NaN, top5Error: NaN } }], [{ epoch: 1, step: 1, loss: 2.3 }]],
      [
        [],
        [
          { epoch: 1, step: 10, loss: 2 },
          { epoch: 1, step: 20, loss: 1.5 },
          { epoch: 2, step: 10, loss: 1.2 },
        ],
      ],
    ] as [CurveEpoch[], CurveStep[]][]) {
      const root = parseXml(curvesSvg(records, steps));
      expect(root.name).toBe('svg');
      const img = curvesPng(records, steps, { pixelRatio: 1, width: 480, height: 240 });
      expect([img.width, img.height]).toEqual([480, 240]);
    }
    const texts = findAll(parseXml(curvesSvg([], [])), (e) => e.name === 'text').map((e) => e.text);
    expect(texts).toContain('no validation data');
    // Without stepsPerEpoch the longest epoch sets the scale: step 20 of 20 lands on epoch 1.
    const pts = findAll(
      parseXml(
        curvesSvg(
          [],
          [
            { epoch: 1, step: 10, loss: 2 },
            { epoch: 1, step: 20, loss: 1.5 },
            { epoch: 2, step: 20, loss: 1 },
          ],
          { smoothing: 0 },
        ),
      ),
      (e) => (e.attrs.class ?? '').includes('train-steps'),
    );
    expect(pts).toHaveLength(1);
    expect(() => curvesSvg([], [], { smoothing: 1 })).toThrow(/smoothing/);
  });

  it('draws long logs quickly, thinned to the same envelope, with the epoch means as a line', () => {
    const steps: CurveStep[] = [];
    const records: CurveEpoch[] = [];
    for (let e = 1; e <= 60; e++) {
      for (let s = 1; s <= 500; s++)
        steps.push({ epoch: e, step: s, loss: 1 + 4 * Math.exp(-(e + s / 500) / 8) + 0.3 * Math.sin(e * 500 + s), stepsPerEpoch: 500 });
      records.push({ epoch: e, lr: 0.01, trainLoss: 1 + 4 * Math.exp(-e / 8), val: { loss: 1.2, top1Error: 0.3, top5Error: 0.1 } });
    }
    const t0 = performance.now();
    const root = parseXml(curvesSvg(records, steps));
    const img = curvesPng(records, steps, { pixelRatio: 1 });
    expect(performance.now() - t0).toBeLessThan(3000);
    expect(img.width).toBe(960);
    const points = (c: string) => {
      const el = findAll(root, (e) => e.name === 'polyline' && (e.attrs.class ?? '').split(' ').includes(c))[0]!;
      return el.attrs.points!.split(' ').map((p) => p.split(',').map(Number) as [number, number]);
    };
    const raw = points('train-steps');
    expect(raw.length).toBeLessThan(steps.length / 4);
    // The thinned line keeps the extremes (smallest and largest y in SVG units = highest and lowest loss).
    const ys = raw.map((p) => p[1]);
    const smoothed = points('train-steps-smoothed').map((p) => p[1]);
    expect(Math.min(...ys)).toBeLessThan(Math.min(...smoothed));
    expect(Math.max(...ys)).toBeGreaterThan(Math.max(...smoothed));
    // 60 epoch means are too many for dots over the steps: a line, no markers.
    expect(points('train-epoch')).toHaveLength(60);
    expect(findAll(root, (e) => e.name === 'circle' && (e.attrs.class ?? '').includes('train-epoch'))).toHaveLength(0);
  });

  it('niceAxis picks 1-2-5 steps with ends on ticks', () => {
    expect(niceAxis(0.13, 0.87)).toMatchObject({ lo: 0, hi: 1, ticks: [0, 0.2, 0.4, 0.6, 0.8, 1] });
    expect(niceAxis(1.37, 2.31).ticks).toEqual([1.2, 1.4, 1.6, 1.8, 2, 2.2, 2.4]);
    expect(niceAxis(5, 5).ticks.length).toBeGreaterThan(1);
    expect(niceAxis(0, 0)).toMatchObject({ lo: 0, hi: 1 });
  });

  it('readTrainingLog reads the trainer log; later lines win after a resume; NaN comes back from null', async () => {
    const dir = tmp();
    const f = join(dir, 'train.jsonl');
    const step = (epoch: number, s: number, loss: number) =>
      JSON.stringify({ type: 'step', epoch, step: s, stepsPerEpoch: 20, loss, imagesPerSecond: 100, elapsedSeconds: 1, lr: 0.01 });
    const epoch = (e: number, trainLoss: number, top1: number) =>
      JSON.stringify({ type: 'epoch', epoch: e, lr: 0.01, trainLoss, images: 640, seconds: 2, val: { loss: 1, top1Error: top1, top5Error: NaN, count: 100 } });
    const lines = [
      step(1, 1, 2.3),
      step(1, 10, 2.0),
      step(1, 20, 1.8),
      epoch(1, 2.0, 0.5),
      step(2, 1, 1.7),
      step(2, 10, 1.6), // the run dies here; resumed from the epoch-1 checkpoint:
      step(2, 1, 1.69),
      step(2, 10, 1.59),
      step(2, 20, 1.5),
      epoch(2, 1.6, 0.4),
      '{"type":"step","epoch":3,"st', // killed mid-write
    ];
    writeFileSync(f, lines.join('\n'));
    const log = await readTrainingLog(f);
    expect(log.steps.map((s) => [s.epoch, s.step, s.loss])).toEqual([
      [1, 1, 2.3],
      [1, 10, 2.0],
      [1, 20, 1.8],
      [2, 1, 1.69],
      [2, 10, 1.59],
      [2, 20, 1.5],
    ]);
    expect(log.steps[0]!.stepsPerEpoch).toBe(20);
    expect(log.epochs.map((e) => e.epoch)).toEqual([1, 2]);
    expect(log.epochs[1]!.val!.top1Error).toBe(0.4);
    expect(log.epochs[1]!.val!.top5Error).toBeNaN();
    expect('type' in log.epochs[0]! || 'type' in log.steps[0]!).toBe(false);
    expect((log.steps[0] as unknown as { lr: number }).lr).toBe(0.01);

    // A restart from scratch into the same file replaces everything.
    writeFileSync(f, [...lines.slice(0, 10), step(1, 1, 2.31), ''].join('\n'));
    const restarted = await readTrainingLog(f);
    expect(restarted.steps.map((s) => s.loss)).toEqual([2.31]);
    expect(restarted.epochs).toEqual([]);

    writeFileSync(f, ['{oops', step(1, 1, 2)].join('\n'));
    await expect(readTrainingLog(f)).rejects.toThrow(/train\.jsonl:1 is not JSON/);
    await expect(readTrainingLog(join(dir, 'missing.jsonl'))).rejects.toThrow(/cannot read/);
  });

  it('writeCurves writes matching .svg and .png files', async () => {
    const { records, steps } = syntheticRun();
    const dir = tmp();
    const out = await writeCurves(records, steps, join(dir, 'plots', 'curves.png'), { title: 'run 1', pixelRatio: 1 });
    expect(out).toEqual({ svg: join(dir, 'plots', 'curves.svg'), png: join(dir, 'plots', 'curves.png') });
    expect(parseXml(readFileSync(out.svg, 'utf8')).attrs.width).toBe('960');
    const d = decodePng(readFileSync(out.png));
    expect([d.width, d.height, d.channels]).toEqual([960, 400, 3]);
    expect(Buffer.from(d.pixels).equals(Buffer.from(curvesPng(records, steps, { title: 'run 1', pixelRatio: 1 }).pixels))).toBe(true);
    if (HAS_PIL) expect(pilDecode([out.png])[out.png]).toMatchObject({ mode: 'RGB', size: [960, 400], text: { Software: 'tessera', Title: 'run 1' } });
  });
});
