// Whether a webgpu backend can be created here; tests skip with the factory's reason when it cannot (the
// conformance suite prints that reason once).
import { backendByName } from '@tessera/tensor';
import '../src/index.js';

export async function adapterSkipReason(name = 'webgpu'): Promise<string | null> {
  try {
    await backendByName(name);
    await backendByName('cpu');
    return null;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}
