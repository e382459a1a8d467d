/**
 * The ONNX interpreter: `loadOnnxModel` turns an ONNX graph of supported operators into an `OnnxModule`, a tessera
 * `nn.Module` whose forward runs the graph node by node on the current backend with tessera's public ops (so it
 * runs on every backend and is differentiable). Initializers become the module's parameters (float tensors) and
 * buffers (BatchNormalization's running statistics), named after the initializer names, so `stateDict()` keys are
 * the ONNX names (`features.0.weight`, …). Integer tensors that describe shapes (Reshape targets, Shape, Gather,
 * Concat and Unsqueeze of shapes — what torch.onnx.export emits for `x.view(x.size(0), -1)`) are computed on the
 * host. Every node is checked when the model is loaded: an unsupported operator, attribute or input form is a
 * TesseraError naming the node, the op and what is supported.
 */
import { TesseraError, Tensor, isGradEnabled, nn, tensor } from '@tessera/tensor';
import { parseOnnxModel } from './decode.js';
import { OnnxGraphView } from './graph-view.js';
import { HostInts, SUPPORTED_OPS, compileNode, type CompiledNode, type Value } from './ops.js';
import { onnxTensorToFloat32, onnxTensorToInts } from './tensor-data.js';
import { DTYPE, ONNX_OP, describeNode, dtypeName, type OnnxModel, type OnnxTensor } from './types.js';

export interface LoadOnnxModelOptions {
  /** Backend the initializers are created on (initialised); the current backend when omitted. */
  backend?: string;
}

/** Opsets of the default domain whose operator semantics the interpreter implements. */
export const MIN_OPSET = 7;
export const MAX_OPSET = 18;

/** Holds the parameters and buffers of one name segment (`features` in `features.0.weight`). */
class OnnxScope extends nn.Module {
  override forward(): Tensor {
    throw new TesseraError('OnnxModule', 'a parameter scope is not callable');
  }
}

/** BatchNormalization inputs 3 and 4 (mean, var) are buffers; every other float initializer is a parameter. */
function bufferInitializers(m: OnnxModel): Set<string> {
  const out = new Set<string>();
  for (const n of m.graph.nodes) if (n.opType === 'BatchNormalization') for (const v of n.inputs.slice(3, 5)) if (v !== '') out.add(v);
  return out;
}

export class OnnxModule extends nn.Module {
  /** The decoded model (opsets, producer, graph). */
  readonly model: OnnxModel;
  /** Names of the inputs forward takes, in order. */
  readonly inputNames: string[];
  readonly outputNames: string[];
  /** Initializer name → the name it was registered under, where the ONNX name could not be used as is. */
  readonly renamed = new Map<string, string>();
  readonly #values = new Map<string, Value>();
  readonly #plan: { node: CompiledNode; inputs: string[]; outputs: string[]; lastUse: string[] }[] = [];
  readonly #constants = new Set<string>();
  readonly #host = new Map<string, ArrayLike<number>>();

  constructor(model: OnnxModel, opts: LoadOnnxModelOptions = {}) {
    super();
    const op = ONNX_OP;
    this.model = model;
    const opset = model.opsets.get('') ?? 0;
    if (opset < MIN_OPSET || opset > MAX_OPSET) {
      throw new TesseraError(op, `the model imports opset ${opset} of the default ONNX domain; the interpreter implements opsets ${MIN_OPSET} to ${MAX_OPSET}`);
    }
    const view = new OnnxGraphView(model.graph, op);
    const g = model.graph;
    const backendOpt = opts.backend === undefined ? {} : { backend: opts.backend };
    // Initializers: float → parameters / buffers (device tensors); integer → host constants.
    const buffers = bufferInitializers(model);
    for (const [name, t] of g.initializers) {
      if (isIntType(t.dataType)) {
        const h = new HostInts(t.dims.slice(), onnxTensorToInts(t, 'initializer', op));
        this.#values.set(name, h);
        this.#host.set(name, h.data);
      } else {
        const data = onnxTensorToFloat32(t, 'initializer', op);
        const tt = tensor(data, t.dims, backendOpt);
        if (data.length <= 16) this.#host.set(name, data);
        this.#register(name, tt, buffers.has(name));
        this.#values.set(name, tt);
      }
      this.#constants.add(name);
    }
    this.inputNames = view.runtimeInputs().map((v) => v.name);
    this.outputNames = g.outputs.map((v) => v.name);
    if (this.outputNames.length === 0) throw new TesseraError(op, `graph '${g.name}' declares no outputs`);
    const order = view.topologicalOrder();
    // How many nodes still read each value: once it drops to zero the value can be freed.
    const uses = new Map<string, number>();
    for (const i of order) for (const v of new Set(g.nodes[i]!.inputs)) if (v !== '') uses.set(v, (uses.get(v) ?? 0) + 1);
    const keep = new Set([...this.outputNames, ...this.inputNames, ...this.#constants]);
    for (const i of order) {
      const n = g.nodes[i]!;
      if (n.domain !== '' && n.domain !== 'ai.onnx') {
        throw new TesseraError(
          op,
          `${describeNode(n, i)} is in domain '${n.domain}'; the interpreter runs the default ONNX domain's operators only (${SUPPORTED_OPS.join(', ')})`,
        );
      }
      for (const v of n.inputs) {
        if (v !== '' && !this.#values.has(v) && !view.producer.has(v) && !this.inputNames.includes(v)) {
          throw new TesseraError(op, `${describeNode(n, i)} reads '${v}', which no node, initializer or graph input provides`);
        }
      }
      const node = compileNode(n, i, {
        opset,
        op,
        constant: (name) => this.#values.get(name) ?? null,
        constantHost: (name) => this.#constantHost(view, name),
        backend: backendOpt,
      });
      if (node.constant !== undefined) {
        // Constant nodes are folded now: their value lives with the module (not in its state dict).
        const c = node.constant;
        for (const o of n.outputs)
          if (o !== '') {
            this.#values.set(o, c);
            this.#constants.add(o);
            keep.add(o);
          }
        if (c instanceof HostInts) for (const o of n.outputs) this.#host.set(o, c.data);
        this.#folded.push(c);
        continue;
      }
      const lastUse: string[] = [];
      for (const v of new Set(n.inputs)) {
        if (v === '') continue;
        const left = (uses.get(v) ?? 0) - 1;
        uses.set(v, left);
        if (left === 0 && !keep.has(v)) lastUse.push(v);
      }
      this.#plan.push({ node, inputs: n.inputs.slice(), outputs: n.outputs.slice(), lastUse });
    }
    for (const o of this.outputNames) {
      if (!view.producer.has(o) && !this.#values.has(o) && !this.inputNames.includes(o)) throw new TesseraError(op, `graph output '${o}' is never computed`);
    }
  }

  /** Host values of a constant: integer initializers and Constant nodes, small float ones, through Identity. */
  #constantHost(view: OnnxGraphView, name: string): ArrayLike<number> | null {
    for (let hops = 0; hops < 16; hops++) {
      const h = this.#host.get(name);
      if (h) return h;
      const v = this.#values.get(name);
      if (v instanceof HostInts) return v.data;
      const p = view.producer.get(name);
      if (p === undefined) break;
      const n = view.node(p);
      if (n.opType === 'Constant') {
        const t = view.constant(name);
        if (!t) return null;
        return isIntType(t.dataType) ? onnxTensorToInts(t, 'Constant value', this.op) : onnxTensorToFloat32(t, 'Constant value', this.op);
      }
      if (n.opType !== 'Identity' || !n.inputs[0]) break;
      name = n.inputs[0];
    }
    return null;
  }

  readonly op = ONNX_OP;
  readonly #folded: Value[] = [];

  /** Registers `t` under its ONNX name, creating a scope module per dotted segment. */
  #register(name: string, t: Tensor, asBuffer: boolean): void {
    const parts = name.split('.');
    const attempt = (): void => {
      const m = parts.slice(0, -1).reduce<nn.Module>((scope, p) => {
        const child = (scope as unknown as Record<string, unknown>)[p];
        return child instanceof OnnxScope ? child : scope.registerModule(p, new OnnxScope());
      }, this);
      const leaf = parts[parts.length - 1]!;
      if (asBuffer) m.registerBuffer(leaf, t);
      else m.registerParameter(leaf, t);
    };
    if (parts.every((p) => p !== '' && p !== 'constructor' && p !== '__proto__')) {
      try {
        attempt();
        return;
      } catch (err) {
        if (!(err instanceof TesseraError)) throw err;
      }
    }
    // A name tessera cannot register as is (a segment clashes with a Module member): register it flat.
    let flat = `onnx_${name.replace(/[^A-Za-z0-9_]/g, '_')}`;
    while (flat in this) flat += '_';
    if (asBuffer) this.registerBuffer(flat, t);
    else this.registerParameter(flat, t);
    this.renamed.set(name, flat);
  }

  /** Runs the graph on `inputs` (in `inputNames` order) and returns every graph output by name. */
  run(...inputs: Tensor[]): Map<string, Tensor> {
    const op = 'OnnxModule';
    if (inputs.length !== this.inputNames.length) {
      throw new TesseraError(op, `the graph takes ${this.inputNames.length} input(s) (${this.inputNames.join(', ')}), got ${inputs.length}`);
    }
    const env = new Map<string, Value>(this.#values);
    // Parameters are read from the values map: loadStateDict copies into those very tensors.
    inputs.forEach((t, i) => {
      if (!(t instanceof Tensor)) throw new TesseraError(op, `input ${i} ('${this.inputNames[i]}') is not a Tensor`);
      env.set(this.inputNames[i]!, t);
    });
    const free = !isGradEnabled();
    const created: Tensor[] = [];
    try {
      for (const step of this.#plan) {
        const args = step.inputs.map((v) => (v === '' ? undefined : env.get(v)));
        const outs = step.node.run(args);
        step.outputs.forEach((o, j) => {
          if (o === '') return;
          const v = outs[j];
          if (v === undefined) throw new TesseraError(op, `${step.node.label} produced no output ${j} ('${o}')`);
          env.set(o, v);
          if (v instanceof Tensor && !args.includes(v)) created.push(v);
        });
        if (free) {
          for (const v of step.lastUse) {
            const x = env.get(v);
            env.delete(v);
            if (x instanceof Tensor && created.includes(x) && !this.outputNames.some((o) => env.get(o) === x)) x.dispose();
          }
        }
      }
    } catch (err) {
      if (free) for (const t of created) if (!t.isDisposed) t.dispose();
      throw err;
    }
    const out = new Map<string, Tensor>();
    for (const o of this.outputNames) {
      const v = env.get(o);
      out.set(o, v instanceof HostInts ? v.toTensor() : (v as Tensor));
    }
    return out;
  }

  /** Runs the graph and returns its first output (graphs with several outputs: use `run`). */
  override forward(...inputs: Tensor[]): Tensor {
    return this.run(...inputs).get(this.outputNames[0]!)!;
  }
}

function isIntType(t: number): boolean {
  return t === DTYPE.INT64 || t === DTYPE.INT32;
}

/** Whether a tensor's type is one the interpreter reads as float32. */
export function isFloatType(t: OnnxTensor): boolean {
  return t.dataType === DTYPE.FLOAT || t.dataType === DTYPE.FLOAT16 || t.dataType === DTYPE.BFLOAT16 || t.dataType === DTYPE.DOUBLE;
}

export function checkInitializerType(t: OnnxTensor, op: string): void {
  if (!isFloatType(t) && !isIntType(t.dataType))
    throw new TesseraError(op, `initializer '${t.name}' is ${dtypeName(t.dataType)}; supported: FLOAT, FLOAT16, BFLOAT16, DOUBLE, INT64, INT32`);
}

/** An ONNX file (path, in Node) or its bytes as a runnable tessera Module. */
export async function loadOnnxModel(source: string | Uint8Array, opts: LoadOnnxModelOptions = {}): Promise<OnnxModule> {
  const op = ONNX_OP;
  let bytes: Uint8Array;
  if (typeof source === 'string') {
    const fsName = 'node:fs/promises';
    let fs: typeof import('node:fs/promises');
    try {
      fs = (await import(fsName)) as typeof import('node:fs/promises');
    } catch (err) {
      throw new TesseraError(op, 'reading a path needs Node.js; pass the file bytes instead', { cause: err });
    }
    try {
      bytes = await fs.readFile(source);
    } catch (err) {
      throw new TesseraError(op, `cannot read ${source}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  } else if (source instanceof Uint8Array) bytes = source;
  else throw new TesseraError(op, `expects a path or a Uint8Array, got ${typeof source}`);
  const model = parseOnnxModel(bytes, op);
  for (const t of model.graph.initializers.values()) checkInitializerType(t, op);
  return new OnnxModule(model, opts);
}
