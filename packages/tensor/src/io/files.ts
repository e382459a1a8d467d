/**
 * Node's file-system modules, loaded on first use rather than imported at the top of the module, so that
 * bundling @tessera/tensor for a browser never pulls them in: there, serializeSafetensors and
 * parseSafetensors work on bytes and only the path-based functions are unavailable.
 */
import { TesseraError } from '../errors.js';

export interface NodeFiles {
  fs: typeof import('node:fs/promises');
  path: typeof import('node:path');
}

let cached: NodeFiles | undefined;

export async function nodeFiles(op: string): Promise<NodeFiles> {
  if (cached) return cached;
  // Specifiers in variables keep bundlers from trying to resolve Node built-ins for the browser.
  const fsName = 'node:fs/promises';
  const pathName = 'node:path';
  try {
    const [fs, path] = (await Promise.all([import(fsName), import(pathName)])) as [NodeFiles['fs'], NodeFiles['path']];
    cached = { fs, path };
    return cached;
  } catch (err) {
    throw new TesseraError(op, 'reading and writing files needs Node.js; elsewhere use serializeSafetensors / parseSafetensors on bytes', { cause: err });
  }
}
