import { packageTests } from '../../scripts/vitest-package.mjs';

export default packageTests({ testTimeout: 300_000, hookTimeout: 180_000 });
