/**
 * How customers' own actions map to OCSF (docs/destinations.md §OCSF): a JSON array of rules,
 * each an action prefix and the class and activity its events become, e.g.
 *
 *   [{"prefix": "user.login", "class_uid": 3002, "activity_id": 1},
 *    {"prefix": "invoice.", "class_uid": 6003, "activity_id": 3}]
 *
 * The longest prefix that starts the action wins; an action no rule matches is API Activity
 * (6003) with activity 99 Other and the action as `activity_name`. Parsed strictly: at most
 * MAX_OCSF_RULES rules of exactly these three members, no prefix twice, a class Stele emits
 * (src/ocsf-classes.ts) and an activity of that class.
 */
import { parseJson } from './canonical-json.js';
import { MAX_ACTION_LENGTH } from './event.js';
import { FormatError } from './format-error.js';
import { isJsonObject } from './json-shape.js';
import { OCSF_CLASSES } from './ocsf-classes.js';

/** One rule: events whose action starts with `prefix` become this class and activity. */
export interface OcsfRule {
  readonly prefix: string;
  readonly class_uid: number;
  readonly activity_id: number;
}

/** Rules per configuration: far more action families than a service has, and a bounded scan. */
export const MAX_OCSF_RULES = 256;
/** Largest configuration text: 256 rules of a 128-character prefix fit in 64 KiB. */
export const MAX_OCSF_CONFIG_SIZE = 64 * 1024;

const MEMBERS = ['activity_id', 'class_uid', 'prefix'];

/**
 * Parses a mapping configuration. Throws FormatError('ocsf-config', field, rule).
 *
 * @example
 *   const rules = parseOcsfConfig('[{"prefix":"user.login","class_uid":3002,"activity_id":1}]');
 */
export function parseOcsfConfig(text: string): readonly OcsfRule[] {
  if (text.length > MAX_OCSF_CONFIG_SIZE)
    bad('the configuration', `must be at most ${MAX_OCSF_CONFIG_SIZE} characters`);
  let v: unknown;
  try {
    v = parseJson(text);
  } catch (e) {
    if (e instanceof FormatError) bad('the configuration', `must be strict JSON (${e.message})`);
    throw e;
  }
  if (!Array.isArray(v)) bad('the configuration', 'must be a JSON array of rules');
  if (v.length > MAX_OCSF_RULES)
    bad('the configuration', `must hold at most ${MAX_OCSF_RULES} rules`);
  const seen = new Set<string>();
  return v.map((r, i): OcsfRule => {
    const at = `rules[${i}]`;
    if (!isJsonObject(r)) bad(at, 'must be an object');
    const keys = Object.keys(r).sort();
    if (keys.length !== MEMBERS.length || !keys.every((k, j) => k === MEMBERS[j]))
      bad(at, 'must have exactly prefix, class_uid and activity_id');
    const { prefix, class_uid, activity_id } = r;
    if (typeof prefix !== 'string' || prefix.length < 1 || [...prefix].length > MAX_ACTION_LENGTH)
      bad(`${at}.prefix`, `must be a string of 1 to ${MAX_ACTION_LENGTH} characters`);
    if (seen.has(prefix)) bad(`${at}.prefix`, "must not repeat an earlier rule's prefix");
    seen.add(prefix);
    const cls = typeof class_uid === 'number' ? OCSF_CLASSES.get(class_uid) : undefined;
    if (cls === undefined)
      bad(`${at}.class_uid`, `must be one of ${[...OCSF_CLASSES.keys()].join(', ')}`);
    if (typeof activity_id !== 'number' || cls.activities[activity_id] === undefined)
      bad(
        `${at}.activity_id`,
        `must be an activity of class ${cls.uid} (${Object.keys(cls.activities).join(', ')})`,
      );
    return { prefix, class_uid: cls.uid, activity_id };
  });
}

/** The rule for an action: the longest prefix that starts it, or undefined. */
export function ruleFor(rules: readonly OcsfRule[], action: string): OcsfRule | undefined {
  let best: OcsfRule | undefined;
  for (const r of rules)
    if (action.startsWith(r.prefix) && (best === undefined || r.prefix.length > best.prefix.length))
      best = r;
  return best;
}

function bad(field: string, rule: string): never {
  throw new FormatError('ocsf-config', field, rule);
}
