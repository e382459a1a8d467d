/**
 * The op catalogue the conformance kit and gradcheck run: for every kernel, a fast-check generator of
 * shapes and attributes (size-1 dims, odd sizes, non-square kernels, stride > kernel, padding, dilation,
 * groups, broadcasting) and the computation to run on the generated tensors.
 */
import fc from 'fast-check';
import * as F from '../functional.js';
import { matmul, bmm } from '../ops/matmul.js';
import { cat, pad } from '../ops/shape.js';
import type { Tensor } from '../tensor.js';

export interface InputSpec {
  shape: number[];
  /** float: N(0,1)-ish; positive: (0.5, 2); int: integers in [0, max). */
  kind: 'float' | 'positive' | 'int';
  max?: number;
  /** Whether gradients are checked for this input (floats only). Defaults to true for floats. */
  grad?: boolean;
}

export interface Tolerance {
  atol: number;
  rtol: number;
}

export interface CaseInstance {
  inputs: InputSpec[];
  /** Seeds the input values. */
  seed: number;
  /** Short description of the attributes, printed on failure. */
  label: string;
  run: (xs: Tensor[]) => Tensor | Tensor[];
  /** Whether the op is differentiable in its float inputs (default true). */
  differentiable?: boolean;
}

export interface OpCase {
  name: string;
  /** Kernels of the catalogue this case exercises. */
  kernels: string[];
  tol: Tolerance;
  arb: fc.Arbitrary<CaseInstance>;
}

const seedArb = fc.integer({ min: 0, max: 0x7fffffff });
const dim = (max: number) => fc.integer({ min: 1, max });
const shapeArb = (minRank: number, maxRank: number, maxDim: number) => fc.array(dim(maxDim), { minLength: minRank, maxLength: maxRank });

/** Two shapes that broadcast: dims of each operand may be 1 or missing (leading). */
const broadcastPairArb = fc
  .tuple(
    shapeArb(0, 4, 4),
    fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 4, maxLength: 4 }),
    fc.integer({ min: 0, max: 2 }),
    fc.integer({ min: 0, max: 1 }),
  )
  .map(([full, modes, dropA, dropB]) => {
    const a = full.map((d, i) => (modes[i % 4] === 1 ? 1 : d));
    const b = full.map((d, i) => (modes[i % 4] === 2 ? 1 : d));
    return [a.slice(Math.min(dropA, a.length)), b.slice(Math.min(dropB, b.length))] as const;
  });

const F32: Tolerance = { atol: 1e-5, rtol: 1e-4 };
const ACCUM: Tolerance = { atol: 1e-4, rtol: 1e-3 };

const unaryDomains: Record<string, InputSpec['kind']> = {
  neg: 'float',
  abs: 'float',
  exp: 'float',
  log: 'positive',
  sqrt: 'positive',
  rsqrt: 'positive',
  square: 'float',
  reciprocal: 'positive',
  relu: 'float',
  tanh: 'float',
  sigmoid: 'float',
};

function unaryCase(op: string): OpCase {
  return {
    name: `unary ${op}`,
    kernels: ['unary'],
    tol: F32,
    arb: fc.record({ shape: shapeArb(0, 4, 5), seed: seedArb }).map(({ shape, seed }) => ({
      inputs: [{ shape, kind: unaryDomains[op]! }],
      seed,
      label: `shape [${shape}]`,
      run: ([x]) => (x as unknown as Record<string, () => Tensor>)[op]!.call(x),
    })),
  };
}

function binaryCase(op: 'add' | 'sub' | 'mul' | 'div' | 'pow' | 'maximum' | 'minimum'): OpCase {
  const positive = op === 'pow' || op === 'div';
  return {
    name: `binary ${op} (broadcast)`,
    kernels: ['binary'],
    tol: F32,
    arb: fc.record({ shapes: broadcastPairArb, seed: seedArb, scalar: fc.integer({ min: 0, max: 4 }) }).map(({ shapes, seed, scalar }) => ({
      inputs: [
        { shape: [...shapes[0]], kind: positive ? 'positive' : 'float' },
        { shape: [...shapes[1]], kind: positive ? 'positive' : 'float' },
      ],
      seed,
      label: `a [${shapes[0]}] b [${shapes[1]}]${scalar === 0 ? ' with scalar operand 1.5' : ''}`,
      run: ([a, b]) => {
        const f = (x: Tensor, y: Tensor | number) => (x as unknown as Record<string, (o: Tensor | number) => Tensor>)[op]!.call(x, y);
        return scalar === 0 ? [f(a!, b!), f(a!, 1.5)] : f(a!, b!);
      },
    })),
  };
}

const comparisonCase: OpCase = {
  name: 'comparisons eq/ne/lt/le/gt/ge',
  kernels: ['binary'],
  tol: { atol: 0, rtol: 0 },
  arb: fc.record({ shapes: broadcastPairArb, seed: seedArb }).map(({ shapes, seed }) => ({
    inputs: [
      { shape: [...shapes[0]], kind: 'int', max: 3 },
      { shape: [...shapes[1]], kind: 'int', max: 3 },
    ],
    seed,
    label: `a [${shapes[0]}] b [${shapes[1]}]`,
    differentiable: false,
    run: ([a, b]) => [a!.eq(b!), a!.ne(b!), a!.lt(b!), a!.le(b!), a!.gt(b!), a!.ge(b!), a!.cast('float32').lt(b!.cast('float32'))],
  })),
};

const reduceCase: OpCase = {
  name: 'reduce sum/mean/max/min over dim sets',
  kernels: ['reduce'],
  tol: ACCUM,
  arb: fc
    .record({ shape: shapeArb(1, 4, 5), seed: seedArb, mask: fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }), keep: fc.boolean(), all: fc.boolean() })
    .map(({ shape, seed, mask, keep, all }) => {
      const dims = all ? undefined : shape.map((_, i) => i).filter((i) => mask[i]);
      return {
        inputs: [{ shape, kind: 'float' as const }],
        seed,
        label: `shape [${shape}] dims ${dims ? `[${dims}]` : 'all'} keepDim ${keep}`,
        run: ([x]) => [x!.sum(dims, keep), x!.mean(dims, keep), x!.max(dims, keep), x!.min(dims, keep)],
      };
    }),
};

const argReduceCase: OpCase = {
  name: 'argmax/argmin',
  kernels: ['argReduce'],
  tol: { atol: 0, rtol: 0 },
  arb: fc.record({ shape: shapeArb(1, 4, 5), seed: seedArb, d: fc.integer({ min: 0, max: 3 }), keep: fc.boolean() }).map(({ shape, seed, d, keep }) => ({
    inputs: [{ shape, kind: 'float' as const }],
    seed,
    differentiable: false,
    label: `shape [${shape}] dim ${d % shape.length}`,
    run: ([x]) => [x!.argmax(d % shape.length, keep), x!.argmin(d % shape.length, keep), x!.argmax()],
  })),
};

const matmulCase: OpCase = {
  name: 'batched matmul (transposes, broadcast batch, vectors)',
  kernels: ['matmul'],
  tol: ACCUM,
  arb: fc
    .record({
      m: dim(9),
      n: dim(9),
      k: dim(17),
      batchA: fc.constantFrom([], [1], [3], [2, 3], [2, 1]),
      batchB: fc.constantFrom([], [1], [3], [2, 3], [1, 3]),
      transA: fc.boolean(),
      transB: fc.boolean(),
      vector: fc.integer({ min: 0, max: 5 }),
      seed: seedArb,
    })
    .filter(({ batchA, batchB }) => {
      const n = Math.max(batchA.length, batchB.length);
      for (let i = 0; i < n; i++) {
        const a = batchA[batchA.length - n + i] ?? 1;
        const b = batchB[batchB.length - n + i] ?? 1;
        if (a !== b && a !== 1 && b !== 1) return false;
      }
      return true;
    })
    .map(({ m, n, k, batchA, batchB, transA, transB, vector, seed }) => {
      if (vector === 0) {
        return {
          inputs: [
            { shape: [k], kind: 'float' as const },
            { shape: [...batchB, k, n], kind: 'float' as const },
          ],
          seed,
          label: `vector [${k}] · [${batchB},${k},${n}]`,
          run: ([a, b]: Tensor[]) => matmul(a!, b!),
        };
      }
      const aShape = [...batchA, ...(transA ? [k, m] : [m, k])];
      const bShape = [...batchB, ...(transB ? [n, k] : [k, n])];
      return {
        inputs: [
          { shape: aShape, kind: 'float' as const },
          { shape: bShape, kind: 'float' as const },
        ],
        seed,
        label: `a [${aShape}]${transA ? 'ᵀ' : ''} b [${bShape}]${transB ? 'ᵀ' : ''}`,
        run: ([a, b]: Tensor[]) => bmm(a!, b!, { transA, transB }),
      };
    }),
};

export const convArb = fc
  .record({
    n: dim(2),
    groups: dim(3),
    cpg: dim(3),
    opg: dim(3),
    h: dim(9),
    w: dim(9),
    kh: dim(4),
    kw: dim(4),
    sh: dim(3),
    sw: dim(3),
    ph: fc.integer({ min: 0, max: 2 }),
    pw: fc.integer({ min: 0, max: 2 }),
    dh: dim(2),
    dw: dim(2),
    bias: fc.boolean(),
    seed: seedArb,
  })
  .filter((c) => c.dh * (c.kh - 1) + 1 <= c.h + 2 * c.ph && c.dw * (c.kw - 1) + 1 <= c.w + 2 * c.pw);

const convCase: OpCase = {
  name: 'conv2d forward, input-gradient, filter-gradient',
  kernels: ['conv2d', 'conv2dBackwardInput', 'conv2dBackwardFilter'],
  tol: ACCUM,
  arb: convArb.map((c) => {
    const cin = c.groups * c.cpg;
    const cout = c.groups * c.opg;
    const inputs: InputSpec[] = [
      { shape: [c.n, cin, c.h, c.w], kind: 'float' },
      { shape: [cout, c.cpg, c.kh, c.kw], kind: 'float' },
    ];
    if (c.bias) inputs.push({ shape: [cout], kind: 'float' });
    return {
      inputs,
      seed: c.seed,
      label: `x [${inputs[0]!.shape}] w [${inputs[1]!.shape}] stride ${c.sh}×${c.sw} pad ${c.ph}×${c.pw} dilation ${c.dh}×${c.dw} groups ${c.groups} bias ${c.bias}`,
      run: ([x, w, b]: Tensor[]) => F.conv2d(x!, w!, b ?? null, { stride: [c.sh, c.sw], padding: [c.ph, c.pw], dilation: [c.dh, c.dw], groups: c.groups }),
    };
  }),
};

function poolOut(size: number, k: number, s: number, p: number, ceil: boolean): number {
  const out = (ceil ? Math.ceil((size + 2 * p - k) / s) : Math.floor((size + 2 * p - k) / s)) + 1;
  return ceil && (out - 1) * s >= size + p ? out - 1 : out;
}

const poolArb = fc
  .record({
    n: dim(2),
    c: dim(3),
    h: dim(9),
    w: dim(9),
    kh: dim(4),
    kw: dim(4),
    sh: dim(3),
    sw: dim(3),
    ph: fc.integer({ min: 0, max: 2 }),
    pw: fc.integer({ min: 0, max: 2 }),
    ceil: fc.boolean(),
    include: fc.boolean(),
    seed: seedArb,
  })
  // Ceil mode may let a kernel overhang the padded input (PyTorch's rule); the output must not be empty.
  .filter((p) => 2 * p.ph <= p.kh && 2 * p.pw <= p.kw && poolOut(p.h, p.kh, p.sh, p.ph, p.ceil) >= 1 && poolOut(p.w, p.kw, p.sw, p.pw, p.ceil) >= 1);

const maxPoolCase: OpCase = {
  name: 'maxPool2d (+ argmax gradient, ceil mode)',
  kernels: ['maxPool2d', 'maxPool2dBackward'],
  tol: F32,
  arb: poolArb.map((p) => ({
    inputs: [{ shape: [p.n, p.c, p.h, p.w], kind: 'float' as const }],
    seed: p.seed,
    label: `x [${p.n},${p.c},${p.h},${p.w}] kernel ${p.kh}×${p.kw} stride ${p.sh}×${p.sw} pad ${p.ph}×${p.pw} ceil ${p.ceil}`,
    run: ([x]: Tensor[]) => F.maxPool2d(x!, { kernelSize: [p.kh, p.kw], stride: [p.sh, p.sw], padding: [p.ph, p.pw], ceilMode: p.ceil }),
  })),
};

const avgPoolCase: OpCase = {
  name: 'avgPool2d (count_include_pad both ways, ceil mode)',
  kernels: ['avgPool2d', 'avgPool2dBackward'],
  tol: F32,
  arb: poolArb.map((p) => ({
    inputs: [{ shape: [p.n, p.c, p.h, p.w], kind: 'float' as const }],
    seed: p.seed,
    label: `x [${p.n},${p.c},${p.h},${p.w}] kernel ${p.kh}×${p.kw} stride ${p.sh}×${p.sw} pad ${p.ph}×${p.pw} countIncludePad ${p.include} ceil ${p.ceil}`,
    run: ([x]: Tensor[]) =>
      F.avgPool2d(x!, { kernelSize: [p.kh, p.kw], stride: [p.sh, p.sw], padding: [p.ph, p.pw], countIncludePad: p.include, ceilMode: p.ceil }),
  })),
};

const batchNormArb = fc
  .record({
    n: dim(3),
    c: dim(4),
    h: dim(5),
    w: dim(5),
    rank: fc.constantFrom(2, 3, 4),
    affine: fc.boolean(),
    momentum: fc.constantFrom(0.1, 0.5),
    seed: seedArb,
  })
  .filter((p) => (p.rank === 2 ? p.n : p.rank === 3 ? p.n * p.h : p.n * p.h * p.w) >= 3)
  .map((p) => ({ ...p, shape: [p.n, p.c, p.h, p.w].slice(0, p.rank) }));

const batchNormInputs = (shape: number[], c: number): InputSpec[] => [
  { shape, kind: 'float' },
  { shape: [c], kind: 'positive' },
  { shape: [c], kind: 'float' },
  { shape: [c], kind: 'float', grad: false },
  { shape: [c], kind: 'positive', grad: false },
];

/** Batch normalisation (a composite op: reductions, broadcast arithmetic, rsqrt) in training and eval mode. */
const batchNormCase: OpCase = {
  name: 'batchNorm (training and eval; affine or not)',
  kernels: ['reduce', 'binary', 'unary'],
  tol: ACCUM,
  arb: batchNormArb.map((p) => ({
    inputs: batchNormInputs(p.shape, p.c),
    seed: p.seed,
    label: `x [${p.shape}] affine ${p.affine}`,
    run: ([x, weight, bias, mean, variance]: Tensor[]) => {
      const w = p.affine ? weight! : null;
      const b = p.affine ? bias! : null;
      return [F.batchNorm(x!, null, null, w, b, { training: true }), F.batchNorm(x!, mean!, variance!, w, b, { training: false })];
    },
  })),
};

/**
 * The running statistics a training-mode batchNorm updates in place (not differentiable: the numerical
 * gradient would see them change with x, autograd by design does not, as in PyTorch).
 */
const batchNormStatsCase: OpCase = {
  name: 'batchNorm running-statistics update',
  kernels: ['reduce', 'binary'],
  tol: ACCUM,
  arb: batchNormArb.map((p) => ({
    inputs: batchNormInputs(p.shape, p.c),
    seed: p.seed,
    label: `x [${p.shape}] momentum ${p.momentum}`,
    differentiable: false,
    run: ([x, weight, bias, mean, variance]: Tensor[]) => {
      const runningMean = mean!.clone();
      const runningVar = variance!.clone();
      F.batchNorm(x!, runningMean, runningVar, weight!, bias!, { training: true, momentum: p.momentum }).dispose();
      return [runningMean, runningVar];
    },
  })),
};

const adaptiveCase: OpCase = {
  name: 'adaptiveAvgPool2d',
  kernels: ['adaptiveAvgPool2d', 'adaptiveAvgPool2dBackward'],
  tol: F32,
  arb: fc.record({ n: dim(2), c: dim(3), h: dim(13), w: dim(13), oh: dim(7), ow: dim(7), seed: seedArb }).map((p) => ({
    inputs: [{ shape: [p.n, p.c, p.h, p.w], kind: 'float' as const }],
    seed: p.seed,
    label: `x [${p.n},${p.c},${p.h},${p.w}] → ${p.oh}×${p.ow}`,
    run: ([x]: Tensor[]) => F.adaptiveAvgPool2d(x!, [p.oh, p.ow]),
  })),
};

const lrnCase: OpCase = {
  name: 'localResponseNorm',
  kernels: ['lrn', 'lrnBackward'],
  tol: F32,
  arb: fc
    .record({
      n: dim(2),
      c: dim(8),
      h: dim(4),
      w: dim(4),
      size: dim(6),
      alpha: fc.constantFrom(1e-4, 5e-4, 0.1, 1),
      beta: fc.constantFrom(0.75, 0.5, 1),
      k: fc.constantFrom(1, 2),
      seed: seedArb,
    })
    .map((p) => ({
      inputs: [{ shape: [p.n, p.c, p.h, p.w], kind: 'float' as const }],
      seed: p.seed,
      label: `x [${p.n},${p.c},${p.h},${p.w}] size ${p.size} alpha ${p.alpha} beta ${p.beta} k ${p.k}`,
      run: ([x]: Tensor[]) => F.localResponseNorm(x!, p.size, { alpha: p.alpha, beta: p.beta, k: p.k }),
    })),
};

const softmaxCase: OpCase = {
  name: 'softmax / logSoftmax along any dim',
  kernels: ['softmax'],
  tol: F32,
  arb: fc.record({ shape: shapeArb(1, 3, 6), d: fc.integer({ min: 0, max: 2 }), seed: seedArb }).map(({ shape, d, seed }) => ({
    inputs: [{ shape, kind: 'float' as const }],
    seed,
    label: `shape [${shape}] dim ${d % shape.length}`,
    run: ([x]: Tensor[]) => [F.softmax(x!, d % shape.length), F.logSoftmax(x!, d % shape.length)],
  })),
};

const crossEntropyCase: OpCase = {
  name: 'crossEntropy (mean, sum, none)',
  kernels: ['crossEntropy', 'crossEntropyBackward'],
  tol: F32,
  arb: fc.record({ n: dim(6), c: dim(7), seed: seedArb }).map(({ n, c, seed }) => ({
    inputs: [
      { shape: [n, c], kind: 'float' as const },
      { shape: [n], kind: 'int' as const, max: c },
    ],
    seed,
    label: `logits [${n},${c}]`,
    run: ([x, y]: Tensor[]) => [F.crossEntropy(x!, y!), F.crossEntropy(x!, y!, { reduction: 'sum' }), F.crossEntropy(x!, y!, { reduction: 'none' })],
  })),
};

const layoutCase: OpCase = {
  name: 'permute, expand, slice, cat, pad (strided copy)',
  kernels: ['copy', 'fill'],
  tol: { atol: 0, rtol: 0 },
  arb: fc
    .record({
      shape: shapeArb(1, 4, 4),
      seed: seedArb,
      perm: fc.integer({ min: 0, max: 23 }),
      a: fc.integer({ min: -4, max: 4 }),
      step: dim(2),
      p: fc.integer({ min: 0, max: 2 }),
    })
    .map(({ shape, seed, perm, a, step, p }) => {
      const rank = shape.length;
      const order = shape.map((_, i) => i);
      for (let i = rank - 1, r = perm; i > 0; i--, r = Math.floor(r / (i + 1))) {
        const j = r % (i + 1);
        [order[i], order[j]] = [order[j]!, order[i]!];
      }
      return {
        inputs: [{ shape, kind: 'float' as const }],
        seed,
        label: `shape [${shape}] permutation [${order}] slice from ${a} step ${step} pad ${p}`,
        run: ([x]: Tensor[]) => [
          x!.permute(order),
          x!.unsqueeze(0).expand([2, ...shape]),
          x!.slice(rank - 1, a, undefined, step),
          cat([x!, x!.mul(2)], rank - 1),
          pad(x!, [p, 1, 0, p].slice(0, Math.min(4, 2 * rank)), 0.5),
        ],
      };
    }),
};

const gatherCase: OpCase = {
  name: 'indexSelect (gather) and oneHot',
  kernels: ['gather', 'gatherBackward', 'oneHot'],
  tol: F32,
  arb: fc.record({ shape: shapeArb(1, 3, 5), count: dim(6), d: fc.integer({ min: 0, max: 2 }), seed: seedArb }).map(({ shape, count, d, seed }) => {
    const axis = d % shape.length;
    return {
      inputs: [
        { shape, kind: 'float' as const },
        { shape: [count], kind: 'int' as const, max: shape[axis]! },
      ],
      seed,
      label: `x [${shape}] dim ${axis} ${count} indices`,
      run: ([x, i]: Tensor[]) => [x!.indexSelect(axis, i!), F.oneHot(i!, shape[axis]!)],
    };
  }),
};

const topkCase: OpCase = {
  name: 'topk (largest and smallest)',
  kernels: ['topk'],
  tol: F32,
  arb: fc
    .record({ shape: shapeArb(1, 3, 6), k: fc.integer({ min: 0, max: 6 }), d: fc.integer({ min: 0, max: 2 }), seed: seedArb })
    .map(({ shape, k, d, seed }) => {
      const axis = d % shape.length;
      const kk = Math.min(k, shape[axis]!);
      return {
        inputs: [{ shape, kind: 'float' as const }],
        seed,
        label: `x [${shape}] k ${kk} dim ${axis}`,
        run: ([x]: Tensor[]) => {
          const a = F.topk(x!, kk, { dim: axis });
          const b = F.topk(x!, kk, { dim: axis, largest: false });
          return [a.values, a.indices, b.values, b.indices];
        },
      };
    }),
};

const castCase: OpCase = {
  name: 'cast float ↔ int32, clamp',
  kernels: ['copy', 'binary'],
  tol: { atol: 0, rtol: 0 },
  arb: fc.record({ shape: shapeArb(0, 3, 5), seed: seedArb }).map(({ shape, seed }) => ({
    inputs: [{ shape, kind: 'int' as const, max: 50 }],
    seed,
    label: `shape [${shape}]`,
    differentiable: false,
    run: ([x]: Tensor[]) => [x!.cast('float32').div(4).cast('int32'), x!.cast('float32').clamp(10, 30)],
  })),
};

const hardtanhCase: OpCase = {
  name: 'hardtanh, relu6',
  kernels: ['binary'],
  tol: F32,
  arb: fc.record({ shape: shapeArb(0, 4, 5), lo: fc.constantFrom(-1, -0.5, 0), seed: seedArb }).map(({ shape, lo, seed }) => ({
    inputs: [{ shape, kind: 'float' as const }],
    seed,
    label: `shape [${shape}] hardtanh(${lo}, ${lo + 1})`,
    run: ([x]: Tensor[]) => [F.hardtanh(x!, lo, lo + 1), F.relu6(x!.mul(4))],
  })),
};

/** Every op case, in catalogue order. */
export const OP_CASES: readonly OpCase[] = [
  ...Object.keys(unaryDomains).map(unaryCase),
  ...(['add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum'] as const).map(binaryCase),
  comparisonCase,
  reduceCase,
  argReduceCase,
  matmulCase,
  convCase,
  maxPoolCase,
  avgPoolCase,
  adaptiveCase,
  batchNormCase,
  batchNormStatsCase,
  lrnCase,
  softmaxCase,
  crossEntropyCase,
  layoutCase,
  gatherCase,
  topkCase,
  castCase,
  hardtanhCase,
];
