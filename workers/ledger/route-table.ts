/**
 * Every route of the ledger's HTTP API, declared once. Routing (router.ts), authorization,
 * the `_access` record (access-log.ts), /v1/openapi.json (openapi.ts), docs/api.md's tables
 * (checked by test/unit/route-table.test.ts) and the tests' endpoint lists are read from here.
 * A route not declared here is not served.
 *
 * Pure data: no handler, no binding (routes/*.ts implement these, by name).
 */
import { ROLES } from '../../src/index.js';
import { STREAM_GLOB } from '../../src/stream-glob.js';
import { defineRoute } from './route.js';
import type { CountParam, ObjectSchema, StreamParam } from './schema.js';

// --- Shared parameters -------------------------------------------------------------------

const stream = {
  kind: 'stream',
  description:
    'A stream name; system streams start with `_` (`_access`: admins only, never appended to).',
} as const satisfies StreamParam;
const seq = { kind: 'count', description: 'The entry.' } as const satisfies CountParam;
const limit = {
  kind: 'count',
  min: 1,
  max: 1000,
  default: 100,
  description: 'The most items in one answer.',
} as const satisfies CountParam;

/** Bounds of one list answer and one request (docs/api.md §Limits). */
export const MAX_BATCH_EVENTS = 1000;
export const MAX_BATCH_BYTES = 1 << 20;
/** Seqs one erasure request may name. */
export const MAX_ERASE = 1000;
/** Streams one key-rotation request visits (one Durable Object call each). */
export const MAX_ROTATE_PAGE = 500;

const inScope = 'The stream must be in the scope.';
const allStreams = 'The admin\'s scope must contain "*" itself; a narrower admin gets a 403.';

/** JSON answers and text answers (their schemas are in openapi.ts components). */
const json = (schema: string, description: string) => ({
  description,
  content: { 'application/json': { schema: { $ref: `#/components/schemas/${schema}` } } },
});
const text = (description: string) => ({
  description,
  content: { 'text/plain': { schema: { type: 'string' } } },
});

const html = (description: string) => ({
  description,
  content: { 'text/html': { schema: { type: 'string' } } },
});

/** Why the console's own files are public and not recorded. */
const consoleUnrecorded =
  "public: the console's code holds no data; every view reads /v1 with the user's " +
  'credentials, and each of those reads is recorded';

const binary = (description: string) => ({
  description,
  content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } },
});

// --- Request bodies ----------------------------------------------------------------------

const tokenRequest = {
  type: 'object',
  required: ['name', 'role', 'streams'],
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 128 },
    role: { type: 'string', enum: ROLES },
    streams: {
      type: 'array',
      minItems: 1,
      maxItems: 32,
      rule: 'must be an array of 1 to 32 stream globs',
      items: {
        type: 'string',
        pattern: STREAM_GLOB,
        rule: 'must be a stream name or glob: [a-z0-9_*-]{1,64}',
        description: 'A stream name, or a glob in which `*` matches any run of characters.',
      },
    },
    expires_at: {
      type: 'nullable',
      of: { type: 'string', format: 'date-time' },
      description: 'In the future; absent or null: never.',
    },
  },
} as const satisfies ObjectSchema;

const erasureRequest = {
  type: 'object',
  required: ['reason'],
  oneOf: [['seqs'], ['actor']],
  description: 'Exactly one of `seqs` and `actor`, and a `reason`. At most 64 KiB.',
  examples: [{ seqs: [2, 5], reason: 'GDPR Art. 17 request #12' }],
  properties: {
    seqs: {
      type: 'array',
      minItems: 1,
      maxItems: MAX_ERASE,
      rule: `must be an array of 1 to ${MAX_ERASE} seqs`,
      items: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
      description: 'The entries to erase: seqs below the tree size (repeats ignored).',
    },
    actor: {
      type: 'string',
      minLength: 1,
      maxLength: 256,
      rule: 'must be an actor id of 1 to 256 characters',
      description: 'Or: every entry whose actor (the string, or actor.id) is this.',
    },
    reason: {
      type: 'string',
      minLength: 1,
      maxLength: 512,
      rule: 'must be a string of 1 to 512 characters',
      description: 'Why (e.g. the request reference); kept in the access record of the erasure.',
    },
  },
} as const satisfies ObjectSchema;

const verifyRequest = {
  type: 'object',
  required: ['stream'],
  properties: {
    stream: {
      type: 'string',
      pattern: /^_?[a-z0-9][a-z0-9_-]{0,62}$/,
      rule: 'must be a stream name',
      description: 'A stream name, client or system.',
    },
    checkpoint: {
      type: 'string',
      rule: 'must be a signed checkpoint note (text)',
      description:
        'A signed checkpoint note of the stream (docs/format.md §7); default: the newest.',
    },
    policy: {
      type: 'string',
      maxLength: 65536,
      rule: 'must be tlog-policy text',
      description:
        'c2sp.org/tlog-policy text (docs/format.md §10; witness URLs optional); default: ' +
        'WITNESS_POLICY, or none when it is unset.',
    },
  },
} as const satisfies ObjectSchema;

const destinationName = {
  kind: 'text',
  max: 64,
  pattern: /^[a-z0-9-]{1,64}$/,
  rule: 'must match ^[a-z0-9-]{1,64}$',
  description: 'The destination name.',
} as const;

/** Admins scoped to "*" only: a destination copies streams out, whichever its globs name. */
const everyStreamForDestinations =
  'managing destinations needs an admin token scoped to all streams ("*")';

// --- The routes --------------------------------------------------------------------------

export const ROUTES = {
  health: defineRoute({
    method: 'GET',
    path: '/healthz',
    tag: 'meta',
    summary: 'Liveness check',
    description: 'Answers while the Worker is up.',
    auth: 'public',
    access: { unrecorded: 'public: it reads nothing of the log' },
    responses: { 200: json('Health', 'The Worker is up.') },
  }),
  getLogKeys: defineRoute({
    method: 'GET',
    path: '/v1/log-keys',
    tag: 'meta',
    summary: 'The log public key and the origin prefix',
    description:
      'The Ed25519 key that signs every checkpoint; the origin of stream S is ' +
      '`<origin_prefix>/S` (docs/format.md §7).',
    auth: 'public',
    access: { unrecorded: 'public: the published log key' },
    responses: { 200: json('LogKeys', 'The log key.') },
  }),
  getOpenApi: defineRoute({
    method: 'GET',
    path: '/v1/openapi.json',
    tag: 'meta',
    summary: 'This OpenAPI document',
    description: 'Generated from the route table (workers/ledger/route-table.ts).',
    auth: 'public',
    access: { unrecorded: 'public: the description of the API' },
    responses: {
      200: {
        description: 'The OpenAPI 3.1 document.',
        content: { 'application/json': { schema: { type: 'object' } } },
      },
    },
  }),
  consolePage: defineRoute({
    method: 'GET',
    path: '/',
    tag: 'meta',
    summary: 'The console: the browser app for ops and auditors',
    description:
      'The HTML shell of the console (docs/console.md): streams, live tail, search, entries ' +
      'verified in the browser, export and administration. It holds no data: every view ' +
      "reads /v1 with the user's own credentials (a token kept in sessionStorage, or the " +
      'Cloudflare Access sign-in), so each read leaves its own _access record. Its ' +
      'Content-Security-Policy lets it run only its own script and style (/console.js, ' +
      '/console.css, pinned by Subresource Integrity) and connect only to this origin.',
    auth: 'public',
    access: { unrecorded: consoleUnrecorded },
    responses: { 200: html('The page (text/html; charset=utf-8).') },
  }),
  consoleScript: defineRoute({
    method: 'GET',
    path: '/console.js',
    tag: 'meta',
    summary: "The console's script",
    description:
      'The browser code of the console, built from src/console/ (with the same src/ ' +
      'verification code as the CLI) by scripts/build-console.mjs.',
    auth: 'public',
    access: { unrecorded: consoleUnrecorded },
    responses: {
      200: {
        description: 'The script (text/javascript; charset=utf-8).',
        content: { 'text/javascript': { schema: { type: 'string' } } },
      },
    },
  }),
  consoleStyle: defineRoute({
    method: 'GET',
    path: '/console.css',
    tag: 'meta',
    summary: "The console's style sheet",
    description: 'The style sheet of the console (src/console/console.css).',
    auth: 'public',
    access: { unrecorded: consoleUnrecorded },
    responses: {
      200: {
        description: 'The style sheet (text/css; charset=utf-8).',
        content: { 'text/css': { schema: { type: 'string' } } },
      },
    },
  }),
  appendEvents: defineRoute({
    method: 'POST',
    path: '/v1/streams/:stream/events',
    tag: 'events',
    summary: 'Append one event or an all-or-nothing batch',
    description:
      `${inScope} The body is one event, {"events": [...]}, or NDJSON (one event per ` +
      'line, blank lines skipped); 1 to 1000 events, at most 1 MiB. Every event is ' +
      'validated and every idempotency key checked before anything is appended. A 400 ' +
      'names the event member as `event.<member>` (one event), `events[i].<member>` ' +
      '(batch, i from 0) or `line N: event.<member>` (NDJSON, N counting lines from 1, ' +
      "blank lines included); an NDJSON line that is not JSON is `line N`. An event's " +
      'idempotency key is the Idempotency-Key header if given, else its `id`: one key ' +
      'space per stream. A retry of a key with the same event (same canonical JSON, ' +
      '`id` included) answers 201 with the first seq, leaf_hash and received_at and ' +
      '"duplicate": true (and "erased": true, with no proof, when that entry was erased ' +
      'since); the same key with another event is a 409. With ' +
      'wait=checkpoint the answer waits for a signed checkpoint covering the entries, ' +
      'with wait=witnessed for one whose witness cosignatures meet the quorum of ' +
      'WITNESS_POLICY (without a policy every signed checkpoint counts), and carries ' +
      'that checkpoint note and a tlog-proof per entry against it (with wait=witnessed ' +
      'the note, in `checkpoint` and in every proof, carries the cosignatures); if none ' +
      'comes within 30 s the answer is a 202 with "pending_checkpoint": true and no ' +
      "proofs, and the entries ARE appended. While the stream's D1 mirror is more than " +
      'MAX_MIRROR_LAG entries (default 100000) behind, appends are refused with 429 and ' +
      'Retry-After (nothing appended; checked before idempotency keys). A system stream ' +
      '(`_access`) is a 403 for every caller, admins included: only the ledger writes it.',
    auth: {
      permission: 'append',
      stream: 'path',
      system: 'is a system stream: only the ledger writes it',
    },
    access: {
      unrecorded:
        'the event appended is its own record (a refused append, 401 or 403, is recorded)',
    },
    params: { stream },
    query: {
      wait: {
        kind: 'text',
        values: ['checkpoint', 'witnessed'],
        description: 'Wait for a signed (checkpoint) or witnessed checkpoint covering the entries.',
      },
    },
    headers: {
      'Idempotency-Key': {
        kind: 'text',
        max: 128,
        pattern: /^[\x21-\x7e]+$/,
        rule: 'must be 1 to 128 visible ASCII characters',
        description:
          'Idempotency key of a single-event application/json body (a 400 with a batch or ' +
          'NDJSON). Same key space as the event `id`; if the event has an `id` it must be ' +
          'equal (else a 400, field Idempotency-Key).',
      },
    },
    body: {
      kind: 'raw',
      maxBytes: MAX_BATCH_BYTES,
      content: {
        'application/json': {
          schema: {
            oneOf: [
              { $ref: '#/components/schemas/Event' },
              { $ref: '#/components/schemas/EventBatch' },
            ],
          },
        },
        'application/x-ndjson': { schema: { type: 'string', description: 'One Event per line.' } },
      },
    },
    responses: {
      201: json(
        'AppendResponse',
        'Appended, or appended before (duplicate); with wait, also the checkpoint and a proof ' +
          'per entry.',
      ),
      202: json(
        'AppendResponse',
        'wait=checkpoint or wait=witnessed only: appended, but no such checkpoint covered the ' +
          'entries within 30 s; "pending_checkpoint": true, no checkpoint and no proofs.',
      ),
      409: { $ref: '#/components/responses/Conflict' },
    },
  }),
  listStreams: defineRoute({
    method: 'GET',
    path: '/v1/streams',
    tag: 'streams',
    summary: 'The streams in the scope, by name',
    description:
      'Read from the D1 registry: a new stream is listed once its first entries are ' +
      'mirrored or its first checkpoint published. System streams (`_access`) are listed ' +
      'for admins only. Pass `next` as `after`.',
    auth: { permission: 'verify' },
    access: { action: 'streams.list' },
    query: {
      after: { kind: 'stream', description: 'Only streams whose name sorts after this one.' },
      limit,
    },
    responses: { 200: json('StreamList', 'One page of streams.') },
  }),
  listEntries: defineRoute({
    method: 'GET',
    path: '/v1/streams/:stream/entries',
    tag: 'streams',
    summary: 'Entries in seq order',
    description:
      `${inScope} 404 when the stream has no entries. An erased entry is an ErasedEntry; ` +
      'an entry whose stored bytes fail authentication is a TamperedEntry. Pass `next` as ' +
      '`start`.',
    auth: { permission: 'read', stream: 'path' },
    access: { action: 'entries.read' },
    params: { stream },
    query: { start: { kind: 'count', default: 0, description: 'The first seq.' }, limit },
    responses: { 200: json('EntryList', 'One page of entries.') },
  }),
  getEntry: defineRoute({
    method: 'GET',
    path: '/v1/streams/:stream/entries/:seq',
    tag: 'streams',
    summary: 'One entry',
    description: `${inScope} Erased: an ErasedEntry; failing authentication: a TamperedEntry.`,
    auth: { permission: 'read', stream: 'path' },
    access: { action: 'entries.read' },
    params: { stream, seq },
    responses: {
      200: {
        description: 'The entry, or what is left of an erased or tampered one.',
        content: {
          'application/json': {
            schema: {
              oneOf: ['Entry', 'ErasedEntry', 'TamperedEntry'].map((n) => ({
                $ref: `#/components/schemas/${n}`,
              })),
            },
          },
        },
      },
    },
  }),
  getEntryProof: defineRoute({
    method: 'GET',
    path: '/v1/streams/:stream/entries/:seq/proof',
    tag: 'proofs',
    summary: 'The tlog-proof file of one entry',
    description:
      `${inScope} A c2sp.org/tlog-proof file (docs/format.md §11) against the newest ` +
      'checkpoint (with the witness cosignatures collected so far), with the entry bytes ' +
      'as `extra`. 404 until a checkpoint covers seq (field `seq`, rule "is not covered by ' +
      'a checkpoint yet"); 410 when the entry was erased (field `seq`; its leaf hash is ' +
      'still proved by /proof/inclusion).',
    auth: { permission: 'read', stream: 'path' },
    access: { action: 'entries.read' },
    params: { stream, seq },
    responses: {
      200: text('The proof file (text/plain; charset=utf-8).'),
      410: { $ref: '#/components/responses/Gone' },
    },
  }),
  tailStream: defineRoute({
    method: 'GET',
    path: '/v1/streams/:stream/tail',
    tag: 'streams',
    summary: 'Live tail: entries replayed from `from`, then live',
    description:
      `${inScope} A WebSocket (send Upgrade: websocket; 101) or Server-Sent Events (send ` +
      'an Accept that contains text/event-stream; 200); Upgrade: websocket wins when both ' +
      'are sent, and a request with neither is a 400 (field `Accept`, rule "ask for ' +
      'text/event-stream, or upgrade to a WebSocket"). Entries from `from` (default: the ' +
      'current tree size, so live only) are sent in seq order, then each new entry when ' +
      'its append is committed: no gap, no duplicate. A `from` past the tree size waits ' +
      'for that seq; a stream with no entries is not a 404 (the tail waits for its first ' +
      'entry). A checkpoint message is sent for each checkpoint signed while the tail is ' +
      "open (not replayed), after every entry it covers; its note has the log's " +
      'signature only. Messages: TailEntry (with `erased` instead of `event` for an erased ' +
      'entry), TailCheckpoint and, over a WebSocket, TailPong. WebSocket: one JSON text ' +
      'frame per message; the text message "ping" is answered with {"type":"pong"}, ' +
      'anything else is ignored. SSE: the body starts with an event `start` whose data is ' +
      '{"from":N} (the first seq the tail sends); then events `entry` (with `id: <seq>`), ' +
      '`checkpoint` (no id) and `closed`; resume with Last-Event-ID. A WebSocket tail ' +
      'replays at most MAX_BACKLOG (10,000) entries per connection, then is closed with ' +
      'code 4000 and the seq to resume from; an SSE tail is closed with an event `closed` ' +
      'when more than 8 MiB wait for a consumer that does not read.',
    auth: { permission: 'read', stream: 'path' },
    access: { action: 'tail.open' },
    params: { stream },
    query: {
      from: {
        kind: 'count',
        description:
          'The first seq to send; default: the current tree size (live only). Ignored when ' +
          'Last-Event-ID is sent.',
      },
    },
    headers: {
      'Last-Event-ID': {
        kind: 'text',
        max: 16,
        pattern: /^[0-9]+$/,
        rule: 'must be a seq',
        description:
          'The last seq received: the tail starts at the next one, whatever `from` says. How ' +
          'SSE resumes (EventSource sends it); also honoured on a WebSocket upgrade.',
      },
    },
    responses: {
      101: {
        description:
          'WebSocket (Upgrade: websocket). Server to client: one text frame per message, a ' +
          'TailEntry, TailCheckpoint or TailPong as JSON. Client to server: the text "ping" ' +
          '(answered with TailPong); anything else is ignored. Closed by the server with ' +
          'code 4000 and reason "too slow; resume from seq N" when too far behind; a close ' +
          'from the client is echoed (1000 when it sent no code).',
        'x-stele-websocket-messages': {
          oneOf: ['TailEntry', 'TailCheckpoint', 'TailPong'].map((n) => ({
            $ref: `#/components/schemas/${n}`,
          })),
        },
      },
      200: {
        description:
          'Server-Sent Events (Accept: text/event-stream): events `start`, `entry` (id: seq, ' +
          'data a TailEntry), `checkpoint` (data a TailCheckpoint) and `closed` (data "too ' +
          'slow; resume from seq N", then the body ends). Every data is one line.',
        headers: {
          'X-Accel-Buffering': {
            description: 'Always `no`: proxies must not buffer the stream.',
            schema: { type: 'string', const: 'no' },
          },
        },
        content: { 'text/event-stream': { schema: { type: 'string' } } },
      },
    },
  }),
  getCheckpoint: defineRoute({
    method: 'GET',
    path: '/v1/streams/:stream/checkpoint',
    tag: 'streams',
    summary: 'The newest signed checkpoint',
    description:
      `${inScope} A C2SP signed note (docs/format.md §7): the log's signature, then the ` +
      'witness cosignatures collected since signing (docs/format.md §8), one line per ' +
      'witness key, ordered by key name; they may not meet the quorum yet, and more may be ' +
      'added later. 404 before the first one.',
    auth: { permission: 'verify', stream: 'path', publicWith: 'PUBLIC_TILES' },
    access: { action: 'verify.read' },
    params: { stream },
    responses: { 200: text('The signed note (text/plain; charset=utf-8).') },
  }),
  getHashTile: defineRoute({
    method: 'GET',
    path: '/v1/streams/:stream/tile/:tile{[0-9]+/.+}',
    tag: 'proofs',
    summary: 'A hash tile (c2sp.org/tlog-tiles)',
    description:
      `${inScope} \`tile/<L>/<N>[.p/<W>]\` of c2sp.org/tlog-tiles with \`/v1/streams/{stream}\` ` +
      'as the prefix (docs/format.md §12): the W (256 for a full tile) Merkle tree hashes of ' +
      'level 8L from index 256N, 32 bytes each. Served once the newest checkpoint covers it ' +
      '(404, field `tile`, before); the bytes never change, so the answer may be cached for ' +
      'good. Any inclusion or consistency proof can be computed from the tiles and a ' +
      'checkpoint. Without credentials for a stream in PUBLIC_TILES (not recorded).',
    auth: { permission: 'verify', stream: 'path', publicWith: 'PUBLIC_TILES' },
    access: { action: 'verify.read' },
    params: {
      stream,
      tile: {
        kind: 'tile',
        entries: false,
        description: 'The path after `tile/`: `<L>/<N>[.p/<W>]` (e.g. `0/x001/234.p/17`).',
      },
    },
    responses: { 200: binary('The tile: W × 32 bytes (application/octet-stream).') },
  }),
  getEntryBundle: defineRoute({
    method: 'GET',
    path: '/v1/streams/:stream/tile/entries/:bundle{.+}',
    tag: 'streams',
    summary: 'An entry bundle (c2sp.org/tlog-tiles)',
    description:
      `${inScope} \`tile/entries/<N>[.p/<W>]\` of c2sp.org/tlog-tiles: the entries from seq ` +
      '256N, each as a big-endian uint16 length and the entry bytes (docs/format.md §12), ' +
      'which hash to the items of level-0 hash tile N. An erased entry is empty. Served once ' +
      'the newest checkpoint covers it (404, field `tile`, before); never cached (an ' +
      'erasure changes it). 409 for a bundle holding an entry over 65535 bytes; 500 ' +
      '`tampered` when a stored entry fails authentication.',
    auth: { permission: 'read', stream: 'path' },
    access: { action: 'entries.read' },
    params: {
      stream,
      bundle: {
        kind: 'tile',
        entries: true,
        description: 'The path after `tile/entries/`: `<N>[.p/<W>]` (e.g. `x001/234`).',
      },
    },
    responses: { 200: binary('The bundle (application/octet-stream).') },
  }),
  getWitnessedCheckpoint: defineRoute({
    method: 'GET',
    path: '/v1/streams/:stream/witnessed',
    tag: 'streams',
    summary: 'The newest witnessed checkpoint',
    description:
      `${inScope} The newest checkpoint whose valid witness cosignatures meet the quorum ` +
      'of WITNESS_POLICY, as a signed note with those cosignatures (without a policy, ' +
      'every signed checkpoint counts, so this is the newest checkpoint). Its size is ' +
      '`witnessed_size` in the stream list. 404 before the first one.',
    auth: { permission: 'verify', stream: 'path' },
    access: { action: 'verify.read' },
    params: { stream },
    responses: { 200: text('The cosigned note (text/plain; charset=utf-8).') },
  }),
  listCheckpoints: defineRoute({
    method: 'GET',
    path: '/v1/streams/:stream/checkpoints',
    tag: 'streams',
    summary: 'Signed checkpoints, smallest first',
    description:
      `${inScope} Every checkpoint of the last 24 hours, and before that the first of each ` +
      'hour (every one stays in R2: /checkpoints/{size}). ' +
      'Each note carries the witness cosignatures collected for it: the newest ' +
      'gains them as witnesses answer; an older one keeps those it had when a newer one was ' +
      'signed (possibly fewer than the quorum, or none). Pass `next` as `after`.',
    auth: { permission: 'verify', stream: 'path' },
    access: { action: 'verify.read' },
    params: { stream },
    query: {
      after: { kind: 'count', default: 0, description: 'Only checkpoints of a larger size.' },
      limit,
    },
    responses: { 200: json('CheckpointList', 'One page of checkpoints.') },
  }),
  getArchivedCheckpoint: defineRoute({
    method: 'GET',
    path: '/v1/streams/:stream/checkpoints/:size',
    tag: 'streams',
    summary: 'One checkpoint, as archived in R2',
    description:
      `${inScope} The published copy of the checkpoint of this size (R2 ` +
      '`<stream>/checkpoints/<size>`), which auditors compare with what the ledger serves. ' +
      '404 until it is published (at most MIRROR_INTERVAL_MS, 5 s by default, after signing).',
    auth: { permission: 'verify', stream: 'path' },
    access: { action: 'verify.read' },
    params: { stream, size: { kind: 'count', min: 1, description: 'The tree size.' } },
    responses: { 200: text('The signed note (text/plain; charset=utf-8).') },
  }),
  getPublishedCheckpoint: defineRoute({
    method: 'GET',
    path: '/v1/streams/:stream/published',
    tag: 'streams',
    summary: 'The newest checkpoint, as published in R2',
    description:
      `${inScope} The copy of the newest checkpoint that the ledger publishes in R2 ` +
      '(`<stream>/checkpoint`, overwritten at each publication) for monitors that read the ' +
      'bucket. `stele verify` checks it against the signed chain. 404 until the first one ' +
      'is published.',
    auth: { permission: 'verify', stream: 'path' },
    access: { action: 'verify.read' },
    params: { stream },
    responses: { 200: text('The signed note (text/plain; charset=utf-8).') },
  }),
  getInclusionProof: defineRoute({
    method: 'GET',
    path: '/v1/streams/:stream/proof/inclusion',
    tag: 'proofs',
    summary: 'Inclusion proof of one entry',
    description:
      `${inScope} RFC 9162 §2.1.3 proof of seq in the tree of \`size\` leaves (default: ` +
      'the newest checkpoint). 404 when seq is not below the current tree size, or when ' +
      'size is omitted and there is no checkpoint yet (field `size`). 400 when size exceeds ' +
      'the current tree size (field `size`) or seq is not below the size proved against ' +
      '(field `seq`).',
    auth: { permission: 'verify', stream: 'path' },
    access: { action: 'verify.read' },
    params: { stream },
    query: {
      seq: { ...seq, required: true },
      size: { kind: 'count', min: 1, description: 'Tree size: seq < size <= tree size.' },
    },
    responses: { 200: json('InclusionProof', 'The proof.') },
  }),
  getConsistencyProof: defineRoute({
    method: 'GET',
    path: '/v1/streams/:stream/proof/consistency',
    tag: 'proofs',
    summary: 'Consistency proof between two tree sizes',
    description:
      `${inScope} RFC 9162 §2.1.4 proof that the tree of \`to\` leaves extends the tree of ` +
      '`from` leaves; 1 <= from <= to <= tree size; empty when from = to. 400 when to ' +
      'exceeds the tree size (field `to`) or from is not within 1..to (field `from`).',
    auth: { permission: 'verify', stream: 'path' },
    access: { action: 'verify.read' },
    params: { stream },
    query: {
      from: { kind: 'count', min: 1, required: true, description: 'The smaller tree size.' },
      to: { kind: 'count', min: 1, required: true, description: 'The larger tree size.' },
    },
    responses: { 200: json('ConsistencyProof', 'The proof.') },
  }),
  verifyCheckpoint: defineRoute({
    method: 'POST',
    path: '/v1/verify',
    tag: 'verify',
    summary: 'Verify a checkpoint: log signature, witness quorum, consistency',
    description:
      `${inScope} Checks \`checkpoint\` (default: the newest) against the log key and ` +
      '`policy` (default: WITNESS_POLICY; none when unset): its log signature, each ' +
      'cosignature of a witness the policy names, whether they meet the quorum, and its ' +
      'consistency with the newest checkpoint. A failed check is "valid": false in a 200, ' +
      'not an error. The answer holds every note, key and proof used, so each check can be ' +
      'redone offline (docs/format.md). The role is checked first (a writer gets a 403), ' +
      'then the body is read and `stream` checked, then the scope. 400 with field ' +
      '`checkpoint <where>` or `policy <where>` when they do not parse, or the ' +
      "checkpoint's origin is not the stream's; 404 when the stream has no checkpoint.",
    auth: { permission: 'verify', stream: 'body' },
    access: { action: 'verify.check' },
    body: { kind: 'json', maxBytes: 256 * 1024, name: 'VerifyRequest', schema: verifyRequest },
    responses: { 200: json('VerifyResponse', 'The verification report.') },
  }),
  search: defineRoute({
    method: 'GET',
    path: '/v1/search',
    tag: 'search',
    summary: 'Exact-match search, newest first',
    description:
      'Searches the D1 search index (entries counted in `mirror_lag` are not found yet) of ' +
      'the streams in the scope; system streams (`_access`) for admins only. The index holds ' +
      'keyed hashes (search tokens) of actor, action, target and outcome unless ' +
      'SEARCH_CLEAR_FIELDS keeps them in clear; each filter is turned into its token, and ' +
      'each hit is read from its stream and answered only if it has every searched value, ' +
      'so matching is exact. Filters combine with AND. An erased entry is a result with ' +
      '`erased` instead of `event`, and is found only by stream, since and until; one ' +
      'whose stored bytes fail authentication has `tampered` instead. Pass `cursor` from ' +
      'one page to get the next (a page may hold fewer than `limit` results and still ' +
      'have one). The index keeps SEARCH_RETENTION_DAYS (default 90) of entries: `window` ' +
      'says where it starts, with a `notice` when the query reaches before.',
    auth: { permission: 'read', stream: 'query' },
    access: { action: 'search' },
    query: {
      stream: {
        kind: 'stream',
        description: 'One stream (a 403 outside the scope, or a system stream for a reader).',
      },
      actor: { kind: 'text', max: 256, description: 'The actor string, or actor.id.' },
      action: { kind: 'text', max: 256, description: 'The action.' },
      target: { kind: 'text', max: 256, description: 'The id of one of the targets.' },
      outcome: {
        kind: 'text',
        values: ['success', 'failure', 'unknown'],
        description: 'The outcome.',
      },
      since: {
        kind: 'time',
        description: 'received_at at or after this time (RFC 3339; :60 is read as :59).',
      },
      until: {
        kind: 'time',
        description: 'received_at before this time (RFC 3339; :60 is read as :59).',
      },
      limit,
      cursor: {
        kind: 'text',
        max: 1024,
        rule: 'must be a cursor returned by a previous search',
        description: 'The `cursor` of the previous page.',
      },
    },
    responses: { 200: json('SearchResponse', 'One page of results.') },
  }),
  createToken: defineRoute({
    method: 'POST',
    path: '/v1/tokens',
    tag: 'tokens',
    summary: 'Create a token',
    description: `The secret \`token\` is in this answer only: the ledger keeps its SHA-256. ${allStreams}`,
    auth: {
      permission: 'admin',
      everyStream: 'managing tokens needs an admin token scoped to all streams ("*")',
    },
    access: { action: 'tokens.create' },
    body: { kind: 'json', maxBytes: 16 * 1024, name: 'TokenRequest', schema: tokenRequest },
    responses: { 201: json('CreatedToken', 'The new token, with its secret.') },
  }),
  listTokens: defineRoute({
    method: 'GET',
    path: '/v1/tokens',
    tag: 'tokens',
    summary: 'All tokens',
    description:
      'Every token created through the API, revoked and expired ones included, oldest ' +
      `first; no secrets. ${allStreams}`,
    auth: {
      permission: 'admin',
      everyStream: 'managing tokens needs an admin token scoped to all streams ("*")',
    },
    access: { action: 'tokens.list' },
    responses: { 200: json('TokenList', 'The tokens.') },
  }),
  revokeToken: defineRoute({
    method: 'DELETE',
    path: '/v1/tokens/:id',
    tag: 'tokens',
    summary: 'Revoke a token',
    description:
      'Idempotent. Takes effect at once in the isolate that served the request and within ' +
      `30 s (the token cache time) everywhere else. 404 for an unknown id. ${allStreams}`,
    auth: {
      permission: 'admin',
      everyStream: 'managing tokens needs an admin token scoped to all streams ("*")',
    },
    access: { action: 'tokens.revoke' },
    params: {
      id: {
        kind: 'text',
        pattern: /^[a-z2-7]{12}$/,
        rule: 'must be a token id (12 base32 characters)',
        description: 'The token id.',
      },
    },
    responses: { 204: { description: 'Revoked, or already revoked.' } },
  }),
  listDestinations: defineRoute({
    method: 'GET',
    path: '/v1/destinations',
    tag: 'destinations',
    summary: 'All destinations, with their delivery state',
    description:
      'Every destination by name: its configuration (the secret by name only, never its ' +
      'value) and its state: delivered seq and lag per stream, failures in a row, the last ' +
      `error, paused and why (docs/destinations.md). ${allStreams}`,
    auth: { permission: 'admin', everyStream: everyStreamForDestinations },
    access: { action: 'destinations.list' },
    responses: { 200: json('DestinationList', 'The destinations.') },
  }),
  createDestination: defineRoute({
    method: 'POST',
    path: '/v1/destinations',
    tag: 'destinations',
    summary: 'Create a destination: its streams are delivered from seq 0',
    description:
      'The body is a destination (docs/destinations.md §Configuration), parsed strictly: a ' +
      '400 names the member and its rule. Types: webhook, splunk-hec, datadog, syslog, r2, ' +
      'each with its own members. Secrets are the NAMES of Worker secrets (DEST_...); a 400 ' +
      'when one is not set or not what the type needs. URLs are https (http on 127.0.0.1, ' +
      'localhost or [::1] only with DESTINATIONS_LOCAL_HTTP=true). ' +
      `409 when the name exists. At most 64 KiB + 16 KiB. ${allStreams}`,
    auth: { permission: 'admin', everyStream: everyStreamForDestinations },
    access: { action: 'destinations.create' },
    body: {
      kind: 'raw',
      maxBytes: 80 * 1024,
      content: {
        'application/json': { schema: { $ref: '#/components/schemas/DestinationRequest' } },
      },
    },
    responses: {
      201: json('Destination', 'Created; delivery starts at once.'),
      409: { $ref: '#/components/responses/Conflict' },
    },
  }),
  getDestination: defineRoute({
    method: 'GET',
    path: '/v1/destinations/:name',
    tag: 'destinations',
    summary: 'One destination, with its delivery state',
    description: `404 for an unknown name. ${allStreams}`,
    auth: { permission: 'admin', everyStream: everyStreamForDestinations },
    access: { action: 'destinations.read' },
    params: { name: destinationName },
    responses: { 200: json('Destination', 'The destination and its state.') },
  }),
  deleteDestination: defineRoute({
    method: 'DELETE',
    path: '/v1/destinations/:name',
    tag: 'destinations',
    summary: 'Delete a destination: its delivery stops',
    description:
      'Its object stops and forgets its cursors; a request under way may still arrive. ' +
      `404 for an unknown name. ${allStreams}`,
    auth: { permission: 'admin', everyStream: everyStreamForDestinations },
    access: { action: 'destinations.delete' },
    params: { name: destinationName },
    responses: { 204: { description: 'Deleted.' } },
  }),
  resumeDestination: defineRoute({
    method: 'POST',
    path: '/v1/destinations/:name/resume',
    tag: 'destinations',
    summary: 'Resume a paused destination from where it stopped',
    description:
      'Forgets the failures and delivers on from the cursors (the backlog was kept). ' +
      `Idempotent; no body. 404 for an unknown name. ${allStreams}`,
    auth: { permission: 'admin', everyStream: everyStreamForDestinations },
    access: { action: 'destinations.resume' },
    params: { name: destinationName },
    responses: { 200: json('Destination', 'The destination and its state, unpaused.') },
  }),
  eraseEntries: defineRoute({
    method: 'POST',
    path: '/v1/streams/:stream/erasures',
    tag: 'admin',
    summary: "Erase entries' contents, keeping their leaf hashes",
    description:
      `${inScope} Erases the entries named by \`seqs\`, or every entry whose actor (the ` +
      'actor string or actor.id) is `actor` (found through the D1 search index for ' +
      'mirrored entries, and in the stream object for the others). The request is first ' +
      'recorded in _access (action stele.config.erase, with the reason and every seq, in ' +
      'as many records as it takes: docs/api.md §Erased entries); then the stream object ' +
      'removes the sealed entry bytes in one transaction, keeping seq, received_at, leaf ' +
      'hash and tree nodes, so every checkpoint and proof still verifies. A seq already ' +
      'erased is answered in `already_erased`. A system stream (`_access`) is a 403. 404 ' +
      'when the stream has no entries, or (by actor) no entry by that actor is left.',
    auth: {
      permission: 'admin',
      stream: 'path',
      system: 'is a system stream: its records are not erasable',
    },
    access: { action: 'config.erase', recordedBy: 'handler' },
    params: { stream },
    body: { kind: 'json', maxBytes: 64 * 1024, name: 'ErasureRequest', schema: erasureRequest },
    responses: { 200: json('ErasureResponse', 'Erased (or already erased).') },
  }),
  rotateKeys: defineRoute({
    method: 'POST',
    path: '/v1/admin/rotate-keys',
    tag: 'admin',
    summary: 'Re-wrap the data keys of a page of streams under the current MASTER_KEY',
    description:
      'One step of a master key rotation (docs/deploy.md): each stream of the page (the D1 ' +
      'registry in name order, after `after`) has its object re-wrap its data key under ' +
      'MASTER_KEY (unwrapping with MASTER_KEY or MASTER_KEY_PREVIOUS) and write it to D1; ' +
      'then the search key is re-wrapped. No entry is rewritten. Repeat with `after` = ' +
      '`next` until `next` is null. Idempotent; no body. When ' +
      '`keys_under_other_master_keys` is 0, MASTER_KEY_PREVIOUS can be removed. ' +
      allStreams,
    auth: {
      permission: 'admin',
      everyStream: 'rotating keys needs an admin scoped to all streams ("*")',
    },
    access: { action: 'config.rotate-keys' },
    query: {
      after: { kind: 'stream', description: 'Only streams whose name sorts after this one.' },
      limit: { ...limit, max: MAX_ROTATE_PAGE, description: 'Streams to visit in this request.' },
    },
    responses: {
      200: json('RotateKeysResponse', "The page's keys are wrapped under the current master key."),
    },
  }),
} as const;

export type RouteName = keyof typeof ROUTES;
