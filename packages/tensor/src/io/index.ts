/** `io`: reading and writing tensors (safetensors), and the 16-bit float decoders other formats share. */
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
export { f16BitsToNumber, decodeF16, decodeBF16 } from './half.js';
export {
  loadTorch,
  loadTorchStateDict,
  parseTorch,
  torchStateDict,
  disposeTorchValue,
  TorchDict,
  TorchStateDict,
  type TorchValue,
  type TorchKey,
  type TorchConversion,
  type LoadTorchOptions,
  type StorageDtype,
} from './torch/index.js';
