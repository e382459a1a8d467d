/**
 * torch.onnx.export has no symbolic for nn.LocalResponseNorm and writes F.local_response_norm's arithmetic
 * instead; this recognises that expansion and reads its constants back as one LRN layer.
 */
import { TesseraError } from '@tessera/tensor';
import { attrInts, f32Decimal } from './attributes.js';
import type { LrnLayer } from './chain-layers.js';
import type { OnnxGraphView } from './graph-view.js';
import { onnxTensorToFloat32 } from './tensor-data.js';
import { DTYPE, IMPORT_OP, fmtDims, numel, type OnnxNode } from './types.js';

/** The ops F.local_response_norm's export uses between the square and the divisor (opset-dependent). */
const LRN_DECOMPOSITION_OPS = new Set([
  'Mul',
  'Unsqueeze',
  'Reshape',
  'Pad',
  'AveragePool',
  'Shape',
  'Gather',
  'Equal',
  'If',
  'Squeeze',
  'Identity',
  'Add',
  'Pow',
  'Cast',
  'Concat',
  'Slice',
  'Transpose',
  'ConstantOfShape',
  'Constant',
]);

/**
 * Recognises torch.onnx.export's expansion of F.local_response_norm (torch has no LRN symbolic): x feeds
 * Mul(x, x) → Unsqueeze → Pad → AveragePool[size, 1, 1] → … → Mul(alpha) → Add(k) → Pow(beta) → Div(x, ·).
 * Returns null when `cur`'s two consumers are not that shape.
 */
export function matchTorchLrn(view: OnnxGraphView, cur: string, cons: [number, number], visited: Set<number>): { layer: LrnLayer; output: string } | null {
  const [a, b] = cons.map((i) => view.node(i)) as [OnnxNode, OnnxNode];
  const sq =
    a.opType === 'Mul' && a.inputs[0] === cur && a.inputs[1] === cur
      ? cons[0]
      : b.opType === 'Mul' && b.inputs[0] === cur && b.inputs[1] === cur
        ? cons[1]
        : -1;
  const divIdx = sq === cons[0] ? cons[1] : cons[0];
  const div = view.node(divIdx);
  if (sq < 0 || div.opType !== 'Div' || div.inputs[0] !== cur || !div.inputs[1]) return null;
  // Nodes between the square and the divisor: descendants of Mul that are ancestors of Div's input #1.
  const down = new Set<number>([sq]);
  const stack = [sq];
  while (stack.length > 0) {
    const i = stack.pop()!;
    for (const o of view.node(i).outputs) {
      for (const c of view.consumers.get(o) ?? []) {
        if (c === divIdx || down.has(c)) continue;
        down.add(c);
        stack.push(c);
      }
    }
  }
  const region = new Set<number>();
  const back = [div.inputs[1]];
  const seen = new Set<string>();
  while (back.length > 0) {
    const v = back.pop()!;
    if (seen.has(v)) continue;
    seen.add(v);
    const p = view.producer.get(v);
    if (p === undefined || !down.has(p)) continue;
    region.add(p);
    for (const inp of view.node(p).inputs) if (inp !== '') back.push(inp);
  }
  region.add(sq);
  const label = `torch LocalResponseNorm expansion ending in ${view.label(divIdx)}`;
  const fail = (msg: string): never => {
    throw new TesseraError(IMPORT_OP, `value '${cur}' feeds Mul(x, x) and Div(x, ·) like torch's nn.LocalResponseNorm export, but ${msg}`);
  };
  for (const i of region) {
    const n = view.node(i);
    if (!LRN_DECOMPOSITION_OPS.has(n.opType)) fail(`${view.label(i)} (${n.opType}) is not part of that pattern`);
    // Nothing inside may leak out to other parts of the graph.
    for (const o of n.outputs) {
      for (const c of view.consumers.get(o) ?? []) if (!region.has(c) && c !== divIdx) fail(`${view.label(i)} also feeds ${view.label(c)}`);
    }
  }
  const ofType = (t: string) => [...region].filter((i) => view.node(i).opType === t && i !== sq);
  const pools = ofType('AveragePool');
  if (pools.length !== 1) fail(`it has ${pools.length} AveragePool nodes, expected 1 (the sum over the channel window)`);
  const pool = view.node(pools[0]!);
  const ks = attrInts(pool, 'kernel_shape', null) ?? [];
  if (ks.length < 2 || ks.slice(1).some((k) => k !== 1)) fail(`${view.label(pools[0]!)} has kernel_shape ${fmtDims(ks)}; expected [size, 1, 1] over channels`);
  const size = ks[0]!;
  // alpha, k and beta: the one float scalar constant operand of the region's Mul (other than x·x), Add and Pow.
  const scalarOf = (t: string, what: string): number => {
    const found: number[] = [];
    for (const i of ofType(t)) {
      for (const inp of view.node(i).inputs) {
        const c = inp === '' ? null : view.constant(inp);
        if (c && numel(c.dims) === 1 && c.dataType !== DTYPE.INT64 && c.dataType !== DTYPE.INT32)
          found.push(f32Decimal(onnxTensorToFloat32(c, `${view.label(i)}: ${what}`)[0]!));
      }
    }
    if (found.length !== 1) fail(`found ${found.length} ${t} nodes with a scalar float constant, expected 1 (${what})`);
    return found[0]!;
  };
  const alpha = scalarOf('Mul', 'alpha');
  const k = scalarOf('Add', 'k');
  const beta = scalarOf('Pow', 'beta');
  for (const i of region) visited.add(i);
  visited.add(divIdx);
  const out = div.outputs[0];
  if (!out) return fail(`${view.label(divIdx)} has no output`);
  return { layer: { kind: 'lrn', label, node: div, lrn: { size, alpha, beta, k } }, output: out };
}
