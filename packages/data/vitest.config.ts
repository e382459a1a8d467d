import { packageTests } from '../../scripts/vitest-package.mjs';

export default packageTests({
  // Worker threads run the compiled dist/ (they cannot load .ts): rebuild it first when sources are newer.
  globalSetup: ['../../scripts/vitest-fresh-dist.mjs'],
  // Two cores: one test file at a time leaves the other core to the loader's worker threads.
  fileParallelism: false,
});
