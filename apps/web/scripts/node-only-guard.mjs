// A Vite (Rolldown/Rollup) plugin that fails the build when Node-only code would enter the browser bundle: Node's
// built-in modules (node:* and their bare names), Dawn (the `webgpu` npm package), sharp, headless-gl and the
// other native addons. Dynamic imports whose specifier is a variable (how our packages load Node modules on
// use) are invisible to the bundler and stay out; anything it can see and would bundle stops the build here,
// naming the module and who imported it.
import { builtinModules } from 'node:module';

const NATIVE = ['webgpu', 'sharp', 'gl', 'bindings', 'onnxruntime-node', 'node-gyp-build'];
const BUILTINS = new Set(builtinModules.flatMap((m) => [m, m.split('/')[0]]));

/** Whether `id` (an import specifier) names Node-only code. */
export function isNodeOnly(id) {
  if (id.startsWith('node:')) return true;
  if (BUILTINS.has(id) || BUILTINS.has(id.split('/')[0])) return true;
  return NATIVE.some((n) => id === n || id.startsWith(`${n}/`)) || /\.node$/.test(id);
}

export function nodeOnlyGuard() {
  return {
    name: 'tessera-node-only-guard',
    enforce: 'pre',
    resolveId(id, importer, options) {
      if (!isNodeOnly(id)) return null;
      // A dynamic import() is how our packages load Node modules on use, inside code paths only Node takes; it stays
      // an import() of the bare specifier (external), so nothing of the module enters the bundle.
      if (options?.kind === 'dynamic-import') return { id, external: true };
      {
        this.error(`Node-only module "${id}" would enter the browser bundle (imported by ${importer ?? 'the entry'}); import a browser-safe entry instead`);
      }
      return null;
    },
  };
}
