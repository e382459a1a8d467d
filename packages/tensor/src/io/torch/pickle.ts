/**
 * A restricted unpickler for the `data.pkl` of a `torch.save` archive. It implements the opcodes of pickle
 * protocols 2–5 that state dicts and ordinary checkpoints use, and resolves globals only from an allow-list
 * (OrderedDict, the tensor and parameter rebuilders, the storage types, `_codecs.encode` for bytes): any other
 * global — `os.system`, `builtins.eval`, a user's class — is refused with a TesseraError naming it. Nothing from
 * the file is ever executed or looked up dynamically; "calling" an allowed global builds a plain record.
 *
 * Every length is checked against the bytes left before anything is allocated, and the mark stack, value
 * stack and memo are bounded, so a hostile pickle is an error, never a hang or an absurd allocation.
 */
import { TesseraError } from '../../errors.js';

/** A torch storage type as the pickle names it, and the element it holds. */
export const STORAGE_TYPES = {
  FloatStorage: 'float32',
  DoubleStorage: 'float64',
  HalfStorage: 'float16',
  BFloat16Storage: 'bfloat16',
  LongStorage: 'int64',
  IntStorage: 'int32',
  ShortStorage: 'int16',
  CharStorage: 'int8',
  ByteStorage: 'uint8',
  BoolStorage: 'bool',
} as const;

export type StorageDtype = (typeof STORAGE_TYPES)[keyof typeof STORAGE_TYPES];

export const STORAGE_ELEMENT_BYTES: Record<StorageDtype, number> = {
  float32: 4,
  float64: 8,
  float16: 2,
  bfloat16: 2,
  int64: 8,
  int32: 4,
  int16: 2,
  int8: 1,
  uint8: 1,
  bool: 1,
};

/** A global the pickle named (GLOBAL / STACK_GLOBAL), once checked against the allow-list. */
export class PickleGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}
  get qualified(): string {
    return `${this.module}.${this.name}`;
  }
}

/** A persistent id ('storage', storage_type, key, location, numel) as a reference to `data/<key>`. */
export interface StorageRef {
  readonly kind: 'storage';
  readonly dtype: StorageDtype;
  readonly key: string;
  readonly location: string;
  readonly numel: number;
}

/** torch._utils._rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata]). */
export interface TensorRef {
  readonly kind: 'tensor';
  readonly storage: StorageRef;
  readonly offset: number;
  readonly size: number[];
  readonly stride: number[];
}

/** A Python dict (or OrderedDict); `attributes` holds what BUILD set on it (state dicts carry `_metadata`). */
export class PickleDict extends Map<PickleKey, PickleValue> {
  attributes: PickleDict | null = null;
  constructor(readonly ordered: boolean) {
    super();
  }
}

/** A Python tuple (immutable). */
export class PickleTuple {
  constructor(readonly items: readonly PickleValue[]) {}
}

export type PickleKey = string | number | bigint | boolean | null;
export type PickleValue = PickleKey | Uint8Array | PickleValue[] | PickleTuple | PickleDict | PickleGlobal | StorageRef | TensorRef;

/** Globals a state dict may name; `torch.<X>Storage` types are checked separately. */
const ALLOWED_GLOBALS = new Set([
  'collections.OrderedDict',
  'torch._utils._rebuild_tensor_v2',
  'torch._utils._rebuild_parameter',
  'torch._utils._rebuild_parameter_with_state',
  '_codecs.encode',
]);

const MAX_MARKS = 10_000;
const MAX_STACK = 1_000_000;
const MAX_MEMO = 10_000_000;
const MAX_DIMS = 64;

const MARK = Symbol('mark');
type Slot = PickleValue | typeof MARK;

const utf8 = new TextDecoder('utf-8', { fatal: true });

export interface UnpickleOptions {
  op: string;
  /** What messages call the pickle (default 'data.pkl'). */
  where?: string;
  /** Called with the offset just past STOP (legacy files hold several pickles back to back). */
  onEnd?: (end: number) => void;
  /** Resolves a persistent id (the tuple BINPERSID pops) to a storage; throws for a bad one. */
  persistentLoad: (pid: PickleValue) => StorageRef;
}

/** Runs `bytes` (a pickle) to its STOP and returns the value it built. */
export function unpickle(bytes: Uint8Array, opts: UnpickleOptions): PickleValue {
  const { op } = opts;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const stack: Slot[] = [];
  const marks: number[] = [];
  const memo = new Map<number, PickleValue>();
  let pos = 0;
  let at = 0; // offset of the opcode being run, for messages

  const fail = (message: string): never => {
    throw new TesseraError(op, `${opts.where ?? 'data.pkl'} at byte ${at}: ${message}`);
  };
  const need = (n: number, what: string): void => {
    if (n < 0 || pos + n > bytes.length) fail(`${what} needs ${n} bytes but only ${bytes.length - pos} remain: the pickle is truncated`);
  };
  const u8 = (): number => {
    need(1, 'an operand');
    return bytes[pos++]!;
  };
  const u16 = (): number => {
    need(2, 'an operand');
    const v = dv.getUint16(pos, true);
    pos += 2;
    return v;
  };
  const u32 = (): number => {
    need(4, 'an operand');
    const v = dv.getUint32(pos, true);
    pos += 4;
    return v;
  };
  const u64 = (): number => {
    need(8, 'an operand');
    const lo = dv.getUint32(pos, true);
    const hi = dv.getUint32(pos + 4, true);
    pos += 8;
    if (hi >= 0x200000) fail('a length beyond 2^53');
    return hi * 2 ** 32 + lo;
  };
  const take = (n: number, what: string): Uint8Array => {
    need(n, what);
    const b = bytes.subarray(pos, pos + n);
    pos += n;
    return b;
  };
  const str = (n: number): string => {
    const b = take(n, 'a string');
    try {
      return utf8.decode(b);
    } catch {
      return fail('a string is not valid UTF-8');
    }
  };
  const line = (what: string): string => {
    const nl = bytes.indexOf(0x0a, pos);
    if (nl < 0) fail(`${what} is not terminated by a newline`);
    const s = String.fromCharCode(...bytes.subarray(pos, Math.min(nl, pos + 256)));
    if (nl - pos > 256) fail(`${what} is longer than 256 characters`);
    pos = nl + 1;
    return s;
  };
  const push = (v: Slot): void => {
    if (stack.length >= MAX_STACK) fail(`the stack exceeds ${MAX_STACK} values`);
    stack.push(v);
  };
  const pop = (): PickleValue => {
    const base = marks.length > 0 ? marks[marks.length - 1]! + 1 : 0;
    if (stack.length <= base) fail('pops an empty stack (or past a MARK)');
    return stack.pop() as PickleValue;
  };
  const top = (): PickleValue => {
    const base = marks.length > 0 ? marks[marks.length - 1]! + 1 : 0;
    if (stack.length <= base) fail('reads an empty stack');
    return stack[stack.length - 1] as PickleValue;
  };
  const popMark = (): PickleValue[] => {
    const m = marks.pop();
    if (m === undefined) fail('needs a MARK but none is set');
    const items = stack.splice(m!) as PickleValue[];
    // splice removed the MARK sentinel too
    return items.slice(1);
  };
  const memoPut = (i: number): void => {
    if (memo.size >= MAX_MEMO && !memo.has(i)) fail(`the memo exceeds ${MAX_MEMO} entries`);
    memo.set(i, top());
  };
  const memoGet = (i: number): void => {
    if (!memo.has(i)) fail(`reads memo entry ${i}, which was never stored`);
    push(memo.get(i)!);
  };
  const key = (k: PickleValue): PickleKey => {
    if (k === null || typeof k === 'string' || typeof k === 'number' || typeof k === 'bigint' || typeof k === 'boolean') return k;
    return fail(`a dict key is a ${describe(k)}; only str, int, float, bool and None keys are supported`);
  };
  const setItems = (d: PickleValue, items: PickleValue[]): void => {
    if (!(d instanceof PickleDict)) fail(`SETITEM(S) on a ${describe(d)}, not a dict`);
    if (items.length % 2 !== 0) fail('SETITEMS with an odd number of values');
    for (let i = 0; i < items.length; i += 2) (d as PickleDict).set(key(items[i]!), items[i + 1]!);
  };
  const appendItems = (l: PickleValue, items: PickleValue[]): void => {
    if (!Array.isArray(l)) fail(`APPEND(S) on a ${describe(l)}, not a list`);
    for (const v of items) (l as PickleValue[]).push(v);
  };
  const global = (module: string, name: string): PickleGlobal => {
    const q = `${module}.${name}`;
    const storage = module === 'torch' && Object.hasOwn(STORAGE_TYPES, name);
    if (!storage && !ALLOWED_GLOBALS.has(q)) {
      fail(
        `refuses the global ${q}: a checkpoint may name only collections.OrderedDict, torch._utils._rebuild_tensor_v2 / _rebuild_parameter and the torch.*Storage types (this file pickles other Python objects; nothing was executed — load it in Python and save its state_dict() instead)`,
      );
    }
    return new PickleGlobal(module, name);
  };

  for (;;) {
    at = pos;
    if (pos >= bytes.length) fail('the pickle ends without a STOP opcode: it is truncated');
    const code = bytes[pos++]!;
    switch (code) {
      case 0x80: {
        // PROTO
        const v = u8();
        if (v < 2 || v > 5) fail(`pickle protocol ${v}; supported: 2 to 5`);
        break;
      }
      case 0x95: // FRAME: an 8-byte length hint; frames need no handling when reading from memory
        u64();
        break;
      case 0x2e: {
        // STOP
        if (marks.length > 0) fail('STOP inside an unclosed MARK');
        if (stack.length !== 1) fail(`STOP with ${stack.length} values on the stack (expected 1)`);
        opts.onEnd?.(pos);
        return stack[0] as PickleValue;
      }
      case 0x28: // MARK
        if (marks.length >= MAX_MARKS) fail(`nests more than ${MAX_MARKS} MARKs`);
        marks.push(stack.length);
        push(MARK);
        break;
      case 0x30: // POP
        pop();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        push(top());
        break;
      case 0x4e: // NONE
        push(null);
        break;
      case 0x88: // NEWTRUE
        push(true);
        break;
      case 0x89: // NEWFALSE
        push(false);
        break;
      case 0x4a: // BININT
        need(4, 'BININT');
        push(dv.getInt32(pos, true));
        pos += 4;
        break;
      case 0x4b: // BININT1
        push(u8());
        break;
      case 0x4d: // BININT2
        push(u16());
        break;
      case 0x8a: // LONG1
        push(long(take(u8(), 'LONG1')));
        break;
      case 0x8b: {
        // LONG4
        const n = u32();
        if (n > 64) fail(`LONG4 of ${n} bytes; integers that large do not occur in checkpoints`);
        push(long(take(n, 'LONG4')));
        break;
      }
      case 0x47: // BINFLOAT (big-endian)
        need(8, 'BINFLOAT');
        push(dv.getFloat64(pos, false));
        pos += 8;
        break;
      case 0x58: // BINUNICODE
        push(str(u32()));
        break;
      case 0x8c: // SHORT_BINUNICODE
        push(str(u8()));
        break;
      case 0x8d: // BINUNICODE8
        push(str(u64()));
        break;
      case 0x43: // SHORT_BINBYTES
        push(take(u8(), 'SHORT_BINBYTES').slice());
        break;
      case 0x42: // BINBYTES
        push(take(u32(), 'BINBYTES').slice());
        break;
      case 0x8e: // BINBYTES8
        push(take(u64(), 'BINBYTES8').slice());
        break;
      case 0x7d: // EMPTY_DICT
        push(new PickleDict(false));
        break;
      case 0x5d: // EMPTY_LIST
        push([]);
        break;
      case 0x29: // EMPTY_TUPLE
        push(new PickleTuple([]));
        break;
      case 0x74: // TUPLE
        push(new PickleTuple(popMark()));
        break;
      case 0x85: // TUPLE1
        push(new PickleTuple([pop()]));
        break;
      case 0x86: {
        // TUPLE2
        const b = pop();
        const a = pop();
        push(new PickleTuple([a, b]));
        break;
      }
      case 0x87: {
        // TUPLE3
        const c = pop();
        const b = pop();
        const a = pop();
        push(new PickleTuple([a, b, c]));
        break;
      }
      case 0x6c: // LIST
        push(popMark());
        break;
      case 0x64: {
        // DICT
        const d = new PickleDict(false);
        setItems(d, popMark());
        push(d);
        break;
      }
      case 0x73: {
        // SETITEM
        const v = pop();
        const k = pop();
        setItems(top(), [k, v]);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark();
        setItems(top(), items);
        break;
      }
      case 0x61: {
        // APPEND
        const v = pop();
        appendItems(top(), [v]);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        appendItems(top(), items);
        break;
      }
      case 0x71: // BINPUT
        memoPut(u8());
        break;
      case 0x72: // LONG_BINPUT
        memoPut(u32());
        break;
      case 0x94: // MEMOIZE
        memoPut(memo.size);
        break;
      case 0x68: // BINGET
        memoGet(u8());
        break;
      case 0x6a: // LONG_BINGET
        memoGet(u32());
        break;
      case 0x63: {
        // GLOBAL: "module\nname\n"
        const module = line('GLOBAL module');
        const name = line('GLOBAL name');
        push(global(module, name));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL needs two strings');
        push(global(module as string, name as string));
        break;
      }
      case 0x51: {
        // BINPERSID
        const pid = pop();
        push(opts.persistentLoad(pid));
        break;
      }
      case 0x52: {
        // REDUCE: callable(*args), for the allowed callables only
        const args = pop();
        const fn = pop();
        if (!(fn instanceof PickleGlobal)) fail(`REDUCE calls a ${describe(fn)}, not an allowed global`);
        if (!(args instanceof PickleTuple)) fail(`REDUCE's arguments are a ${describe(args)}, not a tuple`);
        push(call(fn as PickleGlobal, (args as PickleTuple).items, fail));
        break;
      }
      case 0x62: {
        // BUILD: only the attribute dict an OrderedDict carries (`_metadata`), or an empty state
        const state = pop();
        const obj = top();
        if (state === null || (state instanceof PickleDict && state.size === 0)) break;
        if (obj instanceof PickleDict && state instanceof PickleDict) {
          obj.attributes ??= new PickleDict(false);
          for (const [k, v] of state) obj.attributes.set(k, v);
          break;
        }
        // _rebuild_parameter_with_state and tensor subclasses pass (dict, slots) states: a Parameter's extra
        // attributes are not part of its data, so an empty one is accepted above and anything else refused.
        fail(`BUILD sets the state of a ${describe(obj)} from a ${describe(state)}; only a dict's attributes are supported`);
        break;
      }
      case 0x81: // NEWOBJ
      case 0x92: // NEWOBJ_EX
      case 0x69: // INST
      case 0x6f: // OBJ
        fail(`opcode ${opName(code)} instantiates a class, which checkpoints of tensors never need; refused`);
        break;
      default:
        fail(
          `unsupported pickle opcode ${opName(code)} (this reader handles the protocol 2–5 opcodes torch.save emits for tensors, dicts, lists, tuples, numbers and strings)`,
        );
    }
  }
}

function opName(code: number): string {
  const c = code >= 0x20 && code < 0x7f ? ` '${String.fromCharCode(code)}'` : '';
  return `0x${code.toString(16).padStart(2, '0')}${c}`;
}

/** Two's-complement little-endian integer bytes (LONG1 / LONG4) as a number when safe, else a bigint. */
function long(b: Uint8Array): number | bigint {
  if (b.length === 0) return 0;
  let v = 0n;
  for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
  if (b[b.length - 1]! & 0x80) v -= 1n << BigInt(8 * b.length);
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

export function describe(v: PickleValue | undefined): string {
  if (v === null) return 'None';
  if (v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'list';
  if (v instanceof PickleTuple) return 'tuple';
  if (v instanceof PickleDict) return v.ordered ? 'OrderedDict' : 'dict';
  if (v instanceof PickleGlobal) return `global ${v.qualified}`;
  if (v instanceof Uint8Array) return 'bytes';
  if (typeof v === 'object') return v.kind;
  return typeof v === 'number' ? (Number.isInteger(v) ? 'int' : 'float') : typeof v === 'bigint' ? 'int' : typeof v === 'string' ? 'str' : 'bool';
}

function intArg(v: PickleValue | undefined, what: string, fail: (m: string) => never): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0)
    fail(`${what} is ${typeof v === 'number' || typeof v === 'bigint' ? String(v) : describe(v)}, not a non-negative integer`);
  return v as number;
}

function intTuple(v: PickleValue | undefined, what: string, fail: (m: string) => never): number[] {
  if (!(v instanceof PickleTuple)) fail(`${what} is a ${describe(v)}, not a tuple`);
  const items = (v as PickleTuple).items;
  if (items.length > MAX_DIMS) fail(`${what} has ${items.length} dimensions (at most ${MAX_DIMS})`);
  return items.map((x, i) => intArg(x, `${what}[${i}]`, fail));
}

/** What "calling" an allowed global builds; never runs anything from the file. */
function call(fn: PickleGlobal, args: readonly PickleValue[], fail: (m: string) => never): PickleValue {
  switch (fn.qualified) {
    case 'collections.OrderedDict': {
      const d = new PickleDict(true);
      if (args.length === 0) return d;
      // OrderedDict([(k, v), ...])
      const items = args[0];
      if (args.length !== 1 || !Array.isArray(items)) fail('OrderedDict(...) takes one list of (key, value) pairs here');
      for (const p of items as PickleValue[]) {
        if (!(p instanceof PickleTuple) || p.items.length !== 2) fail('OrderedDict(...) takes (key, value) pairs');
        const [k, v] = (p as PickleTuple).items;
        if (!(k === null || ['string', 'number', 'bigint', 'boolean'].includes(typeof k))) fail(`a dict key is a ${describe(k)}`);
        d.set(k as PickleKey, v!);
      }
      return d;
    }
    case 'torch._utils._rebuild_tensor_v2': {
      if (args.length < 4 || args.length > 7) fail(`_rebuild_tensor_v2 takes 6 or 7 arguments, got ${args.length}`);
      const storage = args[0];
      if (!(storage !== null && typeof storage === 'object' && 'kind' in storage && storage.kind === 'storage')) {
        fail(`_rebuild_tensor_v2's storage is a ${describe(storage)}, not a storage reference`);
      }
      const offset = intArg(args[1], 'the storage offset', fail);
      const size = intTuple(args[2], 'the size', fail);
      const stride = intTuple(args[3], 'the stride', fail);
      if (size.length !== stride.length) fail(`size has ${size.length} dimensions but stride ${stride.length}`);
      const metadata = args[6];
      if (metadata !== undefined && metadata !== null && !(metadata instanceof PickleDict && metadata.size === 0)) {
        fail('_rebuild_tensor_v2 carries tensor metadata (a tensor subclass or conjugate/negative view); not supported');
      }
      return { kind: 'tensor', storage: storage as StorageRef, offset, size, stride };
    }
    case 'torch._utils._rebuild_parameter':
    case 'torch._utils._rebuild_parameter_with_state': {
      const data = args[0];
      if (!(data !== null && typeof data === 'object' && 'kind' in data && data.kind === 'tensor'))
        fail(`${fn.name}'s data is a ${describe(data)}, not a tensor`);
      return data!;
    }
    case '_codecs.encode': {
      // How protocol 2 pickles bytes: _codecs.encode(latin-1 text, 'latin1').
      const [text, encoding] = args;
      if (typeof text !== 'string' || (encoding !== 'latin1' && encoding !== 'latin-1'))
        fail("_codecs.encode is allowed only as encode(str, 'latin1') (how bytes are pickled)");
      const s = text as string;
      const out = new Uint8Array(s.length);
      for (let i = 0; i < s.length; i++) {
        const c = s.charCodeAt(i);
        if (c > 255) fail('_codecs.encode: a latin-1 string with a character above U+00FF');
        out[i] = c;
      }
      return out;
    }
    default:
      if (fn.module === 'torch' && Object.hasOwn(STORAGE_TYPES, fn.name))
        fail(`calls the storage type ${fn.qualified}; storages come only from persistent ids`);
      return fail(`calls ${fn.qualified}, which is not allowed`);
  }
}
