/**
 * Training curves: loss (per-step training loss, per-epoch mean training loss, validation loss) on one panel and
 * validation top-1 / top-5 error on the other, with learning-rate drops marked. The same scene renders to SVG and,
 * through the built-in rasteriser and bitmap font, to PNG.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { TesseraError } from '@tessera/tensor';
import { encodePng, type RasterImage } from './png.js';
import { renderRaster, renderSvg, textWidth, type Point, type Scene, type SceneItem } from './scene.js';

/** Loss and error rates of one evaluation (metrics.ts's ErrorRates fits). */
export interface CurveRates {
  loss: number;
  top1Error: number;
  top5Error: number;
}

/** One epoch (trainer.ts's EpochRecord fits). Missing or NaN values are left out of the plot. */
export interface CurveEpoch {
  /** 1-based: the epoch just completed. */
  epoch: number;
  lr?: number;
  trainLoss?: number;
  val?: CurveRates;
  valTenCrop?: CurveRates;
}

/** One logged step (trainer.ts's StepInfo fits). */
export interface CurveStep {
  /** 1-based epoch the step belongs to. */
  epoch: number;
  /** 1-based step within the epoch. */
  step: number;
  loss: number;
  /** Steps per epoch when known; otherwise inferred from the longest epoch in the log. */
  stepsPerEpoch?: number | null;
}

export interface CurvesOptions {
  /** Figure size in SVG units (default 960 × 400). */
  width?: number;
  height?: number;
  /** A title above both panels. */
  title?: string;
  /**
   * Exponential moving average weight in [0, 1) for the per-step training loss (TensorBoard's debiased smoothing),
   * drawn over the raw steps, which stay faintly behind it; 0 draws the raw steps only. 'auto' (default):
   * TensorBoard's 0.6, raised for long logs so that the average spans about 1% of the N logged steps
   * (max(0.6, 1 − 100 / N)).
   */
  smoothing?: number | 'auto';
  /** PNG only: pixels per SVG unit (default 2). */
  pixelRatio?: number;
}

const COLORS = {
  train: '#1f77b4',
  trainEpoch: '#08306b',
  val: '#ff7f0e',
  top1: '#d62728',
  top5: '#9467bd',
  axis: '#333333',
  grid: '#e8e8e8',
  muted: '#777777',
  text: '#222222',
} as const;

const MAX_MARKERS = 40;
const TICK_FONT = 11;

interface Series {
  /** Legend label and CSS class. */
  label: string;
  className: string;
  points: Point[];
  color: string;
  width: number;
  opacity?: number;
  dash?: number[];
  /** 'auto': circles at the points when there are at most MAX_MARKERS of them. */
  markers: 'auto' | 'only' | 'none';
  legend: boolean;
}

/** A numeric axis: its range, tick values and the decimals its labels need. */
export interface NiceAxis {
  lo: number;
  hi: number;
  ticks: number[];
  decimals: number;
}

/** Heckbert's nice numbers: 1, 2, 5 × 10ᵏ (rounded) or the next one up. */
function niceNum(x: number, round: boolean): number {
  const e = Math.floor(Math.log10(x));
  const f = x / 10 ** e;
  const n = round ? (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) : f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10;
  return n * 10 ** e;
}

function decimalsOf(step: number): number {
  return Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
}

/** A "loose" nice axis around [min, max] with about `target` ticks, its ends on ticks. */
export function niceAxis(min: number, max: number, target = 5): NiceAxis {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return niceAxis(0, 1, target);
  if (max - min < 1e-12 * Math.max(1, Math.abs(max))) {
    const pad = min === 0 ? 1 : Math.abs(min) * 0.1;
    return niceAxis(min - (min === 0 ? 0 : pad), max + pad, target);
  }
  const step = niceNum(niceNum(max - min, false) / Math.max(1, target - 1), true);
  const decimals = decimalsOf(step);
  const lo = Math.floor(min / step + 1e-9) * step;
  const hi = Math.ceil(max / step - 1e-9) * step;
  const ticks: number[] = [];
  for (let v = lo; v <= hi + step * 1e-6; v += step) ticks.push(Number(v.toFixed(decimals)));
  return { lo: ticks[0]!, hi: ticks[ticks.length - 1]!, ticks, decimals };
}

/** Integer epoch ticks over [0, hi]. */
function epochAxis(hi: number): NiceAxis {
  const step = Math.max(1, Math.round(niceNum(Math.max(1, hi) / 6, true)));
  const ticks: number[] = [];
  for (let v = 0; v <= hi + 1e-9; v += step) ticks.push(v);
  return { lo: 0, hi, ticks, decimals: 0 };
}

function formatTick(v: number, decimals: number, percent: boolean): string {
  if (percent) {
    const p = v * 100;
    return `${p.toFixed(Math.max(0, decimals - 2))}%`;
  }
  return v.toFixed(decimals);
}

function formatLr(lr: number): string {
  if (lr === 0) return '0';
  const a = Math.abs(lr);
  if (a >= 1e-3 && a < 1e4) return String(Number(lr.toPrecision(3)));
  const [m, e] = lr.toExponential(2).split('e') as [string, string];
  return `${String(Number(m))}e${Number(e)}`;
}

const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** [min, max] of `values` ([Infinity, -Infinity] when empty); a loop, since spreading long logs overflows the stack. */
function extent(values: readonly number[]): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}

/**
 * Thins a long polyline (in figure units, sorted by x) for drawing: within each half-unit column it keeps the first,
 * lowest, highest and last points in their order, which draws the same envelope as every point would. Short
 * polylines are returned as they are.
 */
function decimate(points: readonly Point[]): readonly Point[] {
  if (points.length <= 2000) return points;
  const out: Point[] = [];
  let i = 0;
  while (i < points.length) {
    const column = Math.floor(points[i]![0] * 2);
    let j = i;
    let lo = i;
    let hi = i;
    while (j < points.length && Math.floor(points[j]![0] * 2) === column) {
      if (points[j]![1] < points[lo]![1]) lo = j;
      if (points[j]![1] > points[hi]![1]) hi = j;
      j++;
    }
    for (const k of [...new Set([i, lo, hi, j - 1])].sort((a, b) => a - b)) out.push(points[k]!);
    i = j;
  }
  return out;
}

/** Steps → (fractional epoch, loss), sorted. x = epoch − 1 + step / stepsPerEpoch. */
function stepPoints(steps: readonly CurveStep[]): Point[] {
  let inferred = 0;
  for (const s of steps) if (finite(s.step)) inferred = Math.max(inferred, s.step);
  const pts: Point[] = [];
  for (const s of steps) {
    if (!finite(s.epoch) || !finite(s.step) || !finite(s.loss)) continue;
    const spe = finite(s.stepsPerEpoch) && s.stepsPerEpoch > 0 ? s.stepsPerEpoch : inferred;
    pts.push([s.epoch - 1 + Math.min(1, s.step / Math.max(1, spe)), s.loss]);
  }
  return pts.sort((a, b) => a[0] - b[0]);
}

/** TensorBoard's debiased exponential moving average. */
function smooth(points: readonly Point[], weight: number): Point[] {
  let last = 0;
  let n = 0;
  return points.map(([x, y]) => {
    last = last * weight + (1 - weight) * y;
    n++;
    return [x, last / (1 - weight ** n)] as const;
  });
}

function epochSeries(records: readonly CurveEpoch[], pick: (r: CurveEpoch) => number | undefined, dx = 0): Point[] {
  const pts: Point[] = [];
  for (const r of records) {
    const v = pick(r);
    if (finite(r.epoch) && finite(v)) pts.push([r.epoch + dx, v]);
  }
  return pts;
}

interface PanelSpec {
  title: string;
  series: Series[];
  percent: boolean;
  empty: string;
}

function buildPanels(records: readonly CurveEpoch[], steps: readonly CurveStep[], smoothingOption: number | 'auto'): [PanelSpec, PanelSpec] {
  const loss: Series[] = [];
  const raw = stepPoints(steps);
  if (raw.length > 0) {
    const smoothing = smoothingOption === 'auto' ? Math.max(0.6, 1 - 100 / raw.length) : smoothingOption;
    const smoothed = smoothing > 0 && raw.length >= 3;
    loss.push({
      label: 'train (steps)',
      className: 'series train-steps',
      points: raw,
      color: COLORS.train,
      width: 1,
      ...(smoothed ? { opacity: 0.25 } : {}),
      markers: raw.length === 1 ? 'only' : 'none',
      legend: !smoothed,
    });
    if (smoothed) {
      loss.push({
        label: 'train (steps, smoothed)',
        className: 'series train-steps-smoothed',
        points: smooth(raw, smoothing),
        color: COLORS.train,
        width: 1.5,
        markers: 'none',
        legend: true,
      });
    }
  }
  // The epoch's mean training loss is drawn at the epoch's midpoint, where it lines up with the per-step curve: as
  // dots over the step curve (a thin line once there are too many epochs for dots), or as the training curve itself.
  const trainEpoch = epochSeries(records, (r) => r.trainLoss, -0.5);
  if (trainEpoch.length > 0) {
    const overSteps = raw.length > 0;
    loss.push({
      label: 'train (epoch mean)',
      className: 'series train-epoch',
      points: trainEpoch,
      color: overSteps ? COLORS.trainEpoch : COLORS.train,
      width: overSteps ? 1.25 : 2,
      markers: overSteps ? (trainEpoch.length <= MAX_MARKERS ? 'only' : 'none') : 'auto',
      legend: true,
    });
  }
  const addVal = (list: Series[], key: 'val' | 'valTenCrop', metric: keyof CurveRates, label: string, cls: string, color: string) => {
    const pts = epochSeries(records, (r) => r[key]?.[metric]);
    if (pts.length === 0) return;
    list.push({
      label: key === 'val' ? label : `${label} (10-crop)`,
      className: `series ${cls}${key === 'val' ? '' : '-10crop'}`,
      points: pts,
      color,
      width: 2,
      ...(key === 'val' ? {} : { dash: [6, 4] }),
      markers: 'auto',
      legend: true,
    });
  };
  addVal(loss, 'val', 'loss', 'val', 'val-loss', COLORS.val);
  addVal(loss, 'valTenCrop', 'loss', 'val', 'val-loss', COLORS.val);
  const err: Series[] = [];
  addVal(err, 'val', 'top1Error', 'top-1', 'val-top1', COLORS.top1);
  addVal(err, 'val', 'top5Error', 'top-5', 'val-top5', COLORS.top5);
  addVal(err, 'valTenCrop', 'top1Error', 'top-1', 'val-top1', COLORS.top1);
  addVal(err, 'valTenCrop', 'top5Error', 'top-5', 'val-top5', COLORS.top5);
  return [
    { title: 'Loss (cross-entropy)', series: loss, percent: false, empty: 'no training data' },
    { title: 'Validation error', series: err, percent: true, empty: 'no validation data' },
  ];
}

interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** Epochs (1-based) at which the learning rate differs from the epoch before, with the new rate. */
function lrChanges(records: readonly CurveEpoch[]): { epoch: number; lr: number }[] {
  const out: { epoch: number; lr: number }[] = [];
  let prev: number | null = null;
  for (const r of records) {
    if (!finite(r.lr) || !finite(r.epoch)) continue;
    if (prev !== null && Math.abs(r.lr - prev) > 1e-9 * Math.max(Math.abs(prev), Math.abs(r.lr))) out.push({ epoch: r.epoch, lr: r.lr });
    prev = r.lr;
  }
  return out;
}

function panelItems(spec: PanelSpec, outer: Rect, xHi: number, changes: { epoch: number; lr: number }[]): SceneItem[] {
  const [yMin, yMax] = extent(spec.series.flatMap((s) => s.points.map((p) => p[1])));
  let yAxis = yMin <= yMax ? niceAxis(yMin, yMax) : niceAxis(0, 1);
  if (spec.percent && yMin <= yMax) {
    yAxis = niceAxis(Math.max(0, yMin), Math.min(1, yMax));
    if (yAxis.lo < 0 || yAxis.hi > 1) yAxis = niceAxis(0, 1);
  }
  const xAxis = epochAxis(xHi);
  const labels = yAxis.ticks.map((t) => formatTick(t, yAxis.decimals, spec.percent));
  const labelW = Math.max(...labels.map((l) => textWidth(l, TICK_FONT)));
  const plot: Rect = { x: outer.x + labelW + 12, y: outer.y + 26, w: 0, h: 0 };
  plot.w = outer.x + outer.w - plot.x - 8;
  plot.h = outer.y + outer.h - plot.y - 40;
  // 2% margins inside the frame keep markers at the ends of the range clear of the axes.
  const mx = (xAxis.hi - xAxis.lo) * 0.02;
  const sx = (v: number) => plot.x + ((v - xAxis.lo + mx) / (xAxis.hi - xAxis.lo + 2 * mx)) * plot.w;
  const sy = (v: number) => plot.y + plot.h - ((v - yAxis.lo) / (yAxis.hi - yAxis.lo)) * plot.h;
  const snap = (v: number) => Math.round(v) + 0.5;
  const left = snap(plot.x);
  const bottom = snap(plot.y + plot.h);
  const items: SceneItem[] = [];
  const axisItems: SceneItem[] = [];
  // Grid and y ticks.
  yAxis.ticks.forEach((t, i) => {
    const y = snap(sy(t));
    if (i > 0)
      items.push({
        kind: 'line',
        points: [
          [left, y],
          [plot.x + plot.w, y],
        ],
        stroke: COLORS.grid,
        width: 1,
      });
    axisItems.push(
      {
        kind: 'line',
        points: [
          [left - 4, y],
          [left, y],
        ],
        stroke: COLORS.axis,
        width: 1,
      },
      { kind: 'text', x: left - 7, y: y + 4, text: labels[i]!, size: TICK_FONT, fill: COLORS.axis, anchor: 'end' },
    );
  });
  for (const t of xAxis.ticks) {
    const x = snap(sx(t));
    axisItems.push(
      {
        kind: 'line',
        points: [
          [x, bottom],
          [x, bottom + 4],
        ],
        stroke: COLORS.axis,
        width: 1,
      },
      { kind: 'text', x, y: bottom + 17, text: String(t), size: TICK_FONT, fill: COLORS.axis, anchor: 'middle' },
    );
  }
  axisItems.push(
    {
      kind: 'line',
      points: [
        [left, plot.y],
        [left, bottom],
        [plot.x + plot.w, bottom],
      ],
      stroke: COLORS.axis,
      width: 1,
    },
    { kind: 'text', x: plot.x + plot.w / 2, y: bottom + 33, text: 'epoch', size: TICK_FONT, fill: COLORS.axis, anchor: 'middle' },
    { kind: 'text', x: plot.x, y: outer.y + 14, text: spec.title, size: 13, fill: COLORS.text, bold: true },
  );
  // Learning-rate changes: a dashed line where the new rate starts (the end of the previous epoch).
  // Labels that would run into the previous one (or past the plot) are left out; the lines are always drawn.
  const lrItems: SceneItem[] = [];
  const obstacles: Rect[] = [];
  let labelEnd = -Infinity;
  for (const c of changes) {
    const x = snap(sx(c.epoch - 1));
    lrItems.push({
      kind: 'line',
      points: [
        [x, plot.y],
        [x, bottom],
      ],
      stroke: COLORS.muted,
      width: 1,
      dash: [3, 3],
      className: 'lr-change',
    });
    const text = `lr ${formatLr(c.lr)}`;
    const w = textWidth(text, 10);
    if (x + 3 > labelEnd + 4 && x + 3 + w <= plot.x + plot.w) {
      lrItems.push({ kind: 'text', x: x + 3, y: plot.y + 10, text, size: 10, fill: COLORS.muted });
      obstacles.push({ x: x + 3, y: plot.y, w, h: 12 });
      labelEnd = x + 3 + w;
    }
  }
  // Series: lines clipped to the plot, markers on top.
  const lines: SceneItem[] = [];
  const markers: SceneItem[] = [];
  const drawn: (readonly Point[])[] = [];
  for (const s of spec.series) {
    const pts = s.points.map(([x, y]) => [sx(x), sy(y)] as const);
    const thin = s.markers !== 'only' && pts.length > 1 ? decimate(pts) : pts;
    drawn.push(thin);
    if (s.markers !== 'only' && pts.length > 1) {
      lines.push({
        kind: 'line',
        points: thin,
        stroke: s.color,
        width: s.width,
        ...(s.opacity !== undefined ? { opacity: s.opacity } : {}),
        ...(s.dash ? { dash: s.dash } : {}),
        className: s.className,
      });
    }
    if (s.markers === 'only' || (s.markers === 'auto' && pts.length <= MAX_MARKERS)) {
      for (const [cx, cy] of pts) markers.push({ kind: 'circle', cx, cy, r: s.dash ? 2.5 : 3, fill: s.color, className: `${s.className} marker` });
    }
  }
  const clip = { x: plot.x, y: plot.y - 1, w: plot.w + 1, h: plot.h + 2 };
  items.push(...lrItems, { kind: 'group', className: 'lines', clip, items: lines }, { kind: 'group', className: 'markers', items: markers }, ...axisItems);
  if (spec.series.length === 0) {
    items.push({ kind: 'text', x: plot.x + plot.w / 2, y: plot.y + plot.h / 2, text: spec.empty, size: 12, fill: COLORS.muted, anchor: 'middle' });
  }
  items.push(
    ...legend(
      spec.series.filter((s) => s.legend),
      plot,
      drawn,
      obstacles,
    ),
  );
  return items;
}

/**
 * A legend in whichever corner of the plot covers the least of the drawn data and no `obstacles` (learning-rate
 * labels), top right first.
 */
function legend(entries: Series[], plot: Rect, drawn: readonly (readonly Point[])[], obstacles: Rect[]): SceneItem[] {
  if (entries.length === 0) return [];
  const row = 15;
  const pad = 6;
  const sample = 20;
  const w = pad * 2 + sample + 6 + Math.max(...entries.map((e) => textWidth(e.label, TICK_FONT)));
  const h = pad * 2 + row * entries.length - 3;
  const inset = 8;
  // Top corners also come lowered below the learning-rate labels.
  const [right, leftX, top, lowered, bottom] = [plot.x + plot.w - w - inset, plot.x + inset + 4, plot.y + inset, plot.y + 16, plot.y + plot.h - h - inset];
  const corners: [number, number][] = [
    [right, top],
    [right, lowered],
    [right, bottom],
    [leftX, top],
    [leftX, lowered],
    [leftX, bottom],
  ];
  // Where the data is drawn: a grid of CELL-unit cells over the plot, marked along every segment.
  const CELL = 4;
  const cols = Math.max(1, Math.ceil(plot.w / CELL));
  const rows = Math.max(1, Math.ceil(plot.h / CELL));
  const occupied = new Uint8Array(cols * rows);
  const mark = (x: number, y: number) => {
    const c = Math.floor((x - plot.x) / CELL);
    const r = Math.floor((y - plot.y) / CELL);
    if (c >= 0 && c < cols && r >= 0 && r < rows) occupied[r * cols + c] = 1;
  };
  for (const pts of drawn) {
    pts.forEach(([x, y], i) => {
      mark(x, y);
      const q = pts[i + 1];
      if (!q) return;
      const n = Math.ceil(Math.hypot(q[0] - x, q[1] - y) / (CELL / 2));
      for (let k = 1; k < n; k++) mark(x + ((q[0] - x) * k) / n, y + ((q[1] - y) * k) / n);
    });
  }
  const cover = (x0: number, y0: number) => {
    let n = 0;
    const c1 = Math.min(cols - 1, Math.floor((x0 + w + 4 - plot.x) / CELL));
    const r1 = Math.min(rows - 1, Math.floor((y0 + h + 4 - plot.y) / CELL));
    for (let r = Math.max(0, Math.floor((y0 - 4 - plot.y) / CELL)); r <= r1; r++) {
      for (let c = Math.max(0, Math.floor((x0 - 4 - plot.x) / CELL)); c <= c1; c++) n += occupied[r * cols + c]!;
    }
    return n;
  };
  let best = corners[0]!;
  let bestCount = Infinity;
  for (const c of corners) {
    const hits = obstacles.filter((o) => o.x < c[0] + w + 4 && o.x + o.w > c[0] - 4 && o.y < c[1] + h + 4 && o.y + o.h > c[1] - 4).length;
    const n = 1000 * hits + cover(c[0], c[1]);
    if (n < bestCount) {
      bestCount = n;
      best = c;
    }
  }
  const [x0, y0] = best;
  const items: SceneItem[] = [{ kind: 'rect', x: x0, y: y0, w, h, fill: '#ffffff', fillOpacity: 0.9, stroke: '#cccccc', strokeWidth: 1 }];
  entries.forEach((e, i) => {
    const cy = y0 + pad + 5 + i * row;
    const lx = x0 + pad;
    if (e.markers !== 'only') {
      items.push({
        kind: 'line',
        points: [
          [lx, cy],
          [lx + sample, cy],
        ],
        stroke: e.color,
        width: e.width,
        ...(e.dash ? { dash: e.dash } : {}),
      });
    }
    if (e.markers === 'only' || (e.markers === 'auto' && e.points.length <= MAX_MARKERS))
      items.push({ kind: 'circle', cx: lx + sample / 2, cy, r: e.dash ? 2.5 : 3, fill: e.color });
    items.push({ kind: 'text', x: lx + sample + 6, y: cy + 4, text: e.label, size: TICK_FONT, fill: COLORS.text });
  });
  return [{ kind: 'group', className: 'legend', items }];
}

function positive(name: string, v: number | undefined, fallback: number): number {
  const x = v ?? fallback;
  if (!Number.isFinite(x) || x <= 0) throw new TesseraError('curves', `${name} must be a positive number, got ${x}`);
  return x;
}

/** The figure as a scene (what curvesSvg and curvesPng render). */
export function curvesScene(records: readonly CurveEpoch[], steps?: readonly CurveStep[] | null, options: CurvesOptions = {}): Scene {
  const width = positive('width', options.width, 960);
  const height = positive('height', options.height, 400);
  const smoothing = options.smoothing ?? 'auto';
  if (smoothing !== 'auto' && !(smoothing >= 0 && smoothing < 1)) throw new TesseraError('curves', `smoothing must be 'auto' or in [0, 1), got ${smoothing}`);
  const sorted = [...records].filter((r) => finite(r.epoch)).sort((a, b) => a.epoch - b.epoch);
  const [lossPanel, errPanel] = buildPanels(sorted, steps ?? [], smoothing);
  const [, xMax] = extent([...lossPanel.series, ...errPanel.series].flatMap((s) => s.points.map((p) => p[0])));
  const xHi = Math.max(1, Math.ceil(Math.max(0, xMax) - 1e-9));
  const changes = lrChanges(sorted);
  const items: SceneItem[] = [];
  const top = options.title ? 30 : 6;
  if (options.title) items.push({ kind: 'text', x: width / 2, y: 21, text: options.title, size: 15, fill: COLORS.text, anchor: 'middle', bold: true });
  const gap = 24;
  const panelW = (width - 2 * 12 - gap) / 2;
  const panelH = height - top - 8;
  items.push({ kind: 'group', className: 'panel loss', items: panelItems(lossPanel, { x: 12, y: top, w: panelW, h: panelH }, xHi, changes) });
  items.push({ kind: 'group', className: 'panel error', items: panelItems(errPanel, { x: 12 + panelW + gap, y: top, w: panelW, h: panelH }, xHi, changes) });
  const last = sorted[sorted.length - 1];
  const summary = last?.val
    ? `After epoch ${last.epoch}: validation loss ${last.val.loss.toFixed(3)}, top-1 error ${(last.val.top1Error * 100).toFixed(2)}%, top-5 error ${(last.val.top5Error * 100).toFixed(2)}%.`
    : `${sorted.length} epochs, ${steps?.length ?? 0} logged steps.`;
  return {
    width,
    height,
    background: '#ffffff',
    title: options.title ?? 'Training curves',
    description: `Training and validation loss, and validation top-1 / top-5 error, by epoch. ${summary}`,
    items,
  };
}

/** The training curves as a standalone SVG document. */
export function curvesSvg(records: readonly CurveEpoch[], steps?: readonly CurveStep[] | null, options: CurvesOptions = {}): string {
  return renderSvg(curvesScene(records, steps, options));
}

/** The same figure as curvesSvg, rasterised (RGB) at `pixelRatio` pixels per SVG unit (default 2). */
export function curvesPng(records: readonly CurveEpoch[], steps?: readonly CurveStep[] | null, options: CurvesOptions = {}): RasterImage {
  return renderRaster(curvesScene(records, steps, options), positive('pixelRatio', options.pixelRatio, 2));
}

/**
 * Writes `<path>.svg` and `<path>.png` (a trailing .svg or .png on `path` is dropped), creating the directory.
 * Returns both paths.
 */
export async function writeCurves(
  records: readonly CurveEpoch[],
  steps: readonly CurveStep[] | null | undefined,
  pathWithoutExtension: string,
  options: CurvesOptions = {},
): Promise<{ svg: string; png: string }> {
  const base = pathWithoutExtension.replace(/\.(svg|png)$/i, '');
  const svg = `${base}.svg`;
  const png = `${base}.png`;
  await mkdir(dirname(base), { recursive: true });
  const scene = curvesScene(records, steps ?? [], options);
  const img = renderRaster(scene, positive('pixelRatio', options.pixelRatio, 2));
  await writeFile(svg, renderSvg(scene));
  await writeFile(
    png,
    encodePng(img.pixels, img.width, img.height, img.channels, { text: { Software: 'tessera', Title: scene.title.replace(/[^\x20-\x7e]/g, '?') } }),
  );
  return { svg, png };
}
