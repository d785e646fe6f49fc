/**
 * The `stele` command line (docs/cli.md). Runtime-free: the Node launcher (bin/) supplies
 * the file system, the terminal and fetch through CliIo, so the commands are tested as they
 * are and could run anywhere.
 */
import {
  type AuditReport,
  type AuditSource,
  type AuditState,
  audit,
  type SourceEntry,
} from '../audit.js';
import { parseCheckpoint } from '../checkpoint.js';
import type { LogKeySet } from '../checkpoint-verify.js';
import type { CopyReport } from '../copy-report.js';
import { CopyVerifier } from '../copy-verifier.js';
import { MAX_RECORD_SIZE } from '../delivered-record.js';
import { fromBase64, toBase64, utf8 } from '../encoding.js';
import { entryLeafHash, isAnyStreamName } from '../entry.js';
import { parseExportEntry, parseExportIndex, parseExportMeta } from '../export-format.js';
import { FormatError } from '../format-error.js';
import { isJsonObject } from '../json-shape.js';
import {
  type DestinationRecord,
  destinationTypeMembers,
  LedgerClient,
  LedgerError,
  type TokenRecord,
} from '../ledger-client.js';
import { ledgerSource } from '../ledger-source.js';
import { CompactRange } from '../merkle.js';
import { ndjsonLines } from '../ndjson-lines.js';
import type { NoteVerifier } from '../note.js';
import {
  ed25519Verifier,
  ed25519VerifierFor,
  formatVerifierKey,
  parseVerifierKey,
  SIG_TYPE_ED25519,
} from '../note-key.js';
import { type OcsfRule, parseOcsfConfig } from '../ocsf-config.js';
import { type Policy, parsePolicy } from '../policy.js';
import { consistencyProof, MemoryHashStore } from '../proof.js';
import { tail } from '../sdk/tail.js';
import { verifyInclusion } from '../sdk/verify.js';
import { STELE_VERSION } from '../version.js';

/** What the commands may touch. */
export interface CliIo {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly isTTY: boolean;
  stdout(s: string): void;
  stderr(s: string): void;
  readFile(path: string): Promise<Uint8Array>;
  writeFile(path: string, data: Uint8Array | string): Promise<void>;
  mkdir(path: string): Promise<void>;
  exists(path: string): Promise<boolean>;
  /** The names in a folder; none when it does not exist. */
  list(path: string): Promise<string[]>;
  readStdin(): Promise<Uint8Array>;
  /**
   * A file's bytes a chunk at a time, so that a large file is never held whole (`stele
   * verify --from`); without it, readFile.
   */
  readChunks?(path: string): AsyncIterable<Uint8Array>;
  readonly fetch: typeof fetch;
  /** Where per-user state lives (~/.config/stele). */
  readonly stateDir: string;
}

/** What the CLI sends as User-Agent (recorded in `_access`). */
const USER_AGENT = `stele-cli/${STELE_VERSION}`;

/** Exit codes, distinct per kind of failure (docs/cli.md). */
export const EXIT = { ok: 0, failed: 1, usage: 2, connection: 3, auth: 4, server: 5 } as const;

class UsageError extends Error {}

/** How long `stele tail` goes on trying to reach the ledger before it gives up (docs/cli.md). */
export const TAIL_GIVE_UP_S = 60;

/** Every command: how it is called, what it does, and the options it reads. */
const COMMANDS: Readonly<
  Record<string, { readonly usage: string; readonly summary: string; readonly details?: string }>
> = {
  send: {
    usage: 'stele send <stream> [file|-] [--batch N] [--json]',
    summary:
      'append JSON or NDJSON events (batched; every event gets an id, so a retry cannot duplicate)',
    details:
      'Reads a JSON array, one JSON object, or NDJSON from the file (or stdin with - or no file).\nPrints each seq; with --json, the entries as the ledger acknowledged them.',
  },
  tail: {
    usage: 'stele tail <stream> [--from N] [--json] [--give-up SECONDS | --forever]',
    summary: 'follow a stream live (reconnects by itself)',
    details: `Without --from, only entries appended from now on are shown (--from 0 replays the stream).\nWhen the ledger cannot be reached for ${TAIL_GIVE_UP_S} s (--give-up), gives up with exit 3, unless --forever.`,
  },
  verify: {
    usage:
      'stele verify <stream> [--policy FILE] [--since-last] [--state FILE] [--json]\n       stele verify --offline <dir> [--policy FILE] [--json]\n       stele verify --from <file.ndjson> [--policy FILE] [--ocsf-rules FILE] [--json]',
    summary:
      "verify a stream (or an export, --offline; or a SIEM's copy of delivered records, --from) with the pinned log key, trusting nothing from the server",
  },
  export: {
    usage: 'stele export <stream> --out <dir> [--json]',
    summary: 'write entries and checkpoints into an empty folder, for offline verification',
  },
  proof: {
    usage: 'stele proof <stream> <seq> [--json]',
    summary: "print an entry's tlog-proof (c2sp.org/tlog-proof)",
  },
  'check-proof': {
    usage: 'stele check-proof <file> [--policy FILE] [--json]',
    summary: 'verify a tlog-proof offline with the pinned log key',
  },
  tokens: {
    usage:
      'stele tokens create --name NAME --role ROLE --streams GLOB[,GLOB...] [--expires TIME] [--json]\n       stele tokens list [--json]\n       stele tokens revoke <id>',
    summary: 'create, list and revoke API tokens (admin with scope *)',
    details:
      'ROLE is writer, verifier, reader or admin; TIME is an RFC 3339 date-time.\nThe secret of a created token is printed once.',
  },
  destinations: {
    usage:
      'stele destinations add --file CONFIG.json [--json]\n       stele destinations add --name NAME --streams GLOB[,GLOB...] --webhook-url URL --secret SECRET_NAME [--format raw|ocsf] [--ocsf-rules FILE] [--gzip] [--json]\n       stele destinations list [--json]\n       stele destinations show <name> [--json]\n       stele destinations remove <name>\n       stele destinations resume <name> [--json]',
    summary: 'deliver streams to a SIEM; list, show, remove and resume them (admin with scope *)',
    details:
      'CONFIG.json is the whole configuration of a destination of any type, as POST\n/v1/destinations takes it (docs/destinations.md). The flags make a webhook destination:\nSECRET_NAME is the NAME of a Worker secret (DEST_...) holding the whsec_ signing key\n(wrangler secret put DEST_SIEM_KEY); the key itself is never sent. --ocsf-rules FILE is a\nJSON array of {"prefix","class_uid","activity_id"} (with --format ocsf). --gzip sends\nthe bodies gzipped (content_encoding "gzip"). show prints the delivered seq and lag per\nstream, the last error, and why a destination is paused.',
  },
  erase: {
    usage: 'stele erase <stream> (--seqs N[,N...] | --actor ID) --reason TEXT [--json]',
    summary: "erase entries' contents (right to erasure); leaf hashes and proofs stay",
  },
  'rotate-keys': {
    usage: 'stele rotate-keys [--json]',
    summary:
      're-wrap every data key under the current MASTER_KEY, page by page (admin with scope *)',
  },
  completion: {
    usage: 'stele completion bash|zsh',
    summary:
      'print a shell completion script (e.g. stele completion bash > /etc/bash_completion.d/stele)',
  },
  version: { usage: 'stele --version', summary: 'print the version' },
};

const OPTIONS_HELP = `options:
  --url URL            the ledger (or STELE_URL)
  --token TOKEN        a bearer token (or STELE_TOKEN)
  --log-key KEY[,KEY]  the pinned log key: a stream's vkey (<name>+<hex8 key ID>+<base64 key>),
                       or the bare base64 public key of GET /v1/log-keys (or STELE_LOG_KEY);
                       after a key rotation, the current key and the retired ones
  --origin-prefix P    the ledger's origin prefix, when --log-key is a bare public key
  --policy FILE        a tlog-policy file: the witness quorum to require
  --config FILE        JSON with url, token, log_key, origin_prefix, policy (or STELE_CONFIG)
  --json               machine-readable output (byte strings in base64)
  -h, --help           help; stele <command> --help for one command's

exit codes: 0 ok, 1 verification failed, 2 bad input, 3 no connection, 4 refused auth, 5 server error
`;

function help(): string {
  const rows = Object.values(COMMANDS).map(
    (c) => `  ${c.usage.split('\n')[0]}\n      ${c.summary}`,
  );
  return `stele ${STELE_VERSION}: send, watch and verify Stele audit logs\n\nusage:\n${rows.join('\n')}\n\n${OPTIONS_HELP}`;
}

function commandHelp(name: string): string {
  const c = COMMANDS[name] as (typeof COMMANDS)[string];
  return `usage: ${c.usage}\n\n${c.summary}\n${c.details ? `\n${c.details}\n` : ''}\n${OPTIONS_HELP}`;
}

interface Options {
  readonly positional: string[];
  readonly flags: Map<string, string | true>;
}

function parseArgs(argv: readonly string[]): Options {
  const positional: string[] = [];
  const flags = new Map<string, string | true>();
  const valued = new Set([
    'url',
    'token',
    'log-key',
    'origin-prefix',
    'policy',
    'config',
    'state',
    'out',
    'offline',
    'batch',
    'from',
    'name',
    'role',
    'streams',
    'expires',
    'reason',
    'seqs',
    'actor',
    'give-up',
    'ocsf-rules',
    'webhook-url',
    'secret',
    'format',
    'type',
    'file',
  ]);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '-' || !a.startsWith('-')) positional.push(a);
    else {
      const name = a.replace(/^--?/, '');
      if (valued.has(name)) {
        const v = argv[++i];
        if (v === undefined) throw new UsageError(`--${name} needs a value`);
        flags.set(name, v);
      } else if (
        ['json', 'since-last', 'help', 'h', 'forever', 'version', 'v', 'gzip'].includes(name)
      )
        flags.set(name, true);
      else throw new UsageError(`unknown option ${a}`);
    }
  }
  return { positional, flags };
}

interface Settings {
  url?: string;
  token?: string;
  logKey?: string;
  originPrefix?: string;
  policyText?: string;
}

async function settings(io: CliIo, o: Options): Promise<Settings> {
  const flag = (k: string) => {
    const v = o.flags.get(k);
    return typeof v === 'string' ? v : undefined;
  };
  let file: Record<string, unknown> = {};
  const configPath = flag('config') ?? io.env.STELE_CONFIG;
  if (configPath) {
    const text = await readText(io, configPath, 'config');
    try {
      file = JSON.parse(text) as Record<string, unknown>;
    } catch (e) {
      throw new UsageError(
        `cannot read config ${configPath}: ${e instanceof Error ? e.message : String(e)}`,
      );
    }
  }
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  const policyPath = flag('policy') ?? str(file.policy);
  let policyText: string | undefined;
  if (policyPath) {
    policyText = await readText(io, policyPath, 'policy');
  }
  const s: Settings = {};
  const url = flag('url') ?? io.env.STELE_URL ?? str(file.url);
  const token = flag('token') ?? io.env.STELE_TOKEN ?? str(file.token);
  const logKey = flag('log-key') ?? io.env.STELE_LOG_KEY ?? str(file.log_key);
  const originPrefix = flag('origin-prefix') ?? str(file.origin_prefix);
  if (url) s.url = url;
  if (token) s.token = token;
  if (logKey) s.logKey = logKey;
  if (originPrefix) s.originPrefix = originPrefix;
  if (policyText !== undefined) s.policyText = policyText;
  return s;
}

function client(io: CliIo, s: Settings): LedgerClient {
  if (!s.url) throw new UsageError('no ledger: give --url or set STELE_URL');
  return new LedgerClient({
    url: s.url,
    fetch: io.fetch,
    userAgent: USER_AGENT,
    ...(s.token ? { token: s.token } : {}),
  });
}

function policyOf(s: Settings): Policy | undefined {
  if (s.policyText === undefined) return undefined;
  try {
    return parsePolicy(s.policyText);
  } catch (e) {
    if (e instanceof FormatError) throw new UsageError(`policy: ${e.field} ${e.rule}`);
    throw e;
  }
}

/** A bare Ed25519 public key (base64 of 32 bytes), as opposed to a vkey (which may also hold '+'). */
function isBareKey(k: string): boolean {
  return fromBase64(k)?.length === 32;
}

/** The key name of a vkey given as --log-key, or a usage error. */
function vkeyName(vkey: string): string {
  try {
    return parseVerifierKey(vkey).name;
  } catch (e) {
    if (e instanceof FormatError) throw new UsageError(logKeyRule(e.rule));
    throw e;
  }
}

/** A --log-key refusal: both forms it takes. */
function logKeyRule(rule: string): string {
  return `--log-key ${rule}, or be the bare base64 Ed25519 public key of GET /v1/log-keys`;
}

/** The pinned verifier for a stream's origin: a vkey as given, or a bare key with the origin. */
function logVerifier(s: Settings, origin: string): NoteVerifier[] {
  if (!s.logKey)
    throw new UsageError(
      'no pinned log key: give --log-key (a vkey, or the base64 key of GET /v1/log-keys)',
    );
  // After a key rotation: the current key and the retired ones, comma-separated.
  return s.logKey.split(',').map((one) => oneLogVerifier(one.trim(), origin));
}

function oneLogVerifier(key: string, origin: string): NoteVerifier {
  if (!isBareKey(key)) {
    try {
      const k = parseVerifierKey(key);
      if (k.name !== origin)
        throw new UsageError(`--log-key is for "${k.name}", the stream's origin is "${origin}"`);
      return ed25519Verifier(k);
    } catch (e) {
      if (e instanceof FormatError) throw new UsageError(logKeyRule(e.rule));
      throw e;
    }
  }
  return ed25519VerifierFor(origin, fromBase64(key) as Uint8Array);
}

function stream(o: Options, at: number): string {
  const s = o.positional[at];
  if (s === undefined || !isAnyStreamName(s))
    throw new UsageError('give a stream name ([a-z0-9][a-z0-9_-]{0,62})');
  return s;
}

/** Runs one command; returns its exit code. Never throws for expected failures. */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    const o = parseArgs(argv);
    const [cmd] = o.positional;
    const wantsHelp = o.flags.has('help') || o.flags.has('h');
    if (o.flags.has('version') || o.flags.has('v') || cmd === 'version') {
      io.stdout(`stele ${STELE_VERSION}\n`);
      return EXIT.ok;
    }
    if (cmd === undefined || cmd === 'help') {
      const topic = o.positional[1];
      io.stdout(
        topic !== undefined && Object.hasOwn(COMMANDS, topic) ? commandHelp(topic) : help(),
      );
      return cmd === undefined && !wantsHelp ? EXIT.usage : EXIT.ok;
    }
    if (!Object.hasOwn(COMMANDS, cmd))
      throw new UsageError(`unknown command "${cmd}"; see stele --help`);
    if (wantsHelp) {
      io.stdout(commandHelp(cmd));
      return EXIT.ok;
    }
    if (cmd === 'completion') return completionCommand(io, o);
    const s = await settings(io, o);
    switch (cmd) {
      case 'verify':
        return await verifyCommand(io, o, s);
      case 'export':
        return await exportCommand(io, o, s);
      case 'proof': {
        const name = stream(o, 1);
        const seq = Number(o.positional[2]);
        if (o.positional[2] === undefined || !Number.isSafeInteger(seq) || seq < 0)
          throw new UsageError('give a seq (a non-negative integer)');
        const proof = await client(io, s).entryProof(name, seq);
        io.stdout(o.flags.has('json') ? jsonText({ stream: name, seq, proof }) : proof);
        return EXIT.ok;
      }
      case 'check-proof':
        return await checkProofCommand(io, o, s);
      case 'send':
        return await sendCommand(io, o, s);
      case 'tail':
        return await tailCommand(io, o, s);
      case 'tokens':
        return await tokensCommand(io, o, s);
      case 'destinations':
        return await destinationsCommand(io, o, s);
      case 'erase':
        return await eraseCommand(io, o, s);
      default:
        return await rotateKeysCommand(io, o, s);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr(`stele: ${e.message}\n`);
      return EXIT.usage;
    }
    if (e instanceof FormatError && e.format === 'export') {
      // A damaged or forged export proves nothing: that is a failed verification.
      io.stdout(`FAILED: the export is malformed: ${e.field} ${e.rule}\n`);
      return EXIT.failed;
    }
    if (e instanceof LedgerError) {
      io.stderr(`stele: ${e.message}\n`);
      return e.kind === 'network' ? EXIT.connection : e.kind === 'auth' ? EXIT.auth : EXIT.server;
    }
    throw e;
  }
}

async function readState(io: CliIo, path: string): Promise<Record<string, AuditState>> {
  if (!(await io.exists(path))) return {};
  try {
    return JSON.parse(new TextDecoder().decode(await io.readFile(path))) as Record<
      string,
      AuditState
    >;
  } catch {
    throw new UsageError(`the state file ${path} is not valid JSON; move it away to start over`);
  }
}

async function verifyCommand(io: CliIo, o: Options, s: Settings): Promise<number> {
  const from = o.flags.get('from');
  if (typeof from === 'string') return verifyFromCommand(io, o, s, from);
  const offline = o.flags.get('offline');
  let source: AuditSource;
  let name: string;
  let origin: string;
  if (typeof offline === 'string') {
    const meta = parseExportMeta(await readText(io, `${offline}/stream.json`));
    name = meta.stream;
    origin = meta.origin;
    source = await exportSource(io, offline);
  } else {
    name = stream(o, 1);
    const c = client(io, s);
    const prefix =
      s.originPrefix ??
      (s.logKey !== undefined && !isBareKey(s.logKey.split(',')[0]?.trim() ?? '')
        ? undefined
        : (await c.logKeys()).origin_prefix);
    origin =
      prefix === undefined ? vkeyName(s.logKey?.split(',')[0]?.trim() ?? '') : `${prefix}/${name}`;
    source = ledgerSource(c, name);
  }
  const log = logVerifier(s, origin);
  const statePath = (o.flags.get('state') as string | undefined) ?? `${io.stateDir}/state.json`;
  const states = await readState(io, statePath);
  const previous = states[origin];
  const policy = policyOf(s);
  const progress = io.isTTY && !o.flags.has('json');
  const report = await audit(source, {
    stream: name,
    log,
    ...(policy ? { policy } : {}),
    ...(previous ? { state: previous } : {}),
    sinceLast: o.flags.has('since-last'),
    ...(progress
      ? {
          onProgress: (done: number, total: number) => io.stderr(progressBar(name, done, total)),
        }
      : {}),
  });
  if (progress) io.stderr('\n');
  if (report.ok && report.state) {
    states[origin] = report.state;
    await io.mkdir(statePath.slice(0, statePath.lastIndexOf('/')) || '.');
    await io.writeFile(statePath, `${JSON.stringify(states, null, 2)}\n`);
  }
  io.stdout(
    o.flags.has('json') ? jsonText(report) : describe(report, previous, policy !== undefined),
  );
  return report.ok ? EXIT.ok : EXIT.failed;
}

/**
 * `stele verify --from FILE`: a copy of delivered records (docs/destinations.md), read line by
 * line, checked against its own checkpoint records with the pinned log key.
 */
async function verifyFromCommand(
  io: CliIo,
  o: Options,
  s: Settings,
  file: string,
): Promise<number> {
  if (!s.logKey)
    throw new UsageError(
      'no pinned log key: give --log-key (a vkey, or the base64 key of GET /v1/log-keys)',
    );
  for (const k of s.logKey.split(',')) if (!isBareKey(k.trim())) vkeyName(k.trim());
  if (!(await io.exists(file))) throw new UsageError(`cannot read ${file}: no such file`);
  const policy = policyOf(s);
  const keysFor = (stream: string, origin: string): LogKeySet | string => {
    if (s.originPrefix !== undefined && origin !== `${s.originPrefix}/${stream}`)
      return `the checkpoint's origin "${origin}" is not "${s.originPrefix}/${stream}" (--origin-prefix)`;
    try {
      return logVerifier(s, origin);
    } catch (e) {
      if (e instanceof UsageError) return e.message;
      throw e;
    }
  };
  // The destination's mapping of customers' actions: OCSF records must say what it says.
  const configPath = o.flags.get('ocsf-rules');
  let ocsfRules: readonly OcsfRule[] = [];
  if (typeof configPath === 'string') {
    try {
      ocsfRules = parseOcsfConfig(await readText(io, configPath, 'OCSF configuration'));
    } catch (e) {
      if (e instanceof FormatError) throw new UsageError(`--ocsf-rules: ${e.field} ${e.rule}`);
      throw e;
    }
  }
  const v = new CopyVerifier({ keysFor, ocsfRules, ...(policy ? { policy } : {}) });
  const chunks = io.readChunks?.(file) ?? [await readBytes(io, file, 'copy')];
  try {
    for await (const l of ndjsonLines(chunks, MAX_RECORD_SIZE)) {
      if ('text' in l) v.addLine(l.text, l.line);
      else
        v.addUnreadable(
          l.line,
          'tooLong' in l
            ? `the record is over ${MAX_RECORD_SIZE} bytes`
            : 'the record is not UTF-8',
        );
    }
  } catch (e) {
    throw new UsageError(`cannot read ${file}: ${e instanceof Error ? e.message : String(e)}`);
  }
  const report = v.finish();
  io.stdout(o.flags.has('json') ? jsonText({ file, ...report }) : describeCopy(file, report));
  return report.ok ? EXIT.ok : EXIT.failed;
}

function describeCopy(file: string, r: CopyReport): string {
  const dup = r.duplicates > 0 ? ` (${r.duplicates} exact duplicates dropped)` : '';
  const streams = r.streams.map(
    (x) =>
      `  ${x.stream}: ${x.entries} entries, ${x.checkpoints_verified} signed checkpoint${x.checkpoints_verified === 1 ? '' : 's'} matched${x.root ? `; newest size ${x.size}, root ${x.root}` : ''}${x.beyond_checkpoint > 0 ? `; ${x.beyond_checkpoint} after the newest checkpoint (chained, not covered by a signed root yet)` : ''}${x.erased.length > 0 ? `; erased: ${x.erased.join(', ')}` : ''}`,
  );
  if (r.ok)
    return `OK ${file}: ${r.records} records${dup}, ${r.streams.length} stream${r.streams.length === 1 ? '' : 's'}\n${streams.join('\n')}\n`;
  const first = r.problems
    .filter((p) => p.seq !== undefined)
    .sort((a, b) => (a.seq as number) - (b.seq as number))[0];
  const lines = r.problems.map((p) => `  ${p.kind}: ${p.detail}`);
  const more =
    r.problems_not_listed > 0 ? [`  ... and ${r.problems_not_listed} more problems`] : [];
  return `FAILED ${file}${first ? ` (first bad seq ${first.seq} of ${first.stream})` : ''}: ${r.records} records${dup}\n${[...lines, ...more, ...streams].join('\n')}\n`;
}

function describe(r: AuditReport, previous: AuditState | undefined, policyGiven: boolean): string {
  if (!r.ok) {
    const lines = r.problems.map(
      (p) => `  ${p.seq === undefined ? '' : `seq ${p.seq}: `}${p.kind}: ${p.detail}`,
    );
    const first = r.problems.find((p) => p.seq !== undefined);
    return `FAILED ${r.stream}${first ? ` (first bad seq ${first.seq})` : ''}\n${lines.join('\n')}\n`;
  }
  const cos = r.newest?.cosignatures.filter((c) => c.valid).map((c) => c.witness) ?? [];
  const since = previous ? `, consistent with the last verified size ${previous.size}` : '';
  const erased = r.erased.map(
    (e) =>
      `  seq ${e.seq}: erased${e.at ? ` at ${e.at}` : ''}${e.record ? `, recorded as ${e.record.stream} seq ${e.record.seq}` : ''}: its leaf hash verified, its contents are gone`,
  );
  return [
    `OK ${r.stream}: ${r.size} entries (${r.entries_verified} checked now), ${r.checkpoints_verified} signed checkpoints${since}`,
    `  root ${r.root}`,
    ...(erased.length > 0 ? [`  ${erased.length} erased (not tampered):`, ...erased] : []),
    policyGiven
      ? `  cosigned by ${cos.join(', ') || 'no witness'}: quorum "${r.newest?.quorum.rule}" met`
      : unchecked(r),
    '',
  ].join('\n');
}

/** What a verification without --policy says of the witness cosignatures it did not check. */
function unchecked(r: AuditReport): string {
  // Without a policy no witness key is known: every signature line but the log's matches
  // no key, and is one this run could not check.
  const n = r.newest?.unknown_signatures ?? 0;
  return n === 0
    ? '  no witness cosignatures on the checkpoint (none are required without --policy)'
    : `  ${n} witness cosignature${n === 1 ? '' : 's'} on the checkpoint not checked: give --policy FILE (a tlog-policy naming the witnesses and their keys, e.g. the witnesses.policy npm start writes) to check them`;
}

/** JSON output: indented, byte strings in base64. */
function jsonText(v: unknown): string {
  return `${JSON.stringify(v, (_, x) => (x instanceof Uint8Array ? toBase64(x) : x), 2)}\n`;
}

/** An AuditSource over an export folder (src/export-format.ts; written by exportCommand). */
async function exportSource(io: CliIo, dir: string): Promise<AuditSource> {
  const lines = (await readText(io, `${dir}/entries.ndjson`)).split('\n');
  // Records are parsed as they are used, so a large export is not held twice in memory.
  const records = function* (): Generator<SourceEntry> {
    for (let i = 0; i < lines.length; i++)
      if (lines[i] !== '') yield parseExportEntry(lines[i] as string, i + 1);
  };
  const index = parseExportIndex(await readText(io, `${dir}/checkpoints/index.json`));
  const notes = await Promise.all(index.map((n) => readText(io, `${dir}/checkpoints/${n}.txt`)));
  const newest = await readText(io, `${dir}/checkpoint.txt`);
  return {
    newest: async () => newest,
    checkpoints: async () => notes,
    async consistency(from, to) {
      // The export holds every entry: the proof comes from the tree built from them.
      const range = new CompactRange();
      const store = new MemoryHashStore();
      for (const e of records()) {
        if (range.size >= to) break;
        store.put(range.append(e.erased ? (e.leafHash as Uint8Array) : entryLeafHash(e.bytes)));
      }
      return consistencyProof(store, from, to);
    },
    async *entries(start, end) {
      let page: SourceEntry[] = [];
      for (const e of records()) {
        if (e.seq < start) continue;
        if (e.seq >= end) break;
        page.push(e);
        if (page.length === 1000) {
          yield page;
          page = [];
        }
      }
      if (page.length > 0) yield page;
    },
  };
}

/** A file's bytes; a file that cannot be read is the caller's input error (exit 2). */
async function readBytes(io: CliIo, path: string, what = ''): Promise<Uint8Array> {
  try {
    return await io.readFile(path);
  } catch (e) {
    throw new UsageError(
      `cannot read ${what}${what ? ' ' : ''}${path}: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
}

async function readText(io: CliIo, path: string, what = ''): Promise<string> {
  return new TextDecoder().decode(await readBytes(io, path, what));
}

async function exportCommand(io: CliIo, o: Options, s: Settings): Promise<number> {
  const name = stream(o, 1);
  const out = o.flags.get('out');
  if (typeof out !== 'string') throw new UsageError('give --out <dir>');
  if ((await io.list(out)).length > 0)
    throw new UsageError(
      `--out ${out} is not empty: export into a new or empty folder (an old export's checkpoint files would be taken for this one's)`,
    );
  const c = client(io, s);
  const keys = await c.logKeys();
  const origin = `${keys.origin_prefix}/${name}`;
  const newest = await c.checkpoint(name);
  const size = parseCheckpoint(newest.slice(0, newest.lastIndexOf('\n\n') + 1)).size;
  await io.mkdir(`${out}/checkpoints`);
  const parts: string[] = [];
  for await (const e of c.allEntries(name, 0, size))
    parts.push(
      `${JSON.stringify({ seq: e.seq, received_at: e.received_at, leaf_hash: e.leaf_hash, ...(e.tampered ? { tampered: true } : e.entry === undefined ? { erased: e.erased ?? {} } : { entry: e.entry }) })}\n`,
    );
  await io.writeFile(`${out}/entries.ndjson`, parts.join(''));
  const all = (await c.checkpoints(name)).filter((x) => x.size <= size);
  for (const cp of all) await io.writeFile(`${out}/checkpoints/${cp.size}.txt`, cp.note);
  await io.writeFile(`${out}/checkpoints/index.json`, JSON.stringify(all.map((x) => x.size)));
  await io.writeFile(`${out}/checkpoint.txt`, newest);
  const vkey = formatVerifierKey({
    name: origin,
    type: SIG_TYPE_ED25519,
    publicKey: fromBase64(keys.public_key) ?? new Uint8Array(),
  });
  await io.writeFile(
    `${out}/stream.json`,
    `${JSON.stringify({ stream: name, origin, size, log_vkey_as_served: vkey, exported_at: new Date().toISOString() }, null, 2)}\n`,
  );
  io.stdout(
    o.flags.has('json')
      ? jsonText({ stream: name, size, checkpoints: all.length, out })
      : `exported ${name}: ${size} entries and ${all.length} checkpoints to ${out}\nverify with: stele verify --offline ${out} --log-key <the pinned key>\n`,
  );
  return EXIT.ok;
}

async function checkProofCommand(io: CliIo, o: Options, s: Settings): Promise<number> {
  const file = o.positional[1];
  if (!file) throw new UsageError('give the proof file');
  const bytes = await readBytes(io, file, 'proof');
  const note = new TextDecoder().decode(bytes);
  // The origin is the first line of the checkpoint, after the proof's blank line.
  const cpStart = note.indexOf('\n\n') + 2;
  const origin = note.slice(cpStart, note.indexOf('\n', cpStart));
  const policy = policyOf(s);
  const r = verifyInclusion(bytes, { log: logVerifier(s, origin), ...(policy ? { policy } : {}) });
  const json = o.flags.has('json');
  if (!r.ok) {
    if (r.error.reason === 'malformed' && cpStart < 2)
      throw new UsageError(`${file}: ${r.error.detail}`);
    io.stdout(
      json
        ? jsonText({ ok: false, file, reason: r.error.reason, detail: r.error.detail })
        : `FAILED ${file}: ${r.error.detail}\n`,
    );
    return EXIT.failed;
  }
  const { entry, checkpoint } = r.value;
  if (json) {
    io.stdout(
      jsonText({
        ok: true,
        file,
        stream: entry.stream,
        seq: entry.seq,
        tree_size: checkpoint.size,
        root: checkpoint.root,
        cosigned_per_policy: policy !== undefined,
        event: entry.event,
      }),
    );
    return EXIT.ok;
  }
  io.stdout(
    `OK ${file}: seq ${entry.seq} of ${entry.stream} is in the tree of size ${checkpoint.size} (root ${toBase64(checkpoint.root)}), signed by the log${policy ? ' and cosigned per the policy' : ''}\n  ${JSON.stringify(entry.event)}\n`,
  );
  return EXIT.ok;
}

async function sendCommand(io: CliIo, o: Options, s: Settings): Promise<number> {
  const name = stream(o, 1);
  const file = o.positional[2] ?? '-';
  const text = new TextDecoder()
    .decode(file === '-' ? await io.readStdin() : await readBytes(io, file, 'events'))
    .trim();
  let events: unknown[];
  try {
    const first =
      text.startsWith('[') || (text.startsWith('{') && !text.includes('\n'))
        ? JSON.parse(text)
        : undefined;
    events =
      first === undefined
        ? text
            .split('\n')
            .filter((l) => l.trim() !== '')
            .map((l) => JSON.parse(l) as unknown)
        : Array.isArray(first)
          ? first
          : [first];
  } catch (e) {
    throw new UsageError(
      `${file}: not JSON or NDJSON (${e instanceof Error ? e.message : String(e)})`,
    );
  }
  const batch = Number(o.flags.get('batch') ?? 500);
  if (!Number.isSafeInteger(batch) || batch < 1 || batch > 1000)
    throw new UsageError('--batch must be 1 to 1000');
  // Every event gets an id (kept if it has one), so that a retried batch cannot duplicate.
  const withIds = events.map((e) =>
    isJsonObject(e) && !('id' in e)
      ? {
          ...e,
          id: `cli-${toBase64(entryLeafHash(utf8(JSON.stringify(e)))).slice(0, 22)}-${crypto.randomUUID()}`,
        }
      : e,
  );
  const c = client(io, s);
  const acked: Awaited<ReturnType<LedgerClient['append']>>['entries'] = [];
  for (let i = 0; i < withIds.length; i += batch) {
    const chunk = withIds.slice(i, i + batch);
    for (let attempt = 1; ; attempt++) {
      try {
        const r = await c.append(name, chunk);
        acked.push(...r.entries);
        break;
      } catch (e) {
        if (!(e instanceof LedgerError && e.retriable) || attempt >= 5) throw e;
        await new Promise((r) => setTimeout(r, 200 * 2 ** attempt));
      }
    }
  }
  io.stdout(
    o.flags.has('json')
      ? jsonText({ stream: name, entries: acked })
      : `${acked.map((e) => e.seq).join('\n')}\n`,
  );
  return EXIT.ok;
}

async function tailCommand(io: CliIo, o: Options, s: Settings): Promise<number> {
  const name = stream(o, 1);
  if (!s.url) throw new UsageError('no ledger: give --url or set STELE_URL');
  const fromFlag = o.flags.get('from');
  const from = typeof fromFlag === 'string' ? Number(fromFlag) : undefined;
  if (from !== undefined && (!Number.isSafeInteger(from) || from < 0))
    throw new UsageError('--from must be a seq');
  const json = o.flags.has('json');
  const giveUpFlag = o.flags.get('give-up');
  const giveUp = typeof giveUpFlag === 'string' ? Number(giveUpFlag) : TAIL_GIVE_UP_S;
  if (!(giveUp > 0 && giveUp <= 86_400))
    throw new UsageError('--give-up must be 1 to 86400 seconds');
  if (from === undefined)
    io.stderr(
      `stele: following ${name}: entries appended from now on (--from 0 replays the stream)\n`,
    );
  for await (const m of tail({
    url: s.url,
    token: s.token ?? '',
    stream: name,
    fetch: io.fetch,
    userAgent: USER_AGENT,
    ...(from === undefined ? {} : { from }),
    ...(o.flags.has('forever') ? {} : { giveUpAfterMs: giveUp * 1000 }),
    onReconnect: (why) => io.stderr(`stele: reconnecting (${why})\n`),
  })) {
    if (json) io.stdout(`${JSON.stringify(m)}\n`);
    else if (m.type === 'entry' && m.event === undefined)
      io.stdout(`${m.received_at} #${m.seq} (erased)\n`);
    else if (m.type === 'entry') {
      const e = m.event as {
        action?: string;
        actor?: unknown;
        outcome?: string;
        targets?: { id: string }[];
      };
      const actor =
        typeof e.actor === 'string' ? e.actor : (e.actor as { id?: string } | undefined)?.id;
      const on = e.targets?.map((t) => t.id).join(',');
      io.stdout(
        `${m.received_at} #${m.seq} ${actor ?? '?'} ${e.action ?? '?'}${on ? ` on ${on}` : ''}${e.outcome ? ` (${e.outcome})` : ''}\n`,
      );
    } else io.stdout(`-- checkpoint: ${m.size} entries signed\n`);
  }
  return EXIT.ok;
}

/** A flag's text value, or a usage error naming what it needs. */
function need(o: Options, name: string, what: string): string {
  const v = o.flags.get(name);
  if (typeof v !== 'string' || v === '') throw new UsageError(`give --${name} ${what}`);
  return v;
}

async function tokensCommand(io: CliIo, o: Options, s: Settings): Promise<number> {
  const sub = o.positional[1];
  const json = o.flags.has('json');
  const c = client(io, s);
  const row = (t: TokenRecord) =>
    `${t.id}  ${t.role.padEnd(8)} ${t.streams.join(',')}  "${t.name}"${t.revoked_at ? `  revoked ${t.revoked_at}` : t.expires_at ? `  expires ${t.expires_at}` : ''}`;
  switch (sub) {
    case 'create': {
      const t = await c.createToken({
        name: need(o, 'name', 'NAME (for people)'),
        role: need(o, 'role', 'ROLE (writer, verifier, reader or admin)'),
        streams: need(o, 'streams', 'GLOB[,GLOB...] (the scope, e.g. prod-*)').split(','),
        ...(typeof o.flags.get('expires') === 'string'
          ? { expires_at: o.flags.get('expires') as string }
          : {}),
      });
      io.stdout(json ? jsonText(t) : `${row(t)}\ntoken (shown once; keep it secret): ${t.token}\n`);
      return EXIT.ok;
    }
    case 'list': {
      const list = await c.listTokens();
      io.stdout(json ? jsonText({ tokens: list }) : list.map((t) => `${row(t)}\n`).join(''));
      return EXIT.ok;
    }
    case 'revoke': {
      const id = o.positional[2];
      if (id === undefined) throw new UsageError('give the id of the token to revoke');
      await c.revokeToken(id);
      io.stdout(json ? jsonText({ revoked: id }) : `revoked ${id}\n`);
      return EXIT.ok;
    }
    default:
      throw new UsageError('tokens: give create, list or revoke; see stele tokens --help');
  }
}

/** A destination's type members as `key=value` (secrets are names, never values). */
function destinationMembers(d: DestinationRecord): string[] {
  return destinationTypeMembers(d).map(([k, v]) => `${k}=${v}`);
}

/** One line per destination: name, what it follows, where, and how delivery stands. */
function destinationRow(d: DestinationRecord): string {
  const st = d.state;
  const how =
    st === null
      ? 'not started'
      : st.paused
        ? `PAUSED: ${st.paused_reason ?? ''}`
        : `ok, lag ${st.lag}${st.failures > 0 ? `, ${st.failures} failures in a row` : ''}`;
  const where = typeof d.url === 'string' ? d.url : destinationMembers(d).join(' ');
  return `${d.name}  ${d.type} ${d.format}  ${d.streams.join(',')}  ${where}  ${how}`;
}

/** A destination in full: its row, its type's members, each stream's delivery, the last error. */
function destinationText(d: DestinationRecord): string {
  const lines = [destinationRow(d), ...destinationMembers(d).map((m) => `  ${m}`)];
  for (const x of d.state?.streams ?? [])
    lines.push(
      `  ${x.stream}: delivered ${x.delivered_seq === null ? 'nothing yet' : `to seq ${x.delivered_seq}`}, checkpoint ${x.checkpoint_size}, ${x.tree_size} entries, lag ${x.lag}`,
    );
  if (d.state?.last_error)
    lines.push(`  last error (${d.state.last_error.at}): ${d.state.last_error.message}`);
  return `${lines.join('\n')}\n`;
}

/** The flags that make a webhook destination, which --file replaces. */
const WEBHOOK_FLAGS = [
  'name',
  'streams',
  'webhook-url',
  'secret',
  'type',
  'format',
  'ocsf-rules',
  'gzip',
];

/** What `destinations add` sends: the --file's configuration, or the webhook the flags make. */
async function destinationConfig(io: CliIo, o: Options): Promise<Record<string, unknown>> {
  const file = o.flags.get('file');
  if (typeof file === 'string') {
    const extra = WEBHOOK_FLAGS.find((f) => o.flags.has(f));
    if (extra !== undefined)
      throw new UsageError(`--file holds the whole configuration: drop --${extra}`);
    let v: unknown;
    try {
      v = JSON.parse(await readText(io, file));
    } catch (e) {
      if (e instanceof SyntaxError) throw new UsageError(`${file} is not JSON`);
      throw e;
    }
    if (!isJsonObject(v)) throw new UsageError(`${file} must hold a JSON object`);
    return v;
  }
  const format = (o.flags.get('format') as string | undefined) ?? 'raw';
  const rulesFile = o.flags.get('ocsf-rules');
  let rules: unknown;
  if (typeof rulesFile === 'string') {
    try {
      rules = JSON.parse(await readText(io, rulesFile));
    } catch (e) {
      if (e instanceof SyntaxError) throw new UsageError(`${rulesFile} is not JSON`);
      throw e;
    }
  }
  return {
    name: need(o, 'name', 'NAME ([a-z0-9-]{1,64})'),
    streams: need(o, 'streams', 'GLOB[,GLOB...] (the streams to deliver, e.g. prod-*)').split(','),
    type: (o.flags.get('type') as string | undefined) ?? 'webhook',
    format,
    ...(rules === undefined ? {} : { ocsf_rules: rules }),
    url: need(o, 'webhook-url', 'URL (where to deliver: https://...)'),
    secret: need(o, 'secret', 'SECRET_NAME (the Worker secret holding whsec_...)'),
    ...(o.flags.has('gzip') ? { content_encoding: 'gzip' } : {}),
  };
}

async function destinationsCommand(io: CliIo, o: Options, s: Settings): Promise<number> {
  const sub = o.positional[1];
  const json = o.flags.has('json');
  const c = client(io, s);
  const name = () => {
    const n = o.positional[2];
    if (n === undefined || !/^[a-z0-9-]{1,64}$/.test(n))
      throw new UsageError(`give the destination's name ([a-z0-9-]{1,64})`);
    return n;
  };
  switch (sub) {
    case 'add': {
      const d = await c.createDestination(await destinationConfig(io, o));
      io.stdout(json ? jsonText(d) : destinationText(d));
      return EXIT.ok;
    }
    case 'list': {
      const list = await c.listDestinations();
      io.stdout(
        json
          ? jsonText({ destinations: list })
          : list.map((d) => `${destinationRow(d)}\n`).join(''),
      );
      return EXIT.ok;
    }
    case 'show': {
      const d = await c.destination(name());
      io.stdout(json ? jsonText(d) : destinationText(d));
      return EXIT.ok;
    }
    case 'remove': {
      const n = name();
      await c.deleteDestination(n);
      io.stdout(json ? jsonText({ removed: n }) : `removed ${n}\n`);
      return EXIT.ok;
    }
    case 'resume': {
      const d = await c.resumeDestination(name());
      io.stdout(json ? jsonText(d) : destinationText(d));
      return EXIT.ok;
    }
    default:
      throw new UsageError(
        'destinations: give add, list, show, remove or resume; see stele destinations --help',
      );
  }
}

async function eraseCommand(io: CliIo, o: Options, s: Settings): Promise<number> {
  const name = stream(o, 1);
  const reason = need(o, 'reason', 'TEXT (why: the request reference)');
  const seqsFlag = o.flags.get('seqs');
  const actor = o.flags.get('actor');
  if ((typeof seqsFlag === 'string') === (typeof actor === 'string'))
    throw new UsageError('give exactly one of --seqs N[,N...] and --actor ID');
  let what: { seqs: number[] } | { actor: string };
  if (typeof seqsFlag === 'string') {
    const seqs = seqsFlag.split(',').map(Number);
    if (seqs.some((n) => !Number.isSafeInteger(n) || n < 0))
      throw new UsageError('--seqs must be seqs (non-negative integers), separated by commas');
    what = { seqs };
  } else what = { actor: actor as string };
  const r = await client(io, s).erase(name, what, reason);
  io.stdout(
    o.flags.has('json')
      ? jsonText(r)
      : `erased ${r.erased.length} entries of ${name}${r.erased.length ? `: ${r.erased.join(', ')}` : ''}${r.already_erased.length ? `; already erased: ${r.already_erased.join(', ')}` : ''}\nrecorded as ${r.record.stream} seq ${r.record.seq}\n`,
  );
  return EXIT.ok;
}

async function rotateKeysCommand(io: CliIo, o: Options, s: Settings): Promise<number> {
  const c = client(io, s);
  let after: string | undefined;
  let streams = 0;
  let last: Awaited<ReturnType<LedgerClient['rotateKeys']>>;
  do {
    last = await c.rotateKeys(after);
    streams += last.streams_rewrapped;
    after = last.next ?? undefined;
  } while (after !== undefined);
  const summary = {
    master_key_id: last.master_key_id,
    streams_rewrapped: streams,
    search_key_rewrapped: last.search_key_rewrapped,
    keys_under_other_master_keys: last.keys_under_other_master_keys,
  };
  io.stdout(
    o.flags.has('json')
      ? jsonText(summary)
      : `re-wrapped ${streams} stream keys under master key ${last.master_key_id}; ${last.keys_under_other_master_keys} keys still under another master key\n`,
  );
  return EXIT.ok;
}

/** Shell completion: commands, then options (docs/cli.md). */
function completionCommand(io: CliIo, o: Options): number {
  const shell = o.positional[1];
  const commands = Object.keys(COMMANDS).join(' ');
  const options =
    '--url --token --log-key --origin-prefix --policy --config --state --since-last --json --batch --from --out --offline --forever --give-up --name --role --streams --expires --webhook-url --secret --format --ocsf-rules --type --file --reason --seqs --actor --help --version';
  if (shell === 'bash') {
    io.stdout(`# stele bash completion: stele completion bash > ~/.local/share/bash-completion/completions/stele
_stele() {
  local cur=\${COMP_WORDS[COMP_CWORD]}
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=( $(compgen -W "${commands}" -- "$cur") )
  elif [ "\${COMP_WORDS[1]}" = tokens ] && [ "$COMP_CWORD" -eq 2 ]; then
    COMPREPLY=( $(compgen -W "create list revoke" -- "$cur") )
  elif [ "\${COMP_WORDS[1]}" = destinations ] && [ "$COMP_CWORD" -eq 2 ]; then
    COMPREPLY=( $(compgen -W "add list show remove resume" -- "$cur") )
  elif [[ "$cur" == -* ]]; then
    COMPREPLY=( $(compgen -W "${options}" -- "$cur") )
  else
    COMPREPLY=( $(compgen -f -- "$cur") )
  fi
}
complete -F _stele stele
`);
    return EXIT.ok;
  }
  if (shell === 'zsh') {
    io.stdout(`#compdef stele
# stele zsh completion: stele completion zsh > "\${fpath[1]}/_stele"
_stele() {
  if (( CURRENT == 2 )); then
    compadd -- ${commands}
  elif [[ \${words[2]} == tokens && CURRENT -eq 3 ]]; then
    compadd -- create list revoke
  elif [[ \${words[2]} == destinations && CURRENT -eq 3 ]]; then
    compadd -- add list show remove resume
  elif [[ \${words[CURRENT]} == -* ]]; then
    compadd -- ${options}
  else
    _files
  fi
}
compdef _stele stele
`);
    return EXIT.ok;
  }
  throw new UsageError('give the shell: stele completion bash, or stele completion zsh');
}

/** One redrawn terminal line: `verifying prod [########------------]  40% 4000/10000`. */
export function progressBar(name: string, done: number, total: number): string {
  const width = 30;
  const frac = total === 0 ? 1 : Math.min(1, done / total);
  const filled = Math.round(frac * width);
  const pct = String(Math.floor(frac * 100)).padStart(3);
  return `\rverifying ${name} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${pct}% ${done}/${total}`;
}
