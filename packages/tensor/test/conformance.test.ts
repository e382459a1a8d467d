// The CPU backend against its own float64 results (the kit compares float32 with the float64 reference),
// and every op's backward against finite differences.
import '../src/index.js';
import { describeConformance, describeGradcheck } from '../src/testing/index.js';

describeConformance('cpu');
describeGradcheck();
