import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The CPU backend's worker threads run the compiled dist/ (they cannot load .ts): rebuild it when sources are newer.
    globalSetup: ['../../scripts/vitest-fresh-dist.mjs'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
