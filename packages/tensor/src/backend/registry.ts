import { TesseraError } from '../errors.js';
import type { Backend, BackendFactory } from './backend.js';

interface Entry {
  factory: BackendFactory;
  priority: number;
  /** May be chosen by getBackend() when no backend was set (its factory must then be synchronous). */
  implicitDefault: boolean;
  /** Registration order, for ties in priority. */
  order: number;
  instance?: Backend;
  /** Why the factory failed, once it has. */
  failure?: string;
}

const entries = new Map<string, Entry>();
let current: Backend | undefined;
let registrations = 0;

export interface RegisterOptions {
  /** Among backends registered with implicitDefault, the highest priority that works becomes the default (ties: first registered). */
  priority?: number;
  /**
   * Whether getBackend() may pick this backend when nothing chose one (setBackend). Its factory must be
   * synchronous. Meant for host backends (the CPU reference, native CPU libraries), not devices that need
   * asynchronous set-up or hold tensors out of the host's memory.
   */
  implicitDefault?: boolean;
}

/**
 * Makes a backend available under `name`. The factory runs on first use; when it throws, the backend is
 * reported unavailable with the error's message as the reason.
 */
export function registerBackend(name: string, factory: BackendFactory, options: RegisterOptions = {}): void {
  if (typeof name !== 'string' || name.length === 0) {
    throw new TesseraError('registerBackend', 'a backend needs a non-empty name');
  }
  const old = entries.get(name);
  if (old?.instance && old.instance === current) current = undefined;
  entries.set(name, { factory, priority: options.priority ?? 0, implicitDefault: options.implicitDefault ?? false, order: registrations++ });
}

async function instantiate(name: string): Promise<Backend> {
  const entry = entries.get(name);
  if (!entry) {
    throw new TesseraError(
      'setBackend',
      `no backend named "${name}" is registered (registered: ${[...entries.keys()].join(', ') || 'none'}); ` +
        `import its package, e.g. @tessera/backend-${name}`,
    );
  }
  if (entry.instance) return entry.instance;
  if (entry.failure !== undefined) throw new TesseraError('setBackend', `backend "${name}" is unavailable: ${entry.failure}`);
  try {
    const backend = await entry.factory();
    entry.instance = backend;
    return backend;
  } catch (err) {
    entry.failure = err instanceof TesseraError ? err.message : err instanceof Error ? err.message : String(err);
    throw new TesseraError('setBackend', `backend "${name}" is unavailable: ${entry.failure}`, { cause: err });
  }
}

/** Makes `name` the backend new tensors are created on. Throws (with the reason) when it is unavailable. */
export async function setBackend(name: string): Promise<Backend> {
  const backend = await instantiate(name);
  current = backend;
  return backend;
}

/** Instantiates a synchronous factory now; a Promise-returning one is a failure for implicit selection. */
function instantiateSync(name: string, entry: Entry): Backend | undefined {
  if (entry.instance) return entry.instance;
  if (entry.failure !== undefined) return undefined;
  try {
    const made = entry.factory();
    if (made instanceof Promise) {
      made.then(
        (b) => b.dispose(),
        () => {},
      );
      entry.failure = `backend "${name}" was registered as an implicit default but its factory is asynchronous`;
      return undefined;
    }
    entry.instance = made;
    return made;
  } catch (err) {
    entry.failure = err instanceof Error ? err.message : String(err);
    return undefined;
  }
}

function implicitCandidates(): [string, Entry][] {
  return [...entries.entries()].filter(([, e]) => e.implicitDefault).sort(([, a], [, b]) => b.priority - a.priority || a.order - b.order);
}

/**
 * The current backend: the one setBackend chose, else the implicit default — the highest-priority backend
 * registered with implicitDefault whose factory succeeds (the CPU reference backend, priority 0, unless a
 * faster host backend such as `onednn` was imported). Creating it happens here, on first use, not at import.
 */
export function getBackend(): Backend {
  if (current) return current;
  const tried: string[] = [];
  for (const [name, entry] of implicitCandidates()) {
    const backend = instantiateSync(name, entry);
    if (backend) {
      current = backend;
      return backend;
    }
    tried.push(`${name}: ${entry.failure ?? 'unknown failure'}`);
  }
  throw new TesseraError('getBackend', `no default backend could be created (${tried.join('; ') || 'none registered'}); call await setBackend(name)`);
}

/** Which backend getBackend() uses when nothing was set, and why. */
export function describeDefaultBackend(): { name: string; reason: string } {
  const candidates = implicitCandidates();
  const passedOver: string[] = [];
  for (const [name, entry] of candidates) {
    if (!instantiateSync(name, entry)) {
      passedOver.push(`${name} (priority ${entry.priority}) is unavailable: ${entry.failure ?? 'unknown failure'}`);
      continue;
    }
    const below = candidates.filter(([n, e]) => n !== name && e.priority <= entry.priority && !passedOver.some((p) => p.startsWith(`${n} `)));
    const parts = [`priority ${entry.priority}`];
    if (below.length > 0) parts.push(`preferred to ${below.map(([n, e]) => `${n} (priority ${e.priority})`).join(', ')}`);
    parts.push(...passedOver);
    return { name, reason: parts.join('; ') };
  }
  return { name: '', reason: passedOver.join('; ') || 'no backend is registered as an implicit default' };
}

/** The backend registered as `name`, initialised; for tensor.to(name) and the conformance kit. */
export async function backendByName(name: string): Promise<Backend> {
  return instantiate(name);
}

/**
 * The backend registered as `name` if it is initialised or can be created synchronously (an implicit-default
 * host backend such as `cpu`), else a TesseraError telling the caller to initialise it.
 */
export function initialisedBackend(name: string, op: string): Backend {
  const entry = entries.get(name);
  if (entry?.instance) return entry.instance;
  if (entry?.implicitDefault) {
    const backend = instantiateSync(name, entry);
    if (backend) return backend;
    throw new TesseraError(op, `backend "${name}" is unavailable: ${entry.failure ?? 'unknown failure'}`);
  }
  throw new TesseraError(
    op,
    entry
      ? `backend "${name}" is not initialised; call await setBackend("${name}") or await backendByName("${name}") first`
      : `no backend named "${name}" is registered`,
  );
}

export interface BackendAvailability {
  name: string;
  available: boolean;
  /** Why the backend cannot be used; empty when available. */
  reason: string;
}

/** Tries every registered backend and reports which ones work, and why the others do not. */
export async function availableBackends(): Promise<BackendAvailability[]> {
  const out: BackendAvailability[] = [];
  for (const name of entries.keys()) {
    try {
      await instantiate(name);
      out.push({ name, available: true, reason: '' });
    } catch {
      out.push({ name, available: false, reason: entries.get(name)?.failure ?? 'unknown failure' });
    }
  }
  return out;
}

/** Whether the backend registered as `name` has been created (importing a package never creates one). */
export function isBackendInitialised(name: string): boolean {
  return entries.get(name)?.instance !== undefined;
}

/** Names of all registered backends. */
export function registeredBackends(): string[] {
  return [...entries.keys()];
}
