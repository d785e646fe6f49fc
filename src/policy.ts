/**
 * C2SP tlog-policy (c2sp.org/tlog-policy): which logs are trusted, which witnesses exist, and
 * the quorum of witnesses whose cosignatures make a checkpoint valid.
 *
 *   log <vkey> [<url>]
 *   witness <name> <vkey> [<url>]
 *   group <name> all|any|<k> <member>...
 *   quorum <name>|none
 *
 * Names may be referenced only after their definition (so groups cannot be circular); each
 * member appears at most once per group; exactly one quorum line.
 */
import { FormatError } from './format-error.js';
import {
  parseVerifierKey,
  SIG_TYPE_COSIGNATURE_V1,
  SIG_TYPE_ED25519,
  type VerifierKey,
} from './note-key.js';

/** Limits well above the spec's recommended minimum of 32 each (c2sp.org/tlog-policy). */
export const MAX_POLICY_SIZE = 64 * 1024;
export const MAX_POLICY_ENTRIES = 256;

export interface PolicyLog {
  readonly vkey: string;
  readonly key: VerifierKey;
  readonly url?: string;
}

export interface PolicyWitness {
  readonly name: string;
  readonly vkey: string;
  readonly key: VerifierKey;
  readonly url?: string;
}

export interface PolicyGroup {
  readonly name: string;
  readonly threshold: number;
  readonly members: readonly string[];
}

/** A parsed policy. `quorum` is a witness or group name, or "none". */
export interface Policy {
  readonly logs: readonly PolicyLog[];
  readonly witnesses: readonly PolicyWitness[];
  readonly groups: readonly PolicyGroup[];
  readonly quorum: string;
}

const KEYWORDS = new Set(['log', 'witness', 'group', 'quorum', 'none', 'all', 'any']);

/** Options for parsePolicy. */
export interface PolicyOptions {
  /**
   * The spec forbids two witness lines with the same public key. Tessera accepts them (its
   * test vectors have such policies); 'allow' parses those, 'reject' (the default) follows
   * the spec, so that one key can never count twice toward a quorum.
   */
  readonly duplicateWitnessKeys?: 'reject' | 'allow';
}

/** Parses a policy file. Throws FormatError naming the line and the rule. */
export function parsePolicy(text: string, options: PolicyOptions = {}): Policy {
  const allowDuplicates = options.duplicateWitnessKeys === 'allow';
  if (text.length > MAX_POLICY_SIZE) bad('policy', `must be at most ${MAX_POLICY_SIZE} characters`);
  if (/[\u0000-\u0008\u000b-\u001f\u007f]/.test(text)) {
    bad('policy', 'must not contain control characters other than tab and newline');
  }
  const logs: PolicyLog[] = [];
  const witnesses: PolicyWitness[] = [];
  const groups: PolicyGroup[] = [];
  const names = new Map<string, 'witness' | 'group'>();
  const keys = new Set<string>();
  const urlOwners = new Map<string, string>();
  let quorum: string | undefined;
  const lines = text.split('\n');
  for (const [i, raw] of lines.entries()) {
    const line = `line ${i + 1}`;
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    // Trailing comments after the fields are tolerated, as Sigsum and Tessera do.
    const hash = raw.indexOf('#');
    const fields = (hash >= 0 ? raw.slice(0, hash) : raw).split(/[ \t]+/).filter((f) => f !== '');
    const [keyword, ...args] = fields as [string, ...string[]];
    if (
      keyword !== 'quorum' &&
      logs.length + witnesses.length + groups.length >= MAX_POLICY_ENTRIES
    ) {
      bad(line, `the policy must have at most ${MAX_POLICY_ENTRIES} log, witness and group lines`);
    }
    switch (keyword) {
      case 'log': {
        if (args.length < 1 || args.length > 2) bad(line, 'must be "log <vkey> [<url>]"');
        const key = vkeyOf(args[0] as string, SIG_TYPE_ED25519, line);
        uniqueKey(keys, key, line, 'log');
        logs.push(withUrl({ vkey: args[0] as string, key }, args[1]));
        break;
      }
      case 'witness': {
        if (args.length < 2 || args.length > 3)
          bad(line, 'must be "witness <name> <vkey> [<url>]"');
        const name = args[0] as string;
        if (KEYWORDS.has(name)) bad(line, `invalid witness name "${name}": it is a keyword`);
        if (names.has(name)) bad(line, `duplicate component name "${name}"`);
        const key = vkeyOf(args[1] as string, SIG_TYPE_COSIGNATURE_V1, line);
        if (!allowDuplicates) uniqueKey(keys, key, line, 'witness');
        const url = args[2];
        if (url !== undefined) {
          const owner = urlOwners.get(url);
          if (owner !== undefined && owner !== key.name) {
            bad(line, `witness URL ${url} has multiple witness signer names assigned`);
          }
          urlOwners.set(url, key.name);
        }
        names.set(name, 'witness');
        witnesses.push(withUrl({ name, vkey: args[1] as string, key }, url));
        break;
      }
      case 'group': {
        if (args.length < 3) bad(line, 'must be "group <name> all|any|<k> <member>..."');
        const [name, k, ...members] = args as [string, string, ...string[]];
        if (KEYWORDS.has(name)) bad(line, `invalid group name "${name}": it is a keyword`);
        if (names.has(name)) bad(line, `duplicate component name "${name}"`);
        const seen = new Set<string>();
        for (const m of members) {
          if (!names.has(m))
            bad(line, `group member "${m}" not found (define it on an earlier line)`);
          if (seen.has(m)) bad(line, `group member "${m}" is listed twice`);
          seen.add(m);
        }
        let threshold: number;
        if (k === 'all') threshold = members.length;
        else if (k === 'any') threshold = 1;
        else if (/^[1-9][0-9]{0,3}$/.test(k) && Number(k) <= members.length) threshold = Number(k);
        else bad(line, `invalid threshold "${k}": must be all, any, or 1 to ${members.length}`);
        names.set(name, 'group');
        groups.push({ name, threshold, members });
        break;
      }
      case 'quorum': {
        if (args.length !== 1) bad(line, 'must be "quorum <name>|none"');
        if (quorum !== undefined) bad(line, 'a policy must have exactly one quorum line');
        const name = args[0] as string;
        if (name !== 'none' && !names.has(name)) bad(line, `quorum component "${name}" not found`);
        quorum = name;
        break;
      }
      default:
        bad(line, `unknown keyword "${keyword}"`);
    }
  }
  if (quorum === undefined) bad('policy', 'policy file must define a quorum');
  return { logs, witnesses, groups, quorum };
}

/** The number of members that must be satisfied at the top of the quorum (0 for none). */
export function quorumThreshold(p: Policy): number {
  if (p.quorum === 'none') return 0;
  return p.groups.find((g) => g.name === p.quorum)?.threshold ?? 1;
}

/**
 * Whether the witnesses that cosigned (by policy name) satisfy the quorum: a witness is
 * satisfied when it cosigned; a group when at least `threshold` of its members are.
 */
export function quorumMet(p: Policy, cosigned: ReadonlySet<string>): boolean {
  if (p.quorum === 'none') return true;
  const groups = new Map(p.groups.map((g) => [g.name, g]));
  const satisfied = (name: string): boolean => {
    const g = groups.get(name);
    if (g === undefined) return cosigned.has(name);
    let n = 0;
    for (const m of g.members) if (satisfied(m)) n++;
    return n >= g.threshold;
  };
  return satisfied(p.quorum);
}

function vkeyOf(vkey: string, type: number, line: string): VerifierKey {
  let key: VerifierKey;
  try {
    key = parseVerifierKey(vkey);
  } catch (e) {
    if (e instanceof FormatError) bad(line, `invalid vkey: ${e.rule}`);
    throw e;
  }
  // Witness keys may be written as cosignature/v1 vkeys (type 0x04) or, as Sigsum policies
  // do, as plain Ed25519 vkeys (type 0x01); either names the same Ed25519 public key.
  if (type === SIG_TYPE_ED25519 && key.type !== SIG_TYPE_ED25519) {
    bad(line, 'log keys must be Ed25519 (type 0x01)');
  }
  return key;
}

/** Two vkeys are duplicates when they wrap the same public key (c2sp.org/tlog-policy). */
function uniqueKey(keys: Set<string>, key: VerifierKey, line: string, what: string): void {
  const k = Array.from(key.publicKey, (b) => b.toString(16).padStart(2, '0')).join('');
  if (keys.has(k)) bad(line, `duplicate ${what} key`);
  keys.add(k);
}

function withUrl<T extends object>(v: T, url: string | undefined): T & { url?: string } {
  if (url === undefined) return v;
  if (!/^https?:\/\/[^\s]+$/.test(url))
    throw new FormatError('tlog-policy', 'url', `"${url}" must be an http(s) URL`);
  return { ...v, url };
}

function bad(field: string, rule: string): never {
  throw new FormatError('tlog-policy', field, rule);
}
