// The vitest configuration every package shares: tests are the files test/**/*.test.ts, each file in a forked
// process (native addons and worker threads are not safe to share a process between files), with generous
// timeouts for a 2-core machine. A package passes only what differs.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export function packageTests(test = {}) {
  return defineConfig({
    test: {
      include: ['test/**/*.test.ts'],
      testTimeout: 120_000,
      hookTimeout: 120_000,
      pool: 'forks',
      setupFiles: [fileURLToPath(new URL('./vitest-yield-between-tests.mjs', import.meta.url))],
      ...test,
    },
  });
}
