// The shared conformance suite on `onednn` (float32 against the CPU reference in float64), and gradcheck of
// the catalogue's differentiable cases. Without the addon (no compiler or libdnnl-dev) the suite skips,
// printing the reason once.
import '@tessera/tensor';
import '../src/index.js';
import { describeConformance, describeGradcheck } from '@tessera/tensor/testing';

describeConformance('onednn', { numRuns: Number(process.env.TESSERA_CONFORMANCE_RUNS ?? 25) });
describeGradcheck();
