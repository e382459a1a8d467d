/** A chain of modules, after torch.nn.Sequential: children "0", "1", … applied in order. */
import { TesseraError } from '../errors.js';
import type { Tensor } from '../tensor.js';
import { Module } from './module.js';
import { describe } from './parameter.js';

export class Sequential extends Module implements Iterable<Module> {
  /** `seq[0]`, `seq[1]`, …: the children (fields named by their index, as PyTorch names them). */
  readonly [index: number]: Module;

  constructor(...modules: Module[]) {
    super();
    modules.forEach((m) => this.append(m));
  }

  /** Number of children. */
  get length(): number {
    let n = 0;
    while (Object.prototype.hasOwnProperty.call(this, String(n))) n++;
    return n;
  }

  /** The child at `index` (negative counts from the end). */
  at(index: number): Module {
    const n = this.length;
    const i = index < 0 ? index + n : index;
    if (!Number.isInteger(index) || i < 0 || i >= n) throw new TesseraError('Sequential.at', `index ${index} is out of range for ${n} modules`);
    return this[i]!;
  }

  /** Same as at(index). */
  get(index: number): Module {
    return this.at(index);
  }

  /** Adds `m` as the next child. Returns this. */
  append(m: Module): this {
    if (!(m instanceof Module)) throw new TesseraError('Sequential', `every entry must be a Module, got ${describe(m)}`);
    this.registerModule(String(this.length), m);
    return this;
  }

  *[Symbol.iterator](): Iterator<Module> {
    const n = this.length;
    for (let i = 0; i < n; i++) yield this[i]!;
  }

  override forward(x: Tensor): Tensor {
    let y = x;
    for (const m of this) y = m.forward(y);
    return y;
  }
}
