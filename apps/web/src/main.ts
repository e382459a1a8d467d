/**
 * The page: backend picker, data, the four panels (Train, Classify, Check, Time), wired to an Engine that runs in
 * a Worker (or, for a backend only the main thread can open, on the main thread).
 */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import './style.css';
import type { BackendAvailability } from '@tessera/tensor';
import type { EngineEvent, ModelInfo, Prediction } from './engine/engine.js';
import { mainThreadHost, workerHost, type EngineHost } from './engine/host.js';

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const STORAGE_KEY = 'tessera.backend';
const DATA_BASE = new URL('./data/fashion-mnist/', document.baseURI).href;

// ---- errors: readable, never a blank page ----
function showError(err: unknown): void {
  const box = $('error');
  const text = err instanceof Error ? `${err.name === 'TesseraError' ? '' : `${err.name}: `}${err.message}` : String(err);
  box.textContent = text;
  box.hidden = false;
}
function clearError(): void {
  $('error').hidden = true;
  $('error').textContent = '';
}
window.addEventListener('error', (e) => showError(e.error ?? e.message));
window.addEventListener('unhandledrejection', (e) => {
  e.preventDefault();
  showError(e.reason);
});
async function guarded(fn: () => Promise<void>): Promise<void> {
  try {
    clearError();
    await fn();
  } catch (err) {
    showError(err);
  }
}

// ---- hosts ----
let worker: EngineHost | null = null;
let main: EngineHost | null = null;
/** Which host runs each backend the picker offers. */
const hostOf = new Map<string, EngineHost>();
let current: EngineHost | null = null;
let currentBackend = '';
type DataSource = { kind: 'served'; base: string } | { kind: 'files'; files: { name: string; bytes: Uint8Array }[] } | { kind: 'synthetic' };
let dataSource: DataSource = { kind: 'served', base: DATA_BASE };
const dataLoaded = new WeakSet<EngineHost>();

function copySource(s: DataSource): DataSource {
  return s.kind === 'files' ? { kind: 'files', files: s.files.map((f) => ({ name: f.name, bytes: f.bytes.slice() })) } : s;
}

async function ensureData(host: EngineHost): Promise<void> {
  if (dataLoaded.has(host)) return;
  const d = await host.api.loadData(copySource(dataSource));
  dataLoaded.add(host);
  $('data-status').textContent = `Data: ${d.description}`;
  $('data-status').dataset.kind = d.kind;
}

async function setData(source: DataSource): Promise<void> {
  dataSource = source;
  for (const h of [worker, main]) if (h) dataLoaded.delete(h);
  if (current) await ensureData(current);
}

// ---- backend picker ----
function renderBackends(list: { name: string; available: boolean; reason: string; where: string }[]): void {
  const select = $<HTMLSelectElement>('backend');
  select.replaceChildren();
  const ul = $('backends');
  ul.replaceChildren();
  for (const b of list) {
    const li = document.createElement('li');
    li.className = b.available ? 'ok' : 'no';
    li.textContent = b.available ? `${b.name}: available (${b.where})` : `${b.name}: unavailable — ${b.reason}`;
    ul.append(li);
    const opt = document.createElement('option');
    opt.value = b.name;
    opt.textContent = b.available ? b.name : `${b.name} (unavailable)`;
    opt.disabled = !b.available;
    select.append(opt);
  }
}

async function discoverBackends(): Promise<void> {
  worker = workerHost(onEvent, (message) => showError(message));
  let fromWorker: BackendAvailability[] = [];
  try {
    fromWorker = await worker.api.backends();
  } catch (err) {
    showError(err);
  }
  const rows: { name: string; available: boolean; reason: string; where: string }[] = [];
  for (const b of fromWorker) {
    if (b.available) {
      hostOf.set(b.name, worker);
      rows.push({ ...b, where: 'in a Worker' });
    } else rows.push({ ...b, where: '' });
  }
  const missing = rows.filter((r) => !r.available);
  if (missing.length > 0 || fromWorker.length === 0) {
    main = await mainThreadHost(onEvent);
    const fromMain = await main.api.backends();
    for (const b of fromMain) {
      const row = rows.find((r) => r.name === b.name);
      if (row && row.available) continue;
      if (b.available) {
        hostOf.set(b.name, main);
        const why = row ? `the Worker could not open it: ${row.reason}` : 'no Worker';
        const entry = { name: b.name, available: true, reason: '', where: `on the main thread; ${why}` };
        if (row) Object.assign(row, entry);
        else rows.push(entry);
      } else if (!row) rows.push({ ...b, where: '' });
    }
  }
  renderBackends(rows);
  const saved = localStorage.getItem(STORAGE_KEY);
  const pick = rows.find((r) => r.available && r.name === saved) ?? rows.find((r) => r.available);
  if (!pick) throw new Error('no tessera backend is available in this browser');
  await switchBackend(pick.name);
}

async function switchBackend(name: string): Promise<void> {
  const host = hostOf.get(name);
  if (!host) throw new Error(`backend ${name} is not available`);
  const select = $<HTMLSelectElement>('backend');
  select.disabled = true;
  try {
    // A reduced model moves along as a checkpoint when the new backend lives in another host.
    let carried = null;
    if (current && current !== host) {
      const info = await current.api.modelInfo();
      if (info?.kind === 'reduced') carried = await current.api.saveCheckpoint();
    }
    await ensureData(host);
    const real = await host.api.useBackend(name);
    if (carried) await host.api.loadCheckpoint(carried.sidecar, carried.weights, carried.sidecarName);
    else if (current && current !== host) await current.api.resetModel();
    current = host;
    currentBackend = real;
    select.value = name;
    localStorage.setItem(STORAGE_KEY, name);
    const threads = await host.api.threads();
    const on = threads === null ? host.where : `${host.where}, ${threads} thread${threads === 1 ? '' : 's'}`;
    $('backend-note').textContent = `using ${real} (${on}; page ${crossOriginIsolated ? 'cross-origin isolated' : 'not cross-origin isolated'})`;
    await refreshModel();
  } finally {
    select.disabled = false;
  }
}

$<HTMLSelectElement>('backend').addEventListener('change', (e) => void guarded(() => switchBackend((e.target as HTMLSelectElement).value)));

// ---- training ----
const lossData: [number[], number[]] = [[], []];
const accData: [number[], number[], number[]] = [[], [], []];
const chartOpts = (title: string, series: uPlot.Series[]): uPlot.Options => ({
  title,
  width: 360,
  height: 220,
  scales: { x: { time: false } },
  axes: [{ label: 'step' }, {}],
  series: [{ label: 'step' }, ...series],
});
const lossChart = new uPlot(chartOpts('loss', [{ label: 'train loss', stroke: '#c0392b' }]), lossData, $('loss-chart'));
const accChart = new uPlot(
  chartOpts('accuracy', [
    { label: 'batch accuracy', stroke: '#2471a3' },
    { label: 'test accuracy', stroke: '#1e8449', points: { show: true, size: 8 }, spanGaps: true },
  ]),
  accData as unknown as uPlot.AlignedData,
  $('acc-chart'),
);
let chartPending = false;
function redrawCharts(): void {
  if (chartPending) return;
  chartPending = true;
  requestAnimationFrame(() => {
    chartPending = false;
    lossChart.setData(lossData);
    accChart.setData(accData as unknown as uPlot.AlignedData);
  });
}

function drawFilters(shape: number[], values: Float32Array, step: number): void {
  const [out, inC, kh, kw] = shape as [number, number, number, number];
  const canvas = $<HTMLCanvasElement>('filters');
  const ctx = canvas.getContext('2d')!;
  const cols = Math.ceil(Math.sqrt(out));
  const rows = Math.ceil(out / cols);
  const cell = Math.floor(Math.min(canvas.width / cols, canvas.height / rows));
  const px = Math.max(1, Math.floor((cell - 2) / Math.max(kh, kw)));
  ctx.fillStyle = '#222';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  for (let f = 0; f < out; f++) {
    const base = f * inC * kh * kw;
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < kh * kw; i++) {
      lo = Math.min(lo, values[base + i]!);
      hi = Math.max(hi, values[base + i]!);
    }
    const range = hi - lo || 1;
    const x0 = (f % cols) * cell + 1;
    const y0 = Math.floor(f / cols) * cell + 1;
    for (let y = 0; y < kh; y++) {
      for (let x = 0; x < kw; x++) {
        const v = Math.round(((values[base + y * kw + x]! - lo) / range) * 255);
        ctx.fillStyle = `rgb(${v},${v},${v})`;
        ctx.fillRect(x0 + x * px, y0 + y * px, px, px);
      }
    }
  }
  $('filters-caption').textContent = `conv1 filters (${out} × ${inC}×${kh}×${kw}) at step ${step}`;
}

let lastStep: Extract<EngineEvent, { type: 'step' }> | null = null;
let trainState = 'idle';
let epochsPlanned = 0;

function renderTrainStatus(): void {
  const s = lastStep;
  const parts = [trainState === 'pausing' ? 'pausing after the step in flight' : trainState];
  if (s) {
    parts.push(
      `epoch ${s.epoch}${epochsPlanned ? `/${epochsPlanned}` : ''}`,
      `step ${s.step}`,
      `loss ${s.loss.toFixed(4)}`,
      `batch accuracy ${(s.accuracy * 100).toFixed(1)}%`,
      `${s.imagesPerSecond.toFixed(0)} images/s`,
      `${s.images}/${s.stepsPerEpoch} batches this epoch`,
    );
  }
  $('train-status').textContent = parts.join(' · ');
}

function setTrainingButtons(state: string): void {
  const running = state === 'running';
  // 'pausing': the step in flight is finishing; Resume cancels the pause.
  const paused = state === 'paused' || state === 'pausing';
  $<HTMLButtonElement>('train').disabled = running || paused;
  $<HTMLButtonElement>('pause').disabled = !running;
  $<HTMLButtonElement>('resume').disabled = !paused;
  $<HTMLButtonElement>('stop').disabled = !(running || paused);
  $<HTMLButtonElement>('reset').disabled = running || paused;
  $<HTMLSelectElement>('backend').disabled = running || paused;
}

let checkRows: HTMLElement | null = null;
function onEvent(e: EngineEvent): void {
  switch (e.type) {
    case 'step':
      lastStep = e;
      lossData[0].push(e.step);
      lossData[1].push(e.loss);
      accData[0].push(e.step);
      accData[1].push(e.accuracy);
      accData[2].push(null as unknown as number);
      $<HTMLProgressElement>('epoch-progress').value = e.images / e.stepsPerEpoch;
      redrawCharts();
      renderTrainStatus();
      break;
    case 'filters':
      drawFilters(e.shape, e.values, e.step);
      break;
    case 'epoch': {
      const row = document.createElement('tr');
      const f = (v: number, text: string) => (Number.isNaN(v) ? '—' : text);
      const cells = [
        e.epoch === 0 ? '0 (start)' : String(e.epoch),
        f(e.trainLoss, e.trainLoss.toFixed(4)),
        f(e.fitLoss, e.fitLoss.toFixed(4)),
        f(e.testAccuracy, `${(e.testAccuracy * 100).toFixed(2)}% of ${e.testCount}`),
        f(e.testLoss, e.testLoss.toFixed(4)),
        f(e.seconds, e.seconds.toFixed(1)),
      ];
      for (const v of cells) {
        const td = document.createElement('td');
        td.textContent = v;
        row.append(td);
      }
      $('epochs-table').append(row);
      if (accData[0].length > 0 && e.epoch > 0) accData[2][accData[2].length - 1] = e.testAccuracy;
      redrawCharts();
      break;
    }
    case 'training':
      trainState = e.state;
      if (e.state === 'failed' && e.message) showError(e.message);
      setTrainingButtons(e.state);
      renderTrainStatus();
      break;
    case 'check': {
      const r = e.result;
      const row = document.createElement('tr');
      row.className = r.ok ? 'ok' : 'no';
      for (const v of [r.name, r.kernels.join(', '), r.ok ? 'pass' : 'FAIL', String(r.runs), r.ms.toFixed(0)]) {
        const td = document.createElement('td');
        td.textContent = v;
        row.append(td);
      }
      (checkRows ?? $('checks')).append(row);
      if (!r.ok && r.detail) {
        const tr = document.createElement('tr');
        const td = document.createElement('td');
        td.colSpan = 5;
        const pre = document.createElement('pre');
        pre.textContent = r.detail;
        td.append(pre);
        tr.append(td);
        (checkRows ?? $('checks')).append(tr);
      }
      $('conformance-status').textContent = `running on ${currentBackend}: ${e.index + 1}/${e.total} checks`;
      break;
    }
  }
}

const num = (id: string) => Number($<HTMLInputElement>(id).value);

$('train').addEventListener(
  'click',
  () =>
    void guarded(async () => {
      if (!current) throw new Error('no backend selected');
      epochsPlanned = num('epochs');
      const base = lastStep?.epoch ?? 0;
      epochsPlanned += trainState === 'idle' ? 0 : base;
      setTrainingButtons('running');
      try {
        await current.api.train({
          epochs: num('epochs'),
          batchSize: num('batch'),
          lr: num('lr'),
          trainLimit: num('train-limit'),
          testLimit: num('test-limit'),
          seed: 1,
        });
      } finally {
        setTrainingButtons(trainState === 'running' ? 'done' : trainState);
        await refreshModel();
      }
    }),
);
$('pause').addEventListener('click', () => void guarded(async () => current?.api.pause()));
$('resume').addEventListener('click', () => void guarded(async () => current?.api.resumeTraining()));
$('stop').addEventListener('click', () => void guarded(async () => current?.api.stop()));
$('reset').addEventListener(
  'click',
  () =>
    void guarded(async () => {
      await current?.api.resetModel();
      lossData.forEach((a) => (a.length = 0));
      accData.forEach((a) => (a.length = 0));
      $('epochs-table').replaceChildren();
      lastStep = null;
      trainState = 'idle';
      redrawCharts();
      renderTrainStatus();
      await refreshModel();
    }),
);

// ---- model, checkpoints, ONNX ----
let model: ModelInfo | null = null;
async function refreshModel(): Promise<void> {
  model = current ? await current.api.modelInfo() : null;
  $('model-status').textContent = model
    ? `Model: ${model.source}; ${model.parameters.toLocaleString('en')} parameters; input ${model.channels}×${model.side}×${model.side}; ${model.trainedSteps} training steps; on ${currentBackend}`
    : 'no model yet: train one, or load a checkpoint or an ONNX file';
}

function download(name: string, data: Uint8Array | string, type: string): void {
  const blob = new Blob([data as BlobPart], { type });
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

$('save').addEventListener(
  'click',
  () =>
    void guarded(async () => {
      if (!current) throw new Error('no backend selected');
      const files = await current.api.saveCheckpoint();
      download(files.weightsName, files.weights, 'application/octet-stream');
      download(files.sidecarName, files.sidecar, 'application/json');
      $('model-status').textContent += ` · saved ${files.sidecarName} + ${files.weightsName}`;
    }),
);

const readBytes = async (f: File) => new Uint8Array(await f.arrayBuffer());

$<HTMLInputElement>('checkpoint').addEventListener(
  'change',
  (e) =>
    void guarded(async () => {
      const input = e.target as HTMLInputElement;
      const files = [...(input.files ?? [])];
      input.value = '';
      const json = files.find((f) => f.name.endsWith('.json'));
      const weights = files.find((f) => f.name.endsWith('.safetensors'));
      if (!json || !weights) throw new Error('pick both files of a checkpoint: the epoch-NNNN.json sidecar and its .safetensors file');
      if (!current) throw new Error('no backend selected');
      await current.api.loadCheckpoint(await json.text(), await readBytes(weights), json.name);
      await refreshModel();
    }),
);

let imagenetNames: string[] | null = null;
$<HTMLInputElement>('onnx').addEventListener(
  'change',
  (e) =>
    void guarded(async () => {
      const input = e.target as HTMLInputElement;
      const file = input.files?.[0];
      input.value = '';
      if (!file || !current) return;
      if (!imagenetNames) {
        const res = await fetch(new URL('./data/imagenet-classes.json', document.baseURI));
        imagenetNames = res.ok ? ((await res.json()) as string[]) : [];
      }
      $('model-status').textContent = `importing ${file.name}…`;
      await current.api.loadOnnx(await readBytes(file), file.name, imagenetNames);
      await refreshModel();
    }),
);

// ---- classify ----
const draw = $<HTMLCanvasElement>('draw');
const dctx = draw.getContext('2d', { willReadFrequently: true })!;
function clearDrawing(): void {
  dctx.fillStyle = '#000';
  dctx.fillRect(0, 0, draw.width, draw.height);
}
clearDrawing();
let drawing = false;
let last: [number, number] | null = null;
const pos = (e: PointerEvent): [number, number] => {
  const r = draw.getBoundingClientRect();
  return [((e.clientX - r.left) / r.width) * draw.width, ((e.clientY - r.top) / r.height) * draw.height];
};
draw.addEventListener('pointerdown', (e) => {
  drawing = true;
  last = pos(e);
  draw.setPointerCapture(e.pointerId);
});
draw.addEventListener('pointermove', (e) => {
  if (!drawing || !last) return;
  const p = pos(e);
  dctx.strokeStyle = '#fff';
  dctx.lineWidth = 18;
  dctx.lineCap = 'round';
  dctx.lineJoin = 'round';
  dctx.beginPath();
  dctx.moveTo(last[0], last[1]);
  dctx.lineTo(p[0], p[1]);
  dctx.stroke();
  last = p;
});
const endStroke = () => {
  if (drawing) {
    drawing = false;
    last = null;
    void guarded(classifyDrawing);
  }
};
draw.addEventListener('pointerup', endStroke);
draw.addEventListener('pointercancel', endStroke);
$('clear').addEventListener('click', clearDrawing);

/** The model's input from a drawable source: resized (shorter side, then a centre crop), gray or RGB bytes. */
function modelInput(source: CanvasImageSource, sw: number, sh: number, invert: boolean): { pixels: Uint8Array; side: number; channels: number } {
  const side = model?.side ?? 28;
  const channels = model?.channels ?? 1;
  const c = document.createElement('canvas');
  c.width = side;
  c.height = side;
  const ctx = c.getContext('2d', { willReadFrequently: true })!;
  ctx.imageSmoothingEnabled = true;
  ctx.imageSmoothingQuality = 'high';
  // torchvision-style for ImageNet models: shorter side to 256/224 of the crop, centre crop; 28×28 models: fit the shorter side.
  const scale = channels === 3 ? (side * 256) / 224 / Math.min(sw, sh) : side / Math.min(sw, sh);
  const cw = side / scale;
  ctx.drawImage(source, (sw - cw) / 2, (sh - cw) / 2, cw, cw, 0, 0, side, side);
  const rgba = ctx.getImageData(0, 0, side, side).data;
  const pixels = new Uint8Array(side * side * channels);
  for (let i = 0; i < side * side; i++) {
    const [r, g, b] = [rgba[4 * i]!, rgba[4 * i + 1]!, rgba[4 * i + 2]!].map((v) => (invert ? 255 - v : v)) as [number, number, number];
    if (channels === 1) pixels[i] = Math.round(0.299 * r + 0.587 * g + 0.114 * b);
    else pixels.set([r, g, b], 3 * i);
  }
  const preview = $<HTMLCanvasElement>('preview');
  preview.width = side;
  preview.height = side;
  preview.getContext('2d')!.putImageData(new ImageData(Uint8ClampedArray.from(rgba.map((v, i) => (i % 4 === 3 ? v : invert ? 255 - v : v))), side, side), 0, 0);
  return { pixels, side, channels };
}

function renderPredictions(preds: Prediction[], what: string): void {
  const ol = $('predictions');
  ol.replaceChildren();
  for (const p of preds) {
    const li = document.createElement('li');
    li.textContent = `${p.name} ${(p.probability * 100).toFixed(2)}%`;
    li.dataset.index = String(p.index);
    li.dataset.probability = String(p.probability);
    ol.append(li);
  }
  ol.dataset.source = what;
  ol.removeAttribute('aria-busy');
  $('pred-source').textContent = `top 5 for ${what}, from ${model?.source ?? 'the model'}`;
}

/** Marks the list as out of date until the new top 5 arrive (data-source names what they are for). */
let classifying = 0;
function predictionsPending(): number {
  const ol = $('predictions');
  delete ol.dataset.source;
  ol.setAttribute('aria-busy', 'true');
  return ++classifying;
}

async function classify(source: CanvasImageSource, sw: number, sh: number, invert: boolean, what: string, request = predictionsPending()): Promise<void> {
  if (!current) throw new Error('no backend selected');
  if (!model) await refreshModel();
  if (!model) throw new Error('no model yet: train one, or load a checkpoint or an ONNX file');
  const input = modelInput(source, sw, sh, invert);
  const top = await current.api.classify(input.pixels, input.side, input.side, input.channels);
  // Only the latest request's answer is shown (a stroke's classification may finish after a newer one started).
  if (request === classifying) renderPredictions(top, what);
}

async function classifyDrawing(): Promise<void> {
  await classify(draw, draw.width, draw.height, false, 'drawing');
}
$('classify-drawing').addEventListener('click', () => void guarded(classifyDrawing));

async function classifyFile(file: File): Promise<void> {
  const request = predictionsPending();
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(file);
  } catch {
    throw new Error(`${file.name} is not an image this browser can decode`);
  }
  await classify(bitmap, bitmap.width, bitmap.height, $<HTMLInputElement>('invert').checked, file.name, request);
  bitmap.close();
}
$<HTMLInputElement>('image').addEventListener(
  'change',
  (e) =>
    void guarded(async () => {
      const input = e.target as HTMLInputElement;
      const file = input.files?.[0];
      input.value = ''; // picking the same file again classifies it again
      if (file) await classifyFile(file);
    }),
);
const drop = $('drop');
drop.addEventListener('dragover', (e) => {
  e.preventDefault();
  drop.classList.add('over');
});
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (e) => {
  e.preventDefault();
  drop.classList.remove('over');
  const file = e.dataTransfer?.files[0];
  if (file) void guarded(() => classifyFile(file));
});

// ---- data ----
$<HTMLInputElement>('idx-files').addEventListener(
  'change',
  (e) =>
    void guarded(async () => {
      const input = e.target as HTMLInputElement;
      const files = await Promise.all([...(input.files ?? [])].map(async (f) => ({ name: f.name, bytes: await readBytes(f) })));
      input.value = '';
      await setData({ kind: 'files', files });
    }),
);
$('use-synthetic').addEventListener('click', () => void guarded(() => setData({ kind: 'synthetic' })));

// ---- conformance ----
$('conformance').addEventListener(
  'click',
  () =>
    void guarded(async () => {
      if (!current) throw new Error('no backend selected');
      const button = $<HTMLButtonElement>('conformance');
      button.disabled = true;
      $('checks').replaceChildren();
      checkRows = $('checks');
      const status = $('conformance-status');
      status.textContent = `running on ${currentBackend}…`;
      try {
        const results = await current.api.conformance(num('runs'));
        const failed = results.filter((r) => !r.ok).length;
        status.textContent = `${currentBackend}, ${num('runs')} runs per check: ${results.length - failed} passed, ${failed} failed`;
      } catch (err) {
        status.textContent = `${currentBackend}: the run did not finish (${(err as Error).message}): 0 passed, 1 failed`;
        throw err;
      } finally {
        button.disabled = false;
      }
    }),
);

// ---- timing ----
$('time').addEventListener(
  'click',
  () =>
    void guarded(async () => {
      const button = $<HTMLButtonElement>('time');
      button.disabled = true;
      const status = $('time-status');
      try {
        const backends = $<HTMLInputElement>('time-all').checked ? [...hostOf.keys()] : [currentBackend];
        const variants = (['reduced', 'torchvision'] as const).filter((v) => $<HTMLInputElement>(`time-${v}`).checked);
        const batch = num('time-batch');
        const reps = num('time-reps');
        let done = 0;
        for (const b of backends) {
          for (const v of variants) {
            status.textContent = `timing ${v} AlexNet on ${b} at batch ${batch}…`;
            const t = await hostOf.get(b)!.api.time(b, v, batch, reps);
            const row = document.createElement('tr');
            for (const x of [
              t.backend,
              `${t.variant} AlexNet`,
              String(t.batch),
              t.forwardMs.toFixed(1),
              t.trainStepMs.toFixed(1),
              ((t.batch * 1000) / t.trainStepMs).toFixed(1),
            ]) {
              const td = document.createElement('td');
              td.textContent = x;
              row.append(td);
            }
            $('timings').append(row);
            done++;
          }
        }
        status.textContent = `${done} timings done (mean of ${reps} after a warm-up)`;
      } finally {
        button.disabled = false;
      }
    }),
);

renderTrainStatus();
void guarded(discoverBackends);
