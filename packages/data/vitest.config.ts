import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Worker threads run the compiled dist/ (they cannot load .ts): rebuild it first when sources are newer.
    globalSetup: ['../../scripts/vitest-fresh-dist.mjs'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Two cores: one test file at a time leaves the other core to the loader's worker threads.
    fileParallelism: false,
  },
});
