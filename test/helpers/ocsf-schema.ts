/**
 * Reads the OCSF 1.8.0 schema in place from ../shared/ocsf-schema-1.8.0 (beside the
 * repository; never copied into the project) and checks a record against it, as the
 * schema's own metaschema describes the files:
 *   - a class `extends` its parent up to base_event, an object up to `object`; a child's
 *     attribute definition is merged over its parent's (enums merged, value by value);
 *   - `attributes.$include` names profile files whose attributes join the class, tagged with
 *     the profile; a class's own definition with `"profile": null` lifts the tag. A tagged
 *     attribute applies only when `metadata.profiles` names its profile (Stele names none);
 *   - every attribute's type, `is_array` and base enum come from dictionary.json; the
 *     dictionary's `types` give each scalar type's base type, regex, length and range.
 * Outside CI a missing folder skips the tests that need it; under CI it fails them
 * (test/helpers/shared-vectors.ts does the same for the tlog vectors).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Where the schema is looked for. */
export const ocsfSchemaPath =
  process.env.STELE_OCSF_SCHEMA ?? resolve(repoRoot, '..', 'shared', 'ocsf-schema-1.8.0');

/** The schema folder, or undefined when it is not on this machine. */
export const ocsfSchemaDir: string | undefined = existsSync(join(ocsfSchemaPath, 'version.json'))
  ? ocsfSchemaPath
  : undefined;

/** Without the schema the tests skip, except under CI, where they run and fail. */
export const skipWithoutOcsf = ocsfSchemaDir === undefined && !process.env.CI;

type Obj = Record<string, unknown>;

interface AttrDef {
  readonly requirement?: string;
  readonly profile?: string | null;
  readonly enum?: Record<string, unknown>;
  readonly type?: string;
  readonly is_array?: boolean;
}

/** A class or object with its attributes resolved. */
export interface Resolved {
  readonly name: string;
  readonly attributes: Readonly<Record<string, AttrDef>>;
  readonly constraints: { at_least_one?: string[]; just_one?: string[] };
}

function readJson(path: string): Obj {
  if (ocsfSchemaDir === undefined) throw new Error(`the OCSF schema is not at ${ocsfSchemaPath}`);
  return JSON.parse(readFileSync(join(ocsfSchemaDir, path), 'utf8')) as Obj;
}

function walk(dir: string): string[] {
  const root = join(ocsfSchemaDir as string, dir);
  const out: string[] = [];
  for (const name of readdirSync(root).sort()) {
    const p = join(dir, name);
    if (statSync(join(ocsfSchemaDir as string, p)).isDirectory()) out.push(...walk(p));
    else if (name.endsWith('.json')) out.push(p);
  }
  return out;
}

/** Merges attribute definitions: later wins per key, enums merged value by value. */
function mergeAttr(a: AttrDef | undefined, b: AttrDef): AttrDef {
  if (a === undefined) return b;
  const merged: Obj = { ...a, ...b };
  if (a.enum !== undefined || b.enum !== undefined) merged.enum = { ...a.enum, ...b.enum };
  return merged as AttrDef;
}

export class OcsfSchema {
  readonly version: string;
  readonly dictionary: Record<string, AttrDef & { type: string }>;
  readonly types: Record<
    string,
    { type?: string; regex?: string; max_len?: number; range?: number[] }
  >;
  readonly categories: Record<string, { uid: number }>;
  readonly #events = new Map<string, Obj>();
  readonly #objects = new Map<string, Obj>();
  readonly #cache = new Map<string, Resolved>();

  constructor() {
    this.version = (readJson('version.json') as { version: string }).version;
    const dict = readJson('dictionary.json') as { attributes: never; types: { attributes: never } };
    this.dictionary = dict.attributes;
    this.types = dict.types.attributes;
    this.categories = (readJson('categories.json') as { attributes: never }).attributes;
    for (const p of walk('events')) {
      const j = readJson(p);
      this.#events.set(j.name as string, j);
    }
    for (const p of walk('objects')) {
      const j = readJson(p);
      this.#objects.set(j.name as string, j);
    }
  }

  /** The attributes of one file's `attributes`, with its `$include`s (profiles tagged). */
  #own(file: Obj): Record<string, AttrDef> {
    const attrs = (file.attributes ?? {}) as Record<string, unknown>;
    const out: Record<string, AttrDef> = {};
    for (const inc of (attrs.$include ?? []) as string[]) {
      const p = readJson(inc);
      const tag = p.meta === 'profile' ? (p.name as string) : undefined;
      for (const [k, v] of Object.entries(this.#own(p)))
        out[k] = mergeAttr(out[k], { ...(tag === undefined ? {} : { profile: tag }), ...v });
    }
    for (const [k, v] of Object.entries(attrs)) {
      if (k === '$include') continue;
      out[k] = mergeAttr(out[k], v as AttrDef);
    }
    return out;
  }

  #resolve(kind: 'event' | 'object', name: string): Resolved {
    const key = `${kind}:${name}`;
    const hit = this.#cache.get(key);
    if (hit !== undefined) return hit;
    const file = (kind === 'event' ? this.#events : this.#objects).get(name);
    if (file === undefined) throw new Error(`OCSF ${kind} "${name}" is not in the schema`);
    const parent = typeof file.extends === 'string' ? this.#resolve(kind, file.extends) : undefined;
    const attributes: Record<string, AttrDef> = { ...parent?.attributes };
    for (const [k, v] of Object.entries(this.#own(file)))
      attributes[k] = mergeAttr(attributes[k], v);
    const r: Resolved = {
      name,
      attributes,
      constraints: (file.constraints as Resolved['constraints']) ?? parent?.constraints ?? {},
    };
    this.#cache.set(key, r);
    return r;
  }

  /** The event class whose class_uid is `uid`, with its category and the whole chain. */
  eventClass(uid: number): (Resolved & { uid: number; category: string }) | undefined {
    for (const [name, file] of this.#events) {
      if (typeof file.uid !== 'number') continue;
      let f: Obj | undefined = file;
      while (f !== undefined && typeof f.category !== 'string')
        f = typeof f.extends === 'string' ? this.#events.get(f.extends) : undefined;
      const category = f?.category as string;
      const cat = this.categories[category];
      if (cat === undefined || cat.uid * 1000 + file.uid !== uid) continue;
      // As the schema's compiler does: the class's own uid, category and type_uids are the
      // enums of class_uid, category_uid and type_uid (class_uid * 100 + activity_id).
      const r = this.#resolve('event', name);
      const acts = Object.keys(r.attributes.activity_id?.enum ?? {});
      const attributes = {
        ...r.attributes,
        class_uid: { ...r.attributes.class_uid, enum: { [uid]: { caption: file.caption } } },
        category_uid: { ...r.attributes.category_uid, enum: { [cat.uid]: { caption: category } } },
        type_uid: {
          ...r.attributes.type_uid,
          enum: Object.fromEntries(acts.map((a) => [uid * 100 + Number(a), {}])),
        },
      };
      return { ...r, attributes, uid, category };
    }
    return undefined;
  }

  object(name: string): Resolved {
    return this.#resolve('object', name);
  }

  isObjectType(type: string): boolean {
    return this.#objects.has(type);
  }

  /**
   * Every problem of `value` as an instance of a resolved class or object, each naming its
   * path: attributes not defined (or only in a profile not enabled), required ones missing,
   * constraints broken, values not of the dictionary's type or enum. Empty when valid.
   */
  check(value: unknown, r: Resolved, path: string, profiles: readonly string[] = []): string[] {
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      return [`${path} must be an object (${r.name})`];
    const v = value as Obj;
    const out: string[] = [];
    const applies = (a: AttrDef) =>
      a.profile === undefined || a.profile === null || profiles.includes(a.profile);
    for (const [k, a] of Object.entries(r.attributes))
      if (a.requirement === 'required' && applies(a) && !(k in v))
        out.push(`${path}.${k} is required by ${r.name}`);
    const { at_least_one, just_one } = r.constraints;
    if (at_least_one !== undefined && !at_least_one.some((k) => k in v))
      out.push(`${path} needs at least one of ${at_least_one.join(', ')} (${r.name})`);
    if (just_one !== undefined && just_one.filter((k) => k in v).length !== 1)
      out.push(`${path} needs exactly one of ${just_one.join(', ')} (${r.name})`);
    for (const [k, x] of Object.entries(v)) {
      const a = r.attributes[k];
      if (a === undefined || !applies(a)) {
        out.push(`${path}.${k} is not an attribute of ${r.name}`);
        continue;
      }
      const d = this.dictionary[k];
      if (d === undefined) {
        out.push(`${path}.${k} is not in the dictionary`);
        continue;
      }
      const def = mergeAttr(d, a) as AttrDef & { type: string };
      if (d.is_array === true) {
        if (!Array.isArray(x)) out.push(`${path}.${k} must be an array`);
        else
          for (const [i, item] of x.entries())
            out.push(...this.#value(item, def, `${path}.${k}[${i}]`, profiles));
      } else out.push(...this.#value(x, def, `${path}.${k}`, profiles));
    }
    return out;
  }

  #value(
    x: unknown,
    def: AttrDef & { type: string },
    path: string,
    profiles: readonly string[],
  ): string[] {
    if (def.enum !== undefined && !Object.hasOwn(def.enum, String(x)))
      return [
        `${path} = ${JSON.stringify(x)} is not one of its enum (${Object.keys(def.enum).join(', ')})`,
      ];
    const t = def.type;
    if (t === 'object') return isPlainObject(x) ? [] : [`${path} must be a JSON object`];
    if (this.isObjectType(t)) return this.check(x, this.object(t), path, profiles);
    return this.#scalar(x, t, path);
  }

  #scalar(x: unknown, t: string, path: string): string[] {
    const ty = this.types[t];
    if (ty === undefined) return [`${path}: type ${t} is not in the dictionary's types`];
    const fail = (why: string) => [`${path} = ${JSON.stringify(x)} ${why} (${t})`];
    switch (t) {
      case 'string_t':
        return typeof x === 'string' ? [] : fail('must be a string');
      case 'integer_t':
        return Number.isInteger(x) && Math.abs(x as number) < 2 ** 31
          ? []
          : fail('must be a 32-bit integer');
      case 'long_t':
        return Number.isSafeInteger(x) ? [] : fail('must be an integer');
      case 'float_t':
        return typeof x === 'number' ? [] : fail('must be a number');
      case 'boolean_t':
        return typeof x === 'boolean' ? [] : fail('must be a boolean');
      case 'json_t':
        return x === undefined ? fail('must be JSON') : [];
    }
    // A derived type: its base type's rules, then its own.
    const base = this.#scalar(x, ty.type ?? 'string_t', path);
    if (base.length > 0) return base;
    if (ty.regex !== undefined && !new RegExp(ty.regex).test(x as string))
      return fail(`must match ${ty.regex}`);
    if (ty.max_len !== undefined && (x as string).length > ty.max_len)
      return fail(`must be at most ${ty.max_len} long`);
    if (
      ty.range !== undefined &&
      ((x as number) < (ty.range[0] as number) || (x as number) > (ty.range[1] as number))
    )
      return fail(`must be in ${ty.range.join('..')}`);
    return [];
  }
}

function isPlainObject(x: unknown): boolean {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

let loaded: OcsfSchema | undefined;
/** The schema, read once. */
export function ocsfSchema(): OcsfSchema {
  loaded ??= new OcsfSchema();
  return loaded;
}
