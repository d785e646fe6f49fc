/**
 * The OpenAPI 3.1 description of the ledger's HTTP API v1, served at GET /v1/openapi.json.
 * It describes what routes/*.ts implement; docs/api.md is the human reference and
 * docs/format.md defines the entry, checkpoint and proof formats.
 */

/**
 * What each `x-stele-role` value means (src/token.ts GRANTS). The system stream `_access` is
 * read by admins only, whatever the role says (workers/ledger/auth.ts authorize).
 */
const ROLE_TEXT = {
  none: 'Role: none (no token).',
  writer: 'Role: writer or admin.',
  verifier: 'Role: verifier, reader or admin (admin only for a system stream such as _access).',
  reader: 'Role: reader or admin (admin only for a system stream such as _access).',
  admin: 'Role: admin.',
} as const;

/** The common head of an operation: tags, id, summary, role (text and extension). */
function op(
  role: keyof typeof ROLE_TEXT,
  tag: string,
  operationId: string,
  summary: string,
  description?: string,
) {
  return {
    tags: [tag],
    operationId,
    summary,
    description: description === undefined ? ROLE_TEXT[role] : `${ROLE_TEXT[role]} ${description}`,
    'x-stele-role': role,
    ...(role === 'none' ? { security: [] } : {}),
  };
}

const s = (name: string) => ({ $ref: `#/components/schemas/${name}` }) as const;
const arrayOf = (name: string) => ({ type: 'array', items: s(name) }) as const;
const object = (required: readonly string[], properties: Record<string, object>) =>
  ({ type: 'object', required, properties }) as const;
const query = (name: string, schema: object, description?: string, required?: true) => ({
  name,
  in: 'query',
  ...(description === undefined ? {} : { description }),
  ...(required ? { required } : {}),
  schema,
});

const json = (schema: string, description: string) => ({
  description,
  content: { 'application/json': { schema: s(schema) } },
});
/** A JSON answer that is one of several schemas. */
const jsonOneOf = (schemas: readonly string[], description: string) => ({
  description,
  content: { 'application/json': { schema: { oneOf: schemas.map(s) } } },
});
const text = (description: string) => ({
  description,
  content: { 'text/plain': { schema: { type: 'string' } } },
});
const problem = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: s('Problem') } },
});

const err = {
  400: { $ref: '#/components/responses/BadRequest' },
  401: { $ref: '#/components/responses/Unauthorized' },
  403: { $ref: '#/components/responses/Forbidden' },
  404: { $ref: '#/components/responses/NotFound' },
  409: { $ref: '#/components/responses/Conflict' },
  410: { $ref: '#/components/responses/Gone' },
  413: { $ref: '#/components/responses/PayloadTooLarge' },
  415: { $ref: '#/components/responses/UnsupportedMediaType' },
  429: { $ref: '#/components/responses/TooManyRequests' },
  503: { $ref: '#/components/responses/Unavailable' },
} as const;
/**
 * The errors of every authenticated request: 401, 403, the rate limits (429) and 503 (the
 * request's _access record could not be stored, or Access's keys could not be fetched).
 */
const authErrors = { 401: err[401], 403: err[403], 429: err[429], 503: err[503] } as const;
/** The errors of a list that is not one stream's. */
const listErrors = { 400: err[400], ...authErrors } as const;
/** The errors of a read of one stream. */
const readErrors = { ...listErrors, 404: err[404] } as const;

const streamParam = { $ref: '#/components/parameters/Stream' } as const;
const seqParam = { $ref: '#/components/parameters/Seq' } as const;
const limitParam = { $ref: '#/components/parameters/Limit' } as const;

const hash = s('Hash');
const count = { type: 'integer', minimum: 0, maximum: 9007199254740991 } as const;
const accessStream = {
  type: 'string',
  pattern: '^_access(-[1-9][0-9]?)?$',
  description: '_access, or one of its shards with ACCESS_SHARDS (_access-1 ...).',
} as const;
const nullableCount = { type: ['integer', 'null'], minimum: 0 } as const;
const shortText = { type: 'string', minLength: 1, maxLength: 256 } as const;
const dateTime = { type: 'string', format: 'date-time' } as const;
const nullableDateTime = { type: ['string', 'null'], format: 'date-time' } as const;
const base64 = (description: string) =>
  ({ type: 'string', contentEncoding: 'base64', description }) as const;
const inScope = 'The stream must be in the token scope.';
const keyId = { type: 'string', pattern: '^[0-9a-f]{8}$', description: 'A key ID, 8 hex digits.' };
const note = (description: string) => ({ type: 'string', description }) as const;
const allStreams =
  'The admin token\'s scope must contain "*" itself; a narrower admin token gets a 403 ' +
  '("managing tokens needs an admin token scoped to all streams ("*")").';

export const openapi = {
  openapi: '3.1.0',
  info: {
    title: 'Stele ledger API',
    version: '1',
    description:
      'Append audit events to streams; read entries (or tail them live), checkpoints (cosigned ' +
      'by witnesses when the ledger has a WITNESS_POLICY) and proofs; verify checkpoints; ' +
      'search; manage tokens; erase entries; rotate keys. Every /v1 route except ' +
      '/v1/log-keys and /v1/openapi.json needs a bearer token or, when ACCESS_TEAM_DOMAIN and ' +
      'ACCESS_AUD are set, a Cloudflare Access sign-in (Cf-Access-Jwt-Assertion, used only ' +
      'when there is no Authorization header), and `x-stele-role` names the least role an ' +
      'operation needs. The system stream `_access` is read by admins only and appended to ' +
      'by nobody; it records every read, token change, configuration change and refused ' +
      'request, before the answer leaves (a 503 when the record cannot be stored). An erased ' +
      'entry keeps its seq, received_at and leaf_hash and shows `erased` instead of its ' +
      'contents. Failed authentications are rate limited per client IP and requests per ' +
      'caller (429 with Retry-After). Errors are RFC 9457 problem details ' +
      '(application/problem+json); any route may also answer 500 (type `internal`), and ' +
      'unknown paths and methods answer 404. Every answer but a WebSocket upgrade carries ' +
      'security headers (Cache-Control: no-store, X-Content-Type-Options, ' +
      'Content-Security-Policy, X-Frame-Options, Referrer-Policy, ' +
      'Cross-Origin-Resource-Policy, Strict-Transport-Security). Formats: docs/format.md. ' +
      'Witnesses and policies: docs/witnessing.md. Security: docs/security.md. Reference: ' +
      'docs/api.md.',
    license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
  },
  tags: [
    { name: 'meta', description: 'Health, the log key and this document (no token).' },
    { name: 'events', description: 'Appending events.' },
    { name: 'streams', description: 'Streams, entries (also as a live tail) and checkpoints.' },
    { name: 'proofs', description: 'Inclusion and consistency proofs.' },
    {
      name: 'verify',
      description: 'Checking a checkpoint against the log key and a witness policy.',
    },
    { name: 'search', description: 'Search over the D1 mirror.' },
    { name: 'tokens', description: 'API tokens.' },
    { name: 'admin', description: 'Erasure and master key rotation (admin).' },
  ],
  security: [{ bearer: [] }, { access: [] }],
  paths: {
    '/healthz': {
      get: {
        ...op('none', 'meta', 'health', 'Liveness check'),
        responses: { 200: json('Health', 'The Worker is up.') },
      },
    },
    '/v1/log-keys': {
      get: {
        ...op(
          'none',
          'meta',
          'getLogKeys',
          'The log public key and the origin prefix',
          'The Ed25519 key that signs every checkpoint; the origin of stream S is ' +
            '`<origin_prefix>/S` (docs/format.md §7).',
        ),
        responses: { 200: json('LogKeys', 'The log key.') },
      },
    },
    '/v1/openapi.json': {
      get: {
        ...op('none', 'meta', 'getOpenApi', 'This OpenAPI document'),
        responses: {
          200: {
            description: 'The OpenAPI 3.1 document.',
            content: { 'application/json': { schema: { type: 'object' } } },
          },
        },
      },
    },
    '/v1/streams/{stream}/events': {
      post: {
        ...op(
          'writer',
          'events',
          'appendEvents',
          'Append one event or an all-or-nothing batch',
          `${inScope} The body is one event, {"events": [...]}, or NDJSON (one event per ` +
            'line, blank lines skipped); 1 to 1000 events, at most 1 MiB. Every event is ' +
            'validated and every idempotency key checked before anything is appended. A 400 ' +
            'names the event member as `event.<member>` (one event), `events[i].<member>` ' +
            '(batch, i from 0) or `line N: event.<member>` (NDJSON, N counting lines from 1, ' +
            "blank lines included); an NDJSON line that is not JSON is `line N`. An event's " +
            'idempotency key is the Idempotency-Key header if given, else its `id`: one key ' +
            'space per stream. A retry of a key with the same event (same canonical JSON, ' +
            '`id` included) answers 201 with the first seq, leaf_hash and received_at and ' +
            '"duplicate": true; the same key with another event is a 409. With ' +
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
        ),
        parameters: [
          {
            name: 'stream',
            in: 'path',
            required: true,
            description: 'A client stream name; a system stream name (starting with `_`) is a 403.',
            schema: { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]{0,62}$' },
          },
          query(
            'wait',
            { type: 'string', enum: ['checkpoint', 'witnessed'] },
            'Wait for a signed (checkpoint) or witnessed checkpoint covering the entries; any ' +
              'other value is a 400 (field `wait`, rule: must be "checkpoint" or "witnessed").',
          ),
          {
            name: 'Idempotency-Key',
            in: 'header',
            description:
              'Idempotency key of a single-event application/json body (a 400 with a batch ' +
              'or NDJSON). Same key space as the event `id`; if the event has an `id` it must ' +
              'be equal (else a 400, field Idempotency-Key).',
            schema: { type: 'string', pattern: '^[\\x21-\\x7e]{1,128}$' },
          },
        ],
        requestBody: {
          required: true,
          content: {
            'application/json': { schema: { oneOf: [s('Event'), s('EventBatch')] } },
            'application/x-ndjson': {
              schema: { type: 'string', description: 'One Event per line.' },
            },
          },
        },
        responses: {
          201: json(
            'AppendResponse',
            'Appended, or appended before (duplicate); with wait, also the checkpoint and a ' +
              'proof per entry.',
          ),
          202: json(
            'AppendResponse',
            'wait=checkpoint or wait=witnessed only: appended, but no such checkpoint covered ' +
              'the entries within 30 s; "pending_checkpoint": true, no checkpoint and no proofs.',
          ),
          ...listErrors,
          409: err[409],
          413: err[413],
          415: err[415],
        },
      },
    },
    '/v1/streams': {
      get: {
        ...op(
          'verifier',
          'streams',
          'listStreams',
          'The streams in the token scope, by name',
          'Read from the D1 mirror: a new stream is listed once its first entries are ' +
            'mirrored or its first checkpoint published. System streams (`_access`) are ' +
            'listed for admins only. Pass `next` as `after`.',
        ),
        parameters: [
          query('after', { type: 'string' }, 'Only streams whose name sorts after this one.'),
          limitParam,
        ],
        responses: { 200: json('StreamList', 'One page of streams.'), ...listErrors },
      },
    },
    '/v1/streams/{stream}/entries': {
      get: {
        ...op(
          'reader',
          'streams',
          'listEntries',
          'Entries in seq order',
          `${inScope} 404 when the stream has no entries. An erased entry is an ErasedEntry. ` +
            'Pass `next` as `start`.',
        ),
        parameters: [
          streamParam,
          query('start', { ...count, default: 0 }, 'The first seq.'),
          limitParam,
        ],
        responses: { 200: json('EntryList', 'One page of entries.'), ...readErrors },
      },
    },
    '/v1/streams/{stream}/entries/{seq}': {
      get: {
        ...op('reader', 'streams', 'getEntry', 'One entry', `${inScope} Erased: an ErasedEntry.`),
        parameters: [streamParam, seqParam],
        responses: {
          200: jsonOneOf(['Entry', 'ErasedEntry'], 'The entry, or what is left of an erased one.'),
          ...readErrors,
        },
      },
    },
    '/v1/streams/{stream}/entries/{seq}/proof': {
      get: {
        ...op(
          'reader',
          'proofs',
          'getEntryProof',
          'The tlog-proof file of one entry',
          `${inScope} A c2sp.org/tlog-proof file (docs/format.md §11) against the newest ` +
            'checkpoint (with the witness cosignatures collected so far), with the entry ' +
            'bytes as `extra`. 404 until a checkpoint covers seq (field `seq`, rule "is not ' +
            'covered by a checkpoint yet"); 410 when the entry was erased (field `seq`; its ' +
            'leaf hash is still proved by /proof/inclusion).',
        ),
        parameters: [streamParam, seqParam],
        responses: {
          200: text('The proof file (text/plain; charset=utf-8).'),
          ...readErrors,
          410: err[410],
        },
      },
    },
    '/v1/streams/{stream}/tail': {
      get: {
        ...op(
          'reader',
          'streams',
          'tailStream',
          'Live tail: entries replayed from `from`, then live',
          `${inScope} A WebSocket (send Upgrade: websocket; 101) or Server-Sent Events (send ` +
            'an Accept that contains text/event-stream; 200); Upgrade: websocket wins when both ' +
            'are sent, and a request with neither is a 400 (field `Accept`). Entries from ' +
            '`from` (default: the current tree size, so live only) are sent in seq order, ' +
            'then each new entry when its append is committed: no gap, no duplicate. A ' +
            '`from` past the tree size waits for that seq; a stream with no entries is not a ' +
            '404 (the tail waits for its first entry). A checkpoint message is sent for each ' +
            'checkpoint signed while the tail is open (not replayed), after every entry it ' +
            "covers; its note has the log's signature only. Messages: TailEntry (with " +
            '`erased` instead of `event` for an erased entry), TailCheckpoint and, over a ' +
            'WebSocket, TailPong. WebSocket: one JSON text frame per message; the text ' +
            'message "ping" is answered with {"type":"pong"}, anything else is ignored. SSE: ' +
            'the body starts with an event `start` whose data is {"from":N} (the first seq ' +
            'the tail sends); then events `entry` (with `id: <seq>`), `checkpoint` (no id) ' +
            'and `closed`; resume with ' +
            'Last-Event-ID. A tail too far behind (MAX_BACKLOG = 10,000 entries) is closed ' +
            'with the seq to resume from: a WebSocket with close code 4000 and reason "too ' +
            'slow; resume from seq N" (checked when it opens and after each append: its next ' +
            'seq is 1 or more and more than 10,000 below the tree size, so in practice a tail ' +
            'opened that far back), SSE with an `event: closed` whose data is the same text, ' +
            'then the end of the body (after each append, when more than MAX_BACKLOG x 256 ' +
            'writes are queued for the client).',
        ),
        parameters: [
          streamParam,
          query(
            'from',
            count,
            'The first seq to send (no leading zeros); default: the current tree size (live ' +
              'only). Ignored when Last-Event-ID is sent.',
          ),
          {
            name: 'Last-Event-ID',
            in: 'header',
            description:
              'The last seq received: the tail starts at the next one, whatever `from` says. ' +
              'How SSE resumes (EventSource sends it); also honoured on a WebSocket upgrade. ' +
              'Else a 400 (field Last-Event-ID, rule "must be a seq").',
            schema: { type: 'string', pattern: '^[0-9]{1,16}$' },
          },
          {
            name: 'Upgrade',
            in: 'header',
            description:
              '`websocket` (case-insensitive) for the WebSocket variant, with the usual ' +
              'WebSocket handshake headers. Without it, the Accept header must contain ' +
              'text/event-stream, or the request is a 400 (field `Accept`, rule "ask for ' +
              'text/event-stream, or upgrade to a WebSocket").',
            schema: { type: 'string' },
          },
        ],
        responses: {
          101: {
            description:
              'WebSocket (Upgrade: websocket). Server to client: one text frame per message, ' +
              'a TailEntry, TailCheckpoint or TailPong as JSON. Client to server: the text ' +
              '"ping" (answered with TailPong); anything else is ignored. Closed by the ' +
              'server with code 4000 and reason "too slow; resume from seq N" when too far ' +
              'behind; a close from the client is echoed (1000 when it sent no code).',
            'x-stele-websocket-messages': {
              oneOf: [s('TailEntry'), s('TailCheckpoint'), s('TailPong')],
            },
          },
          200: {
            description:
              'Server-Sent Events (Accept: text/event-stream): the body begins with an event ' +
              '`start` (no id, data {"from":N}: the first seq sent), then events `entry` ' +
              '(`id: <seq>`, data a TailEntry), `checkpoint` (no id, data a TailCheckpoint) ' +
              'and, when the client ' +
              'is too slow, `closed` (no id, data the plain text "too slow; resume from seq ' +
              'N"), after which the body ends. Every data is one line. The body does not end ' +
              'otherwise while the tail is open; there are no keep-alive comments.',
            headers: {
              'X-Accel-Buffering': {
                description: 'Always `no`: proxies must not buffer the stream.',
                schema: { type: 'string', const: 'no' },
              },
            },
            content: {
              'text/event-stream': {
                schema: { type: 'string' },
                example:
                  'event: start\ndata: {"from":7}\n\nid: 7\nevent: entry\ndata: {"type":"entry","seq":7,' +
                  '"received_at":"2026-11-26T14:08:23.424Z","leaf_hash":' +
                  '"XY5RPPPvXpAjZszGCLUfBIfVhCe/Hk1blsWCzsC5ZuQ=","event":{"action":' +
                  '"ssh.logout","actor":"u-42"}}\n\nevent: checkpoint\ndata: {"type":' +
                  '"checkpoint","size":8,"note":"stele.localhost/log/prod-access\\n8\\n..."}\n\n',
              },
            },
          },
          ...listErrors,
        },
      },
    },
    '/v1/streams/{stream}/checkpoint': {
      get: {
        ...op(
          'verifier',
          'streams',
          'getCheckpoint',
          'The newest signed checkpoint',
          `${inScope} A C2SP signed note (docs/format.md §7): the log's signature, then the ` +
            'witness cosignatures collected since signing (docs/format.md §8), one line per ' +
            'witness key, ordered by key name; they may not meet the quorum yet, and more may ' +
            'be added later. 404 before the first one.',
        ),
        parameters: [streamParam],
        responses: { 200: text('The signed note (text/plain; charset=utf-8).'), ...readErrors },
      },
    },
    '/v1/streams/{stream}/checkpoints/{size}': {
      get: {
        ...op(
          'verifier',
          'streams',
          'getArchivedCheckpoint',
          'One checkpoint, as archived in R2',
          `${inScope} The published copy of the checkpoint of this size (R2 ` +
            '`<stream>/checkpoints/<size>`), which auditors compare with what the ledger serves. ' +
            '404 until it is published (at most MIRROR_INTERVAL_MS, 5 s by default, after signing).',
        ),
        parameters: [
          streamParam,
          { name: 'size', in: 'path', required: true, schema: { type: 'integer', minimum: 1 } },
        ],
        responses: { 200: text('The signed note (text/plain; charset=utf-8).'), ...readErrors },
      },
    },
    '/v1/streams/{stream}/witnessed': {
      get: {
        ...op(
          'verifier',
          'streams',
          'getWitnessedCheckpoint',
          'The newest witnessed checkpoint',
          `${inScope} The newest checkpoint whose valid witness cosignatures meet the quorum ` +
            'of WITNESS_POLICY, as a signed note with those cosignatures (without a policy, ' +
            'every signed checkpoint counts, so this is the newest checkpoint). Its size is ' +
            '`witnessed_size` in the stream list. 404 before the first one ("has no ' +
            'checkpoint that meets the witness quorum yet").',
        ),
        parameters: [streamParam],
        responses: {
          200: text('The cosigned note (text/plain; charset=utf-8).'),
          ...readErrors,
        },
      },
    },
    '/v1/streams/{stream}/checkpoints': {
      get: {
        ...op(
          'verifier',
          'streams',
          'listCheckpoints',
          'Signed checkpoints, smallest first',
          `${inScope} Each note carries the witness cosignatures collected for it: the newest ` +
            'gains them as witnesses answer; an older one keeps those it had when a newer one ' +
            'was signed (possibly fewer than the quorum, or none). Pass `next` as `after`.',
        ),
        parameters: [
          streamParam,
          query('after', { ...count, default: 0 }, 'Only checkpoints of a larger size.'),
          limitParam,
        ],
        responses: { 200: json('CheckpointList', 'One page of checkpoints.'), ...readErrors },
      },
    },
    '/v1/streams/{stream}/proof/inclusion': {
      get: {
        ...op(
          'verifier',
          'proofs',
          'getInclusionProof',
          'Inclusion proof of one entry',
          `${inScope} RFC 9162 §2.1.3 proof of seq in the tree of \`size\` leaves (default: ` +
            'the newest checkpoint). 404 when seq is not below the current tree size, or ' +
            'when size is omitted and there is no checkpoint yet (field `size`). 400 when ' +
            'size exceeds the current tree size (field `size`, "must not exceed the tree ' +
            'size N") or seq is not below the size proved against (field `seq`, "must be ' +
            'below the tree size N").',
        ),
        parameters: [
          streamParam,
          query('seq', count, 'The entry.', true),
          query('size', { ...count, minimum: 1 }, 'Tree size: seq < size <= tree size.'),
        ],
        responses: { 200: json('InclusionProof', 'The proof.'), ...readErrors },
      },
    },
    '/v1/streams/{stream}/proof/consistency': {
      get: {
        ...op(
          'verifier',
          'proofs',
          'getConsistencyProof',
          'Consistency proof between two tree sizes',
          `${inScope} RFC 9162 §2.1.4 proof that the tree of \`to\` leaves extends the tree ` +
            'of `from` leaves; 1 <= from <= to <= tree size; empty when from = to. 400 when ' +
            'to exceeds the tree size (field `to`) or from is not within 1..to (field `from`).',
        ),
        parameters: [
          streamParam,
          query('from', { ...count, minimum: 1 }, 'The smaller tree size.', true),
          query('to', { ...count, minimum: 1 }, 'The larger tree size.', true),
        ],
        responses: { 200: json('ConsistencyProof', 'The proof.'), ...readErrors },
      },
    },
    '/v1/verify': {
      post: {
        ...op(
          'verifier',
          'verify',
          'verifyCheckpoint',
          'Verify a checkpoint: log signature, witness quorum, consistency',
          `${inScope} Checks \`checkpoint\` (default: the newest) against the log key and ` +
            '`policy` (default: WITNESS_POLICY; none when unset): its log signature, each ' +
            'cosignature of a witness the policy names, whether they meet the quorum, and ' +
            'its consistency with the newest checkpoint. A failed check is "valid": false in ' +
            'a 200, not an error. The answer holds every note, key and proof used, so each ' +
            'check can be redone offline (docs/format.md). The role is checked first (a ' +
            'writer gets a 403), then the body (at most 256 KiB) is read and `stream` ' +
            'checked, then the scope. 400 with field ' +
            '`checkpoint <where>` or `policy <where>` when they do not parse, or the ' +
            "checkpoint's origin is not the stream's; 404 when the stream has no checkpoint.",
        ),
        requestBody: {
          required: true,
          content: { 'application/json': { schema: s('VerifyRequest') } },
        },
        responses: {
          200: json('VerifyResponse', 'The verification report.'),
          ...readErrors,
          413: err[413],
          415: err[415],
        },
      },
    },
    '/v1/search': {
      get: {
        ...op(
          'reader',
          'search',
          'search',
          'Exact-match search, newest first',
          'Searches the D1 mirror (entries counted in `mirror_lag` are not found yet) of the ' +
            'streams in the token scope; system streams (`_access`) for admins only. The ' +
            'mirror holds keyed hashes (search tokens) of actor, action, target and outcome ' +
            'unless SEARCH_CLEAR_FIELDS keeps them in clear; each filter is turned into its ' +
            'token, so matching is exact. Filters combine with AND; an unknown query ' +
            'parameter is a 400. An erased entry is a result with `erased` instead of ' +
            '`event`, and is found only by stream, since and until. Pass `cursor` from one ' +
            'page to get the next.',
        ),
        parameters: [
          query(
            'stream',
            { type: 'string' },
            'One stream (a 403 outside the token scope, or a system stream for a reader).',
          ),
          query('actor', shortText, 'The actor string, or actor.id.'),
          query('action', shortText),
          query('target', shortText, 'The id of one of the targets.'),
          query('outcome', { type: 'string', enum: ['success', 'failure', 'unknown'] }),
          query(
            'since',
            dateTime,
            'received_at at or after this time (RFC 3339; a leap second :60 is read as :59).',
          ),
          query(
            'until',
            dateTime,
            'received_at before this time (RFC 3339; a leap second :60 is read as :59).',
          ),
          limitParam,
          query('cursor', { type: 'string' }, 'The `cursor` of the previous page.'),
        ],
        responses: { 200: json('SearchResponse', 'One page of results.'), ...listErrors },
      },
    },
    '/v1/tokens': {
      post: {
        ...op(
          'admin',
          'tokens',
          'createToken',
          'Create a token',
          'The secret `token` is in this answer only: the ledger keeps its SHA-256. The body ' +
            `is at most 16 KiB. ${allStreams}`,
        ),
        requestBody: {
          required: true,
          content: { 'application/json': { schema: s('TokenRequest') } },
        },
        responses: {
          201: json('CreatedToken', 'The new token, with its secret.'),
          ...listErrors,
          413: err[413],
          415: err[415],
        },
      },
      get: {
        ...op(
          'admin',
          'tokens',
          'listTokens',
          'All tokens',
          'Every token created through the API, revoked and expired ones included, oldest ' +
            `first; no secrets. ${allStreams}`,
        ),
        responses: { 200: json('TokenList', 'The tokens.'), ...authErrors },
      },
    },
    '/v1/tokens/{id}': {
      delete: {
        ...op(
          'admin',
          'tokens',
          'revokeToken',
          'Revoke a token',
          'Idempotent. Takes effect at once in the isolate that served the request and within ' +
            `30 s (the token cache time) everywhere else. ${allStreams}`,
        ),
        parameters: [{ name: 'id', in: 'path', required: true, schema: s('TokenId') }],
        responses: { 204: { description: 'Revoked, or already revoked.' }, ...readErrors },
      },
    },
    '/v1/streams/{stream}/erasures': {
      post: {
        ...op(
          'admin',
          'admin',
          'eraseEntries',
          "Erase entries' contents, keeping their leaf hashes",
          `${inScope} Erases the entries named by \`seqs\`, or every entry whose actor ` +
            '(the actor string or actor.id) is `actor` (found through the D1 search index ' +
            'for mirrored entries, and in the stream object for the others). The request is ' +
            'first recorded in _access (action stele.config.erase, with the reason and the ' +
            'seqs); then the stream object removes the sealed entry bytes and idempotency ' +
            'MACs in one transaction, keeping seq, received_at, leaf hash and tree nodes, so ' +
            'every checkpoint and proof still verifies; its alarm carries the erasure to D1 ' +
            'about a second later. A seq already erased is answered in `already_erased`. ' +
            'The role and scope are checked before the body (at most 64 KiB) is read. A ' +
            'system stream (`_access`) is a 403. 404 when the stream has no entries, or (by ' +
            'actor) no entry by that actor is left to erase. A 400 names the member: ' +
            '`reason` ("is required: a string of 1 to 512 characters"), `body` ("must name ' +
            'either seqs or actor"), `seqs` ("must be an array of 1 to 1000 seqs", "must hold ' +
            'integers from 0 to N"), `actor`, or an unknown member ("is not a known field").',
        ),
        parameters: [streamParam],
        requestBody: {
          required: true,
          content: { 'application/json': { schema: s('ErasureRequest') } },
        },
        responses: {
          200: json('ErasureResponse', 'Erased (or already erased).'),
          ...readErrors,
          413: err[413],
          415: err[415],
        },
      },
    },
    '/v1/admin/rotate-keys': {
      post: {
        ...op(
          'admin',
          'admin',
          'rotateKeys',
          'Re-wrap the data keys of a page of streams under the current MASTER_KEY',
          'One step of a master key rotation (docs/deploy.md): each stream of the page (the ' +
            'D1 registry in name order, after `after`) has its object re-wrap its data key ' +
            'under MASTER_KEY (unwrapping with MASTER_KEY or MASTER_KEY_PREVIOUS) and write ' +
            'it to D1; then the search key is re-wrapped. No entry is rewritten. Repeat with ' +
            '`after` = `next` until `next` is null. Idempotent; no body. When ' +
            '`keys_under_other_master_keys` is 0, MASTER_KEY_PREVIOUS can be removed. The ' +
            'admin\'s scope must contain "*" itself; a narrower admin gets a 403 ("rotating ' +
            'keys needs an admin scoped to all streams ("*")").',
        ),
        parameters: [
          query('after', { type: 'string' }, 'Only streams whose name sorts after this one.'),
          query(
            'limit',
            { type: 'integer', minimum: 1, maximum: 500, default: 100 },
            'Streams to visit in this request.',
          ),
        ],
        responses: {
          200: json(
            'RotateKeysResponse',
            "The page's keys are wrapped under the current master key.",
          ),
          ...listErrors,
        },
      },
    },
  },
  components: {
    securitySchemes: {
      bearer: {
        type: 'http',
        scheme: 'bearer',
        description:
          'A token from POST /v1/tokens (stl_<id>_<secret>) or the ADMIN_TOKEN secret. The ' +
          'scheme name is case-insensitive, followed by one or more spaces and the token. ' +
          'When an Authorization header is sent, it alone authenticates the request.',
      },
      access: {
        type: 'apiKey',
        in: 'header',
        name: 'Cf-Access-Jwt-Assertion',
        description:
          'Cloudflare Access sign-in, when ACCESS_TEAM_DOMAIN and ACCESS_AUD are set (else ' +
          'the header is ignored), used only when the request has no Authorization header. ' +
          'The JWT Access adds must be RS256 or ES256, verify against the team keys ' +
          '(<team domain>/cdn-cgi/access/certs), name the application audience (ACCESS_AUD) ' +
          "and the team's issuer, and be unexpired (60 s leeway); else a 401. The first " +
          'matching rule of ACCESS_ROLES (by email, group or service token common name) ' +
          'gives the role and the stream scope; no matching rule is a 403. Keys that cannot ' +
          'be fetched are a 503 (Retry-After: 5). docs/security.md, Access.',
      },
    },
    parameters: {
      Stream: {
        name: 'stream',
        in: 'path',
        required: true,
        description:
          'A stream name; system streams start with `_` (`_access`: admins only, never ' +
          'appended to).',
        schema: {
          type: 'string',
          pattern: '^([a-z0-9][a-z0-9_-]{0,62}|_[a-z0-9][a-z0-9_-]{0,61})$',
        },
      },
      Seq: { name: 'seq', in: 'path', required: true, schema: count },
      Limit: query('limit', { type: 'integer', minimum: 1, maximum: 1000, default: 100 }),
    },
    responses: {
      BadRequest: problem('A parameter, header or body member breaks a rule: `field`, `rule`.'),
      Unauthorized: {
        ...problem(
          'No bearer token or Access sign-in, a token that is unknown, expired or revoked, or ' +
            'an Access JWT that does not verify. Counts against the per-IP limit on failed ' +
            'authentications.',
        ),
        headers: {
          'WWW-Authenticate': {
            description: 'Always Bearer realm="stele", error="invalid_token".',
            schema: { type: 'string', const: 'Bearer realm="stele", error="invalid_token"' },
          },
        },
      },
      Forbidden: problem(
        "The caller's role or stream scope does not allow the operation; a system stream " +
          '(`_access`) for a role other than admin, or an append to or erasure of one; token ' +
          'administration or key rotation with an admin not scoped to "*"; or an Access ' +
          'identity to which ACCESS_ROLES gives no role (which counts as a failed ' +
          'authentication).',
      ),
      NotFound: problem(
        'No such route, no entries in the stream, or no such seq, checkpoint, witnessed ' +
          'checkpoint or token; for proofs, no checkpoint yet to prove against (then with ' +
          '`field` and `rule`); for an erasure by actor, no entry by that actor.',
      ),
      Conflict: problem('An idempotency key was already used with a different event.'),
      Gone: problem(
        'The entry was erased: its contents, and so its proof file, are gone (`field` `seq`, ' +
          '`rule` beginning "was erased"). Its leaf hash is still in the tree.',
      ),
      PayloadTooLarge: problem('The body or batch is too large; `limit` is the bound.'),
      UnsupportedMediaType: problem('The Content-Type is not one the operation accepts.'),
      TooManyRequests: {
        ...problem(
          'A rate limit: too many failed authentications from the client IP (30 per 10 s, ' +
            'AUTH_FAILURE_LIMIT) or too many requests from the caller (50,000 per 10 s, ' +
            'CALLER_LIMIT), with `retry_after`; or, for an append, the stream D1 mirror is ' +
            'more than MAX_MIRROR_LAG entries behind. The request was not carried out. Retry after ' +
            'Retry-After.',
        ),
        headers: {
          'Retry-After': {
            description:
              'Seconds to wait before retrying (10 for the rate limits, 1 for the mirror).',
            schema: { type: 'integer', minimum: 0 },
          },
        },
      },
      Unavailable: {
        ...problem(
          "The request's _access record could not be stored, so the answer is withheld " +
            '(Retry-After: 1); or, for an Access sign-in, the team signing keys could not be ' +
            'fetched (Retry-After: 5).',
        ),
        headers: {
          'Retry-After': {
            description: 'Seconds to wait before retrying.',
            schema: { type: 'integer', minimum: 0 },
          },
        },
      },
    },
    schemas: {
      Hash: {
        ...base64('A 32-byte SHA-256 hash, base64 (RFC 4648 §4, padded).'),
        minLength: 44,
        maxLength: 44,
      },
      Party: {
        ...object(['id'], { id: shortText, type: shortText, name: shortText }),
        additionalProperties: false,
      },
      Event: {
        ...object(['action', 'actor'], {
          action: { type: 'string', minLength: 1, maxLength: 128 },
          actor: { oneOf: [shortText, s('Party')] },
          targets: { ...arrayOf('Party'), maxItems: 100 },
          outcome: { type: 'string', enum: ['success', 'failure', 'unknown'] },
          occurred_at: { ...dateTime, description: "The client's clock (RFC 3339)." },
          context: {
            type: 'object',
            additionalProperties: false,
            properties: {
              ip: { type: 'string', description: 'An IPv4 or IPv6 address.' },
              user_agent: { type: 'string', minLength: 1, maxLength: 1024 },
              session_id: shortText,
              request_id: shortText,
              location: shortText,
            },
          },
          metadata: { type: 'object', description: 'Any JSON object.' },
          id: {
            type: 'string',
            minLength: 1,
            maxLength: 128,
            description:
              'The client event id: the idempotency key (the same key space as ' +
              'Idempotency-Key, which must equal it when both are given).',
          },
        }),
        additionalProperties: false,
        description:
          'An audit event (docs/format.md §2): at most 65,536 bytes in canonical JSON, parsed ' +
          'strictly (no duplicate names, integers within ±(2^53−1), nesting at most 32). ' +
          'Lengths count Unicode code points.',
        examples: [
          {
            action: 'ssh.login',
            actor: { id: 'u-42', type: 'user' },
            targets: [{ id: 'db-1', type: 'host' }],
            outcome: 'success',
            id: 'evt-1',
          },
        ],
      },
      EventBatch: {
        ...object(['events'], { events: { ...arrayOf('Event'), minItems: 1, maxItems: 1000 } }),
        additionalProperties: false,
      },
      ReceivedAt: {
        ...dateTime,
        pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}\\.\\d{3}Z$',
        description: "The ledger's receive time: UTC, milliseconds.",
      },
      AppendedEntry: object(['seq', 'leaf_hash', 'received_at', 'duplicate'], {
        seq: count,
        leaf_hash: hash,
        received_at: s('ReceivedAt'),
        duplicate: { type: 'boolean', description: 'The key was seen before; nothing appended.' },
        proof: {
          type: 'string',
          description:
            'With wait (201) only: the tlog-proof file against `checkpoint`, whose note it ' +
            'ends with.',
        },
      }),
      AppendResponse: object(['stream', 'tree_size', 'entries'], {
        stream: { type: 'string' },
        tree_size: { ...count, description: 'The tree size after this request.' },
        entries: { ...arrayOf('AppendedEntry'), description: 'One per event, in order.' },
        checkpoint: {
          type: 'string',
          description:
            'With wait (201) only: the note of the checkpoint covering the entries; with ' +
            'wait=witnessed, with the cosignatures that meet the quorum.',
        },
        pending_checkpoint: {
          type: 'boolean',
          const: true,
          description:
            'With wait (202) only: no such checkpoint covered the entries within 30 s; they ' +
            'are appended.',
        },
      }),
      Entry: object(['seq', 'received_at', 'prev', 'leaf_hash', 'event', 'entry'], {
        seq: count,
        received_at: s('ReceivedAt'),
        prev: { ...hash, description: "The previous entry's leaf hash (zeros for seq 0)." },
        leaf_hash: hash,
        event: s('Event'),
        entry: base64('The entry bytes (docs/format.md §4), base64.'),
      }),
      Erasure: {
        ...object(['record', 'at', 'reason'], {
          record: {
            ...object(['stream', 'seq'], {
              stream: accessStream,
              seq: count,
            }),
            description: 'The access record of the erasure request.',
          },
          at: { ...s('ReceivedAt'), description: 'When the entry was erased.' },
          reason: {
            type: 'string',
            minLength: 1,
            maxLength: 512,
            description: 'The reason given with the request.',
          },
        }),
        description: 'What an erased entry keeps in place of its contents.',
      },
      ErasedEntry: {
        ...object(['seq', 'received_at', 'leaf_hash', 'erased'], {
          seq: count,
          received_at: s('ReceivedAt'),
          leaf_hash: { ...hash, description: 'Still in the tree: every proof still verifies.' },
          erased: s('Erasure'),
        }),
        additionalProperties: false,
        description:
          'An erased entry: its event and entry bytes are gone (no prev, event or entry); ' +
          'its seq, time and leaf hash stay.',
      },
      EntryList: object(['entries', 'next'], {
        entries: { type: 'array', items: { oneOf: [s('Entry'), s('ErasedEntry')] } },
        next: { ...nullableCount, description: 'The `start` of the next page, or null.' },
      }),
      StreamSummary: object(
        [
          'stream',
          'origin',
          'vkey',
          'tree_size',
          'checkpoint_size',
          'witnessed_size',
          'witness_lag',
          'mirror_lag',
        ],
        {
          stream: { type: 'string' },
          origin: { type: 'string', description: '<origin_prefix>/<stream>' },
          vkey: { type: 'string', description: 'The verifier key of its checkpoints.' },
          tree_size: count,
          checkpoint_size: { ...count, description: 'Size of the newest checkpoint; 0: none.' },
          witnessed_size: {
            ...count,
            description:
              'Size of the newest checkpoint that meets the witness quorum; 0: none. Without ' +
              'WITNESS_POLICY, checkpoint_size.',
          },
          witness_lag: { ...count, description: 'tree_size minus witnessed_size.' },
          mirror_lag: { ...count, description: 'tree_size minus the entries mirrored to D1.' },
        },
      ),
      StreamList: object(['streams', 'next'], {
        streams: arrayOf('StreamSummary'),
        next: { type: ['string', 'null'], description: 'The `after` of the next page, or null.' },
      }),
      Checkpoint: object(['size', 'note'], {
        size: count,
        note: { type: 'string', description: 'The signed note.' },
      }),
      CheckpointList: object(['checkpoints', 'next'], {
        checkpoints: arrayOf('Checkpoint'),
        next: { ...nullableCount, description: 'The `after` of the next page, or null.' },
      }),
      InclusionProof: object(['seq', 'tree_size', 'leaf_hash', 'hashes'], {
        seq: count,
        tree_size: count,
        leaf_hash: hash,
        hashes: { type: 'array', items: hash, description: "Siblings, the leaf's first." },
      }),
      ConsistencyProof: object(['from', 'to', 'hashes'], {
        from: count,
        to: count,
        hashes: { type: 'array', items: hash },
      }),
      VerifyRequest: {
        ...object(['stream'], {
          stream: {
            type: 'string',
            pattern: '^_?[a-z0-9][a-z0-9_-]{0,62}$',
            description: 'A stream name, client or system.',
          },
          checkpoint: note(
            'A signed checkpoint note of the stream (docs/format.md §7); default: the newest.',
          ),
          policy: {
            type: 'string',
            maxLength: 65536,
            description:
              'c2sp.org/tlog-policy text (docs/format.md §10; witness URLs optional); default: ' +
              'WITNESS_POLICY, or none when it is unset.',
          },
        }),
        additionalProperties: false,
      },
      CosignatureReport: object(['witness', 'key_name', 'key_id', 'timestamp', 'valid'], {
        witness: { type: 'string', description: "The witness's name in the policy." },
        key_name: { type: 'string', description: 'The key name on the signature line.' },
        key_id: keyId,
        timestamp: {
          type: ['integer', 'null'],
          minimum: 0,
          description: 'Unix seconds, as signed; null if not a cosignature/v1 signature.',
        },
        valid: { type: 'boolean' },
      }),
      VerifyResponse: object(
        [
          'stream',
          'origin',
          'vkey',
          'checkpoint',
          'log_signature',
          'cosignatures',
          'quorum',
          'policy',
          'consistency',
          'newest',
          'valid',
        ],
        {
          stream: { type: 'string' },
          origin: { type: 'string', description: '<origin_prefix>/<stream>' },
          vkey: { type: 'string', description: 'The verifier key of its checkpoints.' },
          checkpoint: object(['size', 'root', 'note'], {
            size: count,
            root: hash,
            note: note('The note verified: the one sent, or the newest.'),
          }),
          log_signature: object(['key_id', 'valid'], {
            key_id: { ...keyId, type: ['string', 'null'], description: 'null: no log signature.' },
            valid: { type: 'boolean' },
          }),
          cosignatures: {
            ...arrayOf('CosignatureReport'),
            description:
              'One per signature line of a witness the policy names (other lines are ignored).',
          },
          quorum: object(['rule', 'met'], {
            rule: {
              type: 'string',
              description: "The policy's quorum: a witness or group name, or none.",
            },
            met: {
              type: 'boolean',
              description: 'The log signature is valid and the valid cosignatures meet it.',
            },
          }),
          policy: {
            type: ['string', 'null'],
            description: 'The policy text used (sent, or WITNESS_POLICY); null: none.',
          },
          consistency: object(['from', 'to', 'hashes', 'consistent'], {
            from: { ...count, description: "The checkpoint's size." },
            to: { ...count, description: "The newest checkpoint's size." },
            hashes: {
              type: 'array',
              items: hash,
              description: 'RFC 9162 consistency proof from `from` to `to` (docs/format.md §5).',
            },
            consistent: { type: 'boolean' },
            detail: {
              type: 'string',
              description:
                'Why not consistent; or, without a proof, why (size 0, or larger than the newest).',
            },
          }),
          newest: object(['size', 'note'], {
            size: count,
            note: note('The newest checkpoint note, with the cosignatures collected so far.'),
          }),
          valid: {
            type: 'boolean',
            description: 'log_signature.valid and quorum.met and consistency.consistent.',
          },
        },
      ),
      TailEntry: {
        ...object(['type', 'seq', 'received_at', 'leaf_hash'], {
          type: { type: 'string', const: 'entry' },
          seq: count,
          received_at: s('ReceivedAt'),
          leaf_hash: hash,
          event: { ...s('Event'), description: 'The event as stored (canonical member order).' },
          erased: { ...s('Erasure'), description: 'Instead of `event`, for an erased entry.' },
        }),
        oneOf: [{ required: ['event'] }, { required: ['erased'] }],
        additionalProperties: false,
        description:
          'A tail message: one entry (members in this order), with `event`, or `erased` for ' +
          'an erased entry. SSE: the data of an `entry` event whose id is `seq`.',
      },
      TailCheckpoint: {
        ...object(['type', 'size', 'note'], {
          type: { type: 'string', const: 'checkpoint' },
          size: count,
          note: note("The signed note as just signed, with the log's signature only."),
        }),
        additionalProperties: false,
        description: 'A tail message: a checkpoint signed while the tail is open.',
      },
      TailPong: {
        ...object(['type'], { type: { type: 'string', const: 'pong' } }),
        additionalProperties: false,
        description: 'WebSocket only: the answer to the text message "ping".',
      },
      SearchResult: {
        ...object(['stream', 'seq', 'received_at', 'leaf_hash'], {
          stream: { type: 'string' },
          seq: count,
          received_at: s('ReceivedAt'),
          leaf_hash: hash,
          event: s('Event'),
          erased: { ...s('Erasure'), description: 'Instead of `event`, for an erased entry.' },
        }),
        oneOf: [{ required: ['event'] }, { required: ['erased'] }],
        additionalProperties: false,
        description: 'One hit: with `event`, or `erased` for an erased entry.',
      },
      SearchResponse: object(['results', 'cursor'], {
        results: arrayOf('SearchResult'),
        cursor: { type: ['string', 'null'], description: 'Opaque; null on a short page.' },
      }),
      Role: { type: 'string', enum: ['writer', 'verifier', 'reader', 'admin'] },
      StreamGlob: {
        type: 'string',
        pattern: '^[a-z0-9_*-]{1,64}$',
        description: 'A stream name, or a glob in which `*` matches any run of characters.',
      },
      TokenId: { type: 'string', pattern: '^[a-z2-7]{12}$' },
      TokenRequest: {
        ...object(['name', 'role', 'streams'], {
          name: { type: 'string', minLength: 1, maxLength: 128 },
          role: s('Role'),
          streams: { ...arrayOf('StreamGlob'), minItems: 1, maxItems: 32 },
          expires_at: { ...nullableDateTime, description: 'In the future; absent or null: never.' },
        }),
        additionalProperties: false,
      },
      Token: object(['id', 'name', 'role', 'streams', 'created_at', 'expires_at', 'revoked_at'], {
        id: s('TokenId'),
        name: { type: 'string' },
        role: s('Role'),
        streams: arrayOf('StreamGlob'),
        created_at: dateTime,
        expires_at: nullableDateTime,
        revoked_at: nullableDateTime,
      }),
      CreatedToken: {
        allOf: [
          s('Token'),
          object(['token'], {
            token: {
              type: 'string',
              pattern: '^stl_[a-z2-7]{12}_[a-z2-7]{32}$',
              description: 'The bearer token, shown only here.',
            },
          }),
        ],
      },
      TokenList: object(['tokens'], { tokens: arrayOf('Token') }),
      ErasureRequest: {
        ...object(['reason'], {
          seqs: {
            type: 'array',
            items: count,
            minItems: 1,
            maxItems: 1000,
            description: 'The entries to erase: seqs below the tree size (repeats ignored).',
          },
          actor: {
            ...shortText,
            description: 'Or: every entry whose actor (the string, or actor.id) is this.',
          },
          reason: {
            type: 'string',
            minLength: 1,
            maxLength: 512,
            description: 'Why (e.g. the request reference); kept with each erased entry.',
          },
        }),
        oneOf: [{ required: ['seqs'] }, { required: ['actor'] }],
        additionalProperties: false,
        description: 'Exactly one of `seqs` and `actor`, and a `reason`. At most 64 KiB.',
        examples: [{ seqs: [2, 5], reason: 'GDPR Art. 17 request #12' }],
      },
      ErasureResponse: object(['stream', 'erased', 'already_erased', 'record'], {
        stream: { type: 'string' },
        erased: { type: 'array', items: count, description: 'Seqs erased now, ascending.' },
        already_erased: {
          type: 'array',
          items: count,
          description: 'Seqs asked for that were erased before, ascending.',
        },
        record: {
          ...object(['stream', 'seq'], {
            stream: accessStream,
            seq: count,
          }),
          description: 'The access record of this request (erased.record of each entry).',
        },
      }),
      RotateKeysResponse: object(
        [
          'master_key_id',
          'streams_rewrapped',
          'search_key_rewrapped',
          'keys_under_other_master_keys',
          'next',
        ],
        {
          master_key_id: {
            type: 'string',
            pattern: '^[0-9a-f]{16}$',
            description: 'The id of the current MASTER_KEY (HKDF of it, safe to log).',
          },
          streams_rewrapped: {
            ...count,
            description: 'Streams of this page whose object was asked to re-wrap its data key.',
          },
          search_key_rewrapped: {
            type: 'boolean',
            description: 'The search key was under another master key and now is not.',
          },
          keys_under_other_master_keys: {
            ...count,
            description:
              'Wrapped keys in D1 still not under the current master key; 0: ' +
              'MASTER_KEY_PREVIOUS is no longer needed.',
          },
          next: {
            type: ['string', 'null'],
            description: 'Pass as `after` for the next page; null when every stream was visited.',
          },
        },
      ),
      LogKeys: object(['origin_prefix', 'public_key'], {
        origin_prefix: { type: 'string' },
        public_key: base64('The 32-byte Ed25519 public key, base64.'),
      }),
      Health: object(['ok'], { ok: { type: 'boolean', const: true } }),
      Problem: {
        ...object(['type', 'title', 'status', 'detail', 'instance'], {
          type: { type: 'string', format: 'uri', description: 'https://stele.dev/problems/<name>' },
          title: { type: 'string' },
          status: { type: 'integer' },
          detail: { type: 'string' },
          instance: { type: 'string', description: 'The request path.' },
          field: {
            type: 'string',
            description: '400, proof 404s and 410: the parameter, header, member or line at fault.',
          },
          rule: { type: 'string', description: 'With `field`: the rule it breaks.' },
          limit: { type: 'integer', description: '413: the bound that was exceeded.' },
          retry_after: {
            type: 'integer',
            description: 'The 429 of a rate limit: seconds to wait, as in Retry-After.',
          },
        }),
        description:
          'RFC 9457 problem details, plus `field` and `rule` (400, the proof 404s and the ' +
          '410), `limit` (413) or `retry_after` (the 429 of a rate limit). The type names: ' +
          'bad-request, unauthorized, forbidden, not-found, conflict, gone, ' +
          'payload-too-large, unsupported-media-type, too-many-requests, unavailable, ' +
          'internal.',
        examples: [
          {
            type: 'https://stele.dev/problems/bad-request',
            title: 'Bad request',
            status: 400,
            detail: 'events[1].actor.id must be a string of 1 to 256 characters',
            instance: '/v1/streams/prod-access/events',
            field: 'events[1].actor.id',
            rule: 'must be a string of 1 to 256 characters',
          },
        ],
      },
    },
  },
} as const;
