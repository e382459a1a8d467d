/**
 * PyTorch checkpoints without Python: `torch.save` archives (the zip format of PyTorch ≥ 1.6, and the legacy
 * format older versions wrote — see readLegacy) read into plain values with tessera Tensors at the leaves. The archive is `<name>/data.pkl` (a pickle of the saved object whose
 * tensors refer to storages by persistent id), `<name>/data/<key>` (each storage's raw bytes), `<name>/version`
 * and, since PyTorch 2.1, `<name>/byteorder`. The pickle is read by the restricted unpickler of pickle.ts, which
 * executes nothing; see there for what it accepts.
 *
 * Storages are converted to tessera dtypes: float32 stays float32; float16 and bfloat16 become float32 (exact);
 * float64 stays float64 (or is rounded to float32 with `float64: 'float32'`); int64, int32, int16, int8, uint8 and
 * bool become int32 (int64 values outside the int32 range are an error naming the tensor). Every conversion other
 * than float32 → float32 and int32 → int32 is reported through `onConvert` (and `loadTorchStateDict` lists them).
 * Views (storage offsets, strides) are honoured; tensors sharing a storage become independent tensors (tessera
 * tensors never alias).
 */
import type { Backend } from '../../backend/backend.js';
import { getBackend, initialisedBackend } from '../../backend/registry.js';
import type { DType, TypedArray } from '../../dtype.js';
import { TesseraError, fmtShape } from '../../errors.js';
import { Tensor } from '../../tensor.js';
import { nodeFiles } from '../files.js';
import { f16BitsToNumber } from '../half.js';
import {
  PickleDict,
  PickleGlobal,
  PickleTuple,
  STORAGE_ELEMENT_BYTES,
  STORAGE_TYPES,
  describe,
  unpickle,
  type PickleValue,
  type StorageDtype,
  type StorageRef,
  type TensorRef,
} from './pickle.js';
import { ZipReader, type ZipEntry } from './zip.js';

export type { StorageDtype } from './pickle.js';

/** A dict key as Python checkpoints use them. */
export type TorchKey = string | number | bigint | boolean | null;

/**
 * What a checkpoint holds: tensors, Python scalars (int → number, or bigint beyond 2^53; float → number),
 * strings, bytes, None → null, lists → arrays, tuples → frozen arrays, dicts and OrderedDicts → TorchDict.
 */
export type TorchValue = Tensor | string | number | bigint | boolean | null | Uint8Array | TorchValue[] | readonly TorchValue[] | TorchDict;

/** A Python dict or OrderedDict, in insertion order. */
export class TorchDict extends Map<TorchKey, TorchValue> {
  /** Whether it was a collections.OrderedDict (a state dict is). */
  ordered = false;
  /** Attributes the pickle set on it: a state dict's `_metadata` (per-module versions), or null. */
  attributes: TorchDict | null = null;
}

/** One storage conversion: which tensor, from what element type, to what tessera dtype, and whether exact. */
export interface TorchConversion {
  /** The tensor's place in the saved object, e.g. `state_dict.features.0.weight` (`[i]` for list items). */
  path: string;
  from: StorageDtype;
  to: DType;
  /** false only for float64 → float32 (rounded); integer conversions are range-checked, 16-bit floats widen exactly. */
  exact: boolean;
}

export interface LoadTorchOptions {
  /** Backend to create the tensors on (initialised); the current backend when omitted. */
  backend?: string;
  /** float64 storages: keep them float64 (default; the backend must hold float64) or round them to float32. */
  float64?: 'keep' | 'float32';
  /** Called once per tensor whose dtype changed on the way in. */
  onConvert?: (c: TorchConversion) => void;
}

/** A state dict: parameter and buffer names → tensors, and how the file's dtypes were converted. */
export class TorchStateDict extends Map<string, Tensor> {
  conversions: TorchConversion[] = [];
  /** Where in the file the state dict was found: '' (the top level), 'state_dict', 'model', … */
  foundAt = '';
  /** Disposes every tensor and empties the map. */
  dispose(): void {
    for (const t of this.values()) t.dispose();
    this.clear();
  }
}

const MAX_DEPTH = 200;
/** A view may repeat storage elements (stride 0), but not into an absurd allocation. */
const MAX_REPEATED_NUMEL = 1 << 26;
const MAX_NUMEL = 2 ** 31 - 1;
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Reads a `torch.save` file (a path, in Node) or its bytes and returns what was saved, tensors at the leaves. */
export async function loadTorch(source: string | Uint8Array, opts: LoadTorchOptions = {}): Promise<TorchValue> {
  const op = 'loadTorch';
  if (typeof source === 'string') {
    if (source.length === 0) throw new TesseraError(op, 'path must be a non-empty string');
    const { fs } = await nodeFiles(op);
    let bytes: Uint8Array;
    try {
      bytes = await fs.readFile(source);
    } catch (err) {
      throw new TesseraError(op, `cannot read ${source}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    try {
      return await parseTorch(bytes, opts, op);
    } catch (err) {
      if (err instanceof TesseraError && err.op === op) throw new TesseraError(op, `${source}: ${err.message.slice(op.length + 2)}`, { cause: err });
      throw err;
    }
  }
  if (!(source instanceof Uint8Array)) throw new TesseraError(op, `expects a path or a Uint8Array, got ${source === null ? 'null' : typeof source}`);
  return parseTorch(source, opts, op);
}

/**
 * `loadTorch`, then `torchStateDict`: the state dict of a checkpoint (at the top level or under `state_dict`,
 * `model`, `model_state_dict`, …), with the conversions made. Tensors elsewhere in the file are disposed.
 */
export async function loadTorchStateDict(source: string | Uint8Array, opts: LoadTorchOptions = {}): Promise<TorchStateDict> {
  const conversions: TorchConversion[] = [];
  const value = await loadTorch(source, { ...opts, onConvert: (c) => (conversions.push(c), opts.onConvert?.(c)) });
  let sd: TorchStateDict;
  try {
    sd = torchStateDict(value);
  } catch (err) {
    disposeTorchValue(value);
    throw err;
  }
  const kept = new Set(sd.values());
  disposeTorchValue(value, kept);
  const prefix = sd.foundAt === '' ? '' : `${sd.foundAt}.`;
  sd.conversions = conversions.filter((c) => c.path.startsWith(prefix)).map((c) => ({ ...c, path: c.path.slice(prefix.length) }));
  return sd;
}

const STATE_DICT_KEYS = ['state_dict', 'model_state_dict', 'model', 'module', 'net', 'network', 'weights', 'params'];

/**
 * The state dict inside a loaded checkpoint: the value itself when it is a dict of tensors, else the dict of
 * tensors under one of `state_dict`, `model_state_dict`, `model`, `module`, `net`, `network`, `weights` or
 * `params` (the first present, searched one level deep and then inside that). The returned map shares the
 * tensors (it does not copy them). A TesseraError describes what was found otherwise.
 */
export function torchStateDict(value: TorchValue): TorchStateDict {
  const op = 'torchStateDict';
  const asStateDict = (v: TorchValue | undefined): Map<TorchKey, TorchValue> | null => {
    if (!(v instanceof Map) || v.size === 0) return null;
    for (const [k, x] of v) if (typeof k !== 'string' || !(x instanceof Tensor)) return null;
    return v;
  };
  const found = (m: Map<TorchKey, TorchValue>, at: string): TorchStateDict => {
    const sd = new TorchStateDict();
    for (const [k, t] of m) sd.set(k as string, t as Tensor);
    sd.foundAt = at;
    return sd;
  };
  const top = asStateDict(value);
  if (top) return found(top, '');
  if (value instanceof Map) {
    for (const k of STATE_DICT_KEYS) {
      const inner = asStateDict(value.get(k));
      if (inner) return found(inner, k);
    }
    for (const k of STATE_DICT_KEYS) {
      const v = value.get(k);
      if (v instanceof Map) {
        for (const k2 of STATE_DICT_KEYS) {
          const inner = asStateDict(v.get(k2));
          if (inner) return found(inner, `${k}.${k2}`);
        }
      }
    }
  }
  throw new TesseraError(
    op,
    `found no state dict (a dict of name → tensor, at the top level or under ${STATE_DICT_KEYS.map((k) => `'${k}'`).join(', ')}); the file holds ${summarise(value)}`,
  );
}

/** Disposes every tensor in a loaded value (except those in `keep`). */
export function disposeTorchValue(value: TorchValue, keep?: ReadonlySet<Tensor>): void {
  const seen = new Set<object>();
  const walk = (v: TorchValue): void => {
    if (v instanceof Tensor) {
      if (!keep?.has(v) && !v.isDisposed) v.dispose();
      return;
    }
    if (v === null || typeof v !== 'object' || v instanceof Uint8Array || seen.has(v)) return;
    seen.add(v);
    if (v instanceof Map) for (const x of v.values()) walk(x);
    else for (const x of v) walk(x);
  };
  walk(value);
}

function summarise(v: TorchValue, depth = 0): string {
  if (v instanceof Tensor) return `a tensor ${fmtShape(v.shape)}`;
  if (v instanceof Map) {
    const keys = [...v.keys()].slice(0, 8).map((k) => (typeof k === 'string' ? `'${k}'` : String(k)));
    if (depth > 0) return `a dict of ${v.size} entries`;
    const parts = [...v.entries()].slice(0, 8).map(([k, x]) => `${typeof k === 'string' ? `'${k}'` : String(k)}: ${summarise(x, depth + 1)}`);
    return v.size === 0 ? 'an empty dict' : `a dict with keys ${keys.join(', ')}${v.size > 8 ? ', …' : ''} (${parts.join('; ')})`;
  }
  if (Array.isArray(v)) return `a ${Object.isFrozen(v) ? 'tuple' : 'list'} of ${v.length}`;
  if (v === null) return 'None';
  if (v instanceof Uint8Array) return `${v.length} bytes`;
  return `a ${typeof v}`;
}

const STORAGE_TO_DTYPE: Record<StorageDtype, DType> = {
  float32: 'float32',
  float64: 'float64',
  float16: 'float32',
  bfloat16: 'float32',
  int64: 'int32',
  int32: 'int32',
  int16: 'int32',
  int8: 'int32',
  uint8: 'int32',
  bool: 'int32',
};

/** The magic number legacy (pre-1.6) torch.save files start with, after PROTO 2 and LONG1 10. */
const LEGACY_MAGIC = [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];

/** Whether the bytes are a zip archive (else the legacy format; checkMagic has refused everything else). */
function checkMagic(bytes: Uint8Array, op: string): void {
  if (bytes.length === 0) throw new TesseraError(op, 'the file is empty');
  if (bytes[0] === 0x50 && bytes[1] === 0x4b && ((bytes[2] === 3 && bytes[3] === 4) || (bytes[2] === 5 && bytes[3] === 6))) return;
  if (LEGACY_MAGIC.every((b, i) => bytes[i] === b)) return;
  if (bytes.length >= 9 && bytes[8] === 0x7b && bytes[4] === 0 && bytes[5] === 0 && bytes[6] === 0 && bytes[7] === 0) {
    throw new TesseraError(op, 'this looks like a safetensors file (a length-prefixed JSON header), not a torch.save archive: use loadSafetensors');
  }
  if (bytes[0] === 0x80) throw new TesseraError(op, 'this is a bare pickle, not a torch.save zip archive (PyTorch ≥ 1.6 writes a zip starting with "PK")');
  const head = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
  throw new TesseraError(op, `not a torch.save archive: it starts with bytes ${head}, not a zip's "PK\\x03\\x04"`);
}

/** Parses the bytes of a `torch.save` archive (see loadTorch). */
export async function parseTorch(bytes: Uint8Array, opts: LoadTorchOptions = {}, op = 'parseTorch'): Promise<TorchValue> {
  if (!(bytes instanceof Uint8Array)) throw new TesseraError(op, `expects a Uint8Array, got ${typeof bytes}`);
  checkMagic(bytes, op);
  const { root, raw, bigEndian } = bytes[0] === 0x80 ? readLegacy(bytes, op) : await readZip(bytes, op);
  const backend: Backend = opts.backend === undefined ? getBackend() : initialisedBackend(opts.backend, op);
  const conv = new Converter(raw, backend, opts, bigEndian, op);
  try {
    return conv.value(root, '', 0);
  } catch (err) {
    for (const t of conv.created) t.dispose();
    throw err;
  }
}

async function readZip(bytes: Uint8Array, op: string): Promise<Archive> {
  const zip = new ZipReader(bytes, op);
  const pkls = [...zip.entries.keys()].filter((n) => /^[^/]+\/data\.pkl$/.test(n) || n === 'data.pkl');
  if (pkls.length === 0) {
    const names = [...zip.entries.keys()];
    if (names.some((n) => n.endsWith('/constants.pkl') || n.includes('/code/'))) {
      throw new TesseraError(
        op,
        "this is a TorchScript archive (torch.jit.save) without a data.pkl state; save the model's state_dict() with torch.save instead",
      );
    }
    throw new TesseraError(
      op,
      `the zip has no <name>/data.pkl entry, so it is not a torch.save archive (entries: ${names.slice(0, 6).join(', ')}${names.length > 6 ? ', …' : ''})`,
    );
  }
  if (pkls.length > 1) throw new TesseraError(op, `the zip has ${pkls.length} data.pkl entries (${pkls.join(', ')}); a torch.save archive has one`);
  const prefix = pkls[0]!.slice(0, -'data.pkl'.length);
  let bigEndian = false;
  const bo = zip.entries.get(`${prefix}byteorder`);
  if (bo) {
    const s = new TextDecoder().decode(await zip.read(bo)).trim();
    if (s !== 'little' && s !== 'big') throw new TesseraError(op, `${prefix}byteorder says '${s.slice(0, 20)}', not 'little' or 'big'`);
    bigEndian = s === 'big';
  }
  const pkl = await zip.read(zip.entries.get(pkls[0]!)!);
  const storages = new Map<string, StorageRef>();
  const root = unpickle(pkl, {
    op,
    persistentLoad: (pid) => {
      const s = storageRef(pid, op);
      const seen = storages.get(s.key);
      if (seen) {
        if (seen.dtype !== s.dtype) throw new TesseraError(op, `storage '${s.key}' is referenced as both ${seen.dtype} and ${s.dtype}`);
        return seen;
      }
      if (!zip.entries.has(`${prefix}data/${s.key}`)) {
        throw new TesseraError(
          op,
          `data.pkl refers to storage '${s.key}' but the archive has no ${prefix}data/${s.key}: the file is truncated or was assembled wrongly`,
        );
      }
      storages.set(s.key, s);
      return s;
    },
  });
  // Every referenced storage, read and size-checked before any tensor is created.
  const raw = new Map<string, Uint8Array>();
  for (const s of storages.values()) {
    const entry: ZipEntry = zip.entries.get(`${prefix}data/${s.key}`)!;
    const want = s.numel * STORAGE_ELEMENT_BYTES[s.dtype];
    if (entry.uncompressedSize !== want) {
      throw new TesseraError(op, `storage '${s.key}' (${s.numel} × ${s.dtype}) needs ${want} bytes but ${entry.name} holds ${entry.uncompressedSize}`);
    }
    raw.set(s.key, await zip.read(entry));
  }
  return { root, raw, bigEndian };
}

interface Archive {
  root: PickleValue;
  raw: Map<string, Uint8Array>;
  bigEndian: boolean;
}

/** The magic number that starts a legacy file, as its first pickle holds it. */
const LEGACY_MAGIC_NUMBER = 0x1950a86a20f9469cfc6cn;

/**
 * The legacy format (PyTorch < 1.6, or `_use_new_zipfile_serialization=False`): five pickles back to back — the
 * magic number, the protocol version (1001), sys_info, the object (persistent ids ('storage', type, key,
 * location, numel, view_metadata)), the list of storage keys — then each storage as an int64 element count and its
 * bytes, in that list's order.
 */
function readLegacy(bytes: Uint8Array, op: string): Archive {
  let pos = 0;
  const noStorage = (): never => {
    throw new TesseraError(op, 'a legacy header pickle refers to a storage');
  };
  const next = (where: string, persistentLoad: (pid: PickleValue) => StorageRef = noStorage): PickleValue => {
    if (pos >= bytes.length) throw new TesseraError(op, `the legacy file ends before its ${where}: it is truncated`);
    let end = 0;
    const v = unpickle(bytes.subarray(pos), { op, where: `the legacy ${where} pickle`, persistentLoad, onEnd: (e) => (end = e) });
    pos += end;
    return v;
  };
  const magic = next('magic number');
  if (magic !== LEGACY_MAGIC_NUMBER) throw new TesseraError(op, "the legacy file does not start with torch.save's magic number");
  const version = next('protocol version');
  if (version !== 1001) throw new TesseraError(op, `legacy protocol version ${String(version)}; supported: 1001`);
  const sys = next('sys_info');
  let bigEndian = false;
  if (sys instanceof PickleDict && sys.get('little_endian') === false) bigEndian = true;
  const storages = new Map<string, StorageRef>();
  const root = next('object', (pid) => {
    if (!(pid instanceof PickleTuple) || pid.items.length !== 6) return storageRef(pid, op);
    const view = pid.items[5];
    if (view !== null)
      throw new TesseraError(op, 'the legacy file uses storage views (PyTorch < 0.4), which are not supported; re-save it with a current PyTorch');
    const s = storageRef(new PickleTuple(pid.items.slice(0, 5)), op);
    const seen = storages.get(s.key);
    if (seen) return seen;
    storages.set(s.key, s);
    return s;
  });
  const keys = next('storage keys');
  if (!Array.isArray(keys) || keys.some((k) => typeof k !== 'string')) throw new TesseraError(op, 'the legacy storage-key list is not a list of strings');
  const raw = new Map<string, Uint8Array>();
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (const k of keys as string[]) {
    const s = storages.get(k);
    if (!s) throw new TesseraError(op, `the legacy file stores storage '${k}', which the object never refers to`);
    if (pos + 8 > bytes.length) throw new TesseraError(op, `the legacy file ends before storage '${k}': it is truncated`);
    const n = Number(dv.getBigInt64(pos, !bigEndian));
    if (n !== s.numel) throw new TesseraError(op, `storage '${k}' is recorded with ${n} elements but referred to with ${s.numel}`);
    pos += 8;
    const len = n * STORAGE_ELEMENT_BYTES[s.dtype];
    if (pos + len > bytes.length) throw new TesseraError(op, `storage '${k}' needs ${len} bytes but the file has ${bytes.length - pos} left: it is truncated`);
    raw.set(k, bytes.subarray(pos, pos + len));
    pos += len;
  }
  for (const k of storages.keys()) if (!raw.has(k)) throw new TesseraError(op, `the object refers to storage '${k}' but the legacy file does not store it`);
  return { root, raw, bigEndian };
}

function storageRef(pid: PickleValue, op: string): StorageRef {
  const bad = (why: string): never => {
    throw new TesseraError(op, `data.pkl has a persistent id that is not a storage reference: ${why}`);
  };
  if (!(pid instanceof PickleTuple)) return bad(`a ${describe(pid)}, not a tuple`);
  const [tag, type, key, location, numel] = pid.items;
  if (tag !== 'storage') return bad(`its tag is ${typeof tag === 'string' ? `'${tag}'` : describe(tag)}, not 'storage'`);
  if (pid.items.length !== 5) return bad(`${pid.items.length} fields, expected 5 ('storage', type, key, location, numel)`);
  if (!(type instanceof PickleGlobal) || type.module !== 'torch' || !Object.hasOwn(STORAGE_TYPES, type.name)) return bad(`its type is ${describe(type)}`);
  if (typeof key !== 'string' || !/^[A-Za-z0-9_.-]{1,64}$/.test(key))
    return bad(`its key is ${typeof key === 'string' ? `'${key.slice(0, 40)}'` : describe(key)}`);
  if (typeof location !== 'string') return bad(`its location is a ${describe(location)}`);
  if (typeof numel !== 'number' || !Number.isInteger(numel) || numel < 0) return bad(`its element count is ${String(numel)}`);
  return { kind: 'storage', dtype: STORAGE_TYPES[type.name as keyof typeof STORAGE_TYPES], key, location, numel };
}

class Converter {
  readonly created: Tensor[] = [];
  readonly #done = new Map<object, TorchValue>();
  readonly #active = new Set<object>();

  constructor(
    readonly raw: Map<string, Uint8Array>,
    readonly backend: Backend,
    readonly opts: LoadTorchOptions,
    readonly bigEndian: boolean,
    readonly op: string,
  ) {}

  value(v: PickleValue, path: string, depth: number): TorchValue {
    if (v === null || typeof v !== 'object' || v instanceof Uint8Array) return v;
    const done = this.#done.get(v);
    if (done !== undefined) return done;
    if (this.#active.has(v)) throw new TesseraError(this.op, `the saved object contains itself (at '${path}'); cyclic objects are not supported`);
    if (depth > MAX_DEPTH) throw new TesseraError(this.op, `the saved object nests deeper than ${MAX_DEPTH} levels (at '${path.slice(0, 200)}…')`);
    this.#active.add(v);
    const sub = (k: string): string => (path === '' ? k : `${path}.${k}`);
    let out: TorchValue;
    if (v instanceof PickleDict) {
      const d = new TorchDict();
      d.ordered = v.ordered;
      for (const [k, x] of v) d.set(k, this.value(x, sub(String(k)), depth + 1));
      if (v.attributes) d.attributes = this.value(v.attributes, sub('_attributes'), depth + 1) as TorchDict;
      out = d;
    } else if (Array.isArray(v)) {
      out = v.map((x, i) => this.value(x, `${path}[${i}]`, depth + 1));
    } else if (v instanceof PickleTuple) {
      out = Object.freeze(v.items.map((x, i) => this.value(x, `${path}[${i}]`, depth + 1)));
    } else if (v instanceof PickleGlobal) {
      throw new TesseraError(this.op, `the saved object holds the global ${v.qualified} itself (at '${path}'), not data`);
    } else if (v.kind === 'storage') {
      throw new TesseraError(this.op, `the saved object holds a bare storage (at '${path}'); only tensors are supported`);
    } else out = this.tensor(v, path);
    this.#active.delete(v);
    this.#done.set(v, out);
    return out;
  }

  tensor(ref: TensorRef, path: string): Tensor {
    const { storage: s, size, stride, offset } = ref;
    const name = `tensor '${path}' ${fmtShape(size)}`;
    let numel = 1;
    for (const d of size) numel *= d;
    if (numel > MAX_NUMEL) throw new TesseraError(this.op, `${name} has ${numel} elements, more than tessera tensors hold`);
    if (numel > 0) {
      let last = offset;
      for (let i = 0; i < size.length; i++) last += (size[i]! - 1) * stride[i]!;
      if (last >= s.numel) {
        throw new TesseraError(
          this.op,
          `${name} (offset ${offset}, stride ${fmtShape(stride)}) reaches element ${last} of storage '${s.key}', which has ${s.numel}`,
        );
      }
      if (numel > s.numel && numel > MAX_REPEATED_NUMEL) {
        throw new TesseraError(this.op, `${name} repeats the ${s.numel} elements of storage '${s.key}' into ${numel}; refusing the allocation`);
      }
    }
    let to = STORAGE_TO_DTYPE[s.dtype];
    if (s.dtype === 'float64' && this.opts.float64 === 'float32') to = 'float32';
    if (!this.backend.dtypes.includes(to)) {
      throw new TesseraError(
        this.op,
        `${name} is ${s.dtype} but backend "${this.backend.name}" holds only ${this.backend.dtypes.join(', ')}${s.dtype === 'float64' ? "; pass { float64: 'float32' } to round it" : ''}`,
      );
    }
    const host = this.gather(ref, to, name);
    if (!((s.dtype === 'float32' && to === 'float32') || (s.dtype === 'int32' && to === 'int32') || (s.dtype === 'float64' && to === 'float64'))) {
      this.opts.onConvert?.({ path, from: s.dtype, to, exact: !(s.dtype === 'float64' && to === 'float32') });
    }
    const t = Tensor.empty(this.backend, size, to);
    this.created.push(t);
    if (host.length > 0) this.backend.write(t.buf(this.op), host);
    return t;
  }

  gather(ref: TensorRef, to: DType, name: string): TypedArray {
    const { storage: s, size, stride, offset } = ref;
    const bytes = this.raw.get(s.key)!;
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const le = !this.bigEndian;
    let numel = 1;
    for (const d of size) numel *= d;
    const out: TypedArray = to === 'float32' ? new Float32Array(numel) : to === 'float64' ? new Float64Array(numel) : new Int32Array(numel);
    if (numel === 0) return out;
    const eb = STORAGE_ELEMENT_BYTES[s.dtype];
    // Contiguous, same width, host byte order: one copy.
    let contiguous = true;
    for (let i = size.length - 1, want = 1; i >= 0; i--) {
      if (size[i] !== 1 && stride[i] !== want) contiguous = false;
      want *= size[i]!;
    }
    if (
      contiguous &&
      le === LITTLE_ENDIAN &&
      ((s.dtype === 'float32' && to === 'float32') || (s.dtype === 'int32' && to === 'int32') || (s.dtype === 'float64' && to === 'float64'))
    ) {
      new Uint8Array(out.buffer).set(bytes.subarray(offset * eb, (offset + numel) * eb));
      return out;
    }
    let read: (at: number, i: number) => number;
    switch (s.dtype) {
      case 'float32':
        read = (at) => dv.getFloat32(at, le);
        break;
      case 'float64':
        read = (at) => dv.getFloat64(at, le);
        break;
      case 'float16':
        read = (at) => f16BitsToNumber(dv.getUint16(at, le));
        break;
      case 'bfloat16': {
        const f = new Float32Array(1);
        const u = new Uint32Array(f.buffer);
        read = (at) => {
          u[0] = dv.getUint16(at, le) << 16;
          return f[0]!;
        };
        break;
      }
      case 'int64':
        read = (at, i) => {
          const lo = dv.getInt32(le ? at : at + 4, le);
          const hi = dv.getInt32(le ? at + 4 : at, le);
          if (hi !== lo >> 31) {
            throw new TesseraError(
              this.op,
              `${name}: int64 element ${i} is ${dv.getBigInt64(at, le)}, outside the int32 range [-2147483648, 2147483647] it is converted to`,
            );
          }
          return lo;
        };
        break;
      case 'int32':
        read = (at) => dv.getInt32(at, le);
        break;
      case 'int16':
        read = (at) => dv.getInt16(at, le);
        break;
      case 'int8':
        read = (at) => dv.getInt8(at);
        break;
      case 'uint8':
        read = (at) => dv.getUint8(at);
        break;
      case 'bool':
        read = (at) => (dv.getUint8(at) !== 0 ? 1 : 0);
        break;
    }
    const nd = size.length;
    const idx = new Array<number>(nd).fill(0);
    let off = offset;
    for (let i = 0; i < numel; i++) {
      out[i] = read(off * eb, i);
      for (let d = nd - 1; d >= 0; d--) {
        idx[d]!++;
        off += stride[d]!;
        if (idx[d]! < size[d]!) break;
        off -= stride[d]! * size[d]!;
        idx[d] = 0;
      }
    }
    return out;
  }
}
