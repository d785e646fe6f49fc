/**
 * The shapes of request parameters and JSON bodies, declared once in the route table
 * (route-table.ts) and used twice: to check a request (a 400 naming the field and its rule)
 * and to describe it in /v1/openapi.json (JSON Schema 2020-12, as OpenAPI 3.1 uses). A
 * parameter or member can only be read through its declaration, so what is checked and what
 * is documented cannot drift apart.
 *
 * Lengths count Unicode code points, as the event rules do (docs/format.md §2).
 */
import {
  isAnyStreamName,
  isRfc3339,
  parseDecimal,
  parseTilePath,
  type Tile,
} from '../../src/index.js';
import { badRequest } from './problem.js';

// --- Parameters (path, query, header): one string each --------------------------------------

interface ParamBase {
  readonly description: string;
  /** Absent is a 400 ("is required"). Path parameters are always required. */
  readonly required?: true;
}

/** A decimal integer in canonical form (no sign, no leading zero, at most 2^53 - 1). */
export interface CountParam extends ParamBase {
  readonly kind: 'count';
  readonly min?: number;
  readonly max?: number;
  readonly default?: number;
}

/** A string of 1 to `max` code points, matching `pattern` or one of `values`. */
export interface TextParam extends ParamBase {
  readonly kind: 'text';
  readonly max?: number;
  readonly pattern?: RegExp;
  readonly values?: readonly string[];
  /** The rule a 400 states, when the default wording is not the clearest. */
  readonly rule?: string;
}

/** An RFC 3339 date-time (a leap second :60 is read as :59). */
export interface TimeParam extends ParamBase {
  readonly kind: 'time';
}

/** A stream name, client or system (docs/format.md §1). */
export interface StreamParam extends ParamBase {
  readonly kind: 'stream';
}

/**
 * A tlog-tiles tile, as the path goes on after `tile/` ("0/x001/234.p/5": level, index and,
 * for a partial tile, width) or, for `entries`, after `tile/entries/` ("x001/234.p/5").
 */
export interface TileParam extends ParamBase {
  readonly kind: 'tile';
  readonly entries: boolean;
}

export type Param = CountParam | TextParam | TimeParam | StreamParam | TileParam;
export type Params = Readonly<Record<string, Param>>;

type ParamValue<P> = P extends CountParam ? number : P extends TileParam ? Tile : string;
type Always<P> = P extends { required: true } ? true : P extends { default: number } ? true : false;

/** The checked values of a set of parameters: absent only where that is allowed. */
export type ParamValues<Ps> = {
  readonly [K in keyof Ps]: Always<Ps[K]> extends true
    ? ParamValue<Ps[K]>
    : ParamValue<Ps[K]> | undefined;
};
/** Path parameters: always present. */
export type PathValues<Ps> = { readonly [K in keyof Ps]: ParamValue<Ps[K]> };

/** Stream names (docs/format.md §1). */
export const STREAM_NAME_RULE = 'must match ^_?[a-z0-9][a-z0-9_-]{0,62}$';

/** One parameter checked: its value, or a 400 naming it. */
export function checkParam(
  name: string,
  p: Param,
  raw: string | undefined,
): number | string | Tile | undefined {
  if (raw === undefined) {
    if (p.kind === 'count' && p.default !== undefined) return p.default;
    if (p.required) throw badRequest(name, 'is required');
    return undefined;
  }
  switch (p.kind) {
    case 'count': {
      const n = parseDecimal(raw);
      const min = p.min ?? 0;
      const max = p.max ?? Number.MAX_SAFE_INTEGER;
      if (n === undefined || n < min || n > max)
        throw badRequest(name, `must be an integer from ${min} to ${max}`);
      return n;
    }
    case 'text': {
      const len = codePoints(raw);
      const max = p.max ?? 256;
      const ok =
        len >= 1 &&
        len <= max &&
        (p.pattern === undefined || p.pattern.test(raw)) &&
        (p.values === undefined || p.values.includes(raw));
      if (!ok) throw badRequest(name, p.rule ?? textRule(p));
      return raw;
    }
    case 'time': {
      const ms = isRfc3339(raw) ? Date.parse(raw.replace(/:60(?=[.Zz+-])/, ':59')) : Number.NaN;
      if (Number.isNaN(ms)) throw badRequest(name, 'must be an RFC 3339 date-time');
      return raw;
    }
    case 'stream':
      if (!isAnyStreamName(raw)) throw badRequest(name, STREAM_NAME_RULE);
      return raw;
    case 'tile': {
      const t = parseTilePath(`tile/${p.entries ? 'entries/' : ''}${raw}`);
      if (t === undefined || (t.level === -1) !== p.entries) throw badRequest(name, tileRule(p));
      return t;
    }
  }
}

/** The rule of a tile path (c2sp.org/tlog-tiles). */
function tileRule(p: TileParam): string {
  return `must be a tlog-tiles ${p.entries ? 'entry bundle' : 'tile'} path: ${p.entries ? '' : '<L>/'}<N>[.p/<W>], N in 3-digit groups (x001/x234/067), W from 1 to 255`;
}

/** What a tile path looks like (OpenAPI): the canonical form is checked by parseTilePath. */
const TILE_PATTERN = '(x[0-9]{3}/)*[0-9]{3}(\\.p/[1-9][0-9]{0,2})?';

function textRule(p: TextParam): string {
  if (p.values !== undefined) return `must be one of ${p.values.join(', ')}`;
  return `must be 1 to ${p.max ?? 256} characters${p.pattern ? ` matching ${p.pattern.source}` : ''}`;
}

/** A parameter as an OpenAPI parameter object. */
export function paramDoc(name: string, where: 'path' | 'query' | 'header', p: Param): object {
  let schema: Record<string, unknown>;
  switch (p.kind) {
    case 'count':
      schema = {
        type: 'integer',
        minimum: p.min ?? 0,
        maximum: p.max ?? Number.MAX_SAFE_INTEGER,
        ...(p.default === undefined ? {} : { default: p.default }),
      };
      break;
    case 'text':
      schema = {
        type: 'string',
        minLength: 1,
        maxLength: p.max ?? 256,
        ...(p.pattern === undefined ? {} : { pattern: p.pattern.source }),
        ...(p.values === undefined ? {} : { enum: p.values }),
      };
      break;
    case 'time':
      schema = { type: 'string', format: 'date-time' };
      break;
    case 'stream':
      schema = { type: 'string', pattern: '^_?[a-z0-9][a-z0-9_-]{0,62}$' };
      break;
    case 'tile':
      schema = {
        type: 'string',
        pattern: `^${p.entries ? '' : '(0|[1-9][0-9]?)/'}${TILE_PATTERN}$`,
      };
      break;
  }
  return {
    name,
    in: where,
    description: p.description,
    ...(where === 'path' || p.required ? { required: true } : {}),
    schema,
  };
}

// --- JSON bodies -----------------------------------------------------------------------------

interface Doc {
  readonly description?: string;
  /** The rule a 400 states instead of the default wording. */
  readonly rule?: string;
}
export interface StringSchema extends Doc {
  readonly type: 'string';
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly pattern?: RegExp;
  readonly enum?: readonly string[];
  readonly format?: 'date-time';
}
export interface IntegerSchema extends Doc {
  readonly type: 'integer';
  readonly minimum?: number;
  readonly maximum?: number;
}
export interface ArraySchema extends Doc {
  readonly type: 'array';
  readonly items: Schema;
  readonly minItems?: number;
  readonly maxItems?: number;
}
export interface ObjectSchema extends Doc {
  readonly type: 'object';
  readonly properties: Readonly<Record<string, Schema>>;
  readonly required: readonly string[];
  /** Member sets that must not appear together, at least one of which is required. */
  readonly oneOf?: readonly (readonly string[])[];
  readonly examples?: readonly unknown[];
}
export interface NullableSchema extends Doc {
  readonly type: 'nullable';
  readonly of: Schema;
}
export type Schema = StringSchema | IntegerSchema | ArraySchema | ObjectSchema | NullableSchema;

/** The TypeScript type of a value that passed `S`. */
export type Infer<S> = S extends StringSchema
  ? string
  : S extends IntegerSchema
    ? number
    : S extends ArraySchema
      ? Infer<S['items']>[]
      : S extends NullableSchema
        ? Infer<S['of']> | null
        : S extends ObjectSchema
          ? InferObject<S['properties'], S['required'][number]>
          : never;
type InferObject<P, R extends PropertyKey> = {
  readonly [K in keyof P & R]: Infer<P[K]>;
} & { readonly [K in Exclude<keyof P, R>]?: Infer<P[K]> };

/**
 * `value` checked against `schema`: returned as the inferred type, or a 400 naming the
 * member (`streams[2]`) and its rule. Objects take no members beyond their properties.
 */
export function checkJson<S extends Schema>(schema: S, value: unknown, where = 'body'): Infer<S> {
  check(schema, value, where);
  return value as Infer<S>;
}

/** The same check, for a schema known only as a Schema (the router's): throws or returns. */
export function assertJson(schema: Schema, value: unknown, where = 'body'): void {
  check(schema, value, where);
}

function check(s: Schema, v: unknown, at: string): void {
  switch (s.type) {
    case 'nullable':
      if (v !== null) check(s.of, v, at);
      return;
    case 'string': {
      const ok =
        typeof v === 'string' &&
        codePoints(v) >= (s.minLength ?? 0) &&
        codePoints(v) <= (s.maxLength ?? Number.POSITIVE_INFINITY) &&
        (s.pattern === undefined || s.pattern.test(v)) &&
        (s.enum === undefined || s.enum.includes(v)) &&
        (s.format !== 'date-time' || (isRfc3339(v) && !Number.isNaN(Date.parse(v))));
      if (!ok) throw badRequest(at, s.rule ?? stringRule(s));
      return;
    }
    case 'integer': {
      const ok =
        typeof v === 'number' &&
        Number.isSafeInteger(v) &&
        v >= (s.minimum ?? Number.MIN_SAFE_INTEGER) &&
        v <= (s.maximum ?? Number.MAX_SAFE_INTEGER);
      if (!ok)
        throw badRequest(at, s.rule ?? `must be an integer from ${s.minimum} to ${s.maximum}`);
      return;
    }
    case 'array': {
      const ok =
        Array.isArray(v) &&
        v.length >= (s.minItems ?? 0) &&
        v.length <= (s.maxItems ?? Number.POSITIVE_INFINITY);
      if (!ok)
        throw badRequest(
          at,
          s.rule ?? `must be an array of ${s.minItems ?? 0} to ${s.maxItems} items`,
        );
      for (const [i, item] of (v as unknown[]).entries()) check(s.items, item, `${at}[${i}]`);
      return;
    }
    case 'object': {
      if (typeof v !== 'object' || v === null || Array.isArray(v))
        throw badRequest(at, 'must be a JSON object');
      const o = v as Record<string, unknown>;
      const member = (k: string) => (at === 'body' ? k : `${at}.${k}`);
      for (const k of Object.keys(o))
        if (!Object.hasOwn(s.properties, k)) throw badRequest(member(k), 'is not a known field');
      for (const k of s.required)
        if (o[k] === undefined)
          throw badRequest(member(k), `is required; it ${ruleOf(s.properties[k] as Schema)}`);
      if (s.oneOf !== undefined) {
        const present = s.oneOf.filter((set) => set.some((k) => o[k] !== undefined));
        if (present.length !== 1)
          throw badRequest(
            at,
            `must name exactly one of ${s.oneOf.map((set) => set.join(' and ')).join(', ')}`,
          );
      }
      for (const [k, ps] of Object.entries(s.properties))
        if (o[k] !== undefined) check(ps, o[k], member(k));
      return;
    }
  }
}

function ruleOf(s: Schema): string {
  if (s.rule !== undefined) return s.rule;
  switch (s.type) {
    case 'string':
      return stringRule(s);
    case 'integer':
      return `must be an integer from ${s.minimum} to ${s.maximum}`;
    case 'array':
      return `must be an array of ${s.minItems ?? 0} to ${s.maxItems} items`;
    case 'object':
      return 'must be a JSON object';
    case 'nullable':
      return ruleOf(s.of);
  }
}

function stringRule(s: StringSchema): string {
  if (s.enum !== undefined) return `must be one of ${s.enum.join(', ')}`;
  if (s.format === 'date-time') return 'must be an RFC 3339 date-time';
  const len =
    s.maxLength === undefined
      ? 'a string'
      : `a string of ${s.minLength ?? 0} to ${s.maxLength} characters`;
  return `must be ${len}${s.pattern ? ` matching ${s.pattern.source}` : ''}`;
}

/** The JSON Schema (2020-12) of a body schema, for OpenAPI. */
export function jsonSchema(s: Schema): Record<string, unknown> {
  const doc = s.description === undefined ? {} : { description: s.description };
  switch (s.type) {
    case 'nullable': {
      const inner = jsonSchema(s.of);
      const t = inner.type;
      return { ...inner, type: [t, 'null'], ...doc };
    }
    case 'string':
      return {
        type: 'string',
        ...(s.minLength === undefined ? {} : { minLength: s.minLength }),
        ...(s.maxLength === undefined ? {} : { maxLength: s.maxLength }),
        ...(s.pattern === undefined ? {} : { pattern: s.pattern.source }),
        ...(s.enum === undefined ? {} : { enum: s.enum }),
        ...(s.format === undefined ? {} : { format: s.format }),
        ...doc,
      };
    case 'integer':
      return {
        type: 'integer',
        ...(s.minimum === undefined ? {} : { minimum: s.minimum }),
        ...(s.maximum === undefined ? {} : { maximum: s.maximum }),
        ...doc,
      };
    case 'array':
      return {
        type: 'array',
        items: jsonSchema(s.items),
        ...(s.minItems === undefined ? {} : { minItems: s.minItems }),
        ...(s.maxItems === undefined ? {} : { maxItems: s.maxItems }),
        ...doc,
      };
    case 'object':
      return {
        type: 'object',
        required: s.required,
        properties: Object.fromEntries(
          Object.entries(s.properties).map(([k, v]) => [k, jsonSchema(v)]),
        ),
        additionalProperties: false,
        ...(s.oneOf === undefined ? {} : { oneOf: s.oneOf.map((set) => ({ required: set })) }),
        ...(s.examples === undefined ? {} : { examples: s.examples }),
        ...doc,
      };
  }
}

function codePoints(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}
