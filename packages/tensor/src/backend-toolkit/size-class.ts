/**
 * The size classes every backend's buffer pool rounds requests to: fixed granules for small requests, then
 * eight classes per octave, so a freed block also serves somewhat smaller requests later while wasting at
 * most 12.5%.
 */
export interface SizeClassPolicy {
  /** Small requests round up to a multiple of this many bytes (also the smallest class of a non-empty request). */
  granule: number;
  /** Requests up to this many bytes use granules; larger ones eight classes per octave. */
  linearUpTo: number;
  /** No class exceeds this (a device's largest buffer): a request that fits but whose class would not gets `bytes` rounded to 4. */
  maxBytes?: number;
  /** Whether a zero-byte request gets a class of its own (0) or the smallest granule (devices that cannot allocate 0 bytes). */
  allowEmpty?: boolean;
}

export function sizeClass(bytes: number, policy: SizeClassPolicy): number {
  if (bytes <= 0) return policy.allowEmpty ? 0 : policy.granule;
  let rounded: number;
  if (bytes <= policy.linearUpTo) {
    rounded = Math.ceil(bytes / policy.granule) * policy.granule;
  } else {
    const step = Math.max(policy.granule, 2 ** (Math.floor(Math.log2(bytes)) - 3));
    rounded = Math.ceil(bytes / step) * step;
  }
  if (policy.maxBytes !== undefined && rounded > policy.maxBytes) return Math.ceil(bytes / 4) * 4;
  return rounded;
}
