// The shared conformance suite on `cuda`, GEMMs and convolutions in exact fp32 (the TF32 path is for speed;
// its tolerance is not the suite's). Without a usable GPU it skips, printing the reason once.
process.env.TESSERA_CUDA_MATH ??= 'fp32';
import '@tessera/tensor';
import '../src/index.js';
import { describeConformance } from '@tessera/tensor/testing';

describeConformance('cuda', { numRuns: Number(process.env.TESSERA_CONFORMANCE_RUNS ?? 12) });
