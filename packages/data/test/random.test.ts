import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { augmentDraws, epochOrder } from '../src/index.js';

describe('epochOrder', () => {
  it('is a permutation, fixed by (seed, epoch)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 300 }), fc.nat(), fc.nat({ max: 1000 }), (n, seed, epoch) => {
        const a = epochOrder(n, seed, epoch, true);
        expect(Array.from(a).sort((x, y) => x - y)).toEqual(Array.from({ length: n }, (_, i) => i));
        expect(Array.from(epochOrder(n, seed, epoch, true))).toEqual(Array.from(a));
      }),
    );
  });

  it('changes with the seed and the epoch; without shuffling it is 0…n−1', () => {
    const a = Array.from(epochOrder(1000, 1, 0, true));
    expect(Array.from(epochOrder(1000, 2, 0, true))).not.toEqual(a);
    expect(Array.from(epochOrder(1000, 1, 1, true))).not.toEqual(a);
    expect(Array.from(epochOrder(1000, 2 ** 40 + 1, 0, true))).not.toEqual(a); // the seed's high word counts
    expect(Array.from(epochOrder(5, 1, 0, false))).toEqual([0, 1, 2, 3, 4]);
  });

  it('draws each of the 6 orders of 3 items about equally often', () => {
    const counts = new Map<string, number>();
    const trials = 6000;
    for (let s = 0; s < trials; s++) {
      const k = Array.from(epochOrder(3, s, 0, true)).join('');
      counts.set(k, (counts.get(k) ?? 0) + 1);
    }
    expect(counts.size).toBe(6);
    // χ² with 5 degrees of freedom; 20.5 is the 0.1 % critical value.
    const chi2 = [...counts.values()].reduce((s, c) => s + (c - trials / 6) ** 2 / (trials / 6), 0);
    expect(chi2).toBeLessThan(20.5);
  });
});

describe('augmentDraws', () => {
  it('depends only on (seed, epoch, index)', () => {
    const a = augmentDraws(5, 2, 1234);
    augmentDraws(5, 2, 99);
    expect(augmentDraws(5, 2, 1234)).toEqual(a);
    expect(augmentDraws(5, 3, 1234)).not.toEqual(a);
    expect(augmentDraws(6, 2, 1234)).not.toEqual(a);
  });

  it('gives uniform crop positions and fair flips', () => {
    let flips = 0;
    const bins = new Array(10).fill(0);
    const n = 10000;
    for (let i = 0; i < n; i++) {
      const d = augmentDraws(1, 0, i);
      expect(d.cropU).toBeGreaterThanOrEqual(0);
      expect(d.cropU).toBeLessThan(1);
      bins[Math.floor(d.cropV * 10)]++;
      if (d.flip) flips++;
    }
    expect(Math.abs(flips - n / 2)).toBeLessThan(4 * Math.sqrt(n / 4));
    const chi2 = bins.reduce((s, c) => s + (c - n / 10) ** 2 / (n / 10), 0);
    expect(chi2).toBeLessThan(27.9); // 9 degrees of freedom, 0.1 %
  });
});
