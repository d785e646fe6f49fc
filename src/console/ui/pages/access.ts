/**
 * The _access trail (admin): who read what, when and from where, filtered by actor, action,
 * stream, outcome and time (GET /v1/search?stream=_access, which is itself recorded).
 */

import { isJsonObject } from '../../../json-shape.js';
import { formatHash } from '../../hash-route.js';
import { actorOf, targetsOf } from '../../tail-view.js';
import { alertBox, field, h, heading, replace, select, status, time } from '../dom.js';
import { ApiError, apiJson } from '../session.js';
import type { View } from '../view.js';
import { OUTCOMES, toIso, toLocal } from './search.js';

/** The actions of _access records (docs/api.md §Access records). */
const ACTIONS = [
  'stele.streams.list',
  'stele.entries.read',
  'stele.tail.open',
  'stele.verify.read',
  'stele.verify.check',
  'stele.search',
  'stele.tokens.list',
  'stele.tokens.create',
  'stele.tokens.revoke',
  'stele.config.erase',
  'stele.config.rotate-keys',
  'stele.auth.refused',
  'stele.request.forbidden',
  'stele.request.unrouted',
];

interface Record_ {
  stream: string;
  seq: number;
  received_at: string;
  event?: Record<string, unknown>;
  erased?: unknown;
  tampered?: boolean;
}

export async function accessPage(v: View) {
  const q = v.route.query;
  const input = (name: string, value = '') =>
    h('input', { type: 'text', name, value, autocomplete: 'off', spellcheck: 'false' });
  const shard = input('shard', q.shard ?? '_access');
  const actor = input('actor', q.actor);
  const action = select('action', [['', 'any'], ...ACTIONS.map((a) => [a, a] as const)], q.action);
  const target = input('target', q.target);
  const outcome = select('outcome', OUTCOMES, q.outcome);
  const since = h('input', {
    type: 'datetime-local',
    name: 'since',
    step: '1',
    value: toLocal(q.since),
  });
  const until = h('input', {
    type: 'datetime-local',
    name: 'until',
    step: '1',
    value: toLocal(q.until),
  });
  const out = h('div');
  replace(
    v.main,
    heading('Access trail'),
    h(
      'p',
      {},
      'Every read, search, tail, token change, erasure and refused request is recorded in _access before its answer leaves. Looking here is recorded too.',
    ),
    h(
      'form',
      {
        class: 'filters',
        onsubmit: (e: Event) => {
          e.preventDefault();
          location.hash = formatHash('access', [], {
            shard: shard.value.trim(),
            actor: actor.value,
            action: action.value,
            target: target.value,
            outcome: outcome.value,
            since: toIso(since.value),
            until: toIso(until.value),
          });
        },
      },
      field('Access stream', shard, '_access, or a shard _access-N (ACCESS_SHARDS).'),
      field('Who (actor)', actor, 'A token id, access:<email>, or anonymous.'),
      field('Action', action),
      field('Stream read (target)', target),
      field('Outcome', outcome),
      field('At or after', since, 'Your local time.'),
      field('Before', until),
      h('button', { type: 'submit' }, 'Show the records'),
    ),
    out,
  );
  const params = new URLSearchParams({ stream: q.shard ?? '_access', limit: '100' });
  for (const k of ['actor', 'action', 'target', 'outcome', 'since', 'until', 'cursor'])
    if (q[k] !== undefined) params.set(k, q[k] as string);
  const note = status();
  replace(out, note);
  note.textContent = 'Loading…';
  let r: { results: Record_[]; cursor: string | null };
  try {
    r = await apiJson(`/v1/search?${params}`, { signal: v.signal });
  } catch (e) {
    note.textContent = '';
    if (e instanceof ApiError && e.status === 401) throw e;
    out.append(alertBox(`The records could not be read: ${(e as Error).message}`));
    return;
  }
  note.textContent = `${r.results.length} records, newest first${r.cursor === null ? '' : ' (more on the next page)'}.`;
  out.append(
    h(
      'table',
      {},
      h('caption', {}, 'Access records'),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['When', 'Who', 'Action', 'Stream', 'Outcome', 'From', 'Request', 'Record'].map((t) =>
            h('th', { scope: 'col' }, t),
          ),
        ),
      ),
      h('tbody', {}, r.results.map(recordRow)),
    ),
    r.cursor === null
      ? ''
      : h(
          'a',
          { class: 'button', href: formatHash('access', [], { ...q, cursor: r.cursor }) },
          'Next page',
        ),
  );
}

function recordRow(x: Record_): HTMLTableRowElement {
  const ev = x.event;
  const ctx = isJsonObject(ev?.context) ? ev.context : {};
  const meta = isJsonObject(ev?.metadata) ? ev.metadata : {};
  const actor = isJsonObject(ev?.actor) ? ev.actor : {};
  const who = [actorOf(ev), typeof actor.name === 'string' ? `(${actor.name})` : '']
    .join(' ')
    .trim();
  const from = [ctx.ip, ctx.user_agent].filter((s) => typeof s === 'string').join(' · ');
  const req = [meta.method, meta.path, meta.status].filter((s) => s !== undefined).join(' ');
  return h(
    'tr',
    {},
    h('td', {}, time(typeof ev?.occurred_at === 'string' ? ev.occurred_at : x.received_at)),
    h('td', {}, who),
    h('td', {}, String(ev?.action ?? (x.erased ? 'erased' : x.tampered ? 'tampered' : ''))),
    h('td', {}, targetsOf(ev).join(', ')),
    h('td', {}, String(ev?.outcome ?? '')),
    h('td', {}, from),
    h('td', { class: 'hash' }, req),
    h(
      'td',
      { class: 'num' },
      h('a', { href: formatHash('entry', [x.stream, x.seq]) }, `${x.stream} ${x.seq}`),
    ),
  );
}
