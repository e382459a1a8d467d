/**
 * The paper's image transforms (Krizhevsky et al. 2012, Sections 2 and 4.1), applied to one uint8 image and
 * written straight into a batch as float32, channels first (CHW):
 * - crops: a random S×S patch (training), the centre patch, or the ten patches of the test procedure (four
 *   corners and the centre, then the same five of the horizontally reflected image — torchvision's TenCrop order);
 * - horizontal reflection with probability ½;
 * - the PCA colour augmentation: add Σᵢ pᵢ·αᵢλᵢ to every pixel, αᵢ ~ N(0, σ), with pᵢ, λᵢ the eigenvectors and
 *   eigenvalues of the 3×3 covariance of RGB values over the training set;
 * - normalisation: the paper's per-pixel mean image, or per-channel (x − mean) / std (torchvision), or x / 255.
 *
 * Statistics are in the units of v = pixel / 255 ∈ [0, 1], so torchvision's constants can be used as they are
 * (mean [0.485, 0.456, 0.406], std [0.229, 0.224, 0.225]) and the common PCA constants too (eigenvalues
 * [0.2175, 0.0188, 0.0045] of the RGB covariance in these units). The lighting offset is added to v; the mean
 * image is subtracted from v and the result multiplied by `scale` (255 gives the paper's inputs, pixel levels
 * minus the mean). A transform is a plain object, so it can be sent to worker threads.
 */
import { TesseraError } from '@tessera/tensor';
import type { Image } from './dataset.js';
import { pick, type AugmentDraws } from './random.js';

export type CropSpec =
  { readonly kind: 'random'; readonly size: number } | { readonly kind: 'center'; readonly size: number } | { readonly kind: 'ten'; readonly size: number };

export interface LightingSpec {
  /** λ₁…λ₃: eigenvalues of the covariance of (R, G, B) / 255. */
  readonly eigenvalues: readonly number[];
  /** p₁…p₃, each a unit vector over (R, G, B): `eigenvectors[i]` belongs to `eigenvalues[i]`. */
  readonly eigenvectors: readonly (readonly number[])[];
  /** σ of the αᵢ (the paper: 0.1). */
  readonly std: number;
}

export type NormalizeSpec =
  /** v = x / 255, in [0, 1] (torchvision's ToTensor). The default. */
  | { readonly kind: 'unit' }
  /** x unchanged, 0…255 (plus 255 × the lighting offset). */
  | { readonly kind: 'raw' }
  /** (v − mean[c]) / std[c] (torchvision's Normalize). */
  | { readonly kind: 'channel'; readonly mean: readonly number[]; readonly std: readonly number[] }
  /**
   * (v − mean[y, x, c]) · scale (the paper, with scale 255): the per-pixel mean image, HWC, of the images before
   * cropping, in v units. scale defaults to 1.
   */
  | {
      readonly kind: 'image';
      readonly mean: Float32Array;
      readonly height: number;
      readonly width: number;
      readonly channels: number;
      readonly scale?: number;
    };

export interface TransformSpec {
  /** Omitted: the whole image (all images must then have one size). */
  readonly crop?: CropSpec;
  /** Reflect horizontally with probability ½ (training). */
  readonly flip?: boolean;
  /** PCA colour augmentation (training); needs 3 output channels. */
  readonly lighting?: LightingSpec;
  readonly normalize?: NormalizeSpec;
  /** Output channels; 3 replicates a grayscale image into R, G and B. Default: the image's channels. */
  readonly channels?: number;
}

/** One output patch: the window's top-left corner in the source image, and whether it is mirrored. */
export interface CropWindow {
  readonly top: number;
  readonly left: number;
  readonly mirror: boolean;
}

/** Python's round(): halves go to the even neighbour. torchvision's centre crop uses it. */
export function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

function checkFits(op: string, height: number, width: number, size: number): void {
  if (height < size || width < size) throw new TesseraError(op, `a ${size}×${size} crop does not fit in a ${height}×${width} image`);
}

/** The centre crop's top-left corner, exactly as torchvision's `center_crop` places it. */
export function centerCropWindow(height: number, width: number, size: number): CropWindow {
  checkFits('centerCrop', height, width, size);
  return { top: roundHalfEven((height - size) / 2), left: roundHalfEven((width - size) / 2), mirror: false };
}

/**
 * The paper's ten test patches in torchvision's TenCrop order: top-left, top-right, bottom-left, bottom-right,
 * centre, then the same five taken from the horizontally reflected image (expressed here as mirrored windows of
 * the original: the reflected image's top-left patch is the original's top-right patch, mirrored).
 */
export function tenCropWindows(height: number, width: number, size: number): CropWindow[] {
  checkFits('tenCrop', height, width, size);
  const five = (mirror: boolean): CropWindow[] => {
    const c = centerCropWindow(height, width, size);
    const inFrame = [
      { top: 0, left: 0 },
      { top: 0, left: width - size },
      { top: height - size, left: 0 },
      { top: height - size, left: width - size },
      { top: c.top, left: c.left },
    ];
    // A window at `left` in the reflected image covers columns width − left − size … width − left − 1 of the original.
    return inFrame.map((w) => ({ top: w.top, left: mirror ? width - w.left - size : w.left, mirror }));
  };
  return [...five(false), ...five(true)];
}

/** The random training crop for given draws (torchvision's RandomCrop range: offsets 0 … dim − size). */
export function randomCropWindow(height: number, width: number, size: number, draws: AugmentDraws, flip: boolean): CropWindow {
  checkFits('randomCrop', height, width, size);
  return { top: pick(draws.cropU, height - size + 1), left: pick(draws.cropV, width - size + 1), mirror: flip && draws.flip };
}

/** The per-channel offset the PCA colour augmentation adds for given standard normals: Σᵢ pᵢ·(σ·nᵢ)·λᵢ. */
export function lightingOffset(lighting: LightingSpec, normals: readonly number[]): [number, number, number] {
  const out: [number, number, number] = [0, 0, 0];
  for (let i = 0; i < 3; i++) {
    const a = lighting.std * normals[i]! * lighting.eigenvalues[i]!;
    const p = lighting.eigenvectors[i]!;
    for (let c = 0; c < 3; c++) out[c] = out[c]! + p[c]! * a;
  }
  return out;
}

/** Copies a (possibly mirrored) window out of an image, as a new uint8 image. */
export function cropImage(image: Image, window: CropWindow, height: number, width: number): Image {
  const { channels: ch } = image;
  if (window.top < 0 || window.left < 0 || window.top + height > image.height || window.left + width > image.width) {
    throw new TesseraError('cropImage', `window ${height}×${width} at (${window.top}, ${window.left}) leaves the ${image.height}×${image.width} image`);
  }
  const data = new Uint8Array(height * width * ch);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const sx = window.left + (window.mirror ? width - 1 - x : x);
      const s = ((window.top + y) * image.width + sx) * ch;
      const d = (y * width + x) * ch;
      for (let c = 0; c < ch; c++) data[d + c] = image.data[s + c]!;
    }
  }
  return { data, height, width, channels: ch };
}

const NO_DRAWS: AugmentDraws = { cropU: 0, cropV: 0, flip: false, normals: [0, 0, 0] };

/**
 * A transform checked against the shape of its input images, with everything per-image work needs
 * precomputed. `apply` writes `crops × channels × outHeight × outWidth` floats.
 */
export class TransformPlan {
  readonly crops: number;
  readonly outHeight: number;
  readonly outWidth: number;
  readonly outChannels: number;
  /** Floats one image occupies in a batch (all its crops). */
  readonly floatsPerImage: number;
  /** Whether the plan draws random numbers (random crops, flips, lighting). */
  readonly random: boolean;
  private readonly spec: TransformSpec;
  private readonly scale = new Float64Array(4);
  private readonly bias = new Float64Array(4);
  /** How a v-unit quantity (lighting offset, mean image) enters the output, per channel: scale[c] · 255. */
  private imageScale = 1;

  /**
   * `imageShape` is [height, width, channels] of every input, or null when sizes vary (then the transform
   * must crop, and `channels` must be given or the inputs must be 3-channel).
   */
  constructor(spec: TransformSpec, imageShape: readonly [number, number, number] | null, op = 'transform') {
    this.spec = spec;
    const crop = spec.crop;
    if (crop !== undefined) {
      if (crop.kind !== 'random' && crop.kind !== 'center' && crop.kind !== 'ten')
        throw new TesseraError(op, `crop.kind must be "random", "center" or "ten", got ${JSON.stringify((crop as { kind: unknown }).kind)}`);
      if (!Number.isInteger(crop.size) || crop.size < 1) throw new TesseraError(op, `crop.size must be a positive integer, got ${crop.size}`);
      if (imageShape) checkFits(op, imageShape[0], imageShape[1], crop.size);
    } else if (!imageShape) {
      throw new TesseraError(op, 'the dataset has images of different sizes, so the transform must crop them to one size (set transform.crop)');
    }
    const inChannels = imageShape?.[2] ?? 3;
    const outChannels = spec.channels ?? inChannels;
    if (!(outChannels === inChannels || (inChannels === 1 && outChannels === 3))) {
      throw new TesseraError(op, `cannot make ${outChannels} output channels from ${inChannels}-channel images (only 1 → 3 replication is supported)`);
    }
    this.crops = crop?.kind === 'ten' ? 10 : 1;
    this.outHeight = crop ? crop.size : imageShape![0];
    this.outWidth = crop ? crop.size : imageShape![1];
    this.outChannels = outChannels;
    this.floatsPerImage = this.crops * outChannels * this.outHeight * this.outWidth;
    this.random = crop?.kind === 'random' || spec.flip === true || spec.lighting !== undefined;

    if (spec.lighting) {
      const l = spec.lighting;
      if (outChannels !== 3) throw new TesseraError(op, `the PCA colour augmentation needs 3 channels, the output has ${outChannels}`);
      const okVec = (v: unknown) => Array.isArray(v) || ArrayBuffer.isView(v);
      if (!okVec(l.eigenvalues) || l.eigenvalues.length !== 3 || !l.eigenvalues.every((x) => Number.isFinite(x) && x >= 0)) {
        throw new TesseraError(op, `lighting.eigenvalues must be 3 finite non-negative numbers, got ${JSON.stringify(l.eigenvalues)}`);
      }
      if (
        !okVec(l.eigenvectors) ||
        l.eigenvectors.length !== 3 ||
        !l.eigenvectors.every((v) => okVec(v) && v.length === 3 && Array.from(v).every(Number.isFinite))
      ) {
        throw new TesseraError(op, `lighting.eigenvectors must be 3 vectors of 3 finite numbers, got ${JSON.stringify(l.eigenvectors)}`);
      }
      if (!(Number.isFinite(l.std) && l.std >= 0)) throw new TesseraError(op, `lighting.std must be a finite non-negative number, got ${l.std}`);
    }

    const norm = spec.normalize ?? { kind: 'unit' };
    for (let c = 0; c < outChannels; c++) {
      // out = x · scale[c] + bias[c] (+ lighting, − scaled mean image), with v = x / 255.
      if (norm.kind === 'unit') this.scale[c] = 1 / 255;
      else if (norm.kind === 'raw') this.scale[c] = 1;
      else if (norm.kind === 'image') {
        const k = norm.scale ?? 1;
        if (!Number.isFinite(k) || k === 0) throw new TesseraError(op, `normalize.scale must be a finite non-zero number, got ${k}`);
        this.scale[c] = k / 255;
        this.imageScale = k;
      } else if (norm.kind === 'channel') {
        const n = norm.mean.length;
        if ((n !== outChannels && n !== 1) || norm.std.length !== n) {
          throw new TesseraError(
            op,
            `normalize.mean and normalize.std must both have ${outChannels} (or 1) entries, got ${norm.mean.length} and ${norm.std.length}`,
          );
        }
        const m = norm.mean[n === 1 ? 0 : c]!;
        const s = norm.std[n === 1 ? 0 : c]!;
        if (!Number.isFinite(m) || !(s > 0) || !Number.isFinite(s))
          throw new TesseraError(op, `normalize needs finite means and positive stds, got mean ${m}, std ${s} for channel ${c}`);
        this.scale[c] = 1 / (255 * s);
        this.bias[c] = -m / s;
      } else {
        throw new TesseraError(op, `normalize.kind must be "unit", "raw", "channel" or "image", got ${JSON.stringify((norm as { kind: unknown }).kind)}`);
      }
    }
    if (norm.kind === 'image') {
      if (!imageShape) throw new TesseraError(op, 'mean-image normalisation needs a dataset whose images all have one size');
      if (norm.height !== imageShape[0] || norm.width !== imageShape[1] || norm.channels !== outChannels) {
        throw new TesseraError(
          op,
          `the mean image is ${norm.height}×${norm.width}×${norm.channels} but the images are ${imageShape[0]}×${imageShape[1]}×${outChannels}`,
        );
      }
      if (!(norm.mean instanceof Float32Array) || norm.mean.length !== norm.height * norm.width * norm.channels) {
        throw new TesseraError(op, `normalize.mean must be a Float32Array of ${norm.height * norm.width * norm.channels} values`);
      }
    }
  }

  /** The windows this plan takes from an image of the given size. */
  windows(height: number, width: number, draws: AugmentDraws): CropWindow[] {
    const crop = this.spec.crop;
    const flip = this.spec.flip === true;
    if (!crop) {
      if (height !== this.outHeight || width !== this.outWidth) {
        throw new TesseraError('transform', `image is ${height}×${width}, expected ${this.outHeight}×${this.outWidth} like the rest of the dataset`);
      }
      return [{ top: 0, left: 0, mirror: flip && draws.flip }];
    }
    if (crop.kind === 'random') return [randomCropWindow(height, width, crop.size, draws, flip)];
    if (crop.kind === 'center') return [{ ...centerCropWindow(height, width, crop.size), mirror: flip && draws.flip }];
    return tenCropWindows(height, width, crop.size);
  }

  /** Transforms `image` into `out` at `offset` (floatsPerImage floats); `draws` may be omitted for deterministic plans. */
  apply(image: Image, out: Float32Array, offset: number, draws: AugmentDraws = NO_DRAWS): void {
    const { height: H, width: W, channels: inC, data } = image;
    if (inC !== this.outChannels && !(inC === 1 && this.outChannels === 3)) {
      throw new TesseraError('transform', `image has ${inC} channels, expected ${this.outChannels === 3 ? '3 (or 1)' : this.outChannels}`);
    }
    if (data.length !== H * W * inC) throw new TesseraError('transform', `image data holds ${data.length} bytes, expected ${H}×${W}×${inC}`);
    const windows = this.windows(H, W, draws);
    const offsetRgb = this.spec.lighting ? lightingOffset(this.spec.lighting, draws.normals) : null;
    const norm = this.spec.normalize;
    const meanImage = norm?.kind === 'image' ? norm.mean : null;
    const OH = this.outHeight;
    const OW = this.outWidth;
    const C = this.outChannels;
    let o = offset;
    const plane = OH * OW;
    for (const w of windows) {
      if (inC === 3 && C === 3 && !meanImage) {
        // The common case, in one pass over each source row: RGB in, three output planes out.
        const a0 = this.scale[0]!;
        const a1 = this.scale[1]!;
        const a2 = this.scale[2]!;
        const b0 = this.bias[0]! + (offsetRgb ? offsetRgb[0] * 255 * a0 : 0);
        const b1 = this.bias[1]! + (offsetRgb ? offsetRgb[1] * 255 * a1 : 0);
        const b2 = this.bias[2]! + (offsetRgb ? offsetRgb[2] * 255 * a2 : 0);
        const step = w.mirror ? -3 : 3;
        for (let y = 0; y < OH; y++) {
          let s = ((w.top + y) * W + (w.mirror ? w.left + OW - 1 : w.left)) * 3;
          let d = o + y * OW;
          const end = d + OW;
          for (; d < end; d++, s += step) {
            out[d] = data[s]! * a0 + b0;
            out[d + plane] = data[s + 1]! * a1 + b1;
            out[d + 2 * plane] = data[s + 2]! * a2 + b2;
          }
        }
        o += 3 * plane;
        continue;
      }
      for (let c = 0; c < C; c++) {
        const sc = inC === 1 ? 0 : c;
        const a = this.scale[c]!;
        // The lighting offset is in v units; in output units it is offset · 255 · scale.
        const b = this.bias[c]! + (offsetRgb ? offsetRgb[c]! * 255 * a : 0);
        const k = this.imageScale;
        const step = w.mirror ? -inC : inC;
        for (let y = 0; y < OH; y++) {
          const row = (w.top + y) * W;
          const startX = w.mirror ? w.left + OW - 1 : w.left;
          let s = (row + startX) * inC + sc;
          if (meanImage) {
            let m = (row + startX) * C + c;
            const mstep = w.mirror ? -C : C;
            for (let x = 0; x < OW; x++, s += step, m += mstep) out[o++] = data[s]! * a + b - k * meanImage[m]!;
          } else {
            for (let x = 0; x < OW; x++, s += step) out[o++] = data[s]! * a + b;
          }
        }
      }
    }
  }
}

/** Transforms one image into a new Float32Array (crops × C × H × W); handy for prediction and tests. */
export function transformImage(image: Image, spec: TransformSpec, draws?: AugmentDraws): Float32Array {
  const plan = new TransformPlan(spec, [image.height, image.width, image.channels], 'transformImage');
  const out = new Float32Array(plan.floatsPerImage);
  plan.apply(image, out, 0, draws);
  return out;
}

/** torchvision's ImageNet channel statistics (v units). */
export const IMAGENET_MEAN: readonly number[] = Object.freeze([0.485, 0.456, 0.406]);
export const IMAGENET_STD: readonly number[] = Object.freeze([0.229, 0.224, 0.225]);

/** The ImageNet RGB PCA widely used for lighting noise (fb.resnet.torch; v units), for when no stats pass has run. */
export const IMAGENET_PCA: Omit<LightingSpec, 'std'> = Object.freeze({
  eigenvalues: [0.2175, 0.0188, 0.0045],
  eigenvectors: [
    [-0.5675, -0.5808, -0.5836],
    [0.7192, -0.0045, -0.6948],
    [0.4009, -0.814, 0.4203],
  ],
});
