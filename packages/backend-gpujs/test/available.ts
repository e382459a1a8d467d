// Whether a gpujs backend can be created here; tests skip with the factory's reason when it cannot (the
// conformance suite prints that reason once).
import { backendByName } from '@tessera/tensor';
import '../src/index.js';

export async function skipReason(): Promise<string | null> {
  try {
    await backendByName('gpujs');
    await backendByName('cpu');
    return null;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}
