/**
 * The synthetic images' renderer, free of Node modules so that browsers can draw the same classes (through
 * `@tessera/data/browser`); synthetic.ts encodes them as JPEG files.
 */
import { philox4x32 } from '@tessera/tensor';

/** A small counter-based stream of uniforms for one image. */
export class SyntheticStream {
  private readonly words = new Uint32Array(4);
  private lane = 4;
  private block = 0;
  constructor(
    private readonly seed: number,
    private readonly a: number,
    private readonly b: number,
  ) {}
  next(): number {
    if (this.lane === 4) {
      philox4x32(this.block++, this.a >>> 0, this.b >>> 0, 0x5e7, this.seed >>> 0, Math.floor(this.seed / 4294967296) >>> 0, this.words);
      this.lane = 0;
    }
    return this.words[this.lane++]! / 4294967296;
  }
  range(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }
}

function hsv(h: number, s: number, v: number): [number, number, number] {
  const f = (n: number) => {
    const k = (n + h * 6) % 6;
    return v - v * s * Math.max(0, Math.min(k, 4 - k, 1));
  };
  return [f(5) * 255, f(3) * 255, f(1) * 255];
}

export interface Drawn {
  /** height × width × 3 bytes, RGB. */
  pixels: Uint8Array;
  width: number;
  height: number;
  /** Bounding box of the foreground shape: x0, y0, x1, y1. */
  box: [number, number, number, number];
}

/** A smooth random field in [−1, 1] (value noise: a random grid, bilinearly interpolated), `cell` px per grid step. */
function valueNoise(width: number, height: number, cell: number, rng: { next(): number }): Float32Array {
  const gw = Math.ceil(width / cell) + 2;
  const gh = Math.ceil(height / cell) + 2;
  const grid = new Float32Array(gw * gh);
  for (let i = 0; i < grid.length; i++) grid[i] = rng.next() * 2 - 1;
  const out = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    const gy = y / cell;
    const y0 = Math.floor(gy);
    const fy = gy - y0;
    const sy = fy * fy * (3 - 2 * fy);
    for (let x = 0; x < width; x++) {
      const gx = x / cell;
      const x0 = Math.floor(gx);
      const fx = gx - x0;
      const sx = fx * fx * (3 - 2 * fx);
      const a = grid[y0 * gw + x0]!;
      const b = grid[y0 * gw + x0 + 1]!;
      const c = grid[(y0 + 1) * gw + x0]!;
      const d = grid[(y0 + 1) * gw + x0 + 1]!;
      out[y * width + x] = a + (b - a) * sx + (c - a + (a - b - c + d) * sx) * sy;
    }
  }
  return out;
}

/**
 * Renders one image of class `c` of `k`: a textured background with class-specific colour and stripe
 * orientation/frequency, and a textured foreground shape of the class's kind and hue. The textures (value noise at
 * three scales plus grain) give photograph-like JPEG sizes, so decoding costs what it costs on ILSVRC files.
 */
export function renderSyntheticImage(
  c: number,
  k: number,
  width: number,
  height: number,
  rng: { next(): number; range(lo: number, hi: number): number },
): Drawn {
  const pixels = new Uint8Array(width * height * 3);
  const minSide = Math.min(width, height);
  // Class signature.
  const hue = (c / k + 0.03 * (rng.next() - 0.5) + 1) % 1;
  const bgHue = (hue + 0.5 + 0.15 * Math.sin(c * 2.3) + 1) % 1;
  const shape = c % 5;
  const angle = ((c * 47) % 180) * (Math.PI / 180) + 0.1 * (rng.next() - 0.5);
  const period = (minSide / (4 + ((c * 3) % 7))) * rng.range(0.9, 1.1);
  // Per-image variation.
  const radius = minSide * rng.range(0.18, 0.32);
  const cx = rng.range(radius, width - radius);
  const cy = rng.range(radius, height - radius);
  const fg = hsv(hue, rng.range(0.6, 0.95), rng.range(0.7, 1));
  const bg = hsv(bgHue, rng.range(0.2, 0.5), rng.range(0.3, 0.6));
  // Grain as in a photograph of this size: a smaller (downsampled) image is smoother.
  const grain = rng.range(50, 70) * Math.min(1, Math.sqrt(minSide / 300));
  const phase = rng.range(0, 2 * Math.PI);
  const ca = Math.cos(angle);
  const sa = Math.sin(angle);
  const coarse = valueNoise(width, height, Math.max(4, minSide / 6), rng);
  const medium = valueNoise(width, height, Math.max(2, minSide / 24), rng);
  const fine = valueNoise(width, height, 1.3, rng);
  const inside = (x: number, y: number): boolean => {
    const dx = x - cx;
    const dy = y - cy;
    switch (shape) {
      case 0:
        return dx * dx + dy * dy <= radius * radius;
      case 1:
        return Math.abs(dx) <= radius * 0.85 && Math.abs(dy) <= radius * 0.85;
      case 2:
        return dy <= radius * 0.8 && dy >= -radius && Math.abs(dx) <= (dy + radius) * 0.6;
      case 3: {
        const r2 = dx * dx + dy * dy;
        return r2 <= radius * radius && r2 >= radius * radius * 0.36;
      }
      default:
        return (Math.abs(dx) <= radius * 0.28 && Math.abs(dy) <= radius) || (Math.abs(dy) <= radius * 0.28 && Math.abs(dx) <= radius);
    }
  };
  let seedNoise = (Math.floor(rng.next() * 4294967296) | 1) >>> 0;
  let o = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const p = y * width + x;
      // xorshift grain: cheap, deterministic per image.
      seedNoise ^= seedNoise << 13;
      seedNoise ^= seedNoise >>> 17;
      seedNoise ^= seedNoise << 5;
      const n = ((seedNoise >>> 0) / 4294967296 - 0.5) * grain;
      const tex = 0.5 * coarse[p]! + 0.3 * medium[p]! + 0.2 * fine[p]!;
      let r: number, g: number, b: number;
      if (inside(x, y)) {
        const shade = 0.8 + 0.12 * medium[p]! + 0.25 * fine[p]!;
        r = fg[0] * shade;
        g = fg[1] * shade;
        b = fg[2] * shade;
      } else {
        const stripe = Math.sin(((x * ca + y * sa) / period) * 2 * Math.PI + phase);
        const shade = 0.75 + 0.2 * stripe + 0.3 * tex + 0.3 * fine[p]!;
        r = bg[0] * shade + 20 * coarse[p]!;
        g = bg[1] * shade;
        b = bg[2] * shade - 20 * coarse[p]!;
      }
      pixels[o++] = Math.max(0, Math.min(255, Math.round(r + n)));
      pixels[o++] = Math.max(0, Math.min(255, Math.round(g + n)));
      pixels[o++] = Math.max(0, Math.min(255, Math.round(b + n)));
    }
  }
  const box: [number, number, number, number] = [
    Math.max(0, Math.floor(cx - radius)),
    Math.max(0, Math.floor(cy - radius)),
    Math.min(width - 1, Math.ceil(cx + radius)),
    Math.min(height - 1, Math.ceil(cy + radius)),
  ];
  return { pixels, width, height, box };
}
