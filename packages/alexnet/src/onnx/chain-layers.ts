/**
 * Reads a graph that is a single chain of layers (AlexNet's shape: no branches, no skip connections) into
 * typed layers with their weights decoded: Conv, Relu, LRN (a node, or torch's expansion: torch-lrn.ts),
 * MaxPool / AveragePool, Flatten / Reshape, fully connected (Gemm, or MatMul + Add), Softmax; Dropout and
 * Identity are passed through. Anything else — a branch, another op, a weight that is not stored in the file —
 * is an error naming the node.
 */
import { TesseraError } from '@tessera/tensor';
import { attrFloat, attrInt, attrInts, attrString } from './attributes.js';
import type { OnnxGraphView } from './graph-view.js';
import { onnxTensorToFloat32, onnxTensorToInts } from './tensor-data.js';
import { matchTorchLrn } from './torch-lrn.js';
import { IMPORT_OP, describeNode, dtypeName, fmtDims, numel, type OnnxNode, type OnnxValueInfo } from './types.js';

/** A weight read from the graph: the ONNX tensor's name and dims, and its values laid out as our parameter's `dims`. */
export interface GraphWeight {
  source: string;
  sourceDims: number[];
  data: Float32Array;
  dims: number[];
}

/** LRN constants in ONNX / PyTorch / our convention: b = a / (k + alpha/size · Σ a²)^beta. */
export interface LrnParams {
  size: number;
  alpha: number;
  beta: number;
  k: number;
}

interface LayerBase {
  /** Human-readable node reference(s). */
  label: string;
  node: OnnxNode;
}

export interface ConvLayer extends LayerBase {
  kind: 'conv';
  weight: GraphWeight;
  bias: GraphWeight | null;
  kernel: number[];
  strides: number[];
  /** [top, left, bottom, right]. */
  pads: number[];
  dilations: number[];
  group: number;
}

export interface ReluLayer extends LayerBase {
  kind: 'relu';
}

export interface LrnLayer extends LayerBase {
  kind: 'lrn';
  lrn: LrnParams;
}

interface PoolGeometry extends LayerBase {
  kernel: number[];
  strides: number[];
  pads: number[];
  dilations: number[];
  ceilMode: boolean;
}

export interface MaxPoolLayer extends PoolGeometry {
  kind: 'maxpool';
}

export interface AvgPoolLayer extends PoolGeometry {
  kind: 'avgpool';
}

export interface FlattenLayer extends LayerBase {
  kind: 'flatten';
  /** Null for a Flatten node; for a Reshape, its target shape when the graph holds it as a constant. */
  reshape: { target: number[] | null } | null;
}

export interface FcLayer extends LayerBase {
  kind: 'fc';
  /** `dims` [out, in], as nn.Linear keeps it (transposed from Gemm's transB=0 or MatMul's [in, out]). */
  weight: GraphWeight;
  bias: GraphWeight | null;
  in: number;
  out: number;
  /** How the weights were rearranged. */
  notes: string[];
}

export interface SoftmaxLayer extends LayerBase {
  kind: 'softmax';
}

export type Layer = ConvLayer | ReluLayer | LrnLayer | MaxPoolLayer | AvgPoolLayer | FlattenLayer | FcLayer | SoftmaxLayer;
export type LayerKind = Layer['kind'];

export interface Chain {
  layers: Layer[];
  /** The graph's one runtime input. */
  input: OnnxValueInfo;
  /** The value the chain ends in (a graph output). */
  output: string;
  /** ONNX data types the weights were stored in. */
  weightTypes: Set<string>;
}

/** A float weight by value name, stored in the file (initializer or Constant); errors name the node and role. */
function readWeight(view: OnnxGraphView, weightTypes: Set<string>, name: string | undefined, nodeIdx: number, role: string): GraphWeight {
  const where = `${view.label(nodeIdx)}: ${role}`;
  if (!name) throw new TesseraError(IMPORT_OP, `${where} is missing`);
  const t = view.constant(name);
  if (!t) {
    throw new TesseraError(
      IMPORT_OP,
      `${where} '${name}' is neither an initializer nor a Constant node (a model exported with export_params=False, or the weight is computed at run time); the importer needs the weights stored in the file`,
    );
  }
  weightTypes.add(dtypeName(t.dataType));
  return { source: name, sourceDims: t.dims.slice(), data: onnxTensorToFloat32(t, where), dims: t.dims.slice() };
}

/** Symmetric 2-D padding from pads / auto_pad. */
function convPads(n: OnnxNode, kernel: number[], strides: number[]): number[] {
  const auto = attrString(n, 'auto_pad', 'NOTSET');
  if (auto === 'NOTSET' || auto === '') return attrInts(n, 'pads', [0, 0, 0, 0]);
  if (auto === 'VALID') return [0, 0, 0, 0];
  if ((auto === 'SAME_UPPER' || auto === 'SAME_LOWER') && strides.every((s) => s === 1) && kernel.every((k) => k % 2 === 1)) {
    const p = kernel.map((k) => (k - 1) / 2);
    return [...p, ...p];
  }
  throw new TesseraError(
    IMPORT_OP,
    `${describeNode(n)}: auto_pad ${auto} with strides ${fmtDims(strides)} and kernel ${fmtDims(kernel)} is not a symmetric padding AlexNet can use`,
  );
}

function transpose(src: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(src.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = src[r * cols + c]!;
  return out;
}

/** A bias of `out` values from a tensor of that many (any singleton dims) or one value broadcast. */
function broadcastBias(w: GraphWeight, out: number, what: string): GraphWeight {
  const n = numel(w.sourceDims);
  if (n === out && w.sourceDims.filter((d) => d !== 1).length <= 1) return { ...w, dims: [out] };
  if (n === 1) return { ...w, data: new Float32Array(out).fill(w.data[0]!), dims: [out] };
  throw new TesseraError(IMPORT_OP, `${what} is ${fmtDims(w.sourceDims)}; expected a bias of ${out} values`);
}

/**
 * Walks the graph from its single runtime input along the single chain of data-carrying nodes, turning each
 * into a Layer (weights decoded).
 */
export function readChain(view: OnnxGraphView): Chain {
  const g = view.graph;
  const weightTypes = new Set<string>();
  const weight = (name: string | undefined, nodeIdx: number, role: string) => readWeight(view, weightTypes, name, nodeIdx, role);
  const runtimeInputs = view.runtimeInputs();
  const input = runtimeInputs[0];
  if (runtimeInputs.length !== 1 || !input) {
    throw new TesseraError(
      IMPORT_OP,
      runtimeInputs.length === 0
        ? `graph '${g.name}' has no runtime input (every input is an initializer); AlexNet takes one image batch`
        : `graph '${g.name}' has ${runtimeInputs.length} runtime inputs (${runtimeInputs.map((v) => `'${v.name}'`).join(', ')}); AlexNet takes one image batch`,
    );
  }
  const outputs = new Set(g.outputs.map((o) => o.name));
  const layers: Layer[] = [];
  const visited = new Set<number>();
  let cur = input.name;

  const dataConsumers = (v: string): number[] => (view.consumers.get(v) ?? []).filter((i) => view.node(i).opType !== 'Shape');
  const single = (v: string, from: string): number | null => {
    const cons = dataConsumers(v);
    if (cons.length > 1) {
      throw new TesseraError(
        IMPORT_OP,
        `value '${v}' (${from}) feeds ${cons.length} nodes: ${cons.map((i) => view.label(i)).join(', ')}; AlexNet is a single chain without branches or skip connections`,
      );
    }
    return cons[0] ?? null;
  };

  for (;;) {
    const last = layers[layers.length - 1];
    const from = last ? `output of ${last.label}` : 'the graph input';
    const cons = dataConsumers(cur);
    if (cons.length === 0) {
      if (!outputs.has(cur)) throw new TesseraError(IMPORT_OP, `value '${cur}' (${from}) is neither consumed nor a graph output; the graph is disconnected`);
      break;
    }
    // torch.onnx's decomposition of nn.LocalResponseNorm: x feeds Mul(x, x) → … → Div(x, ·).
    if (cons.length === 2) {
      const lrn = matchTorchLrn(view, cur, [cons[0]!, cons[1]!], visited);
      if (lrn) {
        layers.push(lrn.layer);
        cur = lrn.output;
        continue;
      }
    }
    const i = single(cur, from);
    if (i === null) break;
    if (visited.has(i)) throw new TesseraError(IMPORT_OP, `${view.label(i)} is reached twice: the graph has a cycle`);
    visited.add(i);
    const n = view.node(i);
    const label = view.label(i);
    const dataInput = n.inputs.indexOf(cur);
    if (n.domain !== '' && n.domain !== 'ai.onnx') {
      throw new TesseraError(IMPORT_OP, `${label} is in operator domain '${n.domain}'; AlexNet uses standard ONNX operators only`);
    }
    if (dataInput !== 0 && !(n.opType === 'Add' && dataInput === 1)) {
      throw new TesseraError(IMPORT_OP, `${label} takes '${cur}' as input #${dataInput}; expected it as the data input (#0)`);
    }
    const out = n.outputs[0];
    if (!out) throw new TesseraError(IMPORT_OP, `${label} has no output`);
    const base = { label, node: n };
    switch (n.opType) {
      case 'Conv': {
        const w = weight(n.inputs[1], i, 'weight (input #1)');
        if (w.dims.length !== 4)
          throw new TesseraError(IMPORT_OP, `${label}: weight '${n.inputs[1]}' is ${fmtDims(w.dims)}; a 2-D convolution's weight is [out, in/groups, kH, kW]`);
        const b = n.inputs[2] ? weight(n.inputs[2], i, 'bias (input #2)') : null;
        if (b && (b.dims.length !== 1 || b.dims[0] !== w.dims[0])) {
          throw new TesseraError(IMPORT_OP, `${label}: bias '${n.inputs[2]}' is ${fmtDims(b.dims)}, expected [${w.dims[0]}]`);
        }
        const kernel = attrInts(n, 'kernel_shape', null) ?? w.dims.slice(2);
        const strides = attrInts(n, 'strides', [1, 1]);
        layers.push({
          ...base,
          kind: 'conv',
          weight: w,
          bias: b,
          kernel,
          strides,
          pads: convPads(n, kernel, strides),
          dilations: attrInts(n, 'dilations', [1, 1]),
          group: attrInt(n, 'group', 1),
        });
        break;
      }
      case 'Relu':
        layers.push({ ...base, kind: 'relu' });
        break;
      case 'LRN': {
        const size = attrInt(n, 'size', 0);
        if (!(size >= 1)) throw new TesseraError(IMPORT_OP, `${label}: attribute size is missing or not positive`);
        if (size % 2 === 0) {
          throw new TesseraError(
            IMPORT_OP,
            `${label}: LRN size ${size} is even; ONNX and PyTorch centre even windows differently, so only odd sizes import exactly`,
          );
        }
        layers.push({ ...base, kind: 'lrn', lrn: { size, alpha: attrFloat(n, 'alpha', 1e-4), beta: attrFloat(n, 'beta', 0.75), k: attrFloat(n, 'bias', 1) } });
        break;
      }
      case 'MaxPool':
      case 'AveragePool': {
        const indices = n.outputs[1];
        if (indices && (view.consumers.get(indices)?.length || outputs.has(indices))) {
          throw new TesseraError(IMPORT_OP, `${label}: its Indices output '${indices}' is used; AlexNet's pooling has no second output`);
        }
        const kernel = attrInts(n, 'kernel_shape', null);
        if (!kernel) throw new TesseraError(IMPORT_OP, `${label}: attribute kernel_shape is missing`);
        const zeros = kernel.map(() => 0);
        const auto = attrString(n, 'auto_pad', 'NOTSET');
        if (auto !== 'NOTSET' && auto !== '' && auto !== 'VALID') throw new TesseraError(IMPORT_OP, `${label}: auto_pad ${auto} is not supported for pooling`);
        const geometry = {
          ...base,
          kernel,
          strides: attrInts(
            n,
            'strides',
            kernel.map(() => 1),
          ),
          pads: auto === 'VALID' ? [...zeros, ...zeros] : attrInts(n, 'pads', [...zeros, ...zeros]),
          dilations: attrInts(
            n,
            'dilations',
            kernel.map(() => 1),
          ),
          ceilMode: attrInt(n, 'ceil_mode', 0) !== 0,
        };
        layers.push(n.opType === 'MaxPool' ? { ...geometry, kind: 'maxpool' } : { ...geometry, kind: 'avgpool' });
        break;
      }
      case 'Dropout':
      case 'Identity':
        if (n.opType === 'Dropout' && n.outputs[1] && view.consumers.get(n.outputs[1])?.length) {
          throw new TesseraError(IMPORT_OP, `${label}: its mask output '${n.outputs[1]}' is used; expected an inference graph`);
        }
        break;
      case 'Flatten': {
        const axis = attrInt(n, 'axis', 1);
        if (axis !== 1) throw new TesseraError(IMPORT_OP, `${label}: Flatten axis ${axis}; AlexNet flattens its [N, C, H, W] features with axis 1`);
        layers.push({ ...base, kind: 'flatten', reshape: null });
        break;
      }
      case 'Reshape': {
        let target = attrInts(n, 'shape', null);
        if (!target && n.inputs[1]) {
          const c = view.constant(n.inputs[1]);
          target = c ? onnxTensorToInts(c, `${label}: shape`) : null;
        }
        layers.push({ ...base, kind: 'flatten', reshape: { target } });
        break;
      }
      case 'Gemm': {
        if (attrInt(n, 'transA', 0) !== 0) throw new TesseraError(IMPORT_OP, `${label}: transA=1; expected the activations as A [N, in]`);
        const transB = attrInt(n, 'transB', 0) !== 0;
        const alpha = attrFloat(n, 'alpha', 1);
        const beta = attrFloat(n, 'beta', 1);
        const w = weight(n.inputs[1], i, 'B (input #1)');
        const [d0, d1] = w.dims;
        if (w.dims.length !== 2 || d0 === undefined || d1 === undefined) {
          throw new TesseraError(IMPORT_OP, `${label}: B '${n.inputs[1]}' is ${fmtDims(w.dims)}, expected a matrix`);
        }
        const [outF, inF] = transB ? [d0, d1] : [d1, d0];
        const data = transB ? w.data : transpose(w.data, inF, outF);
        if (alpha !== 1) for (let j = 0; j < data.length; j++) data[j]! *= alpha;
        let bias: GraphWeight | null = null;
        if (n.inputs[2]) {
          bias = broadcastBias(weight(n.inputs[2], i, 'C (input #2)'), outF, `${label}: C '${n.inputs[2]}'`);
          // Decoded payloads are fresh arrays, so scaling in place touches nothing else.
          if (beta !== 1) for (let j = 0; j < bias.data.length; j++) bias.data[j]! *= beta;
        }
        const notes: string[] = [];
        if (!transB) notes.push('B stored [in, out] (transB=0): transposed');
        if (alpha !== 1 || (beta !== 1 && bias)) notes.push(`alpha=${alpha}, beta=${beta} folded into the weight and bias`);
        layers.push({ ...base, kind: 'fc', weight: { ...w, data, dims: [outF, inF] }, bias, in: inF, out: outF, notes });
        break;
      }
      case 'MatMul': {
        const w = weight(n.inputs[1], i, 'B (input #1)');
        const [inF, outF] = w.dims;
        if (w.dims.length !== 2 || inF === undefined || outF === undefined) {
          throw new TesseraError(IMPORT_OP, `${label}: B '${n.inputs[1]}' is ${fmtDims(w.dims)}, expected a matrix [in, out]`);
        }
        const layer: FcLayer = {
          ...base,
          kind: 'fc',
          weight: { ...w, data: transpose(w.data, inF, outF), dims: [outF, inF] },
          bias: null,
          in: inF,
          out: outF,
          notes: ['MatMul weight [in, out] transposed'],
        };
        let end = out;
        const next = single(out, `output of ${label}`);
        const addNode = next === null ? null : view.node(next);
        if (next !== null && addNode?.opType === 'Add') {
          const other = addNode.inputs[0] === out ? addNode.inputs[1] : addNode.inputs[0];
          if (other !== undefined && other !== out && view.constant(other)) {
            layer.bias = broadcastBias(weight(other, next, 'bias'), outF, `${view.label(next)}: '${other}'`);
            visited.add(next);
            end = addNode.outputs[0] ?? out;
            layer.label = `${label} + ${view.label(next)}`;
          }
        }
        layers.push(layer);
        cur = end;
        continue;
      }
      case 'Softmax':
      case 'LogSoftmax':
        layers.push({ ...base, kind: 'softmax' });
        break;
      default: {
        const quant = /^(QLinear|Dequantize|Quantize|ConvInteger|MatMulInteger|DynamicQuantize)/.test(n.opType);
        throw new TesseraError(
          IMPORT_OP,
          quant
            ? `${label}: ${n.opType} is a quantised operator; import the float32 model instead`
            : `${label} (after ${from}): op type ${n.opType} is not part of AlexNet (expected Conv, Relu, LRN, MaxPool, AveragePool, Flatten/Reshape, Gemm or MatMul+Add, Dropout, Softmax)`,
        );
      }
    }
    cur = out;
  }
  return { layers, input, output: cur, weightTypes };
}
