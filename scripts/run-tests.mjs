#!/usr/bin/env node
// Runs every workspace's vitest suite, one package after another (the machine has 2 cores; parallel suites
// would fight), and ends with the plain line `N passed, N failed`. Exit status 1 when anything failed.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const filter = process.argv.slice(2);
const workspaces = ['packages', 'apps']
  .flatMap((dir) => (existsSync(join(root, dir)) ? readdirSync(join(root, dir)).map((name) => join(root, dir, name)) : []))
  .filter((dir) => existsSync(join(dir, 'package.json')))
  .filter((dir) => JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).scripts?.test)
  .filter((dir) => filter.length === 0 || filter.some((f) => dir.includes(f)))
  .sort();

const outDir = mkdtempSync(join(tmpdir(), 'tessera-tests-'));
let passed = 0;
let failed = 0;
let skipped = 0;
const broken = [];
/** Each failed test, for the summary at the end (CI shows only the tail of the log). */
const failures = [];
const ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');
const plain = (text) => text.replace(ANSI, '');
for (const dir of workspaces) {
  const name = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).name;
  const report = join(outDir, `${name.replace(/[^a-z0-9]/gi, '_')}.json`);
  console.log(`\n=== ${name} ===`);
  const res = spawnSync('npx', ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`], {
    cwd: dir,
    stdio: 'inherit',
  });
  if (!existsSync(report)) {
    // The runner itself failed before writing a report: count the package as one failure.
    console.log(`${name}: vitest exited with status ${res.status} and wrote no report`);
    failed += 1;
    broken.push(name);
    continue;
  }
  const json = JSON.parse(readFileSync(report, 'utf8'));
  passed += json.numPassedTests;
  failed += json.numFailedTests;
  skipped += json.numPendingTests + (json.numTodoTests ?? 0);
  // A file that failed to load, or whose hook failed (vitest then reports its tests as skipped), fails with no
  // failed test: count each such file as a failure so it cannot pass silently.
  const fileFailed = (r) => r.status === 'failed' && !r.assertionResults.some((t) => t.status === 'failed');
  const loadFailures = json.testResults.filter(fileFailed).length;
  failed += loadFailures;
  for (const file of json.testResults) {
    const rel = file.name.startsWith(dir) ? file.name.slice(dir.length + 1) : file.name;
    if (fileFailed(file)) failures.push(`${name} ${rel}: ${plain(file.message || 'failed with no failed test').slice(0, 400)}`);
    for (const t of file.assertionResults) {
      if (t.status !== 'failed') continue;
      const why = plain((t.failureMessages ?? []).join('\n'))
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l && !l.startsWith('at '))
        .slice(0, 3)
        .join(' / ');
      failures.push(`${name} ${rel} > ${t.fullName} (${Math.round((t.duration ?? 0) / 1000)} s): ${why.slice(0, 400)}`);
    }
  }
  if (json.numFailedTests > 0 || loadFailures > 0 || res.status !== 0) broken.push(name);
}
if (failures.length > 0) console.log(`\nfailed tests:\n${failures.map((f) => `- ${f}`).join('\n')}`);
if (broken.length > 0) console.log(`\nfailing packages: ${broken.join(', ')}`);
if (skipped > 0) console.log(`${skipped} skipped`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 || broken.length > 0 ? 1 : 0);
