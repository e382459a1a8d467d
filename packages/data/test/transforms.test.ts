import fc from 'fast-check';
import { TesseraError } from '@tessera/tensor';
import { describe, expect, it } from 'vitest';
import {
  augmentDraws,
  centerCropWindow,
  cropImage,
  IMAGENET_MEAN,
  IMAGENET_STD,
  lightingOffset,
  randomCropWindow,
  roundHalfEven,
  tenCropWindows,
  transformImage,
  TransformPlan,
  type AugmentDraws,
  type Image,
  type LightingSpec,
} from '../src/index.js';
import { b64, firstDifference, fromB64f32, fromB64u8, hasTorchvision, python, randomImage } from './helpers.js';

/** Reference crop, written the way torchvision's functional crop/hflip are: no shared code with the package. */
function refCrop(img: Image, top: number, left: number, h: number, w: number): Image {
  const data = new Uint8Array(h * w * img.channels);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      for (let c = 0; c < img.channels; c++) data[(y * w + x) * img.channels + c] = img.data[((top + y) * img.width + left + x) * img.channels + c]!;
  return { data, height: h, width: w, channels: img.channels };
}
function refHflip(img: Image): Image {
  const data = new Uint8Array(img.data.length);
  for (let y = 0; y < img.height; y++)
    for (let x = 0; x < img.width; x++)
      for (let c = 0; c < img.channels; c++) data[(y * img.width + x) * img.channels + c] = img.data[(y * img.width + img.width - 1 - x) * img.channels + c]!;
  return { ...img, data };
}
function refFiveCrop(img: Image, s: number): Image[] {
  const top = roundPy((img.height - s) / 2);
  const left = roundPy((img.width - s) / 2);
  return [
    refCrop(img, 0, 0, s, s),
    refCrop(img, 0, img.width - s, s, s),
    refCrop(img, img.height - s, 0, s, s),
    refCrop(img, img.height - s, img.width - s, s, s),
    refCrop(img, top, left, s, s),
  ];
}
/** Python 3 round(): banker's rounding, written independently of roundHalfEven. */
function roundPy(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}
/** CHW float planes of an HWC image, (x / 255 − mean) / std per channel. */
function refToTensor(img: Image, mean?: readonly number[], std?: readonly number[]): Float32Array {
  const { height: H, width: W, channels: C } = img;
  const out = new Float32Array(C * H * W);
  for (let c = 0; c < C; c++)
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++) {
        const v = img.data[(y * W + x) * C + c]! / 255;
        out[(c * H + y) * W + x] = mean ? (v - mean[c]!) / std![c]! : v;
      }
  return out;
}

function expectClose(a: Float32Array, b: Float32Array, tol: number): void {
  expect(a.length).toBe(b.length);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= worst)) {
      worst = d;
      at = i;
    }
  }
  expect(worst, `largest difference at ${at}: ${a[at]} vs ${b[at]}`).toBeLessThanOrEqual(tol);
}

describe('crop geometry', () => {
  it('rounds halves to even like Python', () => {
    expect([0.5, 1.5, 2.5, 16.5, 17.5, -1.5, 3.2, 3.7].map(roundHalfEven)).toEqual([0, 2, 2, 16, 18, -2, 3, 4]);
  });

  it('places the centre crop as torchvision does, odd margins included', () => {
    expect(centerCropWindow(256, 256, 224)).toEqual({ top: 16, left: 16, mirror: false });
    expect(centerCropWindow(257, 259, 224)).toEqual({ top: 16, left: 18, mirror: false }); // round(16.5) = 16, round(17.5) = 18
    expect(centerCropWindow(224, 224, 224)).toEqual({ top: 0, left: 0, mirror: false });
  });

  it('gives the ten crops in TenCrop order, the reflected five as mirrored windows', () => {
    const w = tenCropWindows(256, 300, 224);
    expect(w.map((x) => [x.top, x.left, x.mirror])).toEqual([
      [0, 0, false],
      [0, 76, false],
      [32, 0, false],
      [32, 76, false],
      [16, 38, false],
      [0, 76, true],
      [0, 0, true],
      [32, 76, true],
      [32, 0, true],
      [16, 38, true],
    ]);
  });

  it('ten crops equal five_crop(img) + five_crop(hflip(img)) pixel for pixel', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 0, max: 9 }),
        fc.integer({ min: 0, max: 9 }),
        fc.constantFrom(1, 3),
        fc.integer(),
        (s, dh, dw, ch, seed) => {
          const img = randomImage(s + dh, s + dw, ch, seed);
          const ours = tenCropWindows(img.height, img.width, s).map((win) => cropImage(img, win, s, s));
          const ref = [...refFiveCrop(img, s), ...refFiveCrop(refHflip(img), s)];
          ours.forEach((o, k) => expect(firstDifference(o.data, ref[k]!.data), `crop ${k}`).toBeNull());
        },
      ),
    );
  });

  it('rejects crops larger than the image, naming both sizes', () => {
    expect(() => centerCropWindow(200, 300, 224)).toThrow(TesseraError);
    expect(() => tenCropWindows(300, 200, 224)).toThrow(/224×224 crop does not fit in a 300×200 image/);
  });
});

describe('TransformPlan', () => {
  const draws = (cropU: number, cropV: number, flip: boolean, normals: [number, number, number] = [0, 0, 0]): AugmentDraws => ({ cropU, cropV, flip, normals });

  it('random crops pick offsets over the full range 0 … dim − size', () => {
    expect(randomCropWindow(256, 256, 224, draws(0, 0, false), true)).toEqual({ top: 0, left: 0, mirror: false });
    expect(randomCropWindow(256, 256, 224, draws(0.999999, 0.999999, true), true)).toEqual({ top: 32, left: 32, mirror: true });
    expect(randomCropWindow(256, 256, 224, draws(0.5, 0.25, true), false)).toEqual({ top: 16, left: 8, mirror: false });
  });

  it('writes the random (mirrored) crop, channels first, as v = x / 255', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 16 }),
        fc.integer({ min: 0, max: 8 }),
        fc.integer({ min: 0, max: 8 }),
        fc.constantFrom(1, 3),
        fc.double({ min: 0, max: 0.999999, noNaN: true }),
        fc.double({ min: 0, max: 0.999999, noNaN: true }),
        fc.boolean(),
        fc.integer(),
        (s, dh, dw, ch, u, v, flip, seed) => {
          const img = randomImage(s + dh, s + dw, ch, seed);
          const d = draws(u, v, flip);
          const out = transformImage(img, { crop: { kind: 'random', size: s }, flip: true }, d);
          const top = Math.floor(u * (dh + 1));
          const left = Math.floor(v * (dw + 1));
          let crop = refCrop(img, top, left, s, s);
          if (flip) crop = refHflip(crop);
          expectClose(out, refToTensor(crop), 0);
        },
      ),
    );
  });

  it('matches ToTensor + Normalize for per-channel normalisation', () => {
    const img = randomImage(256, 256, 3, 7);
    const out = transformImage(img, { crop: { kind: 'center', size: 224 }, normalize: { kind: 'channel', mean: IMAGENET_MEAN, std: IMAGENET_STD } });
    expectClose(out, refToTensor(refCrop(img, 16, 16, 224, 224), IMAGENET_MEAN, IMAGENET_STD), 2e-6);
  });

  it('subtracts the mean image at the source pixel, also under reflection, then scales', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 10 }),
        fc.integer({ min: 0, max: 5 }),
        fc.boolean(),
        fc.integer(),
        fc.constantFrom(1, 255),
        (s, margin, flip, seed, scale) => {
          const H = s + margin;
          const W = s + margin + 1;
          const img = randomImage(H, W, 3, seed);
          const mean = new Float32Array(H * W * 3).map((_, i) => ((i * 37) % 101) / 101);
          const d = draws(0.3, 0.6, flip);
          const out = transformImage(
            img,
            { crop: { kind: 'random', size: s }, flip: true, normalize: { kind: 'image', mean, height: H, width: W, channels: 3, scale } },
            d,
          );
          const win = randomCropWindow(H, W, s, d, true);
          const ref = new Float32Array(3 * s * s);
          for (let c = 0; c < 3; c++)
            for (let y = 0; y < s; y++)
              for (let x = 0; x < s; x++) {
                const sx = win.left + (win.mirror ? s - 1 - x : x);
                const p = ((win.top + y) * W + sx) * 3 + c;
                ref[(c * s + y) * s + x] = (img.data[p]! / 255 - mean[p]!) * scale;
              }
          expectClose(out, ref, 1e-4 * scale);
        },
      ),
    );
  });

  it('ten-crop plans write the ten patches image-major', () => {
    const img = randomImage(40, 45, 3, 3);
    const out = transformImage(img, { crop: { kind: 'ten', size: 32 }, normalize: { kind: 'raw' } });
    const ref = [...refFiveCrop(img, 32), ...refFiveCrop(refHflip(img), 32)];
    const per = 3 * 32 * 32;
    expect(out.length).toBe(10 * per);
    ref.forEach((crop, k) =>
      expectClose(
        out.subarray(k * per, (k + 1) * per),
        refToTensor(crop).map((v) => v * 255),
        1e-4,
      ),
    );
  });

  it('replicates a grayscale image into three channels', () => {
    const img = randomImage(5, 6, 1, 9);
    const out = transformImage(img, { channels: 3 });
    const plane = refToTensor(img);
    for (let c = 0; c < 3; c++) expectClose(out.subarray(c * 30, (c + 1) * 30), plane, 0);
  });

  it('rejects transforms that cannot apply, saying what is wrong', () => {
    expect(() => new TransformPlan({ crop: { kind: 'random', size: 300 } }, [256, 256, 3])).toThrow(/300×300 crop does not fit in a 256×256 image/);
    expect(
      () =>
        new TransformPlan(
          {
            lighting: {
              eigenvalues: [1, 1, 1],
              eigenvectors: [
                [1, 0, 0],
                [0, 1, 0],
                [0, 0, 1],
              ],
              std: 0.1,
            },
          },
          [28, 28, 1],
        ),
    ).toThrow(/needs 3 channels/);
    expect(() => new TransformPlan({ normalize: { kind: 'channel', mean: [0.5, 0.5], std: [0.2, 0.2] } }, [8, 8, 3])).toThrow(/3 \(or 1\) entries/);
    expect(() => new TransformPlan({ normalize: { kind: 'channel', mean: [0.5], std: [0] } }, [8, 8, 3])).toThrow(/positive stds/);
    expect(() => new TransformPlan({ normalize: { kind: 'image', mean: new Float32Array(12), height: 2, width: 2, channels: 3 } }, [8, 8, 3])).toThrow(
      /mean image is 2×2×3 but the images are 8×8×3/,
    );
    expect(() => new TransformPlan({ channels: 1 }, [8, 8, 3])).toThrow(/cannot make 1 output channels from 3-channel/);
    expect(() => new TransformPlan({}, null)).toThrow(/must crop them to one size/);
    expect(() => new TransformPlan({ crop: { kind: 'random', size: 0 } }, [8, 8, 3])).toThrow(/positive integer/);
  });
});

describe('PCA colour augmentation', () => {
  // An orthonormal basis (a rotation) and eigenvalues of the size ImageNet's have, in v units.
  const a = 0.3;
  const b = 0.5;
  const R = [
    [Math.cos(a), Math.sin(a), 0],
    [-Math.sin(a) * Math.cos(b), Math.cos(a) * Math.cos(b), Math.sin(b)],
    [Math.sin(a) * Math.sin(b), -Math.cos(a) * Math.sin(b), Math.cos(b)],
  ];
  const lighting: LightingSpec = { eigenvalues: [0.2175, 0.0188, 0.0045], eigenvectors: R, std: 0.1 };

  it('adds p·(α∘λ) to every pixel, α = σ · the image’s standard normals', () => {
    for (const index of [0, 1, 17, 123456]) {
      const d = augmentDraws(42, 3, index);
      const img: Image = { data: new Uint8Array(4 * 5 * 3).fill(100), height: 4, width: 5, channels: 3 };
      const out = transformImage(img, { lighting, normalize: { kind: 'raw' } }, d);
      for (let c = 0; c < 3; c++) {
        // Σᵢ pᵢ[c] · (0.1 · nᵢ) · λᵢ, in v units; the raw output is in pixel levels (× 255).
        let off = 0;
        for (let i = 0; i < 3; i++) off += R[i]![c]! * 0.1 * d.normals[i]! * lighting.eigenvalues[i]!;
        for (let p = 0; p < 20; p++) expect(out[c * 20 + p]).toBeCloseTo(100 + 255 * off, 4);
      }
      lightingOffset(lighting, d.normals).forEach((off, c) => expect(255 * off).toBeCloseTo(out[c * 20]! - 100, 4));
    }
  });

  it('draws αᵢ with mean 0 and σ 0.1, independent, so the offsets have covariance Σ (σλᵢ)² pᵢpᵢᵀ', () => {
    const n = 20000;
    const alphas = [new Float64Array(n), new Float64Array(n), new Float64Array(n)];
    const cov = [0, 0, 0, 0, 0, 0, 0, 0, 0];
    for (let k = 0; k < n; k++) {
      const d = augmentDraws(7, 0, k);
      for (let i = 0; i < 3; i++) alphas[i]![k] = 0.1 * d.normals[i]!;
      const off = lightingOffset(lighting, d.normals);
      for (let r = 0; r < 3; r++) for (let c = 0; c < 3; c++) cov[r * 3 + c]! += (off[r]! * off[c]!) / n;
    }
    const mean = (x: Float64Array) => x.reduce((s, v) => s + v, 0) / x.length;
    const sd = (x: Float64Array) => {
      const m = mean(x);
      return Math.sqrt(x.reduce((s, v) => s + (v - m) ** 2, 0) / x.length);
    };
    for (const x of alphas) {
      expect(Math.abs(mean(x))).toBeLessThan(0.003); // 4 standard errors (0.1 / √20000 = 0.0007)
      expect(sd(x)).toBeGreaterThan(0.097);
      expect(sd(x)).toBeLessThan(0.103);
    }
    const corr = (x: Float64Array, y: Float64Array) => {
      const mx = mean(x);
      const my = mean(y);
      let s = 0;
      for (let k = 0; k < n; k++) s += (x[k]! - mx) * (y[k]! - my);
      return s / n / (sd(x) * sd(y));
    };
    expect(Math.abs(corr(alphas[0]!, alphas[1]!))).toBeLessThan(0.03);
    expect(Math.abs(corr(alphas[0]!, alphas[2]!))).toBeLessThan(0.03);
    expect(Math.abs(corr(alphas[1]!, alphas[2]!))).toBeLessThan(0.03);
    for (let r = 0; r < 3; r++)
      for (let c = 0; c < 3; c++) {
        let expected = 0;
        for (let i = 0; i < 3; i++) expected += (0.1 * lighting.eigenvalues[i]!) ** 2 * R[i]![r]! * R[i]![c]!;
        expect(cov[r * 3 + c]! - expected).toBeCloseTo(0, 5); // expected entries are ≈ 1e-4..5e-4; 3 % sampling error
      }
  });
});

describe.skipIf(!hasTorchvision)('against torchvision (PIL), same images', () => {
  it('CenterCrop, TenCrop and ToTensor + Normalize agree exactly', () => {
    const sizes: [number, number][] = [
      [256, 256],
      [257, 259],
      [300, 240],
      [225, 224],
    ];
    const images = sizes.map(([h, w], i) => randomImage(h, w, 3, 100 + i));
    const res = python<{ center: string; ten: string[]; norm: string }[]>(
      `
import numpy as np, torch
from PIL import Image
import torchvision.transforms as T
out = []
for item in inp:
    a = np.frombuffer(base64.b64decode(item['data']), dtype=np.uint8).reshape(item['h'], item['w'], 3)
    img = Image.fromarray(a)
    center = np.asarray(T.CenterCrop(224)(img))
    ten = [base64.b64encode(np.ascontiguousarray(np.asarray(c)).tobytes()).decode() for c in T.TenCrop(224)(img)]
    norm = T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])(T.ToTensor()(T.CenterCrop(224)(img))).numpy().astype(np.float32)
    out.append({'center': base64.b64encode(center.tobytes()).decode(), 'ten': ten, 'norm': base64.b64encode(norm.tobytes()).decode()})
print(json.dumps(out))
`,
      images.map((img) => ({ data: b64(img.data), h: img.height, w: img.width })),
    );
    images.forEach((img, i) => {
      const r = res[i]!;
      expect(firstDifference(cropImage(img, centerCropWindow(img.height, img.width, 224), 224, 224).data, fromB64u8(r.center))).toBeNull();
      tenCropWindows(img.height, img.width, 224).forEach((win, k) =>
        expect(firstDifference(cropImage(img, win, 224, 224).data, fromB64u8(r.ten[k]!)), `${sizes[i]} crop ${k}`).toBeNull(),
      );
      const ours = transformImage(img, { crop: { kind: 'center', size: 224 }, normalize: { kind: 'channel', mean: IMAGENET_MEAN, std: IMAGENET_STD } });
      expectClose(ours, fromB64f32(r.norm), 2e-6);
    });
  });
});
