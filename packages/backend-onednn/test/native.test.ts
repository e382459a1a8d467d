// The native build's status, the kernel tables of src/kernels.ts and csrc/kernels.h agreeing, what the addon
// reports, registration as the implicit default, and bad input becoming TesseraErrors that name the kernel.
import { readFileSync } from 'node:fs';
import { F, TesseraError, availableBackends, backendByName, describeDefaultBackend, tensor, tidy } from '@tessera/tensor';
import { describe, expect, it } from 'vitest';
import { K } from '../src/kernels.js';
import { type OnednnBackend, loadNative, nativeStatus } from '../src/index.js';

const status = nativeStatus();
const built = status?.built === true;

describe('native build', () => {
  it('left a status marker saying whether the addon was built, and why not', () => {
    expect(status, 'build/native-status.json is missing: run npm run build -w @tessera/backend-onednn').not.toBeNull();
    if (!status!.built) expect(status!.reason.length).toBeGreaterThan(0);
  });

  it('the kernel ids agree between src/kernels.ts and csrc/kernels.h', () => {
    const header = readFileSync(new URL('../csrc/kernels.h', import.meta.url), 'utf8');
    const body = /enum KernelId \{([\s\S]*?)\};/.exec(header)![1]!;
    const names = body
      .split(',')
      .map((s) => s.replace(/=.*/, '').trim())
      .filter((s) => s.startsWith('K_') && s !== 'K_COUNT');
    const camel = (s: string) =>
      s
        .slice(2)
        .toLowerCase()
        .replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
    expect(names.map(camel)).toEqual(Object.keys(K).filter((k) => Number.isNaN(Number(k))));
  });

  it.runIf(built)('the addon loads and reports every kernel, oneDNN version, threads and ISA', () => {
    const probe = loadNative().probe();
    expect(probe.kernels).toBe(Object.keys(K).filter((k) => Number.isNaN(Number(k))).length);
    expect(probe.dnnlVersion).toMatch(/^\d+\.\d+\.\d+$/);
    expect(probe.threads).toBeGreaterThanOrEqual(1);
    expect(probe.isa.length).toBeGreaterThan(0);
  });

  it('onednn is available exactly when the addon was built, and otherwise says why', async () => {
    const entry = (await availableBackends()).find((b) => b.name === 'onednn');
    expect(entry).toBeDefined();
    expect(entry!.available).toBe(built);
    if (!built) expect(entry!.reason).toContain('not built');
  });

  it('is the implicit default when built (priority 10 over cpu), else cpu is', () => {
    const d = describeDefaultBackend();
    expect(d.name).toBe(built ? 'onednn' : 'cpu');
    if (built) expect(d.reason).toContain('priority 10');
  });
});

describe.runIf(built)('errors on onednn', () => {
  const expectTessera = (fn: () => unknown, op: string, text: string) => {
    try {
      fn();
    } catch (err) {
      expect(err).toBeInstanceOf(TesseraError);
      expect((err as Error).message).toContain(op);
      expect((err as Error).message).toContain(text);
      return;
    }
    expect.fail(`expected a TesseraError from ${op}`);
  };

  it('a label outside [0, classes) is a TesseraError naming the row, thrown at once', async () => {
    await backendByName('onednn');
    const logits = tensor(new Float32Array(6), [2, 3], { backend: 'onednn' });
    const labels = tensor(new Int32Array([1, 3]), [2], { backend: 'onednn' });
    expectTessera(() => tidy(() => F.crossEntropy(logits, labels)), 'crossEntropy', 'label 3 at row 1 is outside [0, 3)');
    const idx = tensor(new Int32Array([0, -1]), [2], { backend: 'onednn' });
    expectTessera(() => tidy(() => logits.indexSelect(1, idx)), 'gather', 'index -1 at position 1');
    [logits, labels, idx].forEach((t) => t.dispose());
  });

  it('kernels refuse buffers that do not fit their geometry or dtype instead of reading out of bounds', async () => {
    const b = (await backendByName('onednn')) as OnednnBackend;
    const x = b.alloc('float32', 10);
    const w = b.alloc('float32', 4);
    const y = b.alloc('float32', 10);
    const ints = b.alloc('int32', 10);
    const conv = {
      n: 1,
      cIn: 1,
      h: 4,
      w: 4,
      cOut: 1,
      kh: 2,
      kw: 2,
      outH: 3,
      outW: 3,
      strideH: 1,
      strideW: 1,
      padH: 0,
      padW: 0,
      dilationH: 1,
      dilationW: 1,
      groups: 1,
    };
    expectTessera(() => b.kernels.conv2d(x, w, null, y, conv), 'conv2d', 'needs 16');
    expectTessera(
      () => b.kernels.matmul(x, w, y, { batch: 1, m: 3, n: 3, k: 4, transA: false, transB: false, aBatchStride: 0, bBatchStride: 0 }),
      'matmul',
      'needs 12',
    );
    expectTessera(
      () => b.kernels.matmul(ints, w, y, { batch: 1, m: 1, n: 1, k: 1, transA: false, transB: false, aBatchStride: 0, bBatchStride: 0 }),
      'matmul',
      'float32',
    );
    expectTessera(
      () => b.kernels.copy(x, y, { shape: [4, 4], inStrides: [4, 1], inOffset: 0, outStrides: [1, 1], outOffset: 0 }),
      'copy',
      'reaches element 15',
    );
    expectTessera(() => b.kernels.lrn(x, y, { n: 1, c: 2, h: 3, w: 3, size: 3, alpha: 1e-4, beta: 0.75, k: 2 }), 'lrn', 'needs 18');
    expectTessera(() => b.alloc('float64', 3), 'alloc', 'float32 and int32');
    [x, w, y, ints].forEach((t) => b.free(t));
    expectTessera(() => b.free(x), 'free', 'freed twice');
  });
});
