import { packageTests } from '../../scripts/vitest-package.mjs';

export default packageTests();
