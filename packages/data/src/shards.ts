/**
 * The preprocessing cache: every image of a dataset decoded once (for ImageNet: shorter side 256, centre
 * 256×256 crop) and written as raw uint8 records into binary shards, so later epochs skip JPEG decoding.
 *
 * A shard directory holds `shard-NNNNN.bin` files of fixed-size records (height × width × channels bytes, HWC)
 * and `index.json`: the image shape, each shard's record count, byte length and CRC-32, and per record its label,
 * CRC-32 and source path, plus the images skipped while writing. `index.json` is written last (and renamed into
 * place), so an interrupted pass leaves no usable-looking cache behind.
 *
 * Opening verifies every shard's length, and by default its CRC-32 (reading the whole cache once); every record
 * read is checked against its own CRC-32, so corruption after opening becomes a counted skip.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdir, open, rename, rm, writeFile, type FileHandle } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { TesseraError } from '@tessera/tensor';
import { crc32 } from './crc32.js';
import { checkIndex, runnableModuleUrl, type Dataset, type ImageNote, type Item, type WorkerSpec } from './dataset.js';
import { forEachOrdered } from './ordered.js';
import { toShared } from './shared.js';

export const SHARD_FORMAT = 'tessera-image-shards';
export const SHARD_VERSION = 1;

interface ShardEntry {
  file: string;
  first: number;
  count: number;
  bytes: number;
  crc32: number;
}

export interface ShardIndex {
  format: typeof SHARD_FORMAT;
  version: number;
  height: number;
  width: number;
  channels: number;
  count: number;
  numClasses: number;
  classNames?: string[];
  recordBytes: number;
  recordsPerShard: number;
  shards: ShardEntry[];
  labels: number[];
  recordCrc32: number[];
  sources: string[];
  skipped: { index: number; source: string; reason: string }[];
  notes: { index: number; source: string; notes: ImageNote[] }[];
}

export interface WriteShardsOptions {
  /** Directory to write (created; must not already hold a shard index unless `overwrite`). */
  readonly dir: string;
  /** Records per shard file (default: as many as fit in 1 GiB). */
  readonly recordsPerShard?: number;
  /** Images read and decoded at once (default 4). */
  readonly concurrency?: number;
  readonly overwrite?: boolean;
  /** Called after each image with (done, total). */
  readonly onProgress?: (done: number, total: number) => void;
}

export interface WriteShardsReport {
  readonly dir: string;
  readonly written: number;
  readonly skipped: ShardIndex['skipped'];
  readonly notes: ShardIndex['notes'];
  readonly shards: number;
}

const OP_WRITE = 'writeShards';
const OP_OPEN = 'openShards';

function shardName(k: number): string {
  return `shard-${String(k).padStart(5, '0')}.bin`;
}

/** Decodes every image of `dataset` once and writes the shard cache (see the module comment). */
export async function writeShards(dataset: Dataset, options: WriteShardsOptions): Promise<WriteShardsReport> {
  const shape = dataset.imageShape;
  if (!shape) throw new TesseraError(OP_WRITE, 'the dataset has images of different sizes; shards need one size (e.g. openImagenet resizes to 256×256)');
  const [height, width, channels] = shape;
  const recordBytes = height * width * channels;
  const perShard = options.recordsPerShard ?? Math.max(1, Math.floor(2 ** 30 / recordBytes));
  if (!Number.isInteger(perShard) || perShard < 1) throw new TesseraError(OP_WRITE, `recordsPerShard must be a positive integer, got ${perShard}`);
  const concurrency = options.concurrency ?? 4;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new TesseraError(OP_WRITE, `concurrency must be a positive integer, got ${concurrency}`);
  const dir = resolve(options.dir);
  await mkdir(dir, { recursive: true });
  const indexPath = join(dir, 'index.json');
  if (existsSync(indexPath)) {
    if (!options.overwrite) throw new TesseraError(OP_WRITE, `${dir} already holds a shard cache (index.json); pass overwrite: true to replace it`);
    await rm(indexPath);
  }

  const index: ShardIndex = {
    format: SHARD_FORMAT,
    version: SHARD_VERSION,
    height,
    width,
    channels,
    count: 0,
    numClasses: dataset.numClasses,
    ...(dataset.classNames ? { classNames: [...dataset.classNames] } : {}),
    recordBytes,
    recordsPerShard: perShard,
    shards: [],
    labels: [],
    recordCrc32: [],
    sources: [],
    skipped: [],
    notes: [],
  };
  let handle: FileHandle | null = null;
  let current: ShardEntry | null = null;
  const closeShard = async () => {
    if (!handle || !current) return;
    await handle.close();
    await rename(join(dir, `${current.file}.tmp`), join(dir, current.file));
    index.shards.push(current);
    handle = null;
    current = null;
  };
  const all = Int32Array.from({ length: dataset.length }, (_, i) => i);
  try {
    await forEachOrdered(
      all,
      concurrency,
      async (i): Promise<Item> => {
        try {
          return await dataset.get(i);
        } catch (e) {
          return { ok: false, reason: (e as Error).message };
        }
      },
      async (item, i, k) => {
        let reason: string | null = item.ok ? null : item.reason;
        if (item.ok && (item.image.height !== height || item.image.width !== width || item.image.channels !== channels)) {
          reason = `image is ${item.image.height}×${item.image.width}×${item.image.channels}, expected ${height}×${width}×${channels}`;
        } else if (item.ok && (!Number.isInteger(item.label) || item.label < 0 || item.label >= dataset.numClasses)) {
          reason = `label ${item.label} is outside [0, ${dataset.numClasses})`;
        }
        if (!item.ok || reason !== null) {
          index.skipped.push({ index: i, source: dataset.source(i), reason: reason ?? 'unreadable' });
        } else {
          if (!current) {
            current = { file: shardName(index.shards.length), first: index.count, count: 0, bytes: 0, crc32: 0 };
            handle = await open(join(dir, `${current.file}.tmp`), 'w');
          }
          const data = item.image.data;
          await handle!.write(data, 0, data.length);
          current.crc32 = crc32(data, current.crc32);
          current.count++;
          current.bytes += data.length;
          index.labels.push(item.label);
          index.recordCrc32.push(crc32(data));
          index.sources.push(dataset.source(i));
          if (item.notes && item.notes.length > 0) index.notes.push({ index: index.count, source: dataset.source(i), notes: [...item.notes] });
          index.count++;
          if (current.count === perShard) await closeShard();
        }
        options.onProgress?.(k + 1, all.length);
      },
    );
    await closeShard();
  } catch (e) {
    if (handle) await (handle as FileHandle).close().catch(() => {});
    throw e;
  }
  if (index.count === 0) {
    throw new TesseraError(
      OP_WRITE,
      `no image of the dataset could be read (${index.skipped.length} skipped; first: ${index.skipped[0]?.source}: ${index.skipped[0]?.reason})`,
    );
  }
  await writeFile(`${indexPath}.tmp`, JSON.stringify(index));
  await rename(`${indexPath}.tmp`, indexPath);
  return { dir, written: index.count, skipped: index.skipped, notes: index.notes, shards: index.shards.length };
}

function fail(dir: string, what: string): never {
  throw new TesseraError(OP_OPEN, `${dir}: ${what}`);
}

/** Reads and checks index.json (structure and consistency). */
function readIndex(dir: string): ShardIndex {
  const indexPath = join(dir, 'index.json');
  if (!existsSync(dir)) fail(dir, 'the shard directory does not exist');
  if (!existsSync(indexPath)) fail(dir, 'no index.json: not a shard cache, or the preprocessing pass did not finish');
  let index: ShardIndex;
  try {
    index = JSON.parse(readFileSync(indexPath, 'utf8')) as ShardIndex;
  } catch (e) {
    fail(dir, `index.json is unreadable or corrupt (${(e as Error).message})`);
  }
  if (index?.format !== SHARD_FORMAT) fail(dir, `index.json is not a ${SHARD_FORMAT} index`);
  if (index.version !== SHARD_VERSION) fail(dir, `index.json has version ${index.version}; this package reads version ${SHARD_VERSION}`);
  const { height, width, channels, count, recordBytes } = index;
  for (const [k, v] of Object.entries({ height, width, channels, numClasses: index.numClasses, recordsPerShard: index.recordsPerShard })) {
    if (!Number.isInteger(v) || (v as number) < 1) fail(dir, `index.json: ${k} is ${v}`);
  }
  if (recordBytes !== height * width * channels) fail(dir, `index.json: recordBytes ${recordBytes} ≠ ${height}×${width}×${channels}`);
  if (!Number.isInteger(count) || count < 1) fail(dir, `index.json: count is ${count}`);
  for (const k of ['labels', 'recordCrc32', 'sources'] as const) {
    if (!Array.isArray(index[k]) || index[k].length !== count)
      fail(dir, `index.json: ${k} has ${Array.isArray(index[k]) ? index[k].length : 'no'} entries for ${count} records`);
  }
  let first = 0;
  index.shards.forEach((s, k) => {
    if (s.first !== first || s.count < 1 || s.bytes !== s.count * recordBytes || s.file !== shardName(k))
      fail(dir, `index.json: shard entry ${k} is inconsistent`);
    if (k < index.shards.length - 1 && s.count !== index.recordsPerShard)
      fail(dir, `index.json: shard ${s.file} holds ${s.count} records, expected ${index.recordsPerShard}`);
    first += s.count;
  });
  if (first !== count) fail(dir, `index.json: the shards hold ${first} records, the index lists ${count}`);
  return index;
}

export interface OpenShardsOptions {
  /**
   * `full` (default): check every shard's length and CRC-32 (reads the whole cache once).
   * `length`: check lengths only (records are still checked one by one as they are read).
   */
  readonly verify?: 'full' | 'length';
}

interface ShardSpecArgs {
  dir: string;
  height: number;
  width: number;
  channels: number;
  numClasses: number;
  recordsPerShard: number;
  files: string[];
  labels: Int32Array;
  recordCrc32: Uint32Array;
}

/** A shard cache as a Dataset: `get` reads one record and checks its CRC-32. */
export class ShardDataset implements Dataset {
  readonly length: number;
  readonly numClasses: number;
  readonly imageShape: readonly [number, number, number];
  readonly classNames: readonly string[] | undefined;
  readonly labels: Int32Array;
  /** Images skipped when the cache was written (source and reason). */
  readonly skippedWhenWritten: ShardIndex['skipped'];
  /** Notes recorded when the cache was written (record index, source, e.g. cmyk). */
  readonly notesWhenWritten: ShardIndex['notes'];
  private readonly args: ShardSpecArgs;
  private readonly sources: readonly string[] | null;
  private readonly handles = new Map<number, Promise<FileHandle>>();

  /** @internal Use openShards. */
  constructor(args: ShardSpecArgs, index?: ShardIndex) {
    this.args = args;
    this.length = args.labels.length;
    this.numClasses = args.numClasses;
    this.imageShape = [args.height, args.width, args.channels];
    this.labels = args.labels;
    this.classNames = index?.classNames;
    this.sources = index?.sources ?? null;
    this.skippedWhenWritten = index?.skipped ?? [];
    this.notesWhenWritten = index?.notes ?? [];
  }

  source(index: number): string {
    checkIndex('ShardDataset.source', index, this.length);
    const where = `${join(this.args.dir, this.args.files[Math.floor(index / this.args.recordsPerShard)]!)} record ${index % this.args.recordsPerShard}`;
    return this.sources ? `${this.sources[index]} (${where})` : where;
  }

  private handle(shard: number): Promise<FileHandle> {
    let h = this.handles.get(shard);
    if (!h) {
      h = open(join(this.args.dir, this.args.files[shard]!), 'r');
      h.catch(() => this.handles.delete(shard));
      this.handles.set(shard, h);
    }
    return h;
  }

  async get(index: number): Promise<Item> {
    checkIndex('ShardDataset.get', index, this.length);
    const { height, width, channels, recordsPerShard } = this.args;
    const bytes = height * width * channels;
    const shard = Math.floor(index / recordsPerShard);
    const data = new Uint8Array(bytes);
    try {
      const fh = await this.handle(shard);
      const { bytesRead } = await fh.read(data, 0, bytes, (index % recordsPerShard) * bytes);
      if (bytesRead !== bytes) return { ok: false, reason: `record is cut short: read ${bytesRead} of ${bytes} bytes (the shard was truncated after opening)` };
    } catch (e) {
      return { ok: false, reason: `cannot read the shard: ${(e as Error).message}` };
    }
    if (crc32(data) !== this.args.recordCrc32[index]) return { ok: false, reason: 'the record fails its CRC-32 check (the shard is corrupt)' };
    return { ok: true, image: { data, height, width, channels }, label: this.labels[index]! };
  }

  /** Closes the open shard files. */
  async close(): Promise<void> {
    const hs = [...this.handles.values()];
    this.handles.clear();
    await Promise.all(hs.map(async (h) => (await h).close().catch(() => {})));
  }

  workerSpec(): WorkerSpec {
    return { module: runnableModuleUrl(import.meta.url), exportName: 'shardsFromSpec', args: this.args };
  }
}

/** @internal The worker-thread side of ShardDataset.workerSpec. */
export function shardsFromSpec(args: ShardSpecArgs): ShardDataset {
  return new ShardDataset(args);
}

/** Opens a shard cache, verifying it (see OpenShardsOptions). */
export async function openShards(dir: string, options: OpenShardsOptions = {}): Promise<ShardDataset> {
  const root = resolve(dir);
  const index = readIndex(root);
  const verify = options.verify ?? 'full';
  if (verify !== 'full' && verify !== 'length') throw new TesseraError(OP_OPEN, `verify must be "full" or "length", got ${JSON.stringify(verify)}`);
  for (const s of index.shards) {
    const path = join(root, s.file);
    let size: number;
    try {
      size = statSync(path).size;
    } catch {
      fail(root, `${s.file} is missing`);
    }
    if (size !== s.bytes) fail(root, `${s.file} is ${size} bytes, expected ${s.bytes} (${s.count} records of ${index.recordBytes}): truncated or overwritten`);
  }
  if (verify === 'full') {
    const chunk = new Uint8Array(8 * 2 ** 20);
    for (const s of index.shards) {
      const fh = await open(join(root, s.file), 'r');
      let crc = 0;
      try {
        for (let pos = 0; pos < s.bytes;) {
          const { bytesRead } = await fh.read(chunk, 0, Math.min(chunk.length, s.bytes - pos), pos);
          if (bytesRead === 0) fail(root, `${s.file} ended early while verifying`);
          crc = crc32(chunk.subarray(0, bytesRead), crc);
          pos += bytesRead;
        }
      } finally {
        await fh.close();
      }
      if (crc !== s.crc32)
        fail(root, `${s.file} fails its CRC-32 check (0x${crc.toString(16)} ≠ 0x${(s.crc32 >>> 0).toString(16)}): the shard is corrupt; rewrite the cache`);
    }
  }
  const labels = toShared(Int32Array.from(index.labels));
  const bad = labels.findIndex((l) => !(l >= 0 && l < index.numClasses));
  if (bad >= 0) fail(root, `index.json: record ${bad} has label ${index.labels[bad]}, outside [0, ${index.numClasses})`);
  const args: ShardSpecArgs = {
    dir: root,
    height: index.height,
    width: index.width,
    channels: index.channels,
    numClasses: index.numClasses,
    recordsPerShard: index.recordsPerShard,
    files: index.shards.map((s) => s.file),
    labels,
    recordCrc32: toShared(Uint32Array.from(index.recordCrc32)),
  };
  return new ShardDataset(args, index);
}
