/**
 * Where an Engine runs: a dedicated Worker (the default: training and checks never block the page), or the main
 * thread, for a backend the Worker cannot open. Both expose the same promise-returning calls.
 */
import type { EngineEvent } from './engine.js';
import { transferables, type CallMessage, type EngineApi, type Method, type ReplyMessage } from './rpc.js';

export type Remote = {
  [K in Method]: (...args: Parameters<EngineApi[K]>) => Promise<Awaited<ReturnType<EngineApi[K]>>>;
};

export interface EngineHost {
  readonly where: 'worker' | 'main thread';
  readonly api: Remote;
}

/** A TesseraError (or any Error) that crossed from the Worker keeps its message and name. */
export class EngineError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

function remote(call: (method: Method, args: unknown[]) => Promise<unknown>): Remote {
  return new Proxy({} as Remote, {
    get:
      (_t, method: string) =>
      (...args: unknown[]) =>
        call(method as Method, args),
  });
}

export function workerHost(onEvent: (e: EngineEvent) => void, onCrash: (message: string) => void): EngineHost {
  const worker = new Worker(new URL('./engine-worker.ts', import.meta.url), { type: 'module', name: 'tessera-engine' });
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let next = 1;
  worker.onmessage = (ev: MessageEvent<ReplyMessage>) => {
    const m = ev.data;
    if ('event' in m) return onEvent(m.event);
    const p = pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    if ('error' in m) p.reject(new EngineError(m.error.name, m.error.message));
    else p.resolve(m.result);
  };
  worker.onerror = (ev) => {
    ev.preventDefault();
    const message = `the engine worker failed: ${ev.message || 'it could not start'}`;
    for (const p of pending.values()) p.reject(new Error(message));
    pending.clear();
    onCrash(message);
  };
  const call = (method: Method, args: unknown[]) =>
    new Promise<unknown>((resolve, reject) => {
      const id = next++;
      pending.set(id, { resolve, reject });
      const msg: CallMessage = { id, method, args };
      worker.postMessage(msg, transferables(args));
    });
  return { where: 'worker', api: remote(call) };
}

export async function mainThreadHost(onEvent: (e: EngineEvent) => void): Promise<EngineHost> {
  const [{ Engine }] = await Promise.all([import('./engine.js'), import('@tessera/backend-webgpu'), import('@tessera/backend-gpujs')]);
  const engine = new Engine(onEvent);
  const call = async (method: Method, args: unknown[]) => (engine[method] as (...a: unknown[]) => unknown).apply(engine, args);
  return { where: 'main thread', api: remote(call) };
}
