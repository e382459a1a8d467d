import { describe, expect, it, vi } from 'vitest';

describe('random creation', () => {
  it('refuses bounds without a float32 meaning naming the op and shape, before allocating or advancing the generator', async () => {
    vi.resetModules();
    const t = await import('../src/index.js');
    t.manualSeed(7);
    const before = t.getRngState();
    const live = t.memory().tensors;
    expect(() => t.rand([2, 3], { low: -Infinity, high: 1 })).toThrow(/^rand: .*\(shape \[2, 3\], float32\)$/);
    expect(() => t.randn([4], { std: NaN })).toThrow(/^randn: .*\(shape \[4\], float32\)$/);
    expect(t.getRngState()).toEqual(before);
    expect(t.memory().tensors).toBe(live);
    expect(t.rand([2], { low: -1, high: 1 }).shape).toEqual([2]);
  });
});
