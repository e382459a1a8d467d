/**
 * A tiny retained scene (rectangles, polylines, circles, text, clipped groups) rendered two ways: as SVG text and
 * as pixels through the rasteriser, so a figure's SVG and PNG are drawn from the same description.
 */
import { TesseraError } from '@tessera/tensor';
import { GLYPH_ASCENT } from './font.js';
import type { RasterImage } from './png.js';
import { Canvas, parseColor, type ClipRect } from './raster.js';

export type Point = readonly [number, number];

export type SceneItem =
  | { kind: 'rect'; x: number; y: number; w: number; h: number; fill?: string; fillOpacity?: number; stroke?: string; strokeWidth?: number }
  | { kind: 'line'; points: readonly Point[]; stroke: string; width: number; opacity?: number; dash?: readonly number[]; className?: string }
  | { kind: 'circle'; cx: number; cy: number; r: number; fill: string; opacity?: number; className?: string }
  | {
      kind: 'text';
      x: number;
      /** Baseline. */
      y: number;
      text: string;
      size: number;
      fill: string;
      anchor?: 'start' | 'middle' | 'end';
      bold?: boolean;
    }
  /** `clip` is for strokes: the rasteriser clips lines and rectangle outlines only, so keep fills and text outside. */
  | { kind: 'group'; className?: string; clip?: ClipRect; items: SceneItem[] };

export interface Scene {
  width: number;
  height: number;
  background: string;
  /** The SVG's <title> (accessible name). */
  title: string;
  /** The SVG's <desc>. */
  description?: string;
  items: SceneItem[];
}

export const FONT_FAMILY = "'DejaVu Sans', 'Helvetica Neue', Helvetica, Arial, sans-serif";

/** Escapes text for XML content and double- or single-quoted attribute values; drops characters XML 1.0 forbids. */
export function escapeXml(s: string): string {
  return s
    .replace(/[^\t\n\r\x20-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/gu, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

/** A coordinate for SVG: at most 2 decimals, never NaN or ±Infinity (which would make an invalid document). */
export function num(v: number): string {
  if (!Number.isFinite(v)) throw new TesseraError('figures', `internal error: non-finite coordinate ${v} in a figure`);
  const r = Math.round(v * 100) / 100;
  return Object.is(r, -0) ? '0' : String(r);
}

/** Approximate advance of `text` at font size `size` (0.6 em per character, as for the bitmap font's 6/10). */
export function textWidth(text: string, size: number): number {
  return [...text].length * 0.6 * size;
}

export function renderSvg(scene: Scene): string {
  let clipId = 0;
  const out: string[] = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<svg xmlns="http://www.w3.org/2000/svg" width="${num(scene.width)}" height="${num(scene.height)}" viewBox="0 0 ${num(scene.width)} ${num(scene.height)}" ` +
      `font-family="${escapeXml(FONT_FAMILY)}" role="img">`,
    `<title>${escapeXml(scene.title)}</title>`,
  ];
  if (scene.description) out.push(`<desc>${escapeXml(scene.description)}</desc>`);
  out.push(`<rect x="0" y="0" width="${num(scene.width)}" height="${num(scene.height)}" fill="${escapeXml(scene.background)}"/>`);
  const cls = (c: string | undefined) => (c ? ` class="${escapeXml(c)}"` : '');
  const emit = (items: readonly SceneItem[], indent: string) => {
    for (const it of items) {
      switch (it.kind) {
        case 'rect': {
          const fill = it.fill
            ? `fill="${escapeXml(it.fill)}"` + (it.fillOpacity !== undefined ? ` fill-opacity="${num(it.fillOpacity)}"` : '')
            : 'fill="none"';
          const stroke = it.stroke ? ` stroke="${escapeXml(it.stroke)}" stroke-width="${num(it.strokeWidth ?? 1)}"` : '';
          out.push(`${indent}<rect x="${num(it.x)}" y="${num(it.y)}" width="${num(it.w)}" height="${num(it.h)}" ${fill}${stroke}/>`);
          break;
        }
        case 'line': {
          if (it.points.length === 0) break;
          const style =
            `fill="none" stroke="${escapeXml(it.stroke)}" stroke-width="${num(it.width)}" stroke-linecap="round" stroke-linejoin="round"` +
            (it.opacity !== undefined && it.opacity < 1 ? ` stroke-opacity="${num(it.opacity)}"` : '') +
            (it.dash && it.dash.length ? ` stroke-dasharray="${it.dash.map(num).join(' ')}"` : '');
          if (it.points.length === 2) {
            const [[x1, y1], [x2, y2]] = it.points as [Point, Point];
            out.push(`${indent}<line${cls(it.className)} x1="${num(x1)}" y1="${num(y1)}" x2="${num(x2)}" y2="${num(y2)}" ${style}/>`);
          } else {
            const pts = it.points.map(([x, y]) => `${num(x)},${num(y)}`).join(' ');
            out.push(`${indent}<polyline${cls(it.className)} points="${pts}" ${style}/>`);
          }
          break;
        }
        case 'circle':
          out.push(
            `${indent}<circle${cls(it.className)} cx="${num(it.cx)}" cy="${num(it.cy)}" r="${num(it.r)}" fill="${escapeXml(it.fill)}"` +
              (it.opacity !== undefined && it.opacity < 1 ? ` fill-opacity="${num(it.opacity)}"` : '') +
              '/>',
          );
          break;
        case 'text': {
          const anchor = it.anchor && it.anchor !== 'start' ? ` text-anchor="${it.anchor}"` : '';
          const weight = it.bold ? ' font-weight="bold"' : '';
          out.push(
            `${indent}<text x="${num(it.x)}" y="${num(it.y)}" font-size="${num(it.size)}" fill="${escapeXml(it.fill)}"${anchor}${weight}>${escapeXml(it.text)}</text>`,
          );
          break;
        }
        case 'group': {
          let clip = '';
          if (it.clip) {
            const id = `clip${clipId++}`;
            out.push(
              `${indent}<clipPath id="${id}"><rect x="${num(it.clip.x)}" y="${num(it.clip.y)}" width="${num(it.clip.w)}" height="${num(it.clip.h)}"/></clipPath>`,
            );
            clip = ` clip-path="url(#${id})"`;
          }
          out.push(`${indent}<g${cls(it.className)}${clip}>`);
          emit(it.items, indent + '  ');
          out.push(`${indent}</g>`);
          break;
        }
      }
    }
  };
  emit(scene.items, '');
  out.push('</svg>', '');
  return out.join('\n');
}

/** The bitmap-font scale for text of `size` SVG units at `ratio` pixels per unit (cap height ≈ 0.72 em). */
export function glyphScale(size: number, ratio: number): number {
  return Math.max(1, Math.round((size * ratio * 0.72) / GLYPH_ASCENT));
}

/** Rasterises `scene` at `ratio` pixels per unit into an RGB image. */
export function renderRaster(scene: Scene, ratio = 1): RasterImage {
  if (!(ratio > 0) || !Number.isFinite(ratio)) throw new TesseraError('figures', `pixelRatio must be a positive number, got ${ratio}`);
  const canvas = new Canvas(Math.max(1, Math.round(scene.width * ratio)), Math.max(1, Math.round(scene.height * ratio)), parseColor(scene.background));
  const scaleClip = (c: ClipRect): ClipRect => ({ x: c.x * ratio, y: c.y * ratio, w: c.w * ratio, h: c.h * ratio });
  const intersect = (a: ClipRect | undefined, b: ClipRect): ClipRect => {
    if (!a) return b;
    const x = Math.max(a.x, b.x);
    const y = Math.max(a.y, b.y);
    return { x, y, w: Math.max(0, Math.min(a.x + a.w, b.x + b.w) - x), h: Math.max(0, Math.min(a.y + a.h, b.y + b.h) - y) };
  };
  const draw = (items: readonly SceneItem[], clip: ClipRect | undefined) => {
    for (const it of items) {
      switch (it.kind) {
        case 'rect': {
          const [x, y, w, h] = [it.x * ratio, it.y * ratio, it.w * ratio, it.h * ratio];
          if (it.fill) canvas.fillRect(x, y, w, h, parseColor(it.fill), it.fillOpacity ?? 1);
          if (it.stroke) {
            const sw = (it.strokeWidth ?? 1) * ratio;
            const style = { color: parseColor(it.stroke), width: sw, ...(clip ? { clip } : {}) };
            canvas.strokePolyline(
              [
                [x, y],
                [x + w, y],
                [x + w, y + h],
                [x, y + h],
                [x, y],
              ],
              style,
            );
          }
          break;
        }
        case 'line':
          canvas.strokePolyline(
            it.points.map(([x, y]) => [x * ratio, y * ratio] as const),
            {
              color: parseColor(it.stroke),
              width: it.width * ratio,
              alpha: it.opacity ?? 1,
              ...(it.dash && it.dash.length ? { dash: it.dash.map((d) => d * ratio) } : {}),
              ...(clip ? { clip } : {}),
            },
          );
          break;
        case 'circle':
          canvas.fillCircle(it.cx * ratio, it.cy * ratio, it.r * ratio, parseColor(it.fill), it.opacity ?? 1);
          break;
        case 'text':
          canvas.text(it.text, it.x * ratio, it.y * ratio, glyphScale(it.size, ratio), parseColor(it.fill), it.anchor ?? 'start', it.bold ?? false);
          break;
        case 'group':
          draw(it.items, it.clip ? intersect(clip, scaleClip(it.clip)) : clip);
          break;
      }
    }
  };
  draw(scene.items, undefined);
  return canvas.image();
}
