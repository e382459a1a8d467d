/**
 * Recognises an AlexNet in a parsed ONNX graph: reads the graph as a chain of layers (chain-layers.ts), finds
 * which of our AlexNets it is from its convolutions, checks the layer sequence and every layer's geometry
 * against that model's own layers (alexnet-architecture.ts), and maps the weights onto the model's stateDict()
 * keys, each compared with the model's shape for that key.
 *
 * The LRN constants are part of the graph, not of the weights: BVLC's Caffe net uses k = 1 and α = 1e-4 (divided
 * by n, as ONNX, Caffe and PyTorch do), the paper k = 2 and α = 1e-4 undivided (5e-4 in our convention). They are
 * reported, and loadOnnxInto decides what to do with them.
 */
import { TesseraError } from '@tessera/tensor';
import { IMPORT_TARGETS, architectureOf, type AlexNetArchitecture, type ArchitectureLayer, type OnnxAlexNetVariant } from './alexnet-architecture.js';
import { readChain, type ConvLayer, type FcLayer, type GraphWeight, type Layer, type LayerKind, type LrnLayer, type MaxPoolLayer } from './chain-layers.js';
import { OnnxGraphView } from './graph-view.js';
import { IMPORT_OP, fmtDims, numel, type OnnxModel } from './types.js';

/** An LRN layer of the graph, in ONNX / PyTorch / our convention: b = a / (k + alpha/size · Σ a²)^beta. */
export interface OnnxLrn {
  /** The ONNX node, e.g. `LRN node 'norm1'`, or for torch's expansion of nn.LocalResponseNorm the Div ending it. */
  node: string;
  /** Our module it corresponds to (`features.2`, `features.6`). */
  layer: string;
  size: number;
  alpha: number;
  beta: number;
  k: number;
}

export interface OnnxImportReport {
  /** producer_name and producer_version, e.g. `pytorch 1.13.0`. */
  producer: string;
  irVersion: number;
  /** The default-domain opset, null when the file declares none. */
  opset: number | null;
  graphName: string;
  /** The graph's input as declared (name and shape, symbolic dims as strings). */
  input: { name: string; shape: (number | string)[] | null };
  /** The graph's output; `softmax` when the graph ends in (Log)Softmax, whereas our model returns logits. */
  output: { name: string; softmax: boolean };
  /** One line per recognised layer: ONNX node(s) → our module. */
  layers: string[];
  /** ONNX data types the weights were stored in (all are converted to float32). */
  weightTypes: string[];
  /** Anything a careful user should know (ceil-mode pooling pads, folded Gemm scales, LRN constants, …). */
  notes: string[];
}

/** A weight mapped onto a stateDict() key, shaped as the model's parameter. */
export interface MappedWeight {
  data: Float32Array;
  shape: number[];
  /** The ONNX tensor it came from (null: absent in the graph, zeros). */
  source: string | null;
  sourceDims: number[] | null;
}

/** What the graph is, with its weights still as arrays (so callers can check before allocating tensors). */
export interface AlexNetRecognition {
  variant: OnnxAlexNetVariant;
  numClasses: number;
  /** Paper variant: conv1's padding, 0 for BVLC's 227×227 input, 2 for 224×224. */
  conv1Padding?: number;
  /** The graph's LRN layers (paper variant: after conv1 and conv2; none for torchvision). */
  lrn: OnnxLrn[];
  report: OnnxImportReport;
  /** stateDict() key → weight, in the model's stateDict() order. */
  arrays: Map<string, MappedWeight>;
}

/** How each variant is named where the error lists what was expected. */
const VARIANT_NAMES: Readonly<Record<OnnxAlexNetVariant, string>> = { paper: 'the paper / BVLC AlexNet', torchvision: "torchvision's" };

type Of<K extends LayerKind> = Extract<Layer, { kind: K }>;
type ArchOf<K extends ArchitectureLayer['kind']> = Extract<ArchitectureLayer, { kind: K }>;

function ofKind<K extends LayerKind>(layers: readonly Layer[], kind: K): Of<K>[] {
  return layers.filter((l): l is Of<K> => l.kind === kind);
}

function archOfKind<K extends ArchitectureLayer['kind']>(a: AlexNetArchitecture, kind: K): ArchOf<K>[] {
  return a.layers.filter((l): l is ArchOf<K> => l.kind === kind);
}

function eqList(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** The i-th element of a list the layer sequence check has already sized; a miss is a bug here, not bad input. */
function nth<T>(list: readonly T[], i: number, what: string): T {
  const v = list[i];
  if (v === undefined) throw new TesseraError(IMPORT_OP, `internal: no ${what} #${i + 1} after the layer sequence matched`);
  return v;
}

export function checkVariant(requested: unknown): asserts requested is OnnxAlexNetVariant | undefined {
  if (requested !== undefined && !Object.hasOwn(IMPORT_TARGETS, requested as string)) {
    throw new TesseraError(IMPORT_OP, `variant must be 'paper' or 'torchvision', got ${JSON.stringify(requested)}`);
  }
}

/**
 * Compares every mapped weight with `shapes` (a model's stateDict() shapes) and requires every key of it to be
 * mapped; errors name the ONNX tensor, the key and both shapes.
 */
export function checkAgainstStateDict(arrays: ReadonlyMap<string, MappedWeight>, shapes: ReadonlyMap<string, readonly number[]>, model: string): void {
  for (const [key, w] of arrays) {
    const want = shapes.get(key);
    const from = w.source === null ? `the zero ${key}` : `ONNX tensor '${w.source}' ${fmtDims(w.sourceDims ?? [])}`;
    if (!want) throw new TesseraError(IMPORT_OP, `${from} maps to '${key}', which ${model}'s stateDict() does not have`);
    if (!eqList(w.shape, want)) {
      throw new TesseraError(IMPORT_OP, `${from} maps to '${key}' as ${fmtDims(w.shape)}, but ${model}'s stateDict() has '${key}' as ${fmtDims(want)}`);
    }
    if (w.data.length !== numel(want)) throw new TesseraError(IMPORT_OP, `${key}: ${w.data.length} values for shape ${fmtDims(want)}`);
  }
  const missing = [...shapes.keys()].filter((k) => !arrays.has(k));
  if (missing.length > 0)
    throw new TesseraError(IMPORT_OP, `the graph supplies nothing for ${missing.map((k) => `'${k}'`).join(', ')} of ${model}'s stateDict()`);
}

/** `96-256-384-384-256, groups 1-2-1-2-2` (one number when every conv has the same groups). */
function describeConvs(a: AlexNetArchitecture): string {
  const convs = archOfKind(a, 'conv');
  const groups = convs.map((c) => c.groups);
  return `${convs.map((c) => c.out).join('-')}, groups ${groups.every((g) => g === groups[0]) ? String(groups[0]) : groups.join('-')}`;
}

/** Which AlexNet `model`'s graph is, its weights under our keys, and what was found on the way. */
export function recogniseAlexNet(model: OnnxModel, requested: OnnxAlexNetVariant | undefined): AlexNetRecognition {
  checkVariant(requested);
  const { layers, input, output, weightTypes } = readChain(new OnnxGraphView(model.graph));
  const notes: string[] = [];
  const variants = Object.keys(IMPORT_TARGETS) as OnnxAlexNetVariant[];
  // One construction per variant tells the variants apart (numClasses and conv1 padding do not change the convs).
  const reference = (v: OnnxAlexNetVariant): AlexNetArchitecture => architectureOf(nth(IMPORT_TARGETS[v], 0, 'construction'));

  const seq = layers.map((l) => `${l.kind}`).join(' → ');
  const convs = ofKind(layers, 'conv');
  const convCounts = [...new Set(variants.map((v) => archOfKind(reference(v), 'conv').length))];
  if (!convCounts.includes(convs.length)) {
    const fcCounts = [...new Set(variants.map((v) => archOfKind(reference(v), 'fc').length))];
    throw new TesseraError(
      IMPORT_OP,
      `found ${convs.length} Conv node(s) on the path from the input (${seq || 'no layers'}); AlexNet has ${convCounts.join(' or ')} convolutions followed by ${fcCounts.join(' or ')} fully connected layers`,
    );
  }
  const widths = convs.map((c) => c.weight.dims[0] ?? 0);
  const groups = convs.map((c) => c.group);
  const matches = (v: OnnxAlexNetVariant) => {
    const want = archOfKind(reference(v), 'conv');
    return want.length === convs.length && want.every((c, j) => c.out === widths[j] && c.groups === groups[j]);
  };
  const detected = variants.find(matches);
  const widthsText = `widths ${widths.join('-')} with groups ${groups.join('-')}`;
  if (!detected) {
    throw new TesseraError(
      IMPORT_OP,
      `the convolutions have ${widthsText}; expected ${variants.map((v) => `${VARIANT_NAMES[v]} (${describeConvs(reference(v))})`).join(' or ')}`,
    );
  }
  if (requested && requested !== detected) {
    throw new TesseraError(IMPORT_OP, `the graph is the ${detected} AlexNet (${widthsText}), but variant '${requested}' was requested`);
  }
  const variant = detected;

  // The layer sequence, with the optional trailing softmax; an adaptive average pool may be absent from a graph
  // (exported for an input where it is the identity).
  let body = layers;
  const softmax = body.at(-1)?.kind === 'softmax';
  if (softmax) body = body.slice(0, -1);
  const pattern = reference(variant).layers.map((l) => (l.kind === 'avgpool' ? 'avgpool?' : l.kind));
  let p = 0;
  for (let j = 0; j <= body.length; j++) {
    const l = body[j];
    while (p < pattern.length && pattern[p]?.endsWith('?') && l?.kind !== pattern[p]?.slice(0, -1)) p++;
    const want = pattern[p]?.replace('?', '');
    if (l === undefined && want === undefined) break;
    if (l?.kind !== want) {
      const got = l ? `${l.label} (${l.kind})` : 'the end of the graph';
      let hint = '';
      if (l?.kind === 'maxpool' && want === 'lrn' && body[j + 1]?.kind === 'lrn') {
        hint = ` — pooling before normalisation is CaffeNet (bvlc_reference_caffenet), which our ${variant} AlexNet does not express`;
      } else if (l?.kind === 'lrn' && !pattern.includes('lrn')) hint = ` — ${variant} AlexNet has no LRN`;
      throw new TesseraError(
        IMPORT_OP,
        `layer ${j + 1} of the ${variant} AlexNet should be ${want ?? 'the end of the graph'} but the graph has ${got}${hint}. Found: ${seq}. Expected: ${pattern.join(' → ')}`,
      );
    }
    p++;
  }

  // The constructions of this variant, for the graph's number of classes.
  const fcs = ofKind(body, 'fc');
  const classifier = nth(fcs, fcs.length - 1, 'fully connected layer');
  const numClasses = classifier.out;
  if (!(numClasses >= 1)) throw new TesseraError(IMPORT_OP, `${classifier.label} has ${numClasses} outputs; a classifier needs at least one class`);
  const candidates = IMPORT_TARGETS[variant].map((o) => architectureOf({ ...o, numClasses }));
  const first = nth(candidates, 0, 'construction');

  // Geometry of each convolution; the padding picks the construction (the paper's conv1 padding).
  const firstConvs = archOfKind(first, 'conv');
  convs.forEach((c, j) => {
    const t = nth(firstConvs, j, 'convolution');
    const want = first.shapes.get(`${t.key}.weight`) ?? [];
    const name = `${c.label} (conv${j + 1})`;
    if (!eqList(c.weight.dims, want)) {
      throw new TesseraError(
        IMPORT_OP,
        `${c.label} (conv${j + 1}, ${t.key}) has weight '${c.weight.source}' ${fmtDims(c.weight.dims)}; the ${variant} AlexNet's stateDict() has ${t.key}.weight ${fmtDims(want)}`,
      );
    }
    if (!eqList(c.kernel, t.kernel)) throw new TesseraError(IMPORT_OP, `${name} has kernel_shape ${fmtDims(c.kernel)}, expected ${fmtDims(t.kernel)}`);
    if (!eqList(c.strides, t.stride)) throw new TesseraError(IMPORT_OP, `${name} has strides ${fmtDims(c.strides)}, expected ${fmtDims(t.stride)}`);
    if (!eqList(c.dilations, t.dilation)) throw new TesseraError(IMPORT_OP, `${name} has dilations ${fmtDims(c.dilations)}, expected ${fmtDims(t.dilation)}`);
    const allowed = new Map<string, number[]>();
    for (const a of candidates) {
      const pad = nth(archOfKind(a, 'conv'), j, 'convolution').padding;
      allowed.set(String(pad), [...pad, ...pad]);
    }
    const options = [...allowed.values()].sort((x, y) => (x[0] ?? 0) - (y[0] ?? 0));
    if (!options.some((o) => eqList(c.pads, o))) {
      throw new TesseraError(IMPORT_OP, `${name} has pads ${fmtDims(c.pads)}; the ${variant} AlexNet pads ${options.map((o) => fmtDims(o)).join(' or ')}`);
    }
  });
  const target = candidates.find((a) => archOfKind(a, 'conv').every((t, j) => eqList(nth(convs, j, 'Conv node').pads, [...t.padding, ...t.padding])));
  if (!target) {
    throw new TesseraError(
      IMPORT_OP,
      `the convolutions' pads ${convs.map((c) => fmtDims(c.pads)).join(', ')} are no single construction of the ${variant} AlexNet`,
    );
  }
  const conv1Padding = target.options.conv1Padding;

  const mapped = new Map<string, MappedWeight>();
  const lines: string[] = [];
  const put = (key: string, w: GraphWeight | null, shape: readonly number[], label: string): void => {
    if (w) mapped.set(key, { data: w.data, shape: w.dims, source: w.source, sourceDims: w.sourceDims });
    else {
      mapped.set(key, { data: new Float32Array(numel(shape)), shape: shape.slice(), source: null, sourceDims: null });
      notes.push(`${label} has no bias; ${key} is set to zeros`);
    }
  };
  archOfKind(target, 'conv').forEach((t, j) => {
    const c: ConvLayer = nth(convs, j, 'Conv node');
    put(`${t.key}.weight`, c.weight, c.weight.dims, c.label);
    put(`${t.key}.bias`, c.bias, [t.out], c.label);
    lines.push(`${c.label}: ${fmtDims(c.weight.dims)} stride ${t.stride[0]} pad ${c.pads[0]} groups ${t.groups} → ${t.key}`);
  });

  const pools: MaxPoolLayer[] = ofKind(body, 'maxpool');
  const targetPools = archOfKind(target, 'maxpool');
  pools.forEach((m, j) => {
    const t = nth(targetPools, j, 'max-pool');
    const begin = m.pads.slice(0, 2);
    const end = m.pads.slice(2);
    if (
      !eqList(m.kernel, t.kernel) ||
      !eqList(m.strides, t.stride) ||
      !eqList(
        m.dilations,
        t.kernel.map(() => 1),
      )
    ) {
      throw new TesseraError(
        IMPORT_OP,
        `${m.label} has kernel ${fmtDims(m.kernel)}, strides ${fmtDims(m.strides)}, dilations ${fmtDims(m.dilations)}; AlexNet's overlapping pooling is ${t.kernel.join('×')} with stride ${t.stride[0]}`,
      );
    }
    // Caffe rounds pooled sizes up; its converters emulate that with a bottom/right pad of 1 (or ceil_mode). On
    // AlexNet's pooled inputs (55, 27, 13: odd, so (n − 3) is even) neither changes the output, so both import.
    const endPadded = end.some((v, d) => v !== t.padding[d]);
    const padText = t.padding.every((v) => v === 0) ? 'unpadded' : `padded by ${fmtDims(t.padding)}`;
    if (
      m.pads.length !== 4 ||
      !eqList(begin, t.padding) ||
      end.some((v, d) => v !== t.padding[d] && v !== (t.padding[d] ?? 0) + 1) ||
      (endPadded && m.ceilMode) ||
      t.ceilMode
    ) {
      throw new TesseraError(
        IMPORT_OP,
        `${m.label} has pads ${fmtDims(m.pads)}${m.ceilMode ? ' with ceil_mode=1' : ''}; AlexNet's pooling is ${padText} (a bottom/right pad of 1 or ceil_mode alone, Caffe's rounding, is accepted)`,
      );
    }
    if (endPadded || m.ceilMode) {
      notes.push(
        `${m.label} ${endPadded ? `pads bottom/right by ${fmtDims(end)}` : 'uses ceil_mode'} (Caffe's round-up pooling); on the ${variant} AlexNet's input size the pooled inputs are odd and the output is the same as unpadded floor pooling`,
      );
    }
  });
  const pool0 = nth(targetPools, 0, 'max-pool');
  lines.push(`${pools.length} × MaxPool ${pool0.kernel.join('×')} stride ${pool0.stride[0]}`);

  const [avg] = ofKind(body, 'avgpool');
  const [targetAvg] = archOfKind(target, 'avgpool');
  if (avg && targetAvg) {
    const k = avg.kernel;
    const [o0, o1] = targetAvg.outputSize;
    const [k0, k1] = k;
    if (
      k.length !== 2 ||
      k0 === undefined ||
      k1 === undefined ||
      o0 === undefined ||
      o1 === undefined ||
      !eqList(avg.strides, k) ||
      !avg.pads.every((v) => v === 0) ||
      avg.ceilMode
    ) {
      throw new TesseraError(
        IMPORT_OP,
        `${avg.label} has kernel ${fmtDims(k)}, strides ${fmtDims(avg.strides)}, pads ${fmtDims(avg.pads)}; expected ${variant}'s AdaptiveAvgPool2d(${o0 === o1 ? o0 : fmtDims(targetAvg.outputSize)}) exported for an input size where it is a plain k×k / k pool`,
      );
    }
    lines.push(`${avg.label}: ${fmtDims(k)} → avgpool (AdaptiveAvgPool2d(${o0 === o1 ? o0 : fmtDims(targetAvg.outputSize)}))`);
    if (k0 !== 1 || k1 !== 1) {
      notes.push(
        `${avg.label} averages ${k.join('×')} windows: the graph was exported for a ${o0 * k0}×${o1 * k1} feature map, i.e. a larger input than ${target.inputShape[1]}`,
      );
    }
  }

  const flat = nth(ofKind(body, 'flatten'), 0, 'flatten');
  const flatTarget = nth(archOfKind(target, 'flatten'), 0, 'flatten');
  const fcIn = flatTarget.features;
  if (flat.reshape) {
    const t = flat.reshape.target;
    const side = Math.sqrt(fcIn / flatTarget.channels);
    const features = Number.isInteger(side) ? `${flatTarget.channels}×${side}×${side}` : `${flatTarget.channels}-channel`;
    if (t === null) notes.push(`${flat.label} computes its target shape at run time; taken to flatten to [N, ${fcIn}]`);
    else if (t.length !== 2 || !(t[1] === fcIn || (t[1] === -1 && t[0] !== -1))) {
      throw new TesseraError(IMPORT_OP, `${flat.label} reshapes to ${fmtDims(t)}; expected [N, ${fcIn}] (the ${features} features flattened)`);
    } else if ((t[0] ?? 0) > 0) notes.push(`${flat.label} reshapes to ${fmtDims(t)}, fixing the batch size to ${t[0]}; our model takes any batch`);
  }
  lines.push(`${flat.label} → flatten(1)`);

  archOfKind(target, 'fc').forEach((t, j) => {
    const f: FcLayer = nth(fcs, j, 'fully connected layer');
    const want = target.shapes.get(`${t.key}.weight`) ?? [t.out, t.in];
    if (!eqList(f.weight.dims, want)) {
      throw new TesseraError(
        IMPORT_OP,
        `${f.label} (fc${convs.length + j + 1}, ${t.key}) maps ${f.in} → ${f.out} features; the ${variant} AlexNet needs ${t.in} → ${t.out} (ONNX tensor '${f.weight.source}' ${fmtDims(f.weight.sourceDims)} read as ${fmtDims(f.weight.dims)}; its stateDict() has ${t.key}.weight ${fmtDims(want)})`,
      );
    }
    put(`${t.key}.weight`, f.weight, want, f.label);
    put(`${t.key}.bias`, f.bias, [t.out], f.label);
    for (const nt of f.notes) notes.push(`${f.label}: ${nt}`);
    lines.push(`${f.label}: ${t.in} → ${t.out} → ${t.key}`);
  });

  const lrnKeys = archOfKind(target, 'lrn');
  const lrn: OnnxLrn[] = ofKind(body, 'lrn').map((l: LrnLayer, j) => ({ node: l.label, layer: nth(lrnKeys, j, 'LRN').key, ...l.lrn }));
  for (const l of lrn) {
    lines.push(`${l.node}: LRN size ${l.size}, alpha ${l.alpha} (divided by size), beta ${l.beta}, k ${l.k} → ${l.layer}`);
  }
  if (conv1Padding !== undefined) {
    const [, h, w] = target.inputShape;
    const shape = input.shape;
    if (shape && shape.length === 4 && typeof shape[2] === 'number' && typeof shape[3] === 'number' && (shape[2] !== h || shape[3] !== w)) {
      notes.push(
        `the graph declares input ${fmtDims(shape)}; with conv1 padding ${conv1Padding} our ${variant} AlexNet takes ${h}×${w} (BVLC's deploy net: 227)`,
      );
    }
  }
  if (softmax) notes.push(`the graph ends in ${layers.at(-1)?.node.opType}; our model returns the logits before it`);

  const modelName = `the ${variant} AlexNet`;
  checkAgainstStateDict(mapped, target.shapes, modelName);
  const arrays = new Map<string, MappedWeight>();
  for (const key of target.shapes.keys()) {
    const w = mapped.get(key);
    if (w) arrays.set(key, w);
  }
  return {
    variant,
    numClasses,
    ...(conv1Padding === undefined ? {} : { conv1Padding }),
    lrn,
    report: {
      producer: `${model.producerName} ${model.producerVersion}`.trim(),
      irVersion: model.irVersion,
      opset: model.opsets.get('') ?? null,
      graphName: model.graph.name,
      input: { name: input.name, shape: input.shape },
      output: { name: output, softmax },
      layers: lines,
      weightTypes: [...weightTypes].sort(),
      notes,
    },
    arrays,
  };
}
