/**
 * Just enough of vitest's API (describe / it / beforeAll / ctx.skip) to run the conformance kit inside a
 * plain Node bundle on a GPU host that has no node_modules. scripts/bundle-gpu.mjs aliases 'vitest' to this.
 */
class Skip extends Error {}
type Ctx = { skip: (reason?: string) => never };
interface Test {
  name: string;
  fn: (ctx: Ctx) => unknown;
}
const tests: Test[] = [];
const hooks: (() => unknown)[] = [];
const path: string[] = [];

export function describe(name: string, fn: () => void): void {
  path.push(name);
  fn();
  path.pop();
}
export function it(name: string, fn: (ctx: Ctx) => unknown): void {
  tests.push({ name: [...path, name].join(' > '), fn });
}
export function beforeAll(fn: () => unknown): void {
  hooks.push(fn);
}

export interface RunResult {
  passed: number;
  failed: number;
  skipped: number;
  failures: string[];
}

/** Runs everything registered so far, one test at a time, printing one line per test. */
export async function runRegistered(): Promise<RunResult> {
  const r: RunResult = { passed: 0, failed: 0, skipped: 0, failures: [] };
  for (const h of hooks.splice(0)) await h();
  for (const t of tests.splice(0)) {
    const t0 = Date.now();
    try {
      await t.fn({
        skip: (reason?: string) => {
          throw new Skip(reason ?? '');
        },
      });
      r.passed++;
      console.log(`  ok    ${t.name} (${Date.now() - t0} ms)`);
    } catch (err) {
      if (err instanceof Skip) {
        r.skipped++;
        continue;
      }
      r.failed++;
      const msg = err instanceof Error ? err.message : String(err);
      r.failures.push(`${t.name}: ${msg}`);
      console.log(`  FAIL  ${t.name}\n        ${msg.split('\n').slice(0, 6).join('\n        ')}`);
    }
  }
  return r;
}
