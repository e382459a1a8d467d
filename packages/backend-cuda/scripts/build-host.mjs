#!/usr/bin/env node
// Builds the CUDA kernels for the host emulator: the unchanged csrc/*.cu sources and the addon glue, compiled
// by the host C++ compiler against csrc/host/ (an emulation of the CUDA runtime, built-ins, warp collectives
// and WMMA) instead of the CUDA toolkit. Two addons, each its own .node file:
//
//   build/Release/tessera_cuda_host.node       -O2: what TESSERA_CUDA_EMULATE=1 opens (tests, not speed)
//   build/Release/tessera_cuda_host_asan.node  AddressSanitizer + UndefinedBehaviorSanitizer: the sanitizer
//                                              test loads it in a child node with libasan preloaded
//
// Rebuilds only what changed. Never fails `npm run build`: a failure prints one line and is recorded in
// build/host-status.json, which the tests and the backend report. TESSERA_CUDA_SKIP=1 skips it too;
// TESSERA_CUDA_HOST_SANITIZER=0 skips the sanitizer build only.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const buildDir = join(root, 'build');
const statusFile = join(buildDir, 'host-status.json');
const csrc = join(root, 'csrc');
const hostDir = join(csrc, 'host');
const cxx = process.env.CXX || 'g++';
const started = Date.now();

const VARIANTS = [
  { name: 'host', addon: 'tessera_cuda_host.node', flags: ['-O2'] },
  {
    name: 'host-asan',
    addon: 'tessera_cuda_host_asan.node',
    flags: ['-O1', '-g', '-fsanitize=address,undefined', '-fno-omit-frame-pointer', '-fno-sanitize-recover=undefined'],
  },
].filter((v) => v.name !== 'host-asan' || process.env.TESSERA_CUDA_HOST_SANITIZER !== '0');

function writeStatus(status) {
  mkdirSync(buildDir, { recursive: true });
  writeFileSync(statusFile, JSON.stringify({ ...status, at: new Date().toISOString() }, null, 2) + '\n');
}

if (process.env.TESSERA_CUDA_SKIP === '1') {
  writeStatus({ built: false, reason: 'TESSERA_CUDA_SKIP=1 is set', variants: {} });
  console.log('@tessera/backend-cuda: the host emulator was not built: TESSERA_CUDA_SKIP=1 is set');
  process.exit(0);
}

function nodeIncludeDir() {
  const dirs = [process.env.npm_config_nodedir, dirname(dirname(process.execPath))].filter(Boolean).map((d) => join(d, 'include', 'node'));
  return dirs.find((d) => existsSync(join(d, 'node_api.h'))) ?? null;
}

function addonApiDir() {
  for (const d of [join(root, 'node_modules', 'node-addon-api'), join(root, '..', '..', 'node_modules', 'node-addon-api')])
    if (existsSync(join(d, 'napi.h'))) return d;
  return null;
}

/** Runs the compiler; returns null or the first error line. */
function run(args) {
  const res = spawnSync(cxx, args, { cwd: root, encoding: 'utf8' });
  if (res.error) return String(res.error.message);
  if (res.status !== 0) {
    const text = `${res.stderr ?? ''}\n${res.stdout ?? ''}`;
    return (text.split('\n').find((l) => /error/i.test(l)) ?? text.trim().split('\n').pop() ?? 'failed').trim().slice(0, 400);
  }
  return null;
}

const nodeInclude = nodeIncludeDir();
const addonApi = addonApiDir();
const headers = [
  ...readdirSync(csrc)
    .filter((f) => /\.(cuh|h)$/.test(f))
    .map((f) => join(csrc, f)),
  ...readdirSync(hostDir)
    .filter((f) => /\.h$/.test(f))
    .map((f) => join(hostDir, f)),
];
const newestHeader = Math.max(...headers.map((h) => statSync(h).mtimeMs));
const sources = [
  ...readdirSync(csrc)
    .filter((f) => f.endsWith('.cu'))
    .sort()
    .map((f) => ({ file: join(csrc, f), lang: ['-x', 'c++'] })),
  ...readdirSync(hostDir)
    .filter((f) => f.endsWith('.cc'))
    .sort()
    .map((f) => ({ file: join(hostDir, f), lang: [] })),
  { file: join(csrc, 'addon.cc'), lang: [], napi: true },
];

const results = {};
for (const v of VARIANTS) {
  const t0 = Date.now();
  const objDir = join(buildDir, v.name);
  mkdirSync(objDir, { recursive: true });
  const base = ['-std=c++17', '-fPIC', '-Wall', '-Wno-unknown-pragmas', '-pthread', '-I', hostDir, '-I', csrc, ...v.flags];
  const stamp = join(objDir, 'flags.txt');
  const sameFlags = existsSync(stamp) && readFileSync(stamp, 'utf8') === base.join(' ');
  let failure = null;
  if (!nodeInclude) failure = 'Node headers (include/node/node_api.h) were not found; set npm_config_nodedir';
  else if (!addonApi) failure = 'node-addon-api is not installed (run npm ci)';
  const objects = [];
  const compiled = [];
  for (const src of sources) {
    if (failure) break;
    const obj = join(
      objDir,
      src.file
        .slice(csrc.length + 1)
        .replace(/[/\\]/g, '_')
        .replace(/\.(cu|cc)$/, '.o'),
    );
    objects.push(obj);
    if (sameFlags && existsSync(obj) && statSync(obj).mtimeMs > Math.max(statSync(src.file).mtimeMs, newestHeader)) continue;
    const napi = src.napi ? ['-I', nodeInclude, '-I', addonApi, '-DNAPI_VERSION=8', '-DNAPI_CPP_EXCEPTIONS', '-fexceptions'] : [];
    const err = run([...base, ...napi, ...src.lang, '-c', src.file, '-o', obj]);
    if (err) failure = `${cxx} ${src.file.slice(root.length + 1)} (${v.name}) failed: ${err}`;
    else compiled.push(src.file.slice(csrc.length + 1));
  }
  const addon = join(buildDir, 'Release', v.addon);
  if (!failure && (compiled.length || !sameFlags || !existsSync(addon))) {
    mkdirSync(dirname(addon), { recursive: true });
    const err = run([...v.flags.filter((f) => f.startsWith('-fsanitize') || f === '-g'), '-shared', '-pthread', '-o', addon, ...objects]);
    if (err) failure = `linking ${v.addon} failed: ${err}`;
  }
  if (!failure) writeFileSync(stamp, base.join(' '));
  results[v.name] = failure
    ? { built: false, reason: failure }
    : { built: true, reason: '', addon: `build/Release/${v.addon}`, seconds: (Date.now() - t0) / 1000, compiled };
  if (failure) console.log(`@tessera/backend-cuda: the ${v.name} emulator addon was not built: ${failure}`);
}

const host = results.host;
writeStatus({ built: host.built, reason: host.reason, compiler: cxx, variants: results });
const seconds = ((Date.now() - started) / 1000).toFixed(1);
const built = Object.entries(results)
  .filter(([, r]) => r.built)
  .map(([n, r]) => `${n}${r.compiled.length ? ` (${r.compiled.length} files compiled)` : ' (up to date)'}`);
if (built.length) console.log(`@tessera/backend-cuda: built the host emulator addons ${built.join(', ')} in ${seconds}s`);
