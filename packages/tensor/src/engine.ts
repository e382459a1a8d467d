/**
 * Bookkeeping shared by every tensor: buffer ownership (storages are shared by reshape and detach and freed
 * when their last tensor is disposed), tidy scopes, the grad-mode switch and the live-memory report.
 */
import type { Backend } from './backend/backend.js';
import type { BackendBuffer } from './backend/kernels.js';
import { bytesPerElement } from './dtype.js';
import { TesseraError } from './errors.js';
import type { Tensor } from './tensor.js';

/** A device buffer and the number of tensors viewing it. */
export class Storage {
  refs = 0;
  readonly bytes: number;

  constructor(
    readonly backend: Backend,
    readonly buffer: BackendBuffer,
  ) {
    this.bytes = buffer.size * bytesPerElement(buffer.dtype);
  }
}

interface BackendCounts {
  tensors: number;
  bytes: number;
}

const counts = new Map<string, BackendCounts>();
const scopes: Set<Tensor>[] = [];
let gradEnabled = true;
let nextId = 1;

function countsFor(name: string): BackendCounts {
  let c = counts.get(name);
  if (!c) {
    c = { tensors: 0, bytes: 0 };
    counts.set(name, c);
  }
  return c;
}

/** @internal Called by the Tensor constructor. */
export function trackTensor(t: Tensor, storage: Storage): number {
  if (storage.refs === 0) countsFor(storage.backend.name).bytes += storage.bytes;
  storage.refs++;
  countsFor(storage.backend.name).tensors++;
  const scope = scopes[scopes.length - 1];
  if (scope) {
    scope.add(t);
    t.scope = scope;
  }
  return nextId++;
}

/** @internal Called by Tensor.dispose. */
export function releaseTensor(t: Tensor, storage: Storage): void {
  const c = countsFor(storage.backend.name);
  c.tensors--;
  storage.refs--;
  if (storage.refs === 0) {
    c.bytes -= storage.bytes;
    storage.backend.free(storage.buffer);
  }
  t.scope?.delete(t);
  t.scope = null;
}

export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Runs `fn` without recording operations for autograd (like `torch.no_grad()`). */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/** Runs `fn` with autograd recording on, even inside noGrad. */
export function enableGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = true;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

function isTensorLike(x: unknown): x is Tensor {
  return typeof x === 'object' && x !== null && (x as { __tessera_tensor?: boolean }).__tessera_tensor === true;
}

/** Collects every tensor inside a value returned from tidy (arrays, plain objects, Maps; nested). */
function collectTensors(value: unknown, out: Set<Tensor>, seen: Set<unknown>): void {
  if (value === null || typeof value !== 'object' || seen.has(value)) return;
  seen.add(value);
  if (isTensorLike(value)) {
    out.add(value);
    return;
  }
  if (Array.isArray(value)) {
    for (const v of value) collectTensors(v, out, seen);
  } else if (value instanceof Map) {
    for (const v of value.values()) collectTensors(v, out, seen);
  } else if (Object.getPrototypeOf(value) === Object.prototype) {
    for (const v of Object.values(value)) collectTensors(v, out, seen);
  }
}

/** Adds every tensor a returned tensor's autograd graph still needs (inputs and saved tensors). */
function collectGraph(roots: Set<Tensor>): Set<Tensor> {
  const keepSet = new Set<Tensor>(roots);
  const stack = [...roots];
  while (stack.length > 0) {
    const t = stack.pop()!;
    const node = t.gradFn;
    if (!node) continue;
    for (const dep of [...node.inputs, ...node.saved]) {
      if (!keepSet.has(dep)) {
        keepSet.add(dep);
        stack.push(dep);
      }
    }
  }
  return keepSet;
}

/**
 * Runs `fn` and disposes every tensor it created except those it returns (found inside arrays and plain
 * objects), those passed to `keep`, and those a returned tensor's autograd graph still needs — so
 * `backward()` on a returned loss still works. Survivors move to the enclosing tidy, if any.
 */
export function tidy<T>(fn: () => T): T {
  const scope = new Set<Tensor>();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (err) {
    scopes.pop();
    for (const t of [...scope]) t.dispose();
    throw err;
  }
  scopes.pop();
  if (result instanceof Promise) {
    for (const t of [...scope]) t.dispose();
    throw new TesseraError('tidy', 'the function returned a Promise; tidy only tracks synchronous work — await outside tidy');
  }
  const returned = new Set<Tensor>();
  collectTensors(result, returned, new Set());
  const survivors = collectGraph(returned);
  const parent = scopes[scopes.length - 1] ?? null;
  for (const t of scope) {
    if (survivors.has(t)) {
      t.scope = parent;
      parent?.add(t);
      // Kept only for a returned tensor's backward: released with the graph (see autograd.backward).
      if (!returned.has(t)) t.graphOwned = true;
    } else {
      t.scope = null;
      t.dispose();
    }
  }
  return result;
}

/** Exempts a tensor from every enclosing tidy; it lives until disposed. Returns it. */
export function keep<T extends Tensor>(t: T): T {
  t.scope?.delete(t);
  t.scope = null;
  return t;
}

export interface MemoryInfo {
  /** Live tensors over all backends. */
  tensors: number;
  /** Bytes of live tensor storage over all backends (shared storage counted once). */
  bytes: number;
  /** The same per backend, with what the backend itself reports (its pool included). */
  backends: Record<string, { tensors: number; bytes: number; bytesReserved?: number }>;
}

const knownBackends = new Map<string, Backend>();

/** @internal Lets memory() ask each backend that has held tensors for its own figures. */
export function noteBackend(b: Backend): void {
  knownBackends.set(b.name, b);
}

/** Live tensors and bytes, in total and per backend. */
export function memory(): MemoryInfo {
  const info: MemoryInfo = { tensors: 0, bytes: 0, backends: {} };
  for (const [name, c] of counts) {
    info.tensors += c.tensors;
    info.bytes += c.bytes;
    const b = knownBackends.get(name);
    info.backends[name] = { tensors: c.tensors, bytes: c.bytes, ...(b ? { bytesReserved: b.memory().bytesReserved } : {}) };
  }
  return info;
}
