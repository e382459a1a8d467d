/** Which backend a command runs on: --backend, else TESSERA_BACKEND, else the default; optional packages load on demand. */
import { TesseraError, registerBackend, registeredBackends, setBackend } from '@tessera/tensor';

/** Optional backend packages register themselves on import; a missing one is reported with the reason. */
export async function loadBackendPackages(): Promise<void> {
  for (const [name, pkg] of [
    ['webgpu', '@tessera/backend-webgpu'],
    ['cuda', '@tessera/backend-cuda'],
  ] as const) {
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
  const chosen = name ?? process.env.TESSERA_BACKEND ?? 'cpu';
  if (chosen !== 'cpu') await loadBackendPackages();
  await setBackend(chosen);
  return chosen;
}
