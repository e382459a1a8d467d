/**
 * What the importer checks a graph against: an AlexNet's own layer sequence, layer geometry and stateDict()
 * keys and shapes, read from the model (one built with `init: 'none'`, whose parameters are never filled) —
 * never a second copy of the architecture.
 */
import { TesseraError, nn } from '@tessera/tensor';
import { alexnet, type AlexNet, type AlexNetOptions } from '../model.js';
import { IMPORT_OP } from './types.js';

export type OnnxAlexNetVariant = 'paper' | 'torchvision';

/**
 * The constructions an ONNX AlexNet may be, per variant: the paper's conv1 padding is 0 for BVLC's 227×227 input
 * or 2 for 224×224 (the two geometries model.ts documents); torchvision's network has one.
 */
export const IMPORT_TARGETS: Readonly<Record<OnnxAlexNetVariant, readonly AlexNetOptions[]>> = {
  paper: [
    { variant: 'paper', conv1Padding: 0 },
    { variant: 'paper', conv1Padding: 2 },
  ],
  torchvision: [{ variant: 'torchvision' }],
};

export type ArchitectureLayer =
  | {
      kind: 'conv';
      key: string;
      kernel: readonly number[];
      stride: readonly number[];
      padding: readonly number[];
      dilation: readonly number[];
      groups: number;
      out: number;
    }
  | { kind: 'relu' }
  | { kind: 'lrn'; key: string }
  | { kind: 'maxpool'; kernel: readonly number[]; stride: readonly number[]; padding: readonly number[]; ceilMode: boolean }
  | { kind: 'avgpool'; outputSize: readonly number[] }
  | { kind: 'flatten'; channels: number; features: number }
  | { kind: 'fc'; key: string; in: number; out: number };

export interface AlexNetArchitecture {
  variant: OnnxAlexNetVariant;
  /** The options the model was built with. */
  options: AlexNetOptions;
  /** The forward pass in order (Dropout, an identity at inference, left out; the flatten before the classifier put in). */
  layers: ArchitectureLayer[];
  /** stateDict() key → shape, in stateDict order. */
  shapes: Map<string, readonly number[]>;
  inputShape: readonly number[];
}

/** The architecture of `model` (built with `options`). */
function readArchitecture(model: AlexNet, options: AlexNetOptions): AlexNetArchitecture {
  const variant = model.variant;
  if (variant !== 'paper' && variant !== 'torchvision') {
    throw new TesseraError(IMPORT_OP, `ONNX import supports the 'paper' and 'torchvision' AlexNets, not '${variant}'`);
  }
  const layers: ArchitectureLayer[] = [];
  const describe = (prefix: string, m: nn.Module): void => {
    if (m instanceof nn.Conv2d) {
      layers.push({
        kind: 'conv',
        key: prefix,
        kernel: m.kernelSize,
        stride: m.stride,
        padding: m.padding,
        dilation: m.dilation,
        groups: m.groups,
        out: m.outChannels,
      });
    } else if (m instanceof nn.ReLU) layers.push({ kind: 'relu' });
    else if (m instanceof nn.LocalResponseNorm) layers.push({ kind: 'lrn', key: prefix });
    else if (m instanceof nn.MaxPool2d) layers.push({ kind: 'maxpool', kernel: m.kernelSize, stride: m.stride, padding: m.padding, ceilMode: m.ceilMode });
    else if (m instanceof nn.AdaptiveAvgPool2d) layers.push({ kind: 'avgpool', outputSize: m.outputSize });
    else if (m instanceof nn.Linear) layers.push({ kind: 'fc', key: prefix, in: m.inFeatures, out: m.outFeatures });
    else if (!(m instanceof nn.Dropout)) throw new TesseraError(IMPORT_OP, `${prefix} is a ${m.constructor.name}, which the ONNX importer does not map`);
  };
  for (const [name, m] of model.features.namedChildren()) describe(`features.${name}`, m);
  if (model.avgpool) describe('avgpool', model.avgpool);
  const lastConv = layers.filter((l) => l.kind === 'conv').at(-1);
  const firstFc = model.classifier.children().find((m): m is nn.Linear => m instanceof nn.Linear);
  layers.push({ kind: 'flatten', channels: lastConv?.out ?? 0, features: firstFc?.inFeatures ?? 0 });
  for (const [name, m] of model.classifier.namedChildren()) describe(`classifier.${name}`, m);
  const shapes = new Map<string, readonly number[]>();
  for (const [key, t] of model.stateDict()) shapes.set(key, t.shape.slice());
  return { variant, options, layers, shapes, inputShape: model.inputShape.slice() };
}

const built = new Map<string, AlexNetArchitecture>();
/** Distinct option sets remembered (numClasses comes from the file, so a stream of odd files must not grow it without end). */
const MAX_REMEMBERED = 16;

/**
 * The architecture alexnet(options) builds. The model exists only while it is read (init 'none': zero-filled
 * parameters, never written); architectures are remembered per options.
 */
export function architectureOf(options: AlexNetOptions): AlexNetArchitecture {
  const id = JSON.stringify(options);
  const known = built.get(id);
  if (known) return known;
  const model = alexnet({ ...options, init: 'none' });
  try {
    const a = readArchitecture(model, options);
    if (built.size >= MAX_REMEMBERED) built.clear();
    built.set(id, a);
    return a;
  } finally {
    model.dispose();
  }
}
