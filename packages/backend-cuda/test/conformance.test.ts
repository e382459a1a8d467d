// The shared conformance suite on `cuda` — on the host emulator unless TESSERA_CUDA_EMULATE=0 — with GEMMs and
// convolutions in exact fp32 (tf32.test.ts checks the TF32 path at its own tolerance). Fewer runs per
// property on the emulator (it executes every device thread as a fiber on one core).
import { onEmulator } from './emulator-target.js';
process.env.TESSERA_CUDA_MATH ??= 'fp32';
import '@tessera/tensor';
import '../src/index.js';
import { describeConformance } from '@tessera/tensor/testing';

describeConformance('cuda', { numRuns: Number(process.env.TESSERA_CONFORMANCE_RUNS ?? (onEmulator ? 6 : 12)) });
