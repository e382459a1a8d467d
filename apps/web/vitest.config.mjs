// One test file drives the built app in Chromium step by step (each backend's tests share the page).
import { packageTests } from '../../scripts/vitest-package.mjs';

export default packageTests({ testTimeout: 600_000, hookTimeout: 300_000, fileParallelism: false });
