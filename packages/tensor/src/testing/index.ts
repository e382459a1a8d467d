/** @tessera/tensor/testing — the conformance kit every backend runs, and gradcheck. */
export { describeConformance, describeGradcheck, type ConformanceOptions } from './conformance.js';
export { gradcheck, type GradcheckOptions } from './gradcheck.js';
export { OP_CASES, type OpCase, type CaseInstance, type InputSpec, type Tolerance } from './cases.js';
export { evaluate, compareEvaluations, assertClose, mulberry32, makeValues } from './harness.js';
