// A stand-in for vitest inside the page: it collects what describeConformance registers (describe, it,
// beforeAll) so that the page can run the conformance kit itself, test by test, exactly as vitest would.
export interface CollectedTest {
  name: string;
  fn: (ctx: { skip(reason?: string): void }) => unknown;
}

export const collected: { tests: CollectedTest[]; beforeAll: (() => unknown)[] } = { tests: [], beforeAll: [] };
const prefix: string[] = [];

export function describe(name: string, fn: () => void): void {
  prefix.push(name);
  try {
    fn();
  } finally {
    prefix.pop();
  }
}

export function it(name: string, fn: CollectedTest['fn']): void {
  collected.tests.push({ name: [...prefix, name].join(' > '), fn });
}

export function beforeAll(fn: () => unknown): void {
  collected.beforeAll.push(fn);
}
