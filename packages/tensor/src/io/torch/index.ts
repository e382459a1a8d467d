/** PyTorch `torch.save` archives: a zip reader (zip.ts), a restricted unpickler (pickle.ts) and the loader (load.ts). */
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
} from './load.js';
