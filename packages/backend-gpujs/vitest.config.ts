import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // headless-gl needs an X display; this starts Xvfb for the run when none is set (and says why not when
    // it cannot, in which case the suites skip with the backend's reason).
    globalSetup: ['test/x-display.ts'],
    testTimeout: 600_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
