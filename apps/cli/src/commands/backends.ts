/** `tessera backends`: every backend, available or the reason it is not. */
import { describeDefaultBackend, type BackendAvailability } from '@tessera/tensor';
import type { Context } from '../context.js';
import { parse } from '../options.js';
import { loadBackendPackages } from '../select-backend.js';

export async function backendsCommand(args: string[], ctx: Context, list: () => Promise<BackendAvailability[]>): Promise<void> {
  parse(args, {});
  await loadBackendPackages();
  const backends = await list();
  const width = Math.max(...backends.map((b) => b.name.length));
  const text = backends.map((b) => `${b.name.padEnd(width)}  ${b.available ? 'available' : `unavailable: ${b.reason}`}`).join('\n');
  const def = describeDefaultBackend();
  const json = backends.map((b) => (b.name === def.name ? { ...b, default: true, defaultReason: def.reason } : { ...b, default: false }));
  ctx.out(`${text}\ndefault: ${def.name} (${def.reason})`, json);
}
