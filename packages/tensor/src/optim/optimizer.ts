/**
 * The base of every optimiser, after torch.optim.Optimizer: parameter groups with their own hyperparameters,
 * per-parameter state, and a state dict that restores a run exactly. The state dict comes in two parts so it
 * can be stored as one safetensors file: `meta` is plain JSON (hyperparameters, step counts, numeric state;
 * put it in the file's metadata as a string) and `tensors` holds the state tensors by `"<paramIndex>.<name>"`.
 *
 *   const sd = opt.stateDict();
 *   await saveSafetensors(sd.tensors, 'opt.safetensors', { metadata: { optimizer: JSON.stringify(sd.meta) } });
 *   const f = await loadSafetensors('opt.safetensors');
 *   opt.loadStateDict({ meta: JSON.parse(f.metadata.optimizer!), tensors: f });
 *
 * Parameters are numbered in group order, as PyTorch numbers them, so the optimiser that loads must be built
 * over the same parameters in the same order.
 */
import { keep, noGrad } from '../engine.js';
import { TesseraError, fmtShape } from '../errors.js';
import { shapesEqual } from '../shape.js';
import { Tensor } from '../tensor.js';

/** A hyperparameter value: what JSON can carry. */
export type HyperValue = number | boolean | string | readonly number[];

/** Hyperparameters every optimiser has. */
export interface BaseHyper {
  lr: number;
}

/** One parameter group: its parameters and its (mutable) hyperparameters. */
export type ParamGroup<H> = H & { params: Tensor[] };

/** A group as passed to the constructor: parameters plus any hyperparameters that differ from the defaults. */
export type ParamGroupInput<H> = Partial<H> & { params: Iterable<Tensor> };

/** Parameters for an optimiser: tensors (one group), or a list of groups. */
export type ParamsInput<H> = Iterable<Tensor> | readonly ParamGroupInput<H>[];

/** One parameter's state: tensors (e.g. a momentum buffer) and numbers (e.g. a step count). */
export type ParamState = Map<string, Tensor | number>;

export interface OptimizerMeta {
  format: 'tessera.optimizer';
  version: 1;
  /** The optimiser class, e.g. "SGD" or "Adam". */
  type: string;
  /** Number of step() calls made. */
  stepCount: number;
  /** Hyperparameters of each group, with `params` listing the group's parameter indices. */
  paramGroups: (Record<string, HyperValue> & { params: number[] })[];
  /** Numeric per-parameter state, by parameter index. */
  state: Record<string, Record<string, number>>;
}

export interface OptimizerStateDict {
  meta: OptimizerMeta;
  /** State tensors by `"<paramIndex>.<name>"`, e.g. `"0.momentumBuffer"`. */
  tensors: Map<string, Tensor>;
}

function isTensorIterable(x: unknown): x is Iterable<Tensor> {
  return typeof x === 'object' && x !== null && Symbol.iterator in x;
}

export abstract class Optimizer<H extends BaseHyper> {
  /** The groups; their hyperparameters may be changed between steps (schedulers do). */
  readonly paramGroups: ParamGroup<H>[] = [];
  readonly defaults: Readonly<H>;
  /** Per-parameter state, created on a parameter's first step. */
  protected readonly state = new Map<Tensor, ParamState>();
  /** Number of step() calls made. */
  stepCount = 0;
  /** Name stored in the state dict; a state dict loads only into the same kind of optimiser. */
  abstract readonly kind: string;
  /** Names of the tensors a parameter's state may hold. */
  protected abstract readonly stateTensorNames: readonly string[];
  /** Names of the numbers a parameter's state may hold. */
  protected readonly stateNumberNames: readonly string[] = [];

  constructor(params: ParamsInput<H>, defaults: H) {
    const op = this.constructor.name;
    this.defaults = Object.freeze({ ...defaults });
    if (!isTensorIterable(params)) throw new TesseraError(op, 'params must be an iterable of tensors or an array of parameter groups');
    const list = [...(params as Iterable<unknown>)];
    if (list.length === 0) throw new TesseraError(op, 'got an empty parameter list');
    if (list.every((x) => x instanceof Tensor)) this.addParamGroup({ params: list as Tensor[] } as unknown as ParamGroupInput<H>);
    else if (list.every((x) => typeof x === 'object' && x !== null && !(x instanceof Tensor) && 'params' in x)) {
      for (const g of list as ParamGroupInput<H>[]) this.addParamGroup(g);
    } else {
      throw new TesseraError(op, 'params must be all tensors or all parameter groups ({ params, …hyperparameters })');
    }
  }

  /** Checks a group's hyperparameters; throws a TesseraError naming the bad one. */
  protected abstract validateGroup(group: H, op: string): void;

  /** Adds a group; hyperparameters it does not set come from the defaults. */
  addParamGroup(group: ParamGroupInput<H>): void {
    const op = `${this.constructor.name}.addParamGroup`;
    if (typeof group !== 'object' || group === null || !isTensorIterable(group.params)) {
      throw new TesseraError(op, 'a parameter group needs `params`, an iterable of tensors');
    }
    const params = [...group.params];
    const seen = new Set<Tensor>();
    const existing = new Set(this.paramGroups.flatMap((g) => g.params));
    params.forEach((p, i) => {
      if (!(p instanceof Tensor)) throw new TesseraError(op, `params[${i}] is not a Tensor`);
      p.buf(op);
      if (!p.isLeaf) throw new TesseraError(op, `params[${i}] ${fmtShape(p.shape)} is not a leaf tensor; an optimiser updates leaves`);
      if (p.dtype === 'int32') throw new TesseraError(op, `params[${i}] ${fmtShape(p.shape)} is int32; only float tensors can be optimised`);
      if (seen.has(p)) throw new TesseraError(op, `params[${i}] ${fmtShape(p.shape)} appears twice in the group`);
      if (existing.has(p)) throw new TesseraError(op, `params[${i}] ${fmtShape(p.shape)} is already in another parameter group`);
      seen.add(p);
    });
    const { params: _ignored, ...overrides } = group as ParamGroupInput<H> & Record<string, unknown>;
    for (const k of Object.keys(overrides)) {
      if (!(k in this.defaults)) throw new TesseraError(op, `unknown hyperparameter "${k}" (known: ${Object.keys(this.defaults).join(', ')})`);
    }
    const hyper = { ...this.defaults, ...overrides } as H;
    this.validateGroup(hyper, op);
    this.paramGroups.push({ ...hyper, params } as ParamGroup<H>);
  }

  /** The first group's learning rate. */
  get lr(): number {
    return this.paramGroups[0]!.lr;
  }

  /** Sets every group's learning rate. */
  set lr(value: number) {
    if (typeof value !== 'number' || !(value >= 0) || !Number.isFinite(value))
      throw new TesseraError(`${this.constructor.name}.lr`, `learning rate must be a non-negative finite number, got ${String(value)}`);
    for (const g of this.paramGroups) g.lr = value;
  }

  /** Every parameter, in group order. */
  params(): Tensor[] {
    return this.paramGroups.flatMap((g) => g.params);
  }

  /** Disposes each parameter's gradient and sets it to null (torch's `zero_grad(set_to_none=True)`). */
  zeroGrad(): void {
    for (const p of this.params()) {
      if (p.grad) {
        p.grad.dispose();
        p.grad = null;
      }
    }
  }

  /** Updates every parameter that has a gradient (parameters whose grad is null are skipped). */
  abstract step(): void;

  /** @internal The gradient of `p`, checked against it, or null when it has none. */
  protected gradOf(p: Tensor, op: string): Tensor | null {
    const g = p.grad;
    if (g === null) return null;
    p.buf(op);
    g.buf(op);
    if (g.backendImpl !== p.backendImpl)
      throw new TesseraError(op, `the gradient of parameter ${fmtShape(p.shape)} is on ${g.backend} but the parameter is on ${p.backend}`);
    if (!shapesEqual(g.shape, p.shape)) throw new TesseraError(op, `gradient ${fmtShape(g.shape)} does not match its parameter ${fmtShape(p.shape)}`);
    if (g.dtype !== p.dtype) throw new TesseraError(op, `gradient dtype ${g.dtype} does not match its parameter's ${p.dtype}`);
    return g;
  }

  /** @internal A zero tensor like `p`, kept alive outside any tidy, for new state. */
  protected zerosState(p: Tensor): Tensor {
    return keep(noGrad(() => p.zerosLike()));
  }

  /**
   * The optimiser's state: hyperparameters, step counts and state tensors (the live tensors, not copies:
   * save them, do not dispose them). See the module comment for saving it to disk.
   */
  stateDict(): OptimizerStateDict {
    const meta: OptimizerMeta = { format: 'tessera.optimizer', version: 1, type: this.kind, stepCount: this.stepCount, paramGroups: [], state: {} };
    const tensors = new Map<string, Tensor>();
    let index = 0;
    for (const g of this.paramGroups) {
      const { params, ...hyper } = g as ParamGroup<H> & Record<string, unknown>;
      const ids: number[] = [];
      for (const p of params) {
        const i = index++;
        ids.push(i);
        const st = this.state.get(p);
        if (!st) continue;
        const numbers: Record<string, number> = {};
        for (const [k, v] of st) {
          if (v instanceof Tensor) tensors.set(`${i}.${k}`, v);
          else numbers[k] = v;
        }
        if (Object.keys(numbers).length > 0) meta.state[String(i)] = numbers;
      }
      const copied: Record<string, HyperValue> = {};
      for (const [k, v] of Object.entries(hyper)) copied[k] = Array.isArray(v) ? [...(v as number[])] : (v as HyperValue);
      meta.paramGroups.push({ ...copied, params: ids });
    }
    return { meta, tensors };
  }

  /** Checks one parameter's loaded state is complete and consistent; returns a problem or null. */
  protected checkState(_state: ParamState, _group: H): string | null {
    return null;
  }

  /**
   * Restores hyperparameters, step counts and state from a state dict made by an optimiser of the same kind
   * over parameters of the same shapes, in the same order. Tensors are copied, so the caller may dispose the
   * dictionary's tensors afterwards. Everything is validated before anything changes.
   */
  loadStateDict(sd: OptimizerStateDict): void {
    const op = `${this.constructor.name}.loadStateDict`;
    if (typeof sd !== 'object' || sd === null || typeof sd.meta !== 'object' || sd.meta === null) {
      throw new TesseraError(op, 'expects { meta, tensors } as returned by stateDict()');
    }
    const { meta } = sd;
    const tensors: Map<string, unknown> = sd.tensors instanceof Map ? sd.tensors : new Map(Object.entries((sd.tensors ?? {}) as object));
    if (meta.format !== 'tessera.optimizer' || meta.version !== 1) {
      throw new TesseraError(
        op,
        `not an optimizer state dict (format ${JSON.stringify(meta.format)}, version ${JSON.stringify(meta.version)}; expected "tessera.optimizer", 1)`,
      );
    }
    if (meta.type !== this.kind) throw new TesseraError(op, `the state dict is from ${JSON.stringify(meta.type)}, this optimiser is ${this.kind}`);
    if (!Number.isSafeInteger(meta.stepCount) || meta.stepCount < 0)
      throw new TesseraError(op, `stepCount must be a non-negative integer, got ${JSON.stringify(meta.stepCount)}`);
    if (!Array.isArray(meta.paramGroups) || meta.paramGroups.length !== this.paramGroups.length) {
      throw new TesseraError(
        op,
        `the state dict has ${Array.isArray(meta.paramGroups) ? meta.paramGroups.length : 'no'} parameter groups, this optimiser has ${this.paramGroups.length}`,
      );
    }
    // Hyperparameters and index → parameter.
    const params: Tensor[] = [];
    const groupOf: H[] = [];
    const newHyper: H[] = [];
    meta.paramGroups.forEach((saved, gi) => {
      const group = this.paramGroups[gi]!;
      if (typeof saved !== 'object' || saved === null || !Array.isArray(saved.params)) throw new TesseraError(op, `paramGroups[${gi}] has no params list`);
      if (saved.params.length !== group.params.length) {
        throw new TesseraError(op, `paramGroups[${gi}] has ${saved.params.length} parameters in the state dict and ${group.params.length} in this optimiser`);
      }
      const { params: ids, ...hyper } = saved;
      for (const k of Object.keys(hyper)) {
        if (!(k in this.defaults))
          throw new TesseraError(op, `paramGroups[${gi}] has unknown hyperparameter "${k}" (known: ${Object.keys(this.defaults).join(', ')})`);
      }
      const copied: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(hyper)) copied[k] = Array.isArray(v) ? [...(v as unknown[])] : v;
      const merged = { ...this.defaults, ...copied } as unknown as H;
      this.validateGroup(merged, `${op} (paramGroups[${gi}])`);
      newHyper.push(merged);
      ids.forEach((id, j) => {
        if (!Number.isSafeInteger(id) || id < 0) throw new TesseraError(op, `paramGroups[${gi}].params[${j}] is ${JSON.stringify(id)}, not a parameter index`);
        if (params[id] !== undefined) throw new TesseraError(op, `parameter index ${id} appears twice in paramGroups`);
        params[id] = group.params[j]!;
        groupOf[id] = merged;
      });
    });
    const count = this.params().length;
    for (let i = 0; i < count; i++) if (params[i] === undefined) throw new TesseraError(op, `parameter indices must be 0…${count - 1}; ${i} is missing`);
    // State.
    const newState = new Map<number, ParamState>();
    const stateFor = (i: number): ParamState => {
      let st = newState.get(i);
      if (!st) newState.set(i, (st = new Map()));
      return st;
    };
    const numbersIn = meta.state ?? {};
    if (typeof numbersIn !== 'object') throw new TesseraError(op, 'meta.state must be an object');
    for (const [key, numbers] of Object.entries(numbersIn)) {
      const i = Number(key);
      if (!/^\d+$/.test(key) || i >= count) throw new TesseraError(op, `meta.state has key "${key}", not a parameter index below ${count}`);
      if (typeof numbers !== 'object' || numbers === null) throw new TesseraError(op, `meta.state["${key}"] must be an object`);
      for (const [name, v] of Object.entries(numbers)) {
        if (!this.stateNumberNames.includes(name))
          throw new TesseraError(
            op,
            `meta.state["${key}"].${name} is not a state value of ${this.kind} (expected ${this.stateNumberNames.join(', ') || 'none'})`,
          );
        if (typeof v !== 'number' || !Number.isFinite(v))
          throw new TesseraError(op, `meta.state["${key}"].${name} must be a finite number, got ${JSON.stringify(v)}`);
        stateFor(i).set(name, v);
      }
    }
    for (const [key, t] of tensors) {
      const m = /^(\d+)\.(.+)$/.exec(key);
      const i = m ? Number(m[1]) : NaN;
      if (!m || i >= count) throw new TesseraError(op, `state tensor "${key}" is not named "<paramIndex>.<name>" with an index below ${count}`);
      const name = m[2]!;
      if (!this.stateTensorNames.includes(name))
        throw new TesseraError(op, `state tensor "${key}": "${name}" is not a state tensor of ${this.kind} (expected ${this.stateTensorNames.join(', ')})`);
      const p = params[i]!;
      if (!(t instanceof Tensor)) throw new TesseraError(op, `state tensor "${key}" is not a Tensor`);
      t.buf(op);
      if (!shapesEqual(t.shape, p.shape))
        throw new TesseraError(op, `state tensor "${key}" is ${fmtShape(t.shape)} but parameter ${i} is ${fmtShape(p.shape)}`);
      if (t.dtype !== p.dtype) throw new TesseraError(op, `state tensor "${key}" is ${t.dtype} but parameter ${i} is ${p.dtype}`);
      if (t.backendImpl !== p.backendImpl)
        throw new TesseraError(op, `state tensor "${key}" is on ${t.backend} but parameter ${i} is on ${p.backend}; load it with { backend: '${p.backend}' }`);
      stateFor(i).set(name, t);
    }
    for (const [i, st] of newState) {
      const problem = this.checkState(st, groupOf[i]!);
      if (problem !== null) throw new TesseraError(op, `state of parameter ${i}: ${problem}`);
    }
    // Commit.
    this.disposeState();
    this.paramGroups.forEach((g, gi) => Object.assign(g, newHyper[gi]));
    noGrad(() => {
      for (const [i, st] of newState) {
        const copy: ParamState = new Map();
        for (const [k, v] of st) copy.set(k, v instanceof Tensor ? keep(v.clone()) : v);
        this.state.set(params[i]!, copy);
      }
    });
    this.stepCount = meta.stepCount;
  }

  /** Disposes every state tensor and forgets all state (hyperparameters and step count stay). */
  disposeState(): void {
    for (const st of this.state.values()) for (const v of st.values()) if (v instanceof Tensor) v.dispose();
    this.state.clear();
  }
}
