// The shared conformance suite on the webgpu backend, with the CPU backend's tolerances. In Node it runs on
// whatever adapter Dawn finds (SwiftShader on CI, see vitest.config.ts); without one it skips, saying why.
import '@tessera/tensor';
import '../src/index.js';
import { describeConformance } from '@tessera/tensor/testing';

describeConformance('webgpu', { numRuns: Number(process.env.TESSERA_CONFORMANCE_RUNS ?? 50) });
