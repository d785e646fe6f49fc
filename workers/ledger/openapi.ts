/**
 * The OpenAPI 3.1 description of the ledger's HTTP API v1, served at GET /v1/openapi.json:
 * every operation generated from the route table (route-table.ts), with the answers' shapes
 * (components) written here. docs/api.md is the human reference (its tables are checked
 * against the same table) and docs/format.md defines the formats.
 */

import { DESTINATION_FORMATS, DESTINATION_TYPES } from '../../src/index.js';
import { docPath, type RouteSpec } from './route.js';
import { ROUTES } from './route-table.js';
import { jsonSchema, paramDoc } from './schema.js';

/** The least role each permission needs (src/token.ts GRANTS), for `x-stele-role`. */
const LEAST_ROLE = {
  append: 'writer',
  verify: 'verifier',
  read: 'reader',
  admin: 'admin',
} as const;
/** Who may call an operation, in words. */
const ROLE_TEXT = {
  none: 'Role: none (no token).',
  writer: 'Role: writer or admin.',
  verifier: 'Role: verifier, reader or admin (admin only for a system stream such as _access).',
  reader: 'Role: reader or admin (admin only for a system stream such as _access).',
  admin: 'Role: admin.',
} as const;

const s = (name: string) => ({ $ref: `#/components/schemas/${name}` }) as const;
const arrayOf = (name: string) => ({ type: 'array', items: s(name) }) as const;
const object = (required: readonly string[], properties: Record<string, object>) =>
  ({ type: 'object', required, properties }) as const;
const problem = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: s('Problem') } },
});
const err = (name: string) => ({ $ref: `#/components/responses/${name}` });

/** The errors a route can answer, from what it declares. */
function errors(r: RouteSpec): Record<number, object> {
  const out: Record<number, object> = {};
  const checks = r.params ?? r.query ?? r.headers ?? r.body;
  if (checks !== undefined || r.auth !== 'public') out[400] = err('BadRequest');
  if (r.auth !== 'public') {
    out[401] = err('Unauthorized');
    out[403] = err('Forbidden');
  }
  if (r.auth !== 'public' || r.params !== undefined) out[404] = err('NotFound');
  out[405] = err('MethodNotAllowed');
  if (r.body !== undefined) {
    out[413] = err('PayloadTooLarge');
    out[415] = err('UnsupportedMediaType');
  }
  if (r.auth !== 'public') {
    out[429] = err('TooManyRequests');
    out[503] = err('Unavailable');
  }
  return out;
}

/** One operation of the document, from its declaration. */
function operation(name: string, r: RouteSpec): object {
  const role = r.auth === 'public' ? 'none' : LEAST_ROLE[r.auth.permission];
  const access =
    'action' in r.access
      ? `Recorded in _access as stele.${r.access.action}, whatever the outcome.`
      : `Not recorded in _access: ${r.access.unrecorded}.`;
  const parameters = [
    ...Object.entries(r.params ?? {}).map(([n, p]) => paramDoc(n, 'path', p)),
    ...Object.entries(r.query ?? {}).map(([n, p]) => paramDoc(n, 'query', p)),
    ...Object.entries(r.headers ?? {}).map(([n, p]) => paramDoc(n, 'header', p)),
  ];
  const body =
    r.body === undefined
      ? {}
      : {
          requestBody: {
            required: true,
            description: `At most ${r.body.maxBytes} bytes.`,
            content:
              r.body.kind === 'json'
                ? { 'application/json': { schema: s(r.body.name) } }
                : r.body.content,
          },
        };
  return {
    tags: [r.tag],
    operationId: name,
    summary: r.summary,
    description: `${ROLE_TEXT[role]} ${r.description} ${access}`,
    'x-stele-role': role,
    'x-stele-access': 'action' in r.access ? `stele.${r.access.action}` : null,
    ...(r.auth === 'public' ? { security: [] } : {}),
    ...(parameters.length > 0 ? { parameters } : {}),
    ...body,
    responses: { ...r.responses, ...errors(r) },
  };
}

/** The `paths` of the document: every declared route. */
function paths(): Record<string, Record<string, object>> {
  const out: Record<string, Record<string, object>> = {};
  for (const [name, r] of Object.entries(ROUTES) as [string, RouteSpec][]) {
    const path = docPath(r.path);
    out[path] ??= {};
    (out[path] as Record<string, object>)[r.method.toLowerCase()] = operation(name, r);
  }
  return out;
}

/** The request bodies' schemas, from their declarations. */
function requestSchemas(): Record<string, object> {
  const out: Record<string, object> = {};
  for (const r of Object.values(ROUTES) as RouteSpec[])
    if (r.body?.kind === 'json') out[r.body.name] = jsonSchema(r.body.schema);
  return out;
}

const count = { type: 'integer', minimum: 0, maximum: 9007199254740991 } as const;
const hash = s('Hash');
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
const keyId = { type: 'string', pattern: '^[0-9a-f]{8}$', description: 'A key ID, 8 hex digits.' };
const note = (description: string) => ({ type: 'string', description }) as const;
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
      'paths are served only in their exact form: a path no route serves answers 404, a ' +
      'method a path does not have 405 with Allow. Every answer but a WebSocket upgrade carries ' +
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
    {
      name: 'destinations',
      description:
        'Where streams are delivered (webhook, Splunk HEC, Datadog, syslog, R2/S3), and how delivery stands (admin).',
    },
    { name: 'admin', description: 'Erasure and master key rotation (admin).' },
  ],
  security: [{ bearer: [] }, { access: [] }],
  paths: paths(),
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
      MethodNotAllowed: {
        ...problem('A route serves this path with another method (HEAD and OPTIONS included).'),
        headers: {
          Allow: { description: 'The methods the path has.', schema: { type: 'string' } },
        },
      },
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
      ...requestSchemas(),
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
        erased: {
          type: 'boolean',
          const: true,
          description: 'A duplicate of an entry erased since (with wait: no proof).',
        },
        tampered: {
          type: 'boolean',
          const: true,
          description: 'A duplicate of an entry whose stored bytes fail authentication (no proof).',
        },
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
        ...object(['record', 'at'], {
          record: {
            ...object(['stream', 'seq'], {
              stream: accessStream,
              seq: count,
            }),
            description: 'The access record of the erasure request.',
          },
          at: { ...s('ReceivedAt'), description: 'When the entry was erased.' },
        }),
        additionalProperties: false,
        description:
          'What an erased entry keeps in place of its contents. The reason is in the access ' +
          'record, not here.',
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
      TamperedEntry: {
        ...object(['seq', 'received_at', 'leaf_hash', 'tampered'], {
          seq: count,
          received_at: s('ReceivedAt'),
          leaf_hash: hash,
          tampered: { type: 'boolean', const: true },
        }),
        additionalProperties: false,
        description:
          'An entry whose stored bytes fail authentication: changed at rest (tampering ' +
          'detected). Its contents cannot be shown; the other entries are.',
      },
      EntryList: object(['entries', 'next'], {
        entries: {
          type: 'array',
          items: { oneOf: [s('Entry'), s('ErasedEntry'), s('TamperedEntry')] },
        },
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
          tampered: { type: 'boolean', const: true, description: 'Instead of `event`.' },
        }),
        oneOf: [{ required: ['event'] }, { required: ['erased'] }, { required: ['tampered'] }],
        additionalProperties: false,
        description:
          'A tail message: one entry (members in this order), with `event`, or `erased` for ' +
          'an erased entry, or `tampered` for one whose stored bytes fail authentication. SSE: ' +
          'the data of an `entry` event whose id is `seq`.',
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
          tampered: { type: 'boolean', const: true, description: 'Instead of `event`.' },
        }),
        oneOf: [{ required: ['event'] }, { required: ['erased'] }, { required: ['tampered'] }],
        additionalProperties: false,
        description:
          'One hit: with `event`, `erased` for an erased entry, or `tampered` for a D1 row ' +
          'that fails authentication.',
      },
      SearchResponse: object(['results', 'cursor', 'window'], {
        results: arrayOf('SearchResult'),
        cursor: { type: ['string', 'null'], description: 'Opaque; null on a short page.' },
        window: object(['from', 'days'], {
          from: { ...dateTime, description: 'The oldest receive time the index holds.' },
          days: { type: 'integer', minimum: 1, description: 'SEARCH_RETENTION_DAYS.' },
          notice: {
            type: 'string',
            description: 'When the query reaches before `from`: older entries are in their stream.',
          },
        }),
      }),
      Role: { type: 'string', enum: ['writer', 'verifier', 'reader', 'admin'] },
      StreamGlob: {
        type: 'string',
        pattern: '^[a-z0-9_*-]{1,64}$',
        description: 'A stream name, or a glob in which `*` matches any run of characters.',
      },
      TokenId: { type: 'string', pattern: '^[a-z2-7]{12}$' },
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
      DestinationRequest: {
        ...object(['name', 'streams', 'type', 'format'], {
          name: { type: 'string', pattern: '^[a-z0-9-]{1,64}$' },
          streams: { ...arrayOf('StreamGlob'), minItems: 1, maxItems: 32, uniqueItems: true },
          type: { type: 'string', enum: [...DESTINATION_TYPES] },
          format: { type: 'string', enum: [...DESTINATION_FORMATS] },
          ocsf_rules: {
            type: 'array',
            maxItems: 256,
            description:
              'With format ocsf: action prefix -> class and activity (docs/destinations.md).',
            items: object(['prefix', 'class_uid', 'activity_id'], {
              prefix: { type: 'string', minLength: 1 },
              class_uid: { type: 'integer' },
              activity_id: { type: 'integer' },
            }),
          },
        }),
        description:
          "The members every destination has, and exactly its type's own (webhook: url, " +
          'secret and optionally content_encoding "gzip"; the others in docs/destinations.md, ' +
          'a section per type). Secrets only as the NAMES of Worker secrets ' +
          '(^DEST_[A-Z0-9_]{1,59}$), never their values.',
        additionalProperties: true,
        examples: [
          {
            name: 'siem',
            streams: ['prod-*', '_access'],
            type: 'webhook',
            format: 'ocsf',
            url: 'https://siem.example/stele',
            secret: 'DEST_SIEM_KEY',
          },
        ],
      },
      DestinationState: object(
        [
          'paused',
          'paused_reason',
          'paused_at',
          'failures',
          'last_error',
          'delivered_at',
          'lag',
          'streams',
        ],
        {
          paused: { type: 'boolean' },
          paused_reason: { type: ['string', 'null'] },
          paused_at: nullableDateTime,
          failures: { ...count, description: 'Failed deliveries in a row.' },
          last_error: {
            type: ['object', 'null'],
            properties: { at: dateTime, message: { type: 'string' } },
          },
          delivered_at: nullableDateTime,
          lag: { ...count, description: 'Entries appended and not delivered, over all streams.' },
          streams: {
            type: 'array',
            items: object(['stream', 'delivered_seq', 'checkpoint_size', 'tree_size', 'lag'], {
              stream: { type: 'string' },
              delivered_seq: nullableCount,
              checkpoint_size: count,
              tree_size: count,
              lag: count,
              skipped: {
                ...count,
                description:
                  'Entries passed over and never sent because the type cannot deliver them (datadog: older than 18 hours); present only when some were.',
              },
            }),
          },
        },
      ),
      Destination: {
        allOf: [
          s('DestinationRequest'),
          object(['created_at', 'state'], {
            created_at: dateTime,
            state: {
              oneOf: [s('DestinationState'), { type: 'null' }],
              description: 'Null only when the destination object never started.',
            },
          }),
        ],
      },
      DestinationList: object(['destinations'], { destinations: arrayOf('Destination') }),
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
      LogKeys: object(['origin_prefix', 'public_key', 'keys'], {
        origin_prefix: { type: 'string' },
        public_key: base64('The current 32-byte Ed25519 public key, base64.'),
        keys: {
          type: 'array',
          description:
            'The current key, then the retired ones (LOG_KEYS_RETIRED): older checkpoints carry their signatures.',
          items: object(['public_key', 'status'], {
            public_key: base64('A 32-byte Ed25519 public key, base64.'),
            status: { type: 'string', enum: ['current', 'retired'] },
            until: { ...dateTime, description: 'A retired key: when it stopped signing.' },
          }),
        },
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
          'bad-request, unauthorized, forbidden, not-found, method-not-allowed, conflict, gone, ' +
          'payload-too-large, unsupported-media-type, too-many-requests, unavailable, ' +
          'internal, tampered (500: stored bytes fail authentication).',
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
