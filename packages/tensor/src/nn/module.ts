/**
 * The base class of every layer and model, after torch.nn.Module. A module's parameters, buffers and
 * submodules are its own fields: a field holding a Module is a child, a field holding a tensor marked by
 * `parameter()` is a parameter, one marked by `buffer()` a buffer (see parameter.ts). Field order is
 * registration order, so
 *
 *   class AlexNet extends Module { features = new Sequential(new Conv2d(3, 64, 11, …), …); … }
 *
 * names its first weight `features.0.weight`, exactly as PyTorch does. (Like any JS object, fields whose
 * names are integers — "0", "1", … — come first, in numeric order; Sequential relies on that.)
 */
import { keep, noGrad } from '../engine.js';
import { TesseraError, fmtShape } from '../errors.js';
import { shapesEqual } from '../shape.js';
import { Tensor } from '../tensor.js';
import { buffer, describe, isBuffer, isParameter, parameter, transferMark } from './parameter.js';

/** Name → tensor, in registration order (PyTorch's `state_dict()` order). */
export type StateDict = Map<string, Tensor>;

export interface LoadStateDictOptions {
  /**
   * Require the keys to match exactly (default true). Shape, dtype and backend mismatches are errors either
   * way, as in PyTorch.
   */
  strict?: boolean;
}

export interface LoadStateDictResult {
  /** Keys the module has but the dictionary lacks (always empty when strict). */
  missingKeys: string[];
  /** Keys the dictionary has but the module lacks (always empty when strict). */
  unexpectedKeys: string[];
}

type Fields = Record<string, unknown>;

function fieldsOf(m: Module): [string, unknown][] {
  const rec = m as unknown as Fields;
  return Object.keys(rec).map((k) => [k, rec[k]]);
}

function indent(text: string): string {
  return text.split('\n').join('\n  ');
}

export abstract class Module {
  /** Training mode (the default) or evaluation mode; Dropout and similar layers read it. */
  training = true;
  /** Names of this module's buffers that stateDict leaves out. */
  readonly #nonPersistent = new Set<string>();

  /** The computation. Call it directly: `model.forward(x)`. */
  abstract forward(...inputs: Tensor[]): Tensor;

  // ---- registration ------------------------------------------------------------------------------

  #checkName(name: string, kind: string): void {
    const op = `register${kind}`;
    if (typeof name !== 'string' || name.length === 0) throw new TesseraError(op, `the name must be a non-empty string, got ${JSON.stringify(name)}`);
    if (name.includes('.')) throw new TesseraError(op, `the name "${name}" must not contain "."`);
    if (name in this) {
      const current = (this as unknown as Fields)[name];
      const ownSlot = Object.prototype.hasOwnProperty.call(this, name);
      if (!ownSlot || !(current === undefined || current === null || current instanceof Module || isParameter(current) || isBuffer(current))) {
        throw new TesseraError(op, `attribute "${name}" already exists on ${this.constructor.name} and is not a parameter, buffer or module`);
      }
    }
  }

  /**
   * Makes `t` (passed through `parameter()`) this module's parameter `name` and stores it in the field of
   * that name. `null` records an absent parameter (e.g. no bias). Returns `t`.
   */
  registerParameter<T extends Tensor | null>(name: string, t: T): T {
    this.#checkName(name, 'Parameter');
    if (t !== null && !isParameter(t as unknown)) parameter(t, { requiresGrad: t.dtype !== 'int32' });
    (this as unknown as Fields)[name] = t;
    return t;
  }

  /** Makes `t` a buffer; a non-persistent buffer is left out of stateDict. Returns `t`. */
  registerBuffer<T extends Tensor | null>(name: string, t: T, opts: { persistent?: boolean } = {}): T {
    this.#checkName(name, 'Buffer');
    if (t !== null) buffer(t);
    if (opts.persistent === false) this.#nonPersistent.add(name);
    else this.#nonPersistent.delete(name);
    (this as unknown as Fields)[name] = t;
    return t;
  }

  /** Makes `m` the submodule `name` (the field of that name). Returns `m`. */
  registerModule<M extends Module | null>(name: string, m: M): M {
    this.#checkName(name, 'Module');
    if (m !== null && !(m instanceof Module)) throw new TesseraError('registerModule', `"${name}" must be a Module, got ${describe(m)}`);
    (this as unknown as Fields)[name] = m;
    return m;
  }

  // ---- traversal ---------------------------------------------------------------------------------

  /** Direct submodules with their field names. */
  namedChildren(): [string, Module][] {
    const out: [string, Module][] = [];
    for (const [k, v] of fieldsOf(this)) if (v instanceof Module) out.push([k, v]);
    return out;
  }

  children(): Module[] {
    return this.namedChildren().map(([, m]) => m);
  }

  /** This module and every descendant, depth first, each once (the root's name is ''). */
  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [];
    const seen = new Set<Module>();
    const visit = (m: Module, name: string): void => {
      if (seen.has(m)) return;
      seen.add(m);
      out.push([name, m]);
      for (const [k, c] of m.namedChildren()) visit(c, name === '' ? k : `${name}.${k}`);
    };
    visit(this, prefix);
    return out;
  }

  modules(): Module[] {
    return this.namedModules().map(([, m]) => m);
  }

  /** Own parameters (not descendants'), present ones only. */
  #ownParameters(): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [k, v] of fieldsOf(this)) if (isParameter(v)) out.push([k, v]);
    return out;
  }

  #ownBuffers(persistentOnly: boolean): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [k, v] of fieldsOf(this)) if (isBuffer(v) && !(persistentOnly && this.#nonPersistent.has(k))) out.push([k, v]);
    return out;
  }

  /**
   * Parameters with their dotted names (`features.0.weight`), each tensor once even when shared, in
   * registration order.
   */
  namedParameters(opts: { recurse?: boolean } = {}): [string, Tensor][] {
    return this.#collect((m) => m.#ownParameters(), opts.recurse ?? true);
  }

  parameters(opts: { recurse?: boolean } = {}): Tensor[] {
    return this.namedParameters(opts).map(([, t]) => t);
  }

  namedBuffers(opts: { recurse?: boolean } = {}): [string, Tensor][] {
    return this.#collect((m) => m.#ownBuffers(false), opts.recurse ?? true);
  }

  buffers(opts: { recurse?: boolean } = {}): Tensor[] {
    return this.namedBuffers(opts).map(([, t]) => t);
  }

  #collect(own: (m: Module) => [string, Tensor][], recurse: boolean): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    const seen = new Set<Tensor>();
    const mods: [string, Module][] = recurse ? this.namedModules() : [['', this]];
    for (const [prefix, m] of mods) {
      for (const [k, t] of own(m)) {
        if (seen.has(t)) continue;
        seen.add(t);
        out.push([prefix === '' ? k : `${prefix}.${k}`, t]);
      }
    }
    return out;
  }

  /** Number of parameter elements (each shared tensor counted once); `trainableOnly` counts requiresGrad ones. */
  numParameters(opts: { trainableOnly?: boolean } = {}): number {
    let n = 0;
    for (const p of this.parameters()) if (!opts.trainableOnly || p.requiresGrad) n += p.size;
    return n;
  }

  /** Calls `fn` on every submodule (children first) and then on this module, like torch's `apply`. */
  apply(fn: (m: Module) => void): this {
    for (const c of this.children()) c.apply(fn);
    fn(this);
    return this;
  }

  // ---- modes and gradients -----------------------------------------------------------------------

  /** Sets training mode on this module and all descendants. */
  train(mode = true): this {
    for (const m of this.modules()) m.training = mode;
    return this;
  }

  /** Evaluation mode: `train(false)`. */
  eval(): this {
    return this.train(false);
  }

  /** Disposes every parameter's gradient and sets it to null (PyTorch's `zero_grad(set_to_none=True)`). */
  zeroGrad(): void {
    for (const p of this.parameters()) {
      if (p.grad) {
        p.grad.dispose();
        p.grad = null;
      }
    }
  }

  // ---- state -------------------------------------------------------------------------------------

  /**
   * Parameters and persistent buffers by dotted name, in PyTorch's `state_dict()` order. The values are the
   * module's own tensors, not copies (as in PyTorch): read or save them, but do not dispose them. A tensor
   * shared by two modules appears under both names.
   */
  stateDict(): StateDict {
    const out: StateDict = new Map();
    for (const [prefix, m] of this.namedModules()) {
      for (const [k, t] of [...m.#ownParameters(), ...m.#ownBuffers(true)]) out.set(prefix === '' ? k : `${prefix}.${k}`, t);
    }
    return out;
  }

  /**
   * Copies values from `dict` into this module's parameters and buffers (in place, under noGrad, so an
   * optimiser holding them keeps working). Everything is checked before anything is written: missing and
   * unexpected keys (when strict), and for every shared key the shape, dtype and backend. One TesseraError
   * lists every problem.
   */
  loadStateDict(dict: Map<string, Tensor> | Record<string, Tensor>, opts: LoadStateDictOptions = {}): LoadStateDictResult {
    const op = 'loadStateDict';
    const strict = opts.strict ?? true;
    if (!(dict instanceof Map) && (typeof dict !== 'object' || dict === null)) {
      throw new TesseraError(op, `expects a Map or a record of name → Tensor, got ${describe(dict)}`);
    }
    const given: Map<string, unknown> = dict instanceof Map ? dict : new Map(Object.entries(dict));
    const own = this.stateDict();
    const missingKeys = [...own.keys()].filter((k) => !given.has(k));
    const unexpectedKeys = [...given.keys()].filter((k) => !own.has(k));
    const problems: string[] = [];
    if (strict && missingKeys.length > 0) problems.push(`missing key(s): ${missingKeys.map((k) => `"${k}"`).join(', ')}`);
    if (strict && unexpectedKeys.length > 0) problems.push(`unexpected key(s): ${unexpectedKeys.map((k) => `"${k}"`).join(', ')}`);
    const copies: [Tensor, Tensor][] = [];
    for (const [k, target] of own) {
      if (!given.has(k)) continue;
      const src = given.get(k);
      if (!(src instanceof Tensor)) {
        problems.push(`"${k}" is ${describe(src)}, expected a Tensor ${fmtShape(target.shape)} ${target.dtype}`);
      } else if (src.isDisposed) {
        problems.push(`"${k}" was disposed`);
      } else if (!shapesEqual(src.shape, target.shape)) {
        problems.push(`size mismatch for "${k}": the dictionary has ${fmtShape(src.shape)}, the module expects ${fmtShape(target.shape)}`);
      } else if (src.dtype !== target.dtype) {
        problems.push(`dtype mismatch for "${k}": the dictionary has ${src.dtype}, the module expects ${target.dtype}; cast it with .cast('${target.dtype}')`);
      } else if (src.backendImpl !== target.backendImpl) {
        problems.push(
          `"${k}" is on backend ${src.backend} but the module is on ${target.backend}; load the file with { backend: '${target.backend}' } or await t.to('${target.backend}')`,
        );
      } else {
        copies.push([target, src]);
      }
    }
    if (problems.length > 0) {
      throw new TesseraError(op, `error(s) loading the state dict into ${this.constructor.name}:\n  ${problems.join('\n  ')}`);
    }
    noGrad(() => {
      for (const [target, src] of copies) if (src.storage !== target.storage) target.copy_(src);
    });
    return { missingKeys, unexpectedKeys };
  }

  /**
   * Moves every parameter and buffer (and parameter gradients) to another backend, replacing the tensors in
   * their fields; the old ones are disposed once everything has moved. Shared tensors stay shared. Build the
   * optimiser after moving: it holds the tensors themselves.
   */
  async to(backendName: string): Promise<this> {
    const moved = new Map<Tensor, Tensor>();
    const assignments: [Module, string, Tensor][] = [];
    try {
      for (const [, m] of this.namedModules()) {
        for (const [k, v] of fieldsOf(m)) {
          if (!isParameter(v) && !isBuffer(v)) continue;
          let nt = moved.get(v);
          if (nt === undefined) {
            nt = await v.to(backendName);
            moved.set(v, nt);
            if (nt !== v) {
              transferMark(v, nt);
              if (v.grad) nt.grad = keep(await v.grad.to(backendName));
            }
          }
          assignments.push([m, k, nt]);
        }
      }
    } catch (err) {
      for (const [old, nt] of moved) {
        if (nt !== old) {
          nt.grad?.dispose();
          nt.dispose();
        }
      }
      throw err;
    }
    for (const [m, k, nt] of assignments) (m as unknown as Fields)[k] = nt;
    for (const [old, nt] of moved) {
      if (nt === old) continue;
      old.grad?.dispose();
      old.grad = null;
      old.dispose();
    }
    return this;
  }

  /** Disposes every parameter (and its gradient) and buffer of this module and its descendants. */
  dispose(): void {
    for (const t of [...this.parameters(), ...this.buffers()]) {
      t.grad?.dispose();
      t.grad = null;
      t.dispose();
    }
  }

  // ---- printing ----------------------------------------------------------------------------------

  /** The layer's settings, shown inside the parentheses of toString(). */
  extraRepr(): string {
    return '';
  }

  /** PyTorch-style summary: the module tree with each layer's settings. */
  toString(): string {
    const name = this.constructor.name;
    const extra = this.extraRepr();
    const children = this.namedChildren();
    if (children.length === 0) return `${name}(${extra})`;
    const lines = extra === '' ? [] : extra.split('\n');
    for (const [k, c] of children) lines.push(`(${k}): ${indent(c.toString())}`);
    return `${name}(\n  ${lines.join('\n  ')}\n)`;
  }
}
