/** @tessera/tensor/testing — the conformance kit every backend runs, gradcheck, and the small-CNN training check. */
export { describeConformance, describeGradcheck, type ConformanceOptions } from './conformance.js';
export { gradcheck, type GradcheckOptions } from './gradcheck.js';
export { OP_CASES, type OpCase, type CaseInstance, type InputSpec, type Tolerance } from './cases.js';
export { evaluate, compareEvaluations, assertClose, mulberry32, makeValues } from './harness.js';
export { trainSmallCnn, compareRuns, type TrainRun } from './small-cnn.js';
