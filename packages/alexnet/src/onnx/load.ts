/**
 * The loading API: `importOnnx` reads an ONNX AlexNet — torch.onnx.export's torchvision AlexNet, or the paper /
 * BVLC network (the ONNX model zoo's `bvlcalexnet-*.onnx`, or torch's export of it) — and returns its weights
 * under our state-dict keys; `loadOnnxInto` loads them into a model, every check done before anything is written.
 */
import { TesseraError, nn, tensor, type Tensor } from '@tessera/tensor';
import type { AlexNet } from '../model.js';
import type { OnnxAlexNetVariant } from './alexnet-architecture.js';
import { checkAgainstStateDict, checkVariant, recogniseAlexNet, type AlexNetRecognition, type OnnxImportReport, type OnnxLrn } from './alexnet-match.js';
import { parseOnnxModel } from './decode.js';
import { IMPORT_OP } from './types.js';

export interface ImportOnnxOptions {
  /** Require this variant (otherwise it is detected from the convolution widths and groups). */
  variant?: OnnxAlexNetVariant;
  /** Backend for the returned tensors (default: the current backend). */
  backend?: string;
}

export interface OnnxImport {
  variant: OnnxAlexNetVariant;
  /** Our state-dict keys → float32 tensors (yours to dispose). */
  stateDict: Map<string, Tensor>;
  numClasses: number;
  /** Paper variant: conv1's padding, 0 for BVLC's 227×227 input, 2 for 224×224. */
  conv1Padding?: number;
  /** The graph's LRN layers (paper variant: after conv1 and conv2; none for torchvision). */
  lrn: OnnxLrn[];
  report: OnnxImportReport;
}

/** Result of loadOnnxInto: the import minus the (already loaded and released) tensors. */
export interface OnnxLoadResult extends Omit<OnnxImport, 'stateDict'> {
  /** Whether `lrn: 'graph'` set the model's LRN layers to the graph's constants (false when the graph has none). */
  lrnApplied: boolean;
  /** Whether the model's LRN layers now compute what the graph's do (true when there are none). */
  lrnMatchesGraph: boolean;
}

export interface LoadOnnxOptions {
  /**
   * `keep` (default): leave the model's LRN layers as they are (ours are the paper's, k = 2, α = 1e-4 undivided);
   * `graph`: replace them with the graph's constants (BVLC: k = 1, α = 1e-4 divided by n), which is what
   * reproduces the ONNX model's outputs.
   */
  lrn?: 'keep' | 'graph';
}

/** The file's bytes, or a path to read it from (Node.js only). */
export type OnnxSource = Uint8Array | ArrayBuffer | string;

async function sourceBytes(src: OnnxSource): Promise<Uint8Array> {
  if (typeof src === 'string') return readFileBytes(src);
  if (src instanceof ArrayBuffer) return new Uint8Array(src);
  if (src instanceof Uint8Array) return src;
  throw new TesseraError(IMPORT_OP, `expects the file's bytes (Uint8Array or ArrayBuffer) or a path, got ${src === null ? 'null' : typeof src}`);
}

async function readFileBytes(path: string): Promise<Uint8Array> {
  // Loaded on first use so that bundling for a browser never pulls in node:fs.
  const fsName = 'node:fs/promises';
  let fs: typeof import('node:fs/promises');
  try {
    fs = (await import(fsName)) as typeof import('node:fs/promises');
  } catch (err) {
    throw new TesseraError(IMPORT_OP, 'reading a path needs Node.js; elsewhere pass the file as a Uint8Array', { cause: err });
  }
  try {
    return await fs.readFile(path);
  } catch (err) {
    throw new TesseraError(IMPORT_OP, `cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
}

function toTensors(arrays: AlexNetRecognition['arrays'], backend: string | undefined): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  try {
    for (const [key, { data, shape }] of arrays) out.set(key, tensor(data, shape, backend === undefined ? {} : { backend }));
  } catch (err) {
    for (const t of out.values()) t.dispose();
    throw err;
  }
  return out;
}

/**
 * Reads an ONNX AlexNet (bytes, or a path under Node.js), checks that it is the paper / BVLC or the
 * torchvision network, and returns its weights under our state-dict keys with what it found about the graph.
 * Throws TesseraError('importOnnx', …) naming the node or tensor and what was expected otherwise.
 */
export async function importOnnx(src: OnnxSource, opts: ImportOnnxOptions = {}): Promise<OnnxImport> {
  const bytes = await sourceBytes(src);
  checkVariant(opts.variant);
  const { arrays, ...rest } = recogniseAlexNet(parseOnnxModel(bytes), opts.variant);
  return { ...rest, stateDict: toTensors(arrays, opts.backend) };
}

/**
 * Imports an ONNX AlexNet into `model` (which must be the same variant, number of classes and, for the paper
 * variant, conv1 padding; build it with `init: 'none'` to skip a pointless initialisation). Every check runs
 * before anything is written. With `{ lrn: 'graph' }` the model's LRN layers are replaced by the graph's.
 */
export async function loadOnnxInto(model: AlexNet, src: OnnxSource, opts: LoadOnnxOptions = {}): Promise<OnnxLoadResult> {
  const op = 'loadOnnxInto';
  const mode = opts.lrn ?? 'keep';
  if (mode !== 'keep' && mode !== 'graph') throw new TesseraError(op, `lrn must be 'keep' or 'graph', got ${JSON.stringify(mode)}`);
  if (model.variant !== 'paper' && model.variant !== 'torchvision') {
    throw new TesseraError(op, `ONNX import supports the 'paper' and 'torchvision' AlexNets, not '${model.variant}'`);
  }
  const bytes = await sourceBytes(src);
  const { arrays, ...imported } = recogniseAlexNet(parseOnnxModel(bytes), model.variant);
  if (imported.numClasses !== model.numClasses) {
    throw new TesseraError(
      op,
      `the graph classifies into ${imported.numClasses} classes but the model into ${model.numClasses}; build it with alexnet({ variant: '${model.variant}', numClasses: ${imported.numClasses} })`,
    );
  }
  const conv1 = model.features.at(0);
  if (imported.conv1Padding !== undefined && conv1 instanceof nn.Conv2d && conv1.padding[0] !== imported.conv1Padding) {
    throw new TesseraError(
      op,
      `the graph's conv1 pads by ${imported.conv1Padding} (${imported.conv1Padding === 0 ? '227×227 input, BVLC' : '224×224 input'}) but the model's by ${conv1.padding[0]}; build it with alexnet({ variant: 'paper', conv1Padding: ${imported.conv1Padding} })`,
    );
  }
  const lrnSlots: number[] = [];
  for (let i = 0; i < model.features.length; i++) if (model.features.at(i) instanceof nn.LocalResponseNorm) lrnSlots.push(i);
  if (lrnSlots.length !== imported.lrn.length) throw new TesseraError(op, `the model has ${lrnSlots.length} LRN layers, the graph ${imported.lrn.length}`);
  // The graph was checked against a model built as this one claims to be; this one's own stateDict() decides.
  checkAgainstStateDict(arrays, new Map([...model.stateDict()].map(([k, t]) => [k, t.shape])), 'the model');
  const first = model.parameters()[0];
  const stateDict = toTensors(arrays, first?.backend);
  try {
    model.loadStateDict(stateDict);
  } finally {
    for (const t of stateDict.values()) t.dispose();
  }
  let matches = true;
  imported.lrn.forEach((l, j) => {
    const slot = lrnSlots[j];
    const m = slot === undefined ? undefined : model.features.at(slot);
    if (slot === undefined || !(m instanceof nn.LocalResponseNorm)) return;
    const same = m.size === l.size && close(m.alpha, l.alpha) && close(m.beta, l.beta) && close(m.k, l.k);
    if (mode === 'graph' && !same) {
      model.features.registerModule(String(slot), new nn.LocalResponseNorm(l.size, { alpha: l.alpha, beta: l.beta, k: l.k }));
    } else if (!same) {
      matches = false;
      imported.report.notes.push(
        `${l.node} (LRN size ${l.size}, alpha ${l.alpha}, beta ${l.beta}, k ${l.k}) differs from the model's features.${slot} (size ${m.size}, alpha ${m.alpha}, beta ${m.beta}, k ${m.k}); kept the model's — pass { lrn: 'graph' } to reproduce the graph's outputs`,
      );
    }
  });
  return { ...imported, lrnApplied: mode === 'graph' && imported.lrn.length > 0, lrnMatchesGraph: matches };
}

/** Float32-stored attributes (alpha 1e-4 is 9.99999974e-5) compare equal to their decimal intent. */
function close(a: number, b: number): boolean {
  return Math.abs(a - b) <= 1e-6 * Math.max(Math.abs(a), Math.abs(b));
}
