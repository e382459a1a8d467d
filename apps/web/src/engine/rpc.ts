/**
 * The message protocol between the page and an Engine in a Worker: calls `{ id, method, args }`, answers
 * `{ id, result }` or `{ id, error }`, and events `{ event }` in between. `pause`, `resumeTraining` and `stop`
 * are answered at once, while a training call is still running.
 */
import type { Engine, EngineEvent } from './engine.js';

export type EngineApi = {
  [K in keyof Engine as Engine[K] extends (...args: never[]) => unknown ? K : never]: Engine[K];
};
export type Method = keyof EngineApi;

export interface CallMessage {
  id: number;
  method: Method;
  args: unknown[];
}

export type ReplyMessage = { id: number; result: unknown } | { id: number; error: { name: string; message: string } } | { event: EngineEvent };

/** Buffers that can move instead of being copied. */
export function transferables(value: unknown): Transferable[] {
  const out: Transferable[] = [];
  const visit = (v: unknown, depth: number) => {
    if (depth > 4 || v === null || typeof v !== 'object') return;
    if (ArrayBuffer.isView(v)) {
      if (v.buffer instanceof ArrayBuffer && v.byteOffset === 0 && v.byteLength === v.buffer.byteLength && !out.includes(v.buffer)) out.push(v.buffer);
      return;
    }
    for (const x of Array.isArray(v) ? v : Object.values(v)) visit(x, depth + 1);
  };
  visit(value, 0);
  return out;
}
