/**
 * The loader's worker threads import the compiled package (dist/), since a worker cannot load TypeScript.
 * Rebuild dist/ when any source is newer, so tests never run workers on stale code.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const pkg = new URL('..', import.meta.url).pathname;

function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

export default function setup(): void {
  const built = join(pkg, 'dist', 'worker.js');
  const sources = Math.max(newest(join(pkg, 'src')), statSync(join(pkg, 'tsconfig.build.json')).mtimeMs);
  if (existsSync(built) && statSync(built).mtimeMs >= sources && statSync(join(pkg, 'dist', 'index.js')).mtimeMs >= sources) return;
  execFileSync(process.execPath, [join(pkg, '../../node_modules/typescript/bin/tsc'), '-p', join(pkg, 'tsconfig.build.json')], { stdio: 'inherit' });
}
