/**
 * A strict JSON parser (RFC 8259) for safetensors headers. Unlike JSON.parse it reports duplicate object keys
 * (which JSON.parse silently collapses, hiding a duplicated tensor name), keeps key order, and returns objects
 * as Maps, so keys such as "__proto__" are plain data.
 */

export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;
export type JsonObject = Map<string, JsonValue>;

export class JsonParseError extends Error {
  constructor(
    message: string,
    /** Character index in the text. */
    readonly position: number,
    /** Keys leading to the object holding a duplicate key (empty for the top level), when the error is one. */
    readonly duplicatePath?: readonly string[],
    readonly duplicateKey?: string,
  ) {
    super(message);
    this.name = 'JsonParseError';
  }
}

const MAX_DEPTH = 256;
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

export function parseJson(text: string): JsonValue {
  let i = 0;
  const n = text.length;
  const path: string[] = [];

  const fail = (message: string, at = i): never => {
    throw new JsonParseError(`${message} at character ${at}`, at);
  };
  const skipWs = (): void => {
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) i++;
      else break;
    }
  };
  const describeAt = (at: number): string => (at >= n ? 'end of input' : JSON.stringify(text[at]));

  const parseString = (): string => {
    // text[i] === '"'
    i++;
    let out = '';
    let start = i;
    for (;;) {
      if (i >= n) fail('unterminated string');
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        out += text.slice(start, i);
        i++;
        return out;
      }
      if (c < 0x20) fail(`unescaped control character U+${c.toString(16).padStart(4, '0')} in a string`);
      if (c !== 0x5c) {
        i++;
        continue;
      }
      out += text.slice(start, i);
      const e = text[i + 1];
      switch (e) {
        case '"':
          out += '"';
          break;
        case '\\':
          out += '\\';
          break;
        case '/':
          out += '/';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          const hex = text.slice(i + 2, i + 6);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail('invalid \\u escape');
          out += String.fromCharCode(parseInt(hex, 16));
          i += 4;
          break;
        }
        default:
          fail(`invalid escape \\${e ?? ''}`);
      }
      i += 2;
      start = i;
    }
  };

  const parseValue = (depth: number): JsonValue => {
    if (depth > MAX_DEPTH) fail(`nesting deeper than ${MAX_DEPTH}`);
    skipWs();
    const c = text[i];
    if (c === '{') {
      i++;
      const obj: JsonObject = new Map();
      skipWs();
      if (text[i] === '}') {
        i++;
        return obj;
      }
      for (;;) {
        skipWs();
        if (text[i] !== '"') fail(`expected a string key, found ${describeAt(i)}`);
        const keyAt = i;
        const key = parseString();
        if (obj.has(key)) throw new JsonParseError(`duplicate key ${JSON.stringify(key)} at character ${keyAt}`, keyAt, path.slice(), key);
        skipWs();
        if (text[i] !== ':') fail(`expected ":" after key ${JSON.stringify(key)}, found ${describeAt(i)}`);
        i++;
        path.push(key);
        obj.set(key, parseValue(depth + 1));
        path.pop();
        skipWs();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return obj;
        }
        fail(`expected "," or "}" in an object, found ${describeAt(i)}`);
      }
    }
    if (c === '[') {
      i++;
      const arr: JsonValue[] = [];
      skipWs();
      if (text[i] === ']') {
        i++;
        return arr;
      }
      for (;;) {
        arr.push(parseValue(depth + 1));
        skipWs();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return arr;
        }
        fail(`expected "," or "]" in an array, found ${describeAt(i)}`);
      }
    }
    if (c === '"') return parseString();
    if (text.startsWith('true', i)) {
      i += 4;
      return true;
    }
    if (text.startsWith('false', i)) {
      i += 5;
      return false;
    }
    if (text.startsWith('null', i)) {
      i += 4;
      return null;
    }
    NUMBER.lastIndex = i;
    const m = NUMBER.exec(text);
    if (m && m[0].length > 0 && m[0] !== '-') {
      i += m[0].length;
      return Number(m[0]);
    }
    return fail(`unexpected ${describeAt(i)}`);
  };

  const value = parseValue(0);
  skipWs();
  if (i < n) fail(`unexpected ${describeAt(i)} after the JSON value`);
  return value;
}
