// The conformance suite (every kernel, two runs per property) in a child Node process on the emulator built
// with AddressSanitizer + UndefinedBehaviorSanitizer (build/Release/tessera_cuda_host_asan.node, libasan
// preloaded): an out-of-bounds read or write in any kernel — silent corruption on a GPU — fails here with
// the kernel's frame and the offending access. Device blocks are exact-sized (TESSERA_CUDA_EXACT_BLOCKS=1)
// so an access just past a tensor's end is not hidden in a size class's slack.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { hostStatus } from '../src/native.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const addon = `${root}build/Release/tessera_cuda_host_asan.node`;
const vitest = fileURLToPath(new URL('../../../node_modules/vitest/vitest.mjs', import.meta.url));
const cxx = process.env.CXX || 'g++';

describe('kernels under AddressSanitizer + UndefinedBehaviorSanitizer', () => {
  it('the conformance suite runs clean', () => {
    const asan = hostStatus()?.variants?.['host-asan'];
    expect(asan?.built, asan?.reason ?? 'build/host-status.json has no sanitizer build: run npm run build -w @tessera/backend-cuda').toBe(true);
    expect(existsSync(addon)).toBe(true);
    const libasan = spawnSync(cxx, ['-print-file-name=libasan.so'], { encoding: 'utf8' }).stdout.trim();
    expect(existsSync(libasan), `libasan.so not found via ${cxx} -print-file-name`).toBe(true);
    const res = spawnSync(process.execPath, [vitest, 'run', 'test/conformance.test.ts', '--reporter=dot'], {
      cwd: root,
      encoding: 'utf8',
      env: {
        ...process.env,
        NO_COLOR: '1',
        FORCE_COLOR: '0',
        LD_PRELOAD: libasan,
        ASAN_OPTIONS: 'detect_leaks=0:detect_stack_use_after_return=0:abort_on_error=1',
        UBSAN_OPTIONS: 'print_stacktrace=1:halt_on_error=1',
        TESSERA_CUDA_EMULATE: '1',
        TESSERA_CUDA_ADDON: addon,
        TESSERA_CUDA_EXACT_BLOCKS: '1',
        TESSERA_CONFORMANCE_RUNS: process.env.TESSERA_SANITIZER_RUNS ?? '2',
      },
      maxBuffer: 64 << 20,
    });
    const out = `${res.stdout}\n${res.stderr}`;
    const report = /(ERROR: AddressSanitizer[\s\S]{0,3000})|(runtime error:[\s\S]{0,2000})/.exec(out);
    expect(report?.[0] ?? '', 'sanitizer report').toBe('');
    expect(res.status, out.slice(-4000)).toBe(0);
    // Every case ran (none skipped for want of the backend) and passed.
    expect(out).toMatch(/Tests\s+(\d+) passed \(\1\)/);
  });
});
