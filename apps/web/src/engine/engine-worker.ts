/**
 * The Worker the page's heavy work runs in: an Engine with every backend the page offers registered (cpu from
 * @tessera/tensor, webgpu through the worker's navigator.gpu, gpujs through an OffscreenCanvas's WebGL2).
 */
import '@tessera/backend-webgpu';
import '@tessera/backend-gpujs';
import { Engine } from './engine.js';
import { transferables, type CallMessage, type ReplyMessage } from './rpc.js';

/** The dedicated worker's global (typed by hand: the DOM and WebWorker libraries cannot both be loaded). */
const scope = self as unknown as { postMessage(m: unknown, transfer: Transferable[]): void; onmessage: ((ev: MessageEvent<CallMessage>) => void) | null };
const post = (m: ReplyMessage) => scope.postMessage(m, transferables(m));
const engine = new Engine((event) => post({ event }));

scope.onmessage = async (ev: MessageEvent<CallMessage>) => {
  const { id, method, args } = ev.data;
  try {
    const fn = engine[method] as (...a: unknown[]) => unknown;
    const result = await fn.apply(engine, args);
    post({ id, result });
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    post({ id, error: { name: e.name, message: e.message } });
  }
};
