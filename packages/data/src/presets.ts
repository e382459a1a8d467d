/**
 * Ready-made transforms for 256×256 inputs (openImagenet's default size, or a shard cache of it).
 * - paper: mean-image subtraction in pixel levels (scale 255), random 224 crops, reflections and the PCA colour
 *   augmentation for training; the centre crop or the ten crops for testing.
 * - torchvision: per-channel (v − mean) / std with random crops and reflections — what
 *   `Resize(256), CenterCrop(256), RandomCrop(224), RandomHorizontalFlip(), ToTensor(), Normalize(…)` computes.
 */
import type { ImageStats } from './stats.js';
import { IMAGENET_MEAN, IMAGENET_STD, type TransformSpec } from './transforms.js';

export interface PaperTransformOptions {
  /** Crop side (default 224). */
  readonly size?: number;
  /** Multiplier of (v − mean image); 255 (default) gives the paper's pixel levels, 1 gives [−1, 1]. */
  readonly scale?: number;
  /** σ of the PCA colour augmentation's αᵢ (default 0.1, the paper's; 0 disables it). */
  readonly lightingStd?: number;
}

function meanImage(stats: ImageStats, scale: number): TransformSpec['normalize'] {
  return { kind: 'image', mean: stats.meanImage, height: stats.height, width: stats.width, channels: stats.channels, scale };
}

export function paperTrainTransform(stats: ImageStats, options: PaperTransformOptions = {}): TransformSpec {
  const std = options.lightingStd ?? 0.1;
  return {
    crop: { kind: 'random', size: options.size ?? 224 },
    flip: true,
    ...(std > 0 ? { lighting: { eigenvalues: stats.eigenvalues, eigenvectors: stats.eigenvectors, std } } : {}),
    normalize: meanImage(stats, options.scale ?? 255),
  };
}

export function paperTestTransform(stats: ImageStats, options: { size?: number; scale?: number; tenCrop?: boolean } = {}): TransformSpec {
  const size = options.size ?? 224;
  return { crop: { kind: options.tenCrop ? 'ten' : 'center', size }, normalize: meanImage(stats, options.scale ?? 255) };
}

export function torchvisionTrainTransform(options: { size?: number; mean?: readonly number[]; std?: readonly number[] } = {}): TransformSpec {
  return {
    crop: { kind: 'random', size: options.size ?? 224 },
    flip: true,
    normalize: { kind: 'channel', mean: options.mean ?? IMAGENET_MEAN, std: options.std ?? IMAGENET_STD },
  };
}

export function torchvisionTestTransform(options: { size?: number; mean?: readonly number[]; std?: readonly number[]; tenCrop?: boolean } = {}): TransformSpec {
  return {
    crop: { kind: options.tenCrop ? 'ten' : 'center', size: options.size ?? 224 },
    normalize: { kind: 'channel', mean: options.mean ?? IMAGENET_MEAN, std: options.std ?? IMAGENET_STD },
  };
}
