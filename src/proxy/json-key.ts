/**
 * The routing key from a field of a JSON request body (`--key json:account.id`). The proxy buffers
 * the body (up to `proxy.maxBodyBuffer`) and calls `jsonKey` once per request; everything here is
 * pure and never throws on any input.
 *
 * The body is not parsed into a tree: one pass over its bytes validates the whole text as JSON
 * (RFC 8259), follows the path, and decodes only the value at its end. A body that is not valid
 * JSON has no key, even when the field comes before the error: a truncated or corrupted body must
 * not route as if it were whole. Member names are compared as bytes when they hold no escape and
 * no byte above 0x7f, decoded otherwise. When a member appears twice, the last one counts, as in
 * JSON.parse.
 *
 * Values:
 * - a string is the key, decoded (escapes, UTF-8; bytes that are not UTF-8 become U+FFFD, as
 *   Buffer#toString does); the empty string is no key;
 * - a number is the key in canonical form, `String(Number(text))`: `1`, `1.0`, `1e0` and `10e-1`
 *   are all `1`, and `-0` is `0`. Numbers are IEEE doubles, so integers beyond 2^53 lose digits
 *   (send large ids as strings); a number beyond the double range (1e400) is no key;
 * - true, false, null, objects and arrays are no key, and so is a path that leads nowhere.
 *
 * Cost: O(body length), one pass (about 150 us for a 60 KB body, under half the time of
 * JSON.parse on the same text); recursion one frame per nesting level. Bodies nested deeper than
 * MAX_JSON_DEPTH levels have no key (JSON.parse would accept them, at the cost of the stack).
 */
import { ConfigError } from '../errors.js';

/**
 * A parsed `json:` path: dotted member names from the root (`account.id`). A segment of decimal
 * digits (`items.0.id`) is an array index in an array and a member name in an object, as in JSON
 * Pointer (RFC 6901). A member name containing a dot is written with `\.` (`meta.a\.b`), a
 * backslash as `\\`.
 */
export interface JsonPath {
  /** The path as written. */
  readonly text: string;
  /** Member names, unescaped. */
  readonly names: readonly string[];
  /** The UTF-8 of each name, for comparing with names in the body without decoding them. */
  readonly bytes: readonly Uint8Array[];
  /** The array index each segment names, or -1 when it is not all digits. */
  readonly indexes: readonly number[];
}

/** Paths longer than this are refused: no request body nests a key deeper. */
export const MAX_JSON_PATH_SEGMENTS = 32;
/** Bodies whose objects and arrays nest deeper than this have no key. */
export const MAX_JSON_DEPTH = 512;

const INDEX = /^(0|[1-9]\d{0,8})$/;

/**
 * Parses the PATH of `json:PATH`.
 * @throws ConfigError SG_ERR_KEY_SOURCE naming `field` and what is wrong with the path
 */
export function parseJsonPath(text: string, field: string, spec = `json:${text}`): JsonPath {
  const shown = JSON.stringify(spec);
  const names: string[] = [];
  let current = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\\') {
      const next = text[i + 1];
      if (next !== '.' && next !== '\\') {
        throw new ConfigError('SG_ERR_KEY_SOURCE', field, `is ${shown}: in a json: path a backslash escapes only a dot (\\.) or a backslash (\\\\)`);
      }
      current += next;
      i++;
    } else if (c === '.') {
      names.push(current);
      current = '';
    } else {
      current += c;
    }
  }
  names.push(current);
  if (names.some((n) => n.length === 0)) {
    throw new ConfigError('SG_ERR_KEY_SOURCE', field, `is ${shown}: json: needs a dotted path of member names without empty parts, for example json:account.id or json:items.0.id`);
  }
  if (names.length > MAX_JSON_PATH_SEGMENTS) {
    throw new ConfigError('SG_ERR_KEY_SOURCE', field, `is ${shown}: the path has ${names.length} parts; at most ${MAX_JSON_PATH_SEGMENTS} are allowed`);
  }
  const encoder = new TextEncoder();
  return Object.freeze({
    text,
    names: Object.freeze(names),
    bytes: Object.freeze(names.map((n) => encoder.encode(n))),
    indexes: Object.freeze(names.map((n) => (INDEX.test(n) ? Number(n) : -1))),
  });
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;

// ignoreBOM: a string value that begins with U+FEFF keeps it, as Buffer#toString does.
const DECODER = new TextDecoder('utf-8', { ignoreBOM: true });

/** The key at `path` in the JSON text `body`, or null (see the module comment). Never throws. */
export function jsonKey(body: Uint8Array, path: JsonPath): string | null {
  const s = new Scanner(body, path);
  s.skipSpace();
  if (!s.value(0, true)) return null;
  s.skipSpace();
  if (s.pos !== body.length) return null;
  return s.key === '' ? null : s.key;
}

/** One pass over one body. `value` and its helpers return false at the first syntax error. */
class Scanner {
  pos = 0;
  /** The value found at the end of the path so far; a later duplicate member replaces it. */
  key: string | null = null;
  readonly #b: Uint8Array;
  readonly #path: JsonPath;
  /** Set by `#string`: whether the string just scanned holds an escape; and only bytes below 0x80. */
  #escaped = false;
  #ascii = true;

  constructor(body: Uint8Array, path: JsonPath) {
    this.#b = body;
    this.#path = path;
  }

  skipSpace(): void {
    const b = this.#b;
    let p = this.pos;
    while (p < b.length) {
      const c = b[p]!;
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
      p++;
    }
    this.pos = p;
  }

  /**
   * The value at `pos`, `depth` levels down. `onPath`: its container chain matches the first
   * `depth` path segments, so at depth = path length it is the key.
   */
  value(depth: number, onPath: boolean): boolean {
    const target = onPath && depth === this.#path.names.length;
    const b = this.#b;
    const c = b[this.pos];
    if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      // The container opened here is nesting level depth + 1.
      if (depth >= MAX_JSON_DEPTH) return false;
      return c === OPEN_OBJECT ? this.#object(depth, onPath && !target) : this.#array(depth, onPath && !target);
    }
    if (c === QUOTE) {
      const start = this.pos + 1;
      if (!this.#string()) return false;
      if (target) this.key = this.#escaped ? decodeString(b, start, this.pos - 1) : DECODER.decode(b.subarray(start, this.pos - 1));
      return true;
    }
    if (c === MINUS || (c !== undefined && c >= ZERO && c <= NINE)) {
      const start = this.pos;
      if (!this.#number()) return false;
      if (target) this.key = canonicalNumber(b, start, this.pos);
      return true;
    }
    return this.#literal();
  }

  #object(depth: number, onPath: boolean): boolean {
    const b = this.#b;
    const path = this.#path;
    this.pos++;
    this.skipSpace();
    if (b[this.pos] === CLOSE_OBJECT) {
      this.pos++;
      return true;
    }
    for (;;) {
      if (b[this.pos] !== QUOTE) return false;
      const start = this.pos + 1;
      if (!this.#string()) return false;
      const end = this.pos - 1;
      const plain = this.#ascii && !this.#escaped;
      this.skipSpace();
      if (b[this.pos] !== COLON) return false;
      this.pos++;
      this.skipSpace();
      const member = onPath && nameIs(b, start, end, plain, path.bytes[depth]!, path.names[depth]!);
      // A later member of the same name replaces the earlier one, whatever was found under it.
      if (member) this.key = null;
      if (!this.value(depth + 1, member)) return false;
      this.skipSpace();
      const c = b[this.pos];
      this.pos++;
      if (c === CLOSE_OBJECT) return true;
      if (c !== COMMA) return false;
      this.skipSpace();
    }
  }

  #array(depth: number, onPath: boolean): boolean {
    const b = this.#b;
    const wanted = onPath ? this.#path.indexes[depth]! : -1;
    this.pos++;
    this.skipSpace();
    if (b[this.pos] === CLOSE_ARRAY) {
      this.pos++;
      return true;
    }
    for (let i = 0; ; i++) {
      if (!this.value(depth + 1, i === wanted)) return false;
      this.skipSpace();
      const c = b[this.pos];
      this.pos++;
      if (c === CLOSE_ARRAY) return true;
      if (c !== COMMA) return false;
      this.skipSpace();
    }
  }

  /** A string from its opening quote at `pos`; leaves `pos` after the closing quote. */
  #string(): boolean {
    const b = this.#b;
    const n = b.length;
    let p = this.pos + 1;
    let escaped = false;
    let ascii = true;
    for (;;) {
      if (p >= n) return false;
      const c = b[p]!;
      if (c === QUOTE) break;
      if (c < 0x20) return false;
      if (c === BACKSLASH) {
        escaped = true;
        const e = b[p + 1];
        if (e === 0x75 /* u */) {
          if (!isHex(b[p + 2]) || !isHex(b[p + 3]) || !isHex(b[p + 4]) || !isHex(b[p + 5])) return false;
          p += 6;
        } else if (e === QUOTE || e === BACKSLASH || e === 0x2f || e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74) {
          p += 2;
        } else {
          return false;
        }
        continue;
      }
      if (c > 0x7f) ascii = false;
      p++;
    }
    this.pos = p + 1;
    this.#escaped = escaped;
    this.#ascii = ascii;
    return true;
  }

  /** -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
  #number(): boolean {
    const b = this.#b;
    let p = this.pos;
    if (b[p] === MINUS) p++;
    if (b[p] === ZERO) {
      p++;
    } else {
      if (!isDigit(b[p])) return false;
      while (isDigit(b[p])) p++;
    }
    if (b[p] === DOT) {
      p++;
      if (!isDigit(b[p])) return false;
      while (isDigit(b[p])) p++;
    }
    if (b[p] === 0x65 || b[p] === 0x45) {
      p++;
      if (b[p] === PLUS || b[p] === MINUS) p++;
      if (!isDigit(b[p])) return false;
      while (isDigit(b[p])) p++;
    }
    this.pos = p;
    return true;
  }

  #literal(): boolean {
    const b = this.#b;
    const p = this.pos;
    const c = b[p];
    let word: readonly number[];
    if (c === 0x74) word = TRUE;
    else if (c === 0x66) word = FALSE;
    else if (c === 0x6e) word = NULL;
    else return false;
    for (let i = 1; i < word.length; i++) if (b[p + i] !== word[i]) return false;
    this.pos = p + word.length;
    return true;
  }
}

const TRUE = [0x74, 0x72, 0x75, 0x65];
const FALSE = [0x66, 0x61, 0x6c, 0x73, 0x65];
const NULL = [0x6e, 0x75, 0x6c, 0x6c];

function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= ZERO && c <= NINE;
}

function isHex(c: number | undefined): boolean {
  return c !== undefined && ((c >= ZERO && c <= NINE) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66));
}

/**
 * Whether the member name in b[start, end) is `name` (whose UTF-8 is `bytes`). `plain`: the name
 * is ASCII without escapes, so its bytes are its text; any other name is decoded first (bytes that
 * are not UTF-8 decode to U+FFFD, and then compare as that).
 */
function nameIs(b: Uint8Array, start: number, end: number, plain: boolean, bytes: Uint8Array, name: string): boolean {
  if (!plain) return decodeString(b, start, end) === name;
  if (end - start !== bytes.length) return false;
  for (let i = 0; i < bytes.length; i++) if (b[start + i] !== bytes[i]) return false;
  return true;
}

const ESCAPED: Readonly<Record<number, string>> = { 0x22: '"', 0x5c: '\\', 0x2f: '/', 0x62: '\b', 0x66: '\f', 0x6e: '\n', 0x72: '\r', 0x74: '\t' };

/** The text of a validated string body b[start, end): escapes resolved, UTF-8 decoded. */
function decodeString(b: Uint8Array, start: number, end: number): string {
  let out = '';
  let run = start;
  let p = start;
  while (p < end) {
    if (b[p] !== BACKSLASH) {
      p++;
      continue;
    }
    out += DECODER.decode(b.subarray(run, p));
    const e = b[p + 1]!;
    if (e === 0x75) {
      // \uXXXX is one UTF-16 unit; a pair of them forms one character, a lone one stays lone, as in JSON.parse.
      out += String.fromCharCode(hex(b[p + 2]!) * 4096 + hex(b[p + 3]!) * 256 + hex(b[p + 4]!) * 16 + hex(b[p + 5]!));
      p += 6;
    } else {
      out += ESCAPED[e]!;
      p += 2;
    }
    run = p;
  }
  return out + DECODER.decode(b.subarray(run, end));
}

function hex(c: number): number {
  return c <= NINE ? c - ZERO : (c | 0x20) - 0x61 + 10;
}

/** String(Number(text)) of a validated number, or null when it is beyond the double range. */
function canonicalNumber(b: Uint8Array, start: number, end: number): string | null {
  const v = Number(DECODER.decode(b.subarray(start, end)));
  return Number.isFinite(v) ? String(v) : null;
}
