import { packageTests } from '../../scripts/vitest-package.mjs';

export default packageTests({
  // headless-gl needs an X display; this starts Xvfb for the run when none is set (and says why not when
  // it cannot, in which case the suites skip with the backend's reason).
  globalSetup: ['test/x-display.ts'],
  testTimeout: 600_000,
});
