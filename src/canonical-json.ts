/**
 * RFC 8785 JSON Canonicalization Scheme (JCS), and the strict JSON parser that feeds it.
 *
 * Canonical form: no whitespace; object members sorted by the UTF-16 code units of their
 * names; strings and numbers as ECMAScript's JSON.stringify writes them (RFC 8785 §3.2.2).
 * Only I-JSON (RFC 7493) is accepted: unique member names, no lone surrogates, and numbers
 * that are exact as IEEE 754 doubles, which Stele takes to mean integers within
 * ±(2^53-1). Nesting is bounded so that hostile input cannot exhaust the stack.
 */
import { FormatError } from './format-error.js';

/** A JSON value as the parser returns it. */
export type JsonValue =
  | null
  | boolean
  | number
  | string
  | JsonValue[]
  | { [key: string]: JsonValue };

/** Deepest nesting of arrays and objects accepted (the top-level value is depth 1). */
export const MAX_JSON_DEPTH = 32;

/**
 * Serializes a value as RFC 8785 canonical JSON. Throws FormatError for anything that is not
 * JSON: undefined, functions, symbols, bigints, non-finite numbers, integers beyond
 * ±(2^53-1), lone surrogates, class instances, or nesting deeper than MAX_JSON_DEPTH.
 *
 * @example
 *   canonicalize({ b: 1, a: [true, null, 'x'] }) === '{"a":[true,null,"x"],"b":1}'
 */
export function canonicalize(value: unknown): string {
  // The fast writer keeps no path; only when it refuses a value does the slow one run, to
  // say where and why.
  return fastWrite(value, 1) ?? write(value, 1, []);
}

/**
 * Whether `text` is exactly the RFC 8785 canonical JSON of `value`, where `value` is what
 * JSON.parse(text) returned: the platform's serializer must give `text` back (so no
 * whitespace, no other escape or number spelling, no repeated member), and the value must
 * be I-JSON with members in code-unit order. A fast check for texts expected canonical; a
 * false is not an error report (objects with integer-like member names, which the platform
 * reorders, are among the false ones: parseJson decides those).
 */
export function isCanonicalText(text: string, value: unknown): boolean {
  return isPlatformText(text, value, true);
}

/**
 * Whether `text` is what the platform's serializer writes for `value` (what JSON.parse(text)
 * returned), and `value` is I-JSON within the nesting bound; with `sorted`, also with members
 * in code-unit order. Equal texts leave no room for a repeated member (the serializer writes
 * each once), whitespace, or another escape or number spelling.
 */
function isPlatformText(text: string, value: unknown, sorted: boolean): boolean {
  let written: string;
  try {
    written = JSON.stringify(value);
  } catch {
    // Nesting too deep for the platform's writer (it parses deeper than it writes): far past
    // MAX_JSON_DEPTH, which the strict parser then reports.
    return false;
  }
  if (written !== text) return false;
  // Only an escaped surrogate can be a lone one (UTF-8 cannot carry it, and JSON.stringify
  // writes lowercase escapes); without one, what is left is member order, depth and integer
  // range, which one walk over the containers checks.
  if (text.includes('\\ud')) return wellFormedTree(value, 1, sorted);
  if (typeof value === 'number') return exactNumber(value);
  return typeof value !== 'object' || value === null || boundedTree(value, 1, sorted);
}

function exactNumber(n: number): boolean {
  return Number.isSafeInteger(n) || !Number.isInteger(n);
}

/** Nesting within bounds, integers within ±(2^53-1), and with `sorted` members in code-unit order. */
function boundedTree(v: object, depth: number, sorted: boolean): boolean {
  if (depth > MAX_JSON_DEPTH) return false;
  if (Array.isArray(v)) {
    for (const x of v) {
      if (typeof x === 'object') {
        if (x !== null && !boundedTree(x, depth + 1, sorted)) return false;
      } else if (typeof x === 'number' && !exactNumber(x)) return false;
    }
    return true;
  }
  const obj = v as Record<string, unknown>;
  let prev: string | undefined;
  for (const k of Object.keys(obj)) {
    if (sorted && prev !== undefined && !(prev < k)) return false;
    prev = k;
    const x = obj[k];
    if (typeof x === 'object') {
      if (x !== null && !boundedTree(x, depth + 1, sorted)) return false;
    } else if (typeof x === 'number' && !exactNumber(x)) return false;
  }
  return true;
}

/** boundedTree, and no lone surrogate in any string or member name. */
function wellFormedTree(v: unknown, depth: number, sorted: boolean): boolean {
  switch (typeof v) {
    case 'string':
      return v.isWellFormed();
    case 'number':
      return Number.isFinite(v) && exactNumber(v);
    case 'boolean':
      return true;
    case 'object': {
      if (v === null) return true;
      if (depth > MAX_JSON_DEPTH) return false;
      if (Array.isArray(v)) {
        for (const x of v) if (!wellFormedTree(x, depth + 1, sorted)) return false;
        return true;
      }
      const obj = v as Record<string, unknown>;
      let prev: string | undefined;
      for (const k of Object.keys(obj)) {
        if ((sorted && prev !== undefined && !(prev < k)) || !k.isWellFormed()) return false;
        if (!wellFormedTree(obj[k], depth + 1, sorted)) return false;
        prev = k;
      }
      return true;
    }
    default:
      return false;
  }
}

/** write() without the path bookkeeping: the canonical text, or undefined for non-JSON. */
function fastWrite(v: unknown, depth: number): string | undefined {
  switch (typeof v) {
    case 'string':
      return v.isWellFormed() ? JSON.stringify(v) : undefined;
    case 'number':
      return Number.isFinite(v) && (Number.isSafeInteger(v) || !Number.isInteger(v))
        ? JSON.stringify(v)
        : undefined;
    case 'boolean':
      return v ? 'true' : 'false';
    case 'object': {
      if (v === null) return 'null';
      if (depth > MAX_JSON_DEPTH) return undefined;
      if (Array.isArray(v)) {
        let out = '[';
        for (let i = 0; i < v.length; i++) {
          const item = fastWrite(v[i], depth + 1);
          if (item === undefined) return undefined;
          out += i === 0 ? item : `,${item}`;
        }
        return `${out}]`;
      }
      const proto = Object.getPrototypeOf(v);
      if (proto !== Object.prototype && proto !== null) return undefined;
      const obj = v as Record<string, unknown>;
      const keys = Object.keys(obj).sort();
      let out = '{';
      for (let i = 0; i < keys.length; i++) {
        const k = keys[i] as string;
        const item = fastWrite(obj[k], depth + 1);
        if (item === undefined || !k.isWellFormed()) return undefined;
        out += `${i === 0 ? '' : ','}${JSON.stringify(k)}:${item}`;
      }
      return `${out}}`;
    }
    default:
      return undefined;
  }
}

/** "$", "$.a", "$.a[2]": the JSON path of a value, built only when reporting an error. */
function pathOf(path: readonly (string | number)[]): string {
  return `$${path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`)).join('')}`;
}

function write(v: unknown, depth: number, path: (string | number)[]): string {
  switch (typeof v) {
    case 'string':
      if (!v.isWellFormed()) bad(pathOf(path), 'must not contain a lone surrogate');
      return JSON.stringify(v);
    case 'number':
      checkNumber(v, path);
      return JSON.stringify(v);
    case 'boolean':
      return v ? 'true' : 'false';
    case 'object': {
      if (v === null) return 'null';
      if (depth > MAX_JSON_DEPTH) bad(pathOf(path), `must not nest deeper than ${MAX_JSON_DEPTH}`);
      if (Array.isArray(v)) {
        let out = '[';
        for (let i = 0; i < v.length; i++) {
          path.push(i);
          out += (i === 0 ? '' : ',') + write(v[i], depth + 1, path);
          path.pop();
        }
        return `${out}]`;
      }
      const proto = Object.getPrototypeOf(v);
      if (proto !== Object.prototype && proto !== null) bad(pathOf(path), 'must be a plain object');
      const obj = v as Record<string, unknown>;
      const keys = Object.keys(obj).sort();
      let out = '{';
      for (let i = 0; i < keys.length; i++) {
        const k = keys[i] as string;
        if (!k.isWellFormed()) bad(pathOf(path), 'member names must not contain a lone surrogate');
        path.push(k);
        out += `${i === 0 ? '' : ','}${JSON.stringify(k)}:${write(obj[k], depth + 1, path)}`;
        path.pop();
      }
      return `${out}}`;
    }
    default:
      return bad(pathOf(path), `is ${typeof v}, which is not JSON`);
  }
}

function checkNumber(n: number, path: readonly (string | number)[]): void {
  if (!Number.isFinite(n)) bad(pathOf(path), 'must be a finite number');
  if (Number.isInteger(n) && !Number.isSafeInteger(n)) {
    bad(pathOf(path), 'must be an integer within ±(2^53-1) (I-JSON)');
  }
}

/**
 * Parses JSON text strictly (RFC 8259 grammar, I-JSON values): duplicate member names, lone
 * surrogates, unsafe integers, nesting beyond MAX_JSON_DEPTH, and any trailing text are
 * errors. Throws FormatError with the offset and the rule.
 */
export function parseJson(text: string): JsonValue {
  // Fast path: compact JSON as JSON.stringify writes it (what SDKs send) is parsed by the
  // platform, and proven strict by re-serializing. Anything else, or anything it cannot
  // prove, takes the strict parser below, whose errors name the place and the rule.
  const fast = platformValue(text, false);
  if (fast !== undefined) return fast;
  const p = new Parser(text);
  p.ws();
  const v = p.value(1);
  p.ws();
  if (p.i !== text.length) p.fail('must have nothing after the JSON value');
  return v;
}

/**
 * The value of `text` when it is exactly canonical JSON, else undefined (not an error: the
 * caller decides what a non-canonical text means). The platform parses it (verifiers read
 * entries by the million); isCanonicalText proves the form.
 */
export function canonicalValue(text: string): JsonValue | undefined {
  return platformValue(text, true);
}

/** JSON.parse(text) when isPlatformText proves it strict (and with `sorted`, canonical). */
function platformValue(text: string, sorted: boolean): JsonValue | undefined {
  let v: JsonValue;
  try {
    v = JSON.parse(text) as JsonValue;
  } catch {
    return undefined;
  }
  return isPlatformText(text, v, sorted) ? v : undefined;
}

class Parser {
  i = 0;
  constructor(readonly s: string) {}

  /** The path of the value being parsed, as a stack (a string is built only for errors). */
  readonly path: (string | number)[] = [];

  fail(rule: string): never {
    throw new FormatError('json', `${pathOf(this.path)} (offset ${this.i})`, rule);
  }

  ws(): void {
    const s = this.s;
    for (;;) {
      const c = s.charCodeAt(this.i);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) this.i++;
      else return;
    }
  }

  value(depth: number): JsonValue {
    const c = this.s[this.i];
    switch (c) {
      case '{':
        return this.object(depth);
      case '[':
        return this.array(depth);
      case '"':
        return this.string();
      case 't':
        return this.literal('true', true);
      case 'f':
        return this.literal('false', false);
      case 'n':
        return this.literal('null', null);
      default:
        if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return this.number();
        return this.fail(
          c === undefined ? 'ended too early' : `has unexpected character ${JSON.stringify(c)}`,
        );
    }
  }

  literal<T extends JsonValue>(word: string, v: T): T {
    if (!this.s.startsWith(word, this.i)) this.fail('is not a JSON value');
    this.i += word.length;
    return v;
  }

  object(depth: number): JsonValue {
    if (depth > MAX_JSON_DEPTH) this.fail(`must not nest deeper than ${MAX_JSON_DEPTH}`);
    this.i++;
    // Members are defined as own data properties, so a "__proto__" member is data like any
    // other and never changes the object's prototype.
    const obj: Record<string, JsonValue> = {};
    const seen = new Set<string>();
    this.ws();
    if (this.s[this.i] === '}') {
      this.i++;
      return obj;
    }
    for (;;) {
      this.ws();
      if (this.s[this.i] !== '"') this.fail('expected a member name in double quotes');
      const key = this.string();
      if (seen.has(key)) this.fail(`has duplicate member name ${JSON.stringify(key)}`);
      seen.add(key);
      this.ws();
      if (this.s[this.i] !== ':') this.fail('expected ":" after a member name');
      this.i++;
      this.ws();
      this.path.push(key);
      const value = this.value(depth + 1);
      this.path.pop();
      if (key === '__proto__') {
        Object.defineProperty(obj, key, {
          value,
          enumerable: true,
          writable: true,
          configurable: true,
        });
      } else obj[key] = value;
      this.ws();
      const c = this.s[this.i++];
      if (c === '}') return obj;
      if (c !== ',') this.fail('expected "," or "}"');
    }
  }

  array(depth: number): JsonValue {
    if (depth > MAX_JSON_DEPTH) this.fail(`must not nest deeper than ${MAX_JSON_DEPTH}`);
    this.i++;
    const out: JsonValue[] = [];
    this.ws();
    if (this.s[this.i] === ']') {
      this.i++;
      return out;
    }
    for (;;) {
      this.ws();
      this.path.push(out.length);
      out.push(this.value(depth + 1));
      this.path.pop();
      this.ws();
      const c = this.s[this.i++];
      if (c === ']') return out;
      if (c !== ',') this.fail('expected "," or "]"');
    }
  }

  string(): string {
    const s = this.s;
    let i = this.i + 1;
    let out = '';
    let start = i;
    for (;;) {
      const c = s.charCodeAt(i);
      if (Number.isNaN(c)) {
        this.i = i;
        this.fail('has an unterminated string');
      }
      if (c === 0x22) break;
      if (c < 0x20) {
        this.i = i;
        this.fail('has a control character in a string (escape it)');
      }
      if (c === 0x5c) {
        out += s.slice(start, i);
        const e = s[i + 1];
        i += 2;
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
            const hex = s.slice(i, i + 4);
            if (!/^[0-9a-fA-F]{4}$/.test(hex)) {
              this.i = i;
              this.fail('has a bad \\u escape');
            }
            out += String.fromCharCode(Number.parseInt(hex, 16));
            i += 4;
            break;
          }
          default:
            this.i = i - 1;
            this.fail('has a bad escape');
        }
        start = i;
        continue;
      }
      i++;
    }
    out += s.slice(start, i);
    this.i = i + 1;
    if (!out.isWellFormed()) this.fail('must not contain a lone surrogate');
    return out;
  }

  number(): number {
    const m = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
    m.lastIndex = this.i;
    const r = m.exec(this.s);
    if (r === null) this.fail('is not a JSON number');
    this.i += r[0].length;
    const n = Number(r[0]);
    if (!Number.isFinite(n)) this.fail('is a number too large for a double');
    if (Number.isInteger(n) && !Number.isSafeInteger(n)) {
      this.fail('must be an integer within ±(2^53-1) (I-JSON)');
    }
    return n;
  }
}

function bad(path: string, rule: string): never {
  throw new FormatError('json', path, rule);
}
