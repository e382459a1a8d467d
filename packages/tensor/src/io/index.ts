/** `io`: reading and writing tensors (safetensors). */
export {
  saveSafetensors,
  loadSafetensors,
  serializeSafetensors,
  parseSafetensors,
  SafetensorsMap,
  type SaveSafetensorsOptions,
  type LoadSafetensorsOptions,
} from './safetensors.js';
export {
  parseSafetensorsHeader,
  encodeSafetensors,
  SAFETENSORS_DTYPE_SIZES,
  MAX_HEADER_BYTES,
  type SafetensorsEntry,
  type SafetensorsHeader,
  type RawTensor,
} from './format.js';
