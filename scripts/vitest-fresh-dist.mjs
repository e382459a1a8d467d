/**
 * vitest globalSetup for packages whose worker threads run the compiled dist/ (a worker cannot load
 * TypeScript): rebuilds dist/ when any source is newer, so tests never run workers on stale code.
 * Used as `globalSetup: ['../../scripts/vitest-fresh-dist.mjs']`; the package is the vitest root (cwd).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function newest(dir) {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

export default function setup() {
  const pkg = process.cwd();
  // tsc rewrites every output on each build, so dist/index.js dates the whole of dist/.
  const built = join(pkg, 'dist', 'index.js');
  const sources = Math.max(newest(join(pkg, 'src')), statSync(join(pkg, 'tsconfig.build.json')).mtimeMs);
  if (existsSync(built) && statSync(built).mtimeMs >= sources) return;
  const tsc = join(pkg, '../../node_modules/typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', join(pkg, 'tsconfig.build.json')], { stdio: 'inherit' });
}
