/**
 * A small RGB rasteriser for figures: anti-aliased strokes (coverage from the distance to each segment, combined
 * per stroke by maximum so that translucent polylines do not darken at their joints), dashes, filled circles,
 * rectangles with fractional edges, and text in the 5×7 bitmap font.
 */
import { TesseraError } from '@tessera/tensor';
import { GLYPH_ADVANCE, GLYPH_ASCENT, GLYPH_DESCENT, GLYPH_WIDTH, bitmapTextWidth, glyph } from './font.js';
import type { RasterImage } from './png.js';

export type Rgb = readonly [number, number, number];

export interface ClipRect {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface StrokeStyle {
  color: Rgb;
  /** Line width in pixels. */
  width: number;
  /** 0–1 (default 1). */
  alpha?: number;
  /** On/off lengths in pixels, e.g. [6, 4]. */
  dash?: readonly number[];
  clip?: ClipRect;
}

/** '#rgb' or '#rrggbb' → [r, g, b]. */
export function parseColor(color: string): Rgb {
  const m = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(color);
  if (!m) throw new TesseraError('figures', `colours are '#rgb' or '#rrggbb', got ${JSON.stringify(color)}`);
  const hex = m[1]!.length === 3 ? [...m[1]!].map((c) => c + c).join('') : m[1]!;
  return [parseInt(hex.slice(0, 2), 16), parseInt(hex.slice(2, 4), 16), parseInt(hex.slice(4, 6), 16)];
}

const clamp01 = (v: number) => (v < 0 ? 0 : v > 1 ? 1 : v);

export class Canvas {
  readonly width: number;
  readonly height: number;
  /** RGB, row-major. */
  readonly pixels: Uint8Array;
  private mask: Float32Array | null = null;

  constructor(width: number, height: number, background: Rgb = [255, 255, 255]) {
    if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
      throw new TesseraError('Canvas', `size must be positive integers, got ${width}×${height}`);
    }
    this.width = width;
    this.height = height;
    this.pixels = new Uint8Array(width * height * 3);
    const [r, g, bl] = background;
    if (r === g && g === bl) this.pixels.fill(r);
    else {
      for (let i = 0; i < this.pixels.length; i += 3) {
        this.pixels[i] = r;
        this.pixels[i + 1] = g;
        this.pixels[i + 2] = bl;
      }
    }
  }

  image(): RasterImage {
    return { pixels: this.pixels, width: this.width, height: this.height, channels: 3 };
  }

  /** Blends `color` over pixel (x, y) with opacity `a`. */
  blend(x: number, y: number, color: Rgb, a: number): void {
    if (a <= 0 || x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    const o = (y * this.width + x) * 3;
    const p = this.pixels;
    if (a >= 1) {
      p[o] = color[0];
      p[o + 1] = color[1];
      p[o + 2] = color[2];
      return;
    }
    p[o] = Math.round(p[o]! + (color[0] - p[o]!) * a);
    p[o + 1] = Math.round(p[o + 1]! + (color[1] - p[o + 1]!) * a);
    p[o + 2] = Math.round(p[o + 2]! + (color[2] - p[o + 2]!) * a);
  }

  /** Fills a rectangle, anti-aliasing fractional edges by area coverage. */
  fillRect(x: number, y: number, w: number, h: number, color: Rgb, alpha = 1): void {
    const x1 = x + w;
    const y1 = y + h;
    for (let py = Math.max(0, Math.floor(y)); py < Math.min(this.height, Math.ceil(y1)); py++) {
      const cy = Math.min(py + 1, y1) - Math.max(py, y);
      for (let px = Math.max(0, Math.floor(x)); px < Math.min(this.width, Math.ceil(x1)); px++) {
        const cx = Math.min(px + 1, x1) - Math.max(px, x);
        this.blend(px, py, color, alpha * cx * cy);
      }
    }
  }

  /** Fills a disc, anti-aliased. */
  fillCircle(cx: number, cy: number, r: number, color: Rgb, alpha = 1): void {
    for (let py = Math.max(0, Math.floor(cy - r - 1)); py <= Math.min(this.height - 1, Math.ceil(cy + r + 1)); py++) {
      for (let px = Math.max(0, Math.floor(cx - r - 1)); px <= Math.min(this.width - 1, Math.ceil(cx + r + 1)); px++) {
        const d = Math.hypot(px + 0.5 - cx, py + 0.5 - cy);
        this.blend(px, py, color, alpha * clamp01(r + 0.5 - d));
      }
    }
  }

  /** Strokes a polyline (round joins and caps), anti-aliased, optionally dashed and clipped. */
  strokePolyline(points: readonly (readonly [number, number])[], style: StrokeStyle): void {
    if (points.length === 0 || !(style.width > 0)) return;
    const mask = (this.mask ??= new Float32Array(this.width * this.height));
    const clip = style.clip;
    const bx0 = Math.max(0, clip ? Math.floor(clip.x) : 0);
    const by0 = Math.max(0, clip ? Math.floor(clip.y) : 0);
    const bx1 = Math.min(this.width, clip ? Math.ceil(clip.x + clip.w) : this.width);
    const by1 = Math.min(this.height, clip ? Math.ceil(clip.y + clip.h) : this.height);
    const hw = Math.max(0.5, style.width / 2);
    const thin = Math.min(1, style.width);
    let dx0 = Infinity;
    let dy0 = Infinity;
    let dx1 = -Infinity;
    let dy1 = -Infinity;
    const segment = (ax: number, ay: number, bx: number, by: number) => {
      const x0 = Math.max(bx0, Math.floor(Math.min(ax, bx) - hw - 1));
      const x1 = Math.min(bx1, Math.ceil(Math.max(ax, bx) + hw + 1));
      const y0 = Math.max(by0, Math.floor(Math.min(ay, by) - hw - 1));
      const y1 = Math.min(by1, Math.ceil(Math.max(ay, by) + hw + 1));
      if (x0 >= x1 || y0 >= y1) return;
      dx0 = Math.min(dx0, x0);
      dy0 = Math.min(dy0, y0);
      dx1 = Math.max(dx1, x1);
      dy1 = Math.max(dy1, y1);
      const vx = bx - ax;
      const vy = by - ay;
      const len2 = vx * vx + vy * vy;
      for (let py = y0; py < y1; py++) {
        const qy = py + 0.5 - ay;
        for (let px = x0; px < x1; px++) {
          const qx = px + 0.5 - ax;
          const t = len2 > 0 ? Math.min(1, Math.max(0, (qx * vx + qy * vy) / len2)) : 0;
          const d = Math.hypot(qx - t * vx, qy - t * vy);
          const cov = clamp01(hw + 0.5 - d) * thin;
          const i = py * this.width + px;
          if (cov > mask[i]!) mask[i] = cov;
        }
      }
    };
    const dash = style.dash && style.dash.length > 0 && style.dash.some((d) => d > 0) ? style.dash : null;
    if (points.length === 1) segment(points[0]![0], points[0]![1], points[0]![0], points[0]![1]);
    else if (!dash) {
      for (let i = 1; i < points.length; i++) segment(points[i - 1]![0], points[i - 1]![1], points[i]![0], points[i]![1]);
    } else {
      // Walk the polyline by arc length, emitting the "on" stretches of the dash pattern.
      let k = 0;
      let left = dash[0]!;
      for (let i = 1; i < points.length; i++) {
        let [ax, ay] = points[i - 1]!;
        const [bx, by] = points[i]!;
        let rest = Math.hypot(bx - ax, by - ay);
        while (rest > 0) {
          const step = Math.min(left, rest);
          const f = step / rest;
          const nx = ax + (bx - ax) * f;
          const ny = ay + (by - ay) * f;
          if (k % 2 === 0) segment(ax, ay, nx, ny);
          ax = nx;
          ay = ny;
          rest -= step;
          left -= step;
          if (left <= 1e-9) {
            k = (k + 1) % dash.length;
            left = dash[k]!;
          }
        }
      }
    }
    const a = style.alpha ?? 1;
    for (let py = dy0; py < dy1; py++) {
      for (let px = dx0; px < dx1; px++) {
        const i = py * this.width + px;
        const cov = mask[i]!;
        if (cov > 0) {
          this.blend(px, py, style.color, cov * a);
          mask[i] = 0;
        }
      }
    }
  }

  /**
   * Draws `text` in the bitmap font, each font pixel a `scale` × `scale` block, with its baseline at `y`;
   * `anchor` places `x` at the start, middle or end of the text. Returns the drawn width in pixels.
   */
  text(text: string, x: number, y: number, scale: number, color: Rgb, anchor: 'start' | 'middle' | 'end' = 'start', bold = false): number {
    const s = Math.max(1, Math.round(scale));
    const w = bitmapTextWidth(text) * s + (bold ? 1 : 0);
    let left = Math.round(anchor === 'start' ? x : anchor === 'middle' ? x - w / 2 : x - w);
    const top = Math.round(y) - GLYPH_ASCENT * s;
    for (const ch of text) {
      const g = glyph(ch);
      for (let gy = 0; gy < GLYPH_ASCENT + GLYPH_DESCENT; gy++) {
        for (let gx = 0; gx < GLYPH_WIDTH; gx++) {
          if (!g[gy * GLYPH_WIDTH + gx]) continue;
          for (let b = 0; b <= (bold ? 1 : 0); b++) this.fillRect(left + gx * s + b, top + gy * s, s, s, color);
        }
      }
      left += GLYPH_ADVANCE * s;
    }
    return w;
  }
}
