/** Containers and the identity layer, after torch.nn.Identity, ModuleList and ModuleDict. */
import { TesseraError } from '../errors.js';
import type { Tensor } from '../tensor.js';
import { Module } from './module.js';
import { describe } from './parameter.js';

/** Returns its input. Constructor arguments are accepted and ignored, as torch.nn.Identity does. */
export class Identity extends Module {
  constructor(..._args: unknown[]) {
    super();
  }

  override forward(x: Tensor): Tensor {
    return x;
  }
}

function notCallable(name: string): never {
  throw new TesseraError(`${name}.forward`, `${name} is a container and has no forward; call its modules' forward yourself`);
}

/**
 * A list of submodules, after torch.nn.ModuleList: children named "0", "1", …, so a ModuleList in field
 * `blocks` gives state-dict keys `blocks.0.weight`. It holds modules; it computes nothing.
 */
export class ModuleList extends Module implements Iterable<Module> {
  /** `list[0]`, `list[1]`, …: the children (fields named by their index). */
  readonly [index: number]: Module;

  constructor(modules: Iterable<Module> = []) {
    super();
    if (modules === null || typeof (modules as Partial<Iterable<Module>>)[Symbol.iterator] !== 'function') {
      throw new TesseraError('ModuleList', `expects an array (or iterable) of Modules, got ${describe(modules)}`);
    }
    this.extend(modules);
  }

  /** Number of modules. */
  get length(): number {
    let n = 0;
    while (Object.prototype.hasOwnProperty.call(this, String(n))) n++;
    return n;
  }

  /** The module at `index` (negative counts from the end). */
  at(index: number): Module {
    const n = this.length;
    const i = index < 0 ? index + n : index;
    if (!Number.isInteger(index) || i < 0 || i >= n) throw new TesseraError('ModuleList.at', `index ${index} is out of range for ${n} modules`);
    return this[i]!;
  }

  /** Same as at(index). */
  get(index: number): Module {
    return this.at(index);
  }

  /** Replaces the module at `index` (negative counts from the end). Returns this. */
  set(index: number, m: Module): this {
    const n = this.length;
    const i = index < 0 ? index + n : index;
    if (!Number.isInteger(index) || i < 0 || i >= n) throw new TesseraError('ModuleList.set', `index ${index} is out of range for ${n} modules`);
    if (!(m instanceof Module)) throw new TesseraError('ModuleList.set', `expects a Module, got ${describe(m)}`);
    this.registerModule(String(i), m);
    return this;
  }

  /** Adds `m` at the end. Returns this. */
  append(m: Module): this {
    if (!(m instanceof Module)) throw new TesseraError('ModuleList.append', `expects a Module, got ${describe(m)}`);
    this.registerModule(String(this.length), m);
    return this;
  }

  /** Adds every module of `modules` at the end, in order. Returns this. */
  extend(modules: Iterable<Module>): this {
    const list = [...modules];
    list.forEach((m, i) => {
      if (!(m instanceof Module)) throw new TesseraError('ModuleList.extend', `entry ${i} must be a Module, got ${describe(m)}`);
    });
    for (const m of list) this.registerModule(String(this.length), m);
    return this;
  }

  *[Symbol.iterator](): Iterator<Module> {
    const n = this.length;
    for (let i = 0; i < n; i++) yield this[i]!;
  }

  override forward(): Tensor {
    return notCallable('ModuleList');
  }
}

/**
 * Submodules by name, after torch.nn.ModuleDict: the keys are the names in the state dict (`heads.cls.weight`)
 * and keep their insertion order (keys(), entries(), the state dict, the printed tree). A key must be a
 * non-empty string without "." that does not clash with a Module property (such as "training" or "forward").
 */
export class ModuleDict extends Module implements Iterable<[string, Module]> {
  readonly #order: string[] = [];

  constructor(modules: Record<string, Module> | Map<string, Module> | Iterable<readonly [string, Module]> = {}) {
    super();
    if (modules === null || typeof modules !== 'object')
      throw new TesseraError('ModuleDict', `expects a record, Map or list of [name, Module], got ${describe(modules)}`);
    const entries: Iterable<readonly [string, Module]> =
      modules instanceof Map || Symbol.iterator in modules
        ? (modules as Iterable<readonly [string, Module]>)
        : Object.entries(modules as Record<string, Module>);
    for (const entry of entries) {
      if (!Array.isArray(entry) || entry.length !== 2) throw new TesseraError('ModuleDict', `entries must be [name, Module] pairs, got ${describe(entry)}`);
      this.set(entry[0], entry[1]);
    }
  }

  /** Number of modules. */
  get size(): number {
    return this.#order.length;
  }

  /** The module named `key`; a TesseraError listing the keys when there is none (PyTorch raises KeyError). */
  get(key: string): Module {
    if (!this.has(key)) {
      throw new TesseraError(
        'ModuleDict.get',
        `no module named ${JSON.stringify(key)}; the keys are ${this.#order.map((k) => JSON.stringify(k)).join(', ') || '(none)'}`,
      );
    }
    return (this as unknown as Record<string, Module>)[key]!;
  }

  /** Adds `m` under `key`, or replaces the module there (keeping its place). Returns this. */
  set(key: string, m: Module): this {
    if (!(m instanceof Module)) throw new TesseraError('ModuleDict.set', `the value for ${JSON.stringify(key)} must be a Module, got ${describe(m)}`);
    const isNew = !this.has(key);
    this.registerModule(key, m);
    if (isNew) this.#order.push(key);
    return this;
  }

  has(key: string): boolean {
    return typeof key === 'string' && this.#order.includes(key);
  }

  /** Removes `key` and returns its module (PyTorch's pop). */
  delete(key: string): Module {
    const m = this.get(key);
    delete (this as unknown as Record<string, unknown>)[key];
    this.#order.splice(this.#order.indexOf(key), 1);
    return m;
  }

  keys(): string[] {
    return [...this.#order];
  }

  values(): Module[] {
    return this.#order.map((k) => this.get(k));
  }

  entries(): [string, Module][] {
    return this.#order.map((k) => [k, this.get(k)]);
  }

  [Symbol.iterator](): Iterator<[string, Module]> {
    return this.entries()[Symbol.iterator]();
  }

  /** The children in insertion order (JavaScript would list integer-like keys first). */
  override namedChildren(): [string, Module][] {
    return this.entries();
  }

  override forward(): Tensor {
    return notCallable('ModuleDict');
  }
}
