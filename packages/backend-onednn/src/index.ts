/**
 * @tessera/backend-onednn — importing this module registers the backend "onednn" (priority 10, above the
 * portable `cpu`, as an implicit default: with no setBackend, tensors go to it when its addon loads). Its
 * factory is synchronous; where the addon was not built (no compiler, no libdnnl-dev) the backend is reported
 * unavailable with that reason and `cpu` stays the default.
 */
import { registerBackend } from '@tessera/tensor';
import { createOnednnBackend } from './backend.js';

registerBackend('onednn', () => createOnednnBackend(), { priority: 10, implicitDefault: true });

export { OnednnBackend, createOnednnBackend, type OnednnBackendOptions, type OnednnMemoryStats } from './backend.js';
export type { OnednnBuffer } from './kernels.js';
export { loadNative, nativeStatus, addonCandidates, type NativeAddon, type NativeProbe, type NativeStatus } from './native.js';
