/**
 * POST /v1/streams/{stream}/events: one event, {"events": [...]}, or NDJSON. Validated here
 * (so a bad event is a 400 naming its index and field, and nothing is appended), then sent
 * as one all-or-nothing batch to the stream's Durable Object.
 */
import { type JsonValue, searchFieldsOf, validateEventCanonical } from '../../../src/index.js';
import { decodeText, parseJsonBody, readBody } from '../body.js';
import { badRequest, Problem, unwrap } from '../problem.js';
import { MAX_BATCH_EVENTS, ROUTES } from '../route-table.js';
import type { Handlers } from '../router.js';
import type { AppendItem } from '../stream-do.js';

export const eventHandlers = {
  appendEvents: async (c, { params: { stream }, query: { wait }, headers }) => {
    const type = (c.req.header('content-type') ?? '').split(';')[0]?.trim().toLowerCase();
    if (type !== 'application/json' && type !== 'application/x-ndjson') {
      throw new Problem(
        'unsupported-media-type',
        'send application/json (one event or {"events": [...]}) or application/x-ndjson',
      );
    }
    const text = decodeText(await readBody(c.req.raw, ROUTES.appendEvents.body.maxBytes));
    let raw: JsonValue[];
    // Where each event came from, for error messages: "events[i]" or "line N" (NDJSON).
    let where: (i: number) => string = (i) => `events[${i}]`;
    let single = false;
    if (type === 'application/x-ndjson') {
      const lines = text
        .split('\n')
        .map((line, i) => [line.replace(/\r$/, ''), i + 1] as const)
        .filter(([line]) => line.trim() !== '');
      raw = lines.map(([line, n]) => parseJsonBody(line, `line ${n}`));
      where = (i) => `line ${lines[i]?.[1]}: event`;
    } else {
      const v = parseJsonBody(text);
      if (typeof v === 'object' && v !== null && !Array.isArray(v) && 'events' in v) {
        if (Object.keys(v).length !== 1)
          throw badRequest('body', 'a batch must have only "events"');
        if (!Array.isArray(v.events)) throw badRequest('events', 'must be an array');
        raw = v.events;
      } else {
        raw = [v];
        single = true;
        where = () => 'event';
      }
    }
    if (raw.length === 0) throw badRequest('events', 'must hold at least one event');
    if (raw.length > MAX_BATCH_EVENTS)
      throw new Problem('payload-too-large', `a batch holds at most ${MAX_BATCH_EVENTS} events`, {
        limit: MAX_BATCH_EVENTS,
      });

    const header = headers['Idempotency-Key'];
    if (header !== undefined && !single)
      throw badRequest(
        'Idempotency-Key',
        'applies to a single event; give batch events an "id" instead',
      );
    const items: AppendItem[] = raw.map((v, i) => {
      let e: ReturnType<typeof validateEventCanonical>;
      try {
        e = validateEventCanonical(v);
      } catch (err) {
        if (err instanceof Error && 'field' in err && 'rule' in err) {
          const field = String(err.field).replace(/^event/, where(i));
          throw badRequest(field, String(err.rule));
        }
        throw err;
      }
      const id = e.event.id;
      if (header !== undefined && id !== undefined && id !== header) {
        throw badRequest('Idempotency-Key', 'must equal the event\'s "id" when both are given');
      }
      // One key space per stream: the header, or else the event's id.
      const key = header ?? id;
      // The search fields ride along, so the stream's object (one per stream, the part that
      // does not scale out) need not parse the event again to mirror it.
      const search = searchFieldsOf(e.event);
      return key === undefined
        ? { canonical: e.canonical, search }
        : { canonical: e.canonical, key, search };
    });

    const stub = c.env.STREAM.get(c.env.STREAM.idFromName(stream));
    const body = unwrap(
      await stub.append(stream, items, wait as 'checkpoint' | 'witnessed' | undefined),
    );
    // A retry gets the first answer again (201), marked "duplicate": true per entry. With
    // wait, 202 says the entries are appended but no checkpoint covered them in time.
    return c.json({ stream, ...body }, body.pending_checkpoint ? 202 : 201);
  },
} satisfies Pick<Handlers, 'appendEvents'>;
