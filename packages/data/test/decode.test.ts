import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { decodeImage, resizedSize, sniffImage } from '../src/index.js';
import { b64, fromB64u8, hasTorchvision, python } from './helpers.js';

/** A smooth test card: horizontal and vertical gradients and a diagonal wave, w × h RGB. */
function card(width: number, height: number): Buffer {
  const px = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3;
      px[o] = Math.round((255 * x) / (width - 1));
      px[o + 1] = Math.round((255 * y) / (height - 1));
      px[o + 2] = Math.round(127.5 + 127.5 * Math.sin((x + y) / 9));
    }
  return px;
}

const raw = (px: Buffer, width: number, height: number, channels: 1 | 3 = 3) => sharp(px, { raw: { width, height, channels } });

describe('sniffing', () => {
  it('tells formats by content, and JPEG colour components from the frame header', async () => {
    const px = card(40, 30);
    const size = { width: 40, height: 30 };
    expect(sniffImage(await raw(px, 40, 30).jpeg().toBuffer())).toEqual({ format: 'jpeg', jpegComponents: 3, ...size });
    expect(sniffImage(await raw(px, 40, 30).toColourspace('b-w').jpeg().toBuffer())).toEqual({ format: 'jpeg', jpegComponents: 1, ...size });
    expect(sniffImage(await raw(px, 40, 30).toColourspace('cmyk').jpeg().toBuffer())).toEqual({ format: 'jpeg', jpegComponents: 4, ...size });
    expect(sniffImage(await raw(px, 40, 30).png().toBuffer())).toEqual({ format: 'png', ...size });
    expect(sniffImage(await raw(px, 40, 30).webp().toBuffer())).toEqual({ format: 'webp' });
    expect(sniffImage(new Uint8Array(0))).toEqual({ format: 'empty' });
    expect(sniffImage(new TextEncoder().encode('<html>'))).toEqual({ format: 'unknown' });
  });
});

describe('decodeImage (shorter side to size, centre crop)', () => {
  const opts = { size: 256 };

  it('sizes and centres like torchvision: longer side truncated, offsets rounded half to even', () => {
    expect(resizedSize(500, 375, 256)).toEqual({ width: 341, height: 256, left: 42, top: 0 }); // 341.33 → 341; round(42.5) = 42
    expect(resizedSize(375, 500, 256)).toEqual({ width: 256, height: 341, left: 0, top: 42 });
    expect(resizedSize(500, 333, 256)).toEqual({ width: 384, height: 256, left: 64, top: 0 });
    expect(resizedSize(259, 256, 256)).toEqual({ width: 259, height: 256, left: 2, top: 0 }); // round(1.5) = 2
    expect(resizedSize(50, 100, 256)).toEqual({ width: 256, height: 512, left: 0, top: 128 });
    expect(resizedSize(300, 300, 256)).toEqual({ width: 256, height: 256, left: 0, top: 0 });
  });

  it('takes the central square after scaling the shorter side (landscape, no scaling needed)', async () => {
    // 512×256: columns 0…127 red, 128…383 green, 384…511 blue; lossless, so the crop must be pure green.
    const px = Buffer.alloc(512 * 256 * 3);
    for (let p = 0; p < 512 * 256; p++) px[p * 3 + (p % 512 < 128 ? 0 : p % 512 < 384 ? 1 : 2)] = 255;
    const d = await decodeImage(await raw(px, 512, 256).png().toBuffer(), 'a.png', opts);
    expect(d.ok).toBe(true);
    if (!d.ok) return;
    expect([d.image.width, d.image.height, d.image.channels]).toEqual([256, 256, 3]);
    for (let p = 0; p < 256 * 256; p++) expect([d.image.data[3 * p], d.image.data[3 * p + 1], d.image.data[3 * p + 2]]).toEqual([0, 255, 0]);
    expect(d.notes).toEqual([]);
  });

  it('upscales small portrait images by the shorter side too', async () => {
    // 50×100 (w×h): scaled ×5.12 to 256×512, so the crop covers source rows 25…74: rows < 25 red, ≥ 75 blue.
    const px = Buffer.alloc(50 * 100 * 3);
    for (let p = 0; p < 50 * 100; p++) {
      const y = Math.floor(p / 50);
      px[p * 3 + (y < 25 ? 0 : y < 75 ? 1 : 2)] = 255;
    }
    const d = await decodeImage(await raw(px, 50, 100).png().toBuffer(), 'b.png', opts);
    if (!d.ok) throw new Error(d.reason);
    // Away from the two borders (blended over a few rows by the resampling kernel) the crop is green.
    for (let y = 8; y < 248; y++) for (let x = 0; x < 256; x++) expect(d.image.data[(y * 256 + x) * 3 + 1], `row ${y}`).toBeGreaterThan(250);
  });

  it('converts grayscale and CMYK JPEGs to RGB and notes them', async () => {
    const px = card(120, 90);
    const gray = await decodeImage(await raw(px, 120, 90).toColourspace('b-w').jpeg().toBuffer(), 'g.JPEG', opts);
    expect(gray.ok && gray.notes).toEqual(['grayscale']);
    if (gray.ok) {
      expect(gray.image.channels).toBe(3);
      for (let p = 0; p < 256 * 256; p += 97) expect(new Set(gray.image.data.subarray(3 * p, 3 * p + 3)).size).toBe(1);
    }
    const cmyk = await decodeImage(await raw(px, 120, 90).toColourspace('cmyk').jpeg({ quality: 95 }).toBuffer(), 'c.JPEG', opts);
    const rgb = await decodeImage(await raw(px, 120, 90).jpeg({ quality: 95 }).toBuffer(), 'r.JPEG', opts);
    expect(cmyk.ok && cmyk.notes).toEqual(['cmyk']);
    if (cmyk.ok && rgb.ok) {
      // A colour-managed CMYK round trip stays close to the RGB original.
      let diff = 0;
      for (let i = 0; i < rgb.image.data.length; i++) diff += Math.abs(cmyk.image.data[i]! - rgb.image.data[i]!);
      expect(diff / rgb.image.data.length).toBeLessThan(20);
    }
  });

  it('decodes PNG data named .JPEG, noting the mismatch', async () => {
    const png = await raw(card(64, 64), 64, 64).png().toBuffer();
    const d = await decodeImage(png, 'n02105855_2933.JPEG', opts);
    expect(d.ok && d.notes).toEqual(['png-content']);
    expect((await decodeImage(png, 'fine.png', opts)).ok && (await decodeImage(png, 'fine.png', opts))).toMatchObject({ notes: [] });
  });

  it('returns skips, not exceptions, for empty, truncated and non-image data', async () => {
    const jpeg = await raw(card(200, 150), 200, 150).jpeg().toBuffer();
    // Cut anywhere — even so late that libjpeg would quietly paint the missing rows grey — a truncated JPEG is skipped.
    for (const frac of [0.3, 0.5, 0.9, 0.99]) {
      const cut = jpeg.subarray(0, Math.floor(jpeg.length * frac));
      expect(await decodeImage(cut, 't.JPEG', opts)).toEqual({
        ok: false,
        reason: `truncated JPEG: the ${cut.length}-byte file ends without an end-of-image marker`,
      });
    }
    // failOn: 'none' takes what can be decoded, as libjpeg does.
    expect((await decodeImage(jpeg.subarray(0, Math.floor(jpeg.length * 0.9)), 't.JPEG', { ...opts, failOn: 'none' })).ok).toBe(true);
    // Bytes after the end-of-image marker (some writers pad files) are no reason to skip.
    expect((await decodeImage(Buffer.concat([jpeg, Buffer.alloc(300)]), 'p.JPEG', opts)).ok).toBe(true);
    // Corrupt scan data (the markers intact) is a decoding error with libvips' reason.
    const corrupt = Buffer.from(jpeg);
    for (let i = 700; i < corrupt.length - 200; i += 97) corrupt[i] = 0xff;
    const bad = await decodeImage(corrupt, 'c.JPEG', { ...opts, failOn: 'warning' });
    expect(bad).toEqual({ ok: false, reason: expect.stringMatching(/^cannot decode JPEG data \(\d+ bytes\): .+/) });
    expect(bad.ok || bad.reason).not.toMatch(/unknown error/i);
    expect(await decodeImage(new Uint8Array(0), 'e.JPEG', opts)).toEqual({ ok: false, reason: 'empty file (0 bytes)' });
    expect(await decodeImage(new TextEncoder().encode('<html><body>404</body></html>'), 'h.JPEG', opts)).toEqual({
      ok: false,
      reason: expect.stringMatching(/not an image: unrecognised content \(first bytes 3c 68 74 6d/),
    });
    const headerOnly = await decodeImage(jpeg.subarray(0, 300), 'h2.JPEG', opts);
    expect(headerOnly.ok).toBe(false);
  });

  it.skipIf(!hasTorchvision)('agrees with torchvision Resize(256) + CenterCrop(256) up to resampling differences', async () => {
    const sizes: [number, number][] = [
      [500, 375],
      [375, 500],
      [333, 500],
      [640, 480],
      [120, 90],
    ];
    const pngs = await Promise.all(sizes.map(([w, h]) => raw(card(w, h), w, h).png().toBuffer()));
    const ref = python<string[]>(
      `
import io
import numpy as np
from PIL import Image
import torchvision.transforms as T
tf = T.Compose([T.Resize(256), T.CenterCrop(256)])
print(json.dumps([base64.b64encode(np.asarray(tf(Image.open(io.BytesIO(base64.b64decode(s))).convert('RGB'))).tobytes()).decode() for s in inp]))
`,
      pngs.map((p) => b64(p)),
    );
    for (let i = 0; i < pngs.length; i++) {
      const d = await decodeImage(pngs[i]!, 'x.png', opts);
      if (!d.ok) throw new Error(d.reason);
      const theirs = fromB64u8(ref[i]!);
      let sum = 0;
      for (let k = 0; k < theirs.length; k++) sum += Math.abs(theirs[k]! - d.image.data[k]!);
      // Only the resampling filters differ (libvips' linear vs PIL's bilinear): well under a level on average when
      // shrinking; when enlarging, libvips also aligns pixel centres slightly differently (≈ ½ output pixel).
      // Being off by one pixel (e.g. the other rounding of 341.33 or of 42.5) costs 4–5 levels on this card.
      const [w, h] = sizes[i]!;
      expect(sum / theirs.length, `${w}×${h}`).toBeLessThan(Math.min(w, h) >= 256 ? 1 : 1.5);
    }
  });
});
