import { TesseraError } from '../errors.js';
import type { Backend, BackendFactory } from './backend.js';

interface Entry {
  factory: BackendFactory;
  priority: number;
  instance?: Backend;
  /** Why the factory failed, once it has. */
  failure?: string;
}

const entries = new Map<string, Entry>();
let current: Backend | undefined;
let defaultName = 'cpu';

/**
 * Makes a backend available under `name`. The factory runs on first use; when it throws, the backend is
 * reported unavailable with the error's message as the reason.
 */
export function registerBackend(name: string, factory: BackendFactory, options: { priority?: number } = {}): void {
  if (typeof name !== 'string' || name.length === 0) {
    throw new TesseraError('registerBackend', 'a backend needs a non-empty name');
  }
  const old = entries.get(name);
  if (old?.instance && old.instance === current) current = undefined;
  entries.set(name, { factory, priority: options.priority ?? 0 });
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

/** The current backend; the CPU backend unless `setBackend` chose another. */
export function getBackend(): Backend {
  if (current) return current;
  const entry = entries.get(defaultName);
  if (entry?.instance) {
    current = entry.instance;
    return current;
  }
  throw new TesseraError('getBackend', `the default backend "${defaultName}" is not initialised; call await setBackend(name)`);
}

/** The backend registered as `name`, initialised; for tensor.to(name) and the conformance kit. */
export async function backendByName(name: string): Promise<Backend> {
  return instantiate(name);
}

/** A backend already initialised under `name`, or a TesseraError telling the caller to initialise it. */
export function initialisedBackend(name: string, op: string): Backend {
  const entry = entries.get(name);
  if (entry?.instance) return entry.instance;
  throw new TesseraError(
    op,
    entry
      ? `backend "${name}" is not initialised; call await setBackend("${name}") or await backendByName("${name}") first`
      : `no backend named "${name}" is registered`,
  );
}

/** Registers a synchronously created backend as already initialised (used for the built-in CPU backend). */
export function registerInitialisedBackend(name: string, backend: Backend, options: { default?: boolean } = {}): void {
  entries.set(name, { factory: () => backend, priority: 0, instance: backend });
  if (options.default) defaultName = name;
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

/** Names of all registered backends. */
export function registeredBackends(): string[] {
  return [...entries.keys()];
}
