#!/usr/bin/env node
// Builds the oneDNN addon with node-gyp against Node's installed headers (no download). Never fails
// `npm install` / `npm run build`: when a C++ compiler, oneDNN's headers and library (Debian: libdnnl-dev),
// node-gyp or node-addon-api is missing, or a step fails, it prints one line saying why and writes
// build/native-status.json, which the JS side reads to report the backend unavailable with that reason.
//
//   node scripts/build-native.mjs     build (incremental)
//   TESSERA_ONEDNN_SKIP=1             skip the native build (reported as the reason)
//   DNNL_ROOT=/opt/dnnl               a oneDNN install outside the system paths (include/, lib/)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const buildDir = join(root, 'build');
const statusFile = join(buildDir, 'native-status.json');
const started = Date.now();

function finish(status) {
  mkdirSync(buildDir, { recursive: true });
  writeFileSync(statusFile, JSON.stringify({ ...status, at: new Date().toISOString() }, null, 2) + '\n');
}

function skip(reason) {
  finish({ built: false, reason });
  console.log(`@tessera/backend-onednn: the oneDNN backend was not built: ${reason}`);
  process.exit(0);
}

function firstErrorLine(res) {
  const text = `${res.stderr ?? ''}\n${res.stdout ?? ''}`;
  return (text.split('\n').find((l) => /error/i.test(l)) ?? text.trim().split('\n').pop() ?? String(res.error)).trim().slice(0, 300);
}

function run(cmd, args, what, env = process.env) {
  const res = spawnSync(cmd, args, { cwd: root, encoding: 'utf8', env });
  if (res.error || res.status !== 0) skip(`${what} failed: ${firstErrorLine(res)}`);
  return res;
}

function onPath(name) {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) if (dir && existsSync(join(dir, name))) return join(dir, name);
  return null;
}

function findNodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp,
    join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
    join(root, '..', '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ].filter(Boolean);
  return candidates.find((c) => existsSync(c)) ?? null;
}

if (process.env.TESSERA_ONEDNN_SKIP === '1') skip('TESSERA_ONEDNN_SKIP=1 is set');
const cxx = process.env.CXX || onPath('g++') || onPath('c++') || onPath('clang++');
if (!cxx) skip('no C++ compiler was found (set CXX, or install g++)');
const nodeGyp = findNodeGyp();
if (!nodeGyp) skip('node-gyp was not found (npm ships it; set npm_config_node_gyp)');
if (!existsSync(join(root, '..', '..', 'node_modules', 'node-addon-api')) && !existsSync(join(root, 'node_modules', 'node-addon-api'))) {
  skip('node-addon-api is not installed (run npm install)');
}

// oneDNN present and linkable? One tiny program answers for headers, library and OpenMP at once.
const dnnlRoot = process.env.DNNL_ROOT;
const extraInclude = dnnlRoot ? [`-I${join(dnnlRoot, 'include')}`] : [];
const extraLib = dnnlRoot ? [`-L${join(dnnlRoot, 'lib')}`, `-Wl,-rpath,${join(dnnlRoot, 'lib')}`] : [];
const probeDir = mkdtempSync(join(tmpdir(), 'tessera-onednn-'));
writeFileSync(
  join(probeDir, 'probe.cc'),
  '#include <dnnl.hpp>\n#include <cstdio>\nint main() { auto v = dnnl_version(); std::printf("%d.%d.%d", v->major, v->minor, v->patch); dnnl::engine e(dnnl::engine::kind::cpu, 0); return 0; }\n',
);
const probe = spawnSync(cxx, ['-std=c++17', ...extraInclude, join(probeDir, 'probe.cc'), '-o', join(probeDir, 'probe'), ...extraLib, '-ldnnl', '-fopenmp'], {
  encoding: 'utf8',
});
if (probe.status !== 0) {
  rmSync(probeDir, { recursive: true, force: true });
  skip(`oneDNN is not usable (install libdnnl-dev, or set DNNL_ROOT): ${firstErrorLine(probe)}`);
}
const version = spawnSync(join(probeDir, 'probe'), [], { encoding: 'utf8' });
rmSync(probeDir, { recursive: true, force: true });
if (version.status !== 0) skip(`a oneDNN test program built but failed to run: ${firstErrorLine(version)}`);
const dnnlVersion = version.stdout.trim();

const gypArgs = [];
const nodedir = process.env.npm_config_nodedir || dirname(dirname(process.execPath));
if (existsSync(join(nodedir, 'include', 'node', 'node_api.h'))) gypArgs.push(`--nodedir=${nodedir}`);
const env = { ...process.env, CXX: cxx };
if (dnnlRoot) {
  env.CXXFLAGS = `${env.CXXFLAGS ?? ''} ${extraInclude.join(' ')}`;
  env.LDFLAGS = `${env.LDFLAGS ?? ''} ${extraLib.join(' ')}`;
}
run(process.execPath, [nodeGyp, 'configure', ...gypArgs], 'node-gyp configure', env);
run(process.execPath, [nodeGyp, 'build', '--jobs=2', ...gypArgs], 'node-gyp build', env);
const addon = join(buildDir, 'Release', 'tessera_onednn.node');
if (!existsSync(addon)) skip('node-gyp reported success but build/Release/tessera_onednn.node is missing');

const seconds = (Date.now() - started) / 1000;
finish({ built: true, reason: '', addon: 'build/Release/tessera_onednn.node', dnnl: dnnlVersion, compiler: cxx, seconds });
console.log(`@tessera/backend-onednn: built the oneDNN ${dnnlVersion} addon in ${seconds.toFixed(1)}s`);
