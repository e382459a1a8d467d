/**
 * Which backend a command runs on: --backend, else TESSERA_BACKEND, else the default — the fastest host backend
 * available (`onednn` when its addon is built, else the portable `cpu`); optional packages load on demand.
 */
import { TesseraError, describeDefaultBackend, registerBackend, registeredBackends, setBackend } from '@tessera/tensor';

/** Host backends that may become the default; imported before the default is decided. */
const HOST_BACKENDS = [['onednn', '@tessera/backend-onednn']] as const;
/** Device backends, imported only when asked for (their packages load native GPU runtimes). */
const DEVICE_BACKENDS = [
  ['webgpu', '@tessera/backend-webgpu'],
  ['gpujs', '@tessera/backend-gpujs'],
  ['cuda', '@tessera/backend-cuda'],
] as const;

/** Optional backend packages register themselves on import; a missing one is reported with the reason. */
export async function loadBackendPackages(which: 'host' | 'all' = 'all'): Promise<void> {
  for (const [name, pkg] of which === 'host' ? HOST_BACKENDS : [...HOST_BACKENDS, ...DEVICE_BACKENDS]) {
    if (registeredBackends().includes(name)) continue;
    try {
      await import(pkg);
    } catch (err) {
      const reason = `${pkg} could not be loaded (${(err as Error).message.split('\n')[0]})`;
      registerBackend(name, () => {
        throw new TesseraError(name, reason);
      });
    }
  }
}

/** Makes the chosen backend current and returns its name. */
export async function selectBackend(name: string | undefined): Promise<string> {
  const asked = name ?? process.env.TESSERA_BACKEND;
  await loadBackendPackages(asked === undefined || asked === 'cpu' ? 'host' : 'all');
  const chosen = asked ?? describeDefaultBackend().name;
  await setBackend(chosen);
  return chosen;
}
