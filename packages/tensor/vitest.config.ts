import { packageTests } from '../../scripts/vitest-package.mjs';

export default packageTests({
  // The CPU backend's worker threads run the compiled dist/ (they cannot load .ts): rebuild it when sources are newer.
  globalSetup: ['../../scripts/vitest-fresh-dist.mjs'],
});
