#!/usr/bin/env node
// Builds the CUDA addon when nvcc is present: each .cu file compiled by nvcc one at a time (two cores are
// shared with the rest of CI), archived into build/cuda/libtessera_kernels.a, then the node-addon-api glue
// compiled and linked by node-gyp (offline: Node's own headers). Never fails `npm run build`: when nvcc is
// missing or any step fails it prints one line saying why and writes build/native-status.json, which the
// JS side reads to report the backend unavailable with that reason.
//
//   node scripts/build-native.mjs          sm_80, sm_86, sm_89, sm_90 SASS + compute_90 PTX (the default: ~95 s
//                                          of nvcc on one core of the 2-core dev machine, under the 3-minute budget)
//   node scripts/build-native.mjs --quick  sm_80 SASS + compute_80 PTX only (~25 s; for development)
//   TESSERA_CUDA_SKIP=1                    skip the native build (reported as the reason)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const buildDir = join(root, 'build');
const objDir = join(buildDir, 'cuda');
const statusFile = join(buildDir, 'native-status.json');
const fat = !(process.argv.includes('--quick') || process.env.TESSERA_CUDA_QUICK === '1');
const ARCHS = fat ? ['80', '86', '89', '90'] : ['80'];
const PTX = fat ? '90' : '80';
const started = Date.now();

function finish(status) {
  mkdirSync(buildDir, { recursive: true });
  writeFileSync(statusFile, JSON.stringify({ ...status, at: new Date().toISOString() }, null, 2) + '\n');
}

function skip(reason) {
  finish({ built: false, reason });
  console.log(`@tessera/backend-cuda: the CUDA backend was not built: ${reason}`);
  process.exit(0);
}

function findNvcc() {
  const candidates = [];
  for (const v of ['CUDA_HOME', 'CUDA_PATH']) if (process.env[v]) candidates.push(join(process.env[v], 'bin', 'nvcc'));
  for (const dir of (process.env.PATH ?? '').split(delimiter)) if (dir) candidates.push(join(dir, 'nvcc'));
  candidates.push('/usr/local/cuda/bin/nvcc');
  return candidates.find((c) => existsSync(c)) ?? null;
}

/** The CUDA toolkit root: the directory holding include/cuda_runtime.h and lib64/libcudart_static.a. */
function cudaHome(nvcc) {
  const guesses = [process.env.CUDA_HOME, process.env.CUDA_PATH, join(dirname(nvcc), '..'), '/usr/local/cuda'].filter(Boolean);
  return guesses.find((g) => existsSync(join(g, 'include', 'cuda_runtime.h')) && existsSync(join(g, 'lib64', 'libcudart_static.a'))) ?? null;
}

function run(cmd, args, what) {
  const res = spawnSync(cmd, args, { cwd: root, encoding: 'utf8', env: process.env });
  if (res.error || res.status !== 0) {
    const text = `${res.stderr ?? ''}\n${res.stdout ?? ''}`;
    const line = text.split('\n').find((l) => /error/i.test(l)) ?? text.trim().split('\n').pop() ?? String(res.error);
    skip(`${what} failed: ${line.trim().slice(0, 300)}`);
  }
  return res;
}

function findNodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp,
    join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
    join(root, '..', '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ].filter(Boolean);
  return candidates.find((c) => existsSync(c)) ?? null;
}

if (process.env.TESSERA_CUDA_SKIP === '1') skip('TESSERA_CUDA_SKIP=1 is set');
const nvcc = findNvcc();
if (!nvcc) skip('nvcc was not found (looked in CUDA_HOME, CUDA_PATH, PATH and /usr/local/cuda/bin)');
const home = cudaHome(nvcc);
if (!home) skip(`nvcc is at ${nvcc} but no CUDA toolkit with include/cuda_runtime.h and lib64/libcudart_static.a was found`);
const nodeGyp = findNodeGyp();
if (!nodeGyp) skip('node-gyp was not found (npm ships it; set npm_config_node_gyp)');
const addonApi = join(root, '..', '..', 'node_modules', 'node-addon-api');
if (!existsSync(addonApi) && !existsSync(join(root, 'node_modules', 'node-addon-api'))) skip('node-addon-api is not installed (run npm ci)');

const nvccVersion =
  (spawnSync(nvcc, ['--version'], { encoding: 'utf8' }).stdout ?? '')
    .split('\n')
    .find((l) => l.includes('release'))
    ?.trim() ?? 'unknown';
mkdirSync(objDir, { recursive: true });

// Kernels, one .cu at a time; a file is rebuilt when it, a header or the architecture list changed.
const csrc = join(root, 'csrc');
const headers = readdirSync(csrc).filter((f) => /\.(cuh|h)$/.test(f));
const newestHeader = Math.max(...headers.map((h) => statSync(join(csrc, h)).mtimeMs));
const gencode = [...ARCHS.map((a) => `-gencode=arch=compute_${a},code=sm_${a}`), `-gencode=arch=compute_${PTX},code=compute_${PTX}`];
const flagsStamp = join(objDir, 'flags.txt');
const flags = ['-std=c++17', '-O3', '-Xcompiler', '-fPIC', '-Xcompiler', '-Wall', ...gencode];
const sameFlags = existsSync(flagsStamp) && readFileSync(flagsStamp, 'utf8') === flags.join(' ');
const objects = [];
const timings = [];
for (const file of readdirSync(csrc)
  .filter((f) => f.endsWith('.cu'))
  .sort()) {
  const src = join(csrc, file);
  const obj = join(objDir, file.replace(/\.cu$/, '.o'));
  objects.push(obj);
  if (sameFlags && existsSync(obj) && statSync(obj).mtimeMs > Math.max(statSync(src).mtimeMs, newestHeader)) continue;
  const t0 = Date.now();
  run(nvcc, [...flags, '-c', src, '-o', obj], `nvcc ${file}`);
  timings.push(`${file} ${((Date.now() - t0) / 1000).toFixed(1)}s`);
}
writeFileSync(flagsStamp, flags.join(' '));
const nvccSeconds = (Date.now() - started) / 1000;
run(nvcc, ['-lib', '-o', join(objDir, 'libtessera_kernels.a'), ...objects], 'nvcc -lib');

// The glue, by node-gyp against Node's installed headers (no download).
const gypArgs = [];
const nodedir = process.env.npm_config_nodedir || dirname(dirname(process.execPath));
if (existsSync(join(nodedir, 'include', 'node', 'node_api.h'))) gypArgs.push(`--nodedir=${nodedir}`);
run(process.execPath, [nodeGyp, 'configure', ...gypArgs, '--', `-Dcuda_home=${home}`], 'node-gyp configure');
run(process.execPath, [nodeGyp, 'build', '--jobs=1', ...gypArgs], 'node-gyp build');
const addon = join(buildDir, 'Release', 'tessera_cuda.node');
if (!existsSync(addon)) skip('node-gyp reported success but build/Release/tessera_cuda.node is missing');

const seconds = (Date.now() - started) / 1000;
finish({
  built: true,
  reason: '',
  addon: 'build/Release/tessera_cuda.node',
  archs: ARCHS.map((a) => `sm_${a}`).concat(`compute_${PTX} (PTX)`),
  nvcc: nvccVersion,
  cudaHome: home,
  nvccSeconds,
  seconds,
});
console.log(
  `@tessera/backend-cuda: built the CUDA addon for ${ARCHS.map((a) => `sm_${a}`).join(', ')} + compute_${PTX} PTX in ${seconds.toFixed(1)}s` +
    (timings.length ? ` (nvcc: ${timings.join(', ')})` : ' (kernels up to date)'),
);
