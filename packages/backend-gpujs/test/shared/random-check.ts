// Philox fills on a backend against the CPU reference for chosen parameters: uniform and bernoulli bit for
// bit, normal within the toolkit's stated bound. Shared by the Node test and the browser page (the kit's own
// property draws arbitrary bounds, some of which the reference itself rejects).
import { type RandomParams, backendByName } from '@tessera/tensor';

export interface RandomCase {
  n: number;
  seed: number;
  offset?: number;
  low: number;
  high: number;
  mean: number;
  std: number;
  p: number;
}

/** Null when the backend's three fills (its random kernel, called directly) match the CPU's, else the first difference. */
export async function compareRandom(backend: string, c: RandomCase): Promise<string | null> {
  const params: RandomParams[] = [
    { dist: 'uniform', seed: c.seed, offset: c.offset ?? 0, low: c.low, high: c.high },
    { dist: 'normal', seed: c.seed, offset: c.offset ?? 0, mean: c.mean, std: c.std },
    { dist: 'bernoulli', seed: c.seed, offset: c.offset ?? 0, p: c.p, scale: 2 },
  ];
  const fill = async (name: string, p: RandomParams) => {
    const b = await backendByName(name);
    const buf = b.alloc('float32', c.n);
    try {
      b.kernels.random(buf, p);
      return await b.read(buf);
    } finally {
      b.free(buf);
    }
  };
  for (const p of params) {
    const a = await fill(backend, p);
    const b = await fill('cpu', p);
    for (let j = 0; j < c.n; j++) {
      const bound = p.dist === 'normal' ? 2e-6 * Math.abs(c.std) + 4e-7 * (Math.abs(b[j]!) + Math.abs(c.mean)) + 2 ** -126 : 0;
      if (!(Math.abs(a[j]! - b[j]!) <= bound) && !(a[j] === b[j])) return `${p.dist} element ${j} of ${JSON.stringify(c)}: ${a[j]} vs ${b[j]}`;
    }
  }
  return null;
}

/** Cases covering seeds above 2³², counters crossing 2¹⁶ and 2³² word boundaries, odd lengths, wide bounds. */
export const RANDOM_CASES: RandomCase[] = [
  { n: 4099, seed: 0, low: -1, high: 3, mean: 1, std: 2, p: 0.3 },
  { n: 1001, seed: 2 ** 40 + 12345, low: -1e6, high: 7.3, mean: -3, std: 0.01, p: 0.9 },
  { n: 777, seed: 987654321, low: 0.1, high: 0.2, mean: 0, std: 1, p: 0.5 },
  { n: 513, seed: 42, low: -123.456, high: 99999.5, mean: 5, std: 10, p: 1e-3 },
  { n: 4001, seed: 4294967295, low: 0, high: 1, mean: 0, std: 1, p: 0.999 },
  { n: 1030, seed: 7, offset: 65536 - 100, low: -2, high: 2, mean: 0, std: 1, p: 0.5 },
  { n: 1030, seed: 7, offset: 2 ** 32 - 100, low: -2, high: 2, mean: 0, std: 1, p: 0.5 },
  { n: 999, seed: 2 ** 52 + 3, offset: 2 ** 48 + 2 ** 32 - 7, low: 1e-3, high: 1e3, mean: 100, std: 1e-3, p: 0.25 },
];
