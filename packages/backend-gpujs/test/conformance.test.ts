// The shared conformance suite on the gpujs backend, with the CPU backend's tolerances. In Node it runs on
// headless-gl under the Xvfb display test/x-display.ts provides; without one it skips, saying why.
import '@tessera/tensor';
import '../src/index.js';
import { describeConformance } from '@tessera/tensor/testing';

describeConformance('gpujs', { numRuns: Number(process.env.TESSERA_CONFORMANCE_RUNS ?? 25) });
