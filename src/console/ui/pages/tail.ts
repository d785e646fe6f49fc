/**
 * Live tail of one stream (GET /v1/streams/{stream}/tail, Server-Sent Events through the
 * SDK's tail(), which reconnects after a drop and resumes after the last seq it gave: no gap,
 * no duplicate). Pause keeps receiving; the filter (actor, action, outcome) applies as
 * entries arrive. Readable at a thousand entries a second: entries are buffered (the newest
 * MAX_ROWS) and drawn once per animation frame, and the table keeps MAX_ROWS rows.
 */

import { tail } from '../../../sdk/tail.js';
import { formatHash } from '../../hash-route.js';
import {
  actorOf,
  matches,
  Newest,
  type TailEntry,
  type TailFilter,
  targetsOf,
} from '../../tail-view.js';
import { alertBox, field, h, heading, replace, status, time } from '../dom.js';
import { api, token } from '../session.js';
import type { View } from '../view.js';

/** Rows kept on the page: more cannot be read live anyway, and the page stays fast. */
const MAX_ROWS = 500;
/** Entries held while paused (the newest; the count of older ones is shown). */
const MAX_HELD = 10_000;
/** How often the counters are redrawn (not per entry: a screen reader would drown). */
const COUNTER_MS = 500;

export function tailPage(v: View) {
  const stream = v.route.args[0];
  if (stream === undefined) return pickStream(v);
  const q = v.route.query;
  const input = (name: keyof TailFilter, value = '') =>
    h('input', { type: 'text', name, value, autocomplete: 'off', spellcheck: 'false' });
  const actor = input('actor', q.actor);
  const action = input('action', q.action);
  const outcome = input('outcome', q.outcome);
  const from = h('input', { type: 'number', name: 'from', min: '0', inputmode: 'numeric' });
  const pause = h('button', { type: 'button', 'aria-pressed': 'false' }, 'Pause');
  const conn = status();
  const counts = h('p', { class: 'counts', 'aria-live': 'off' });
  const body = h('tbody');
  const filter = (): TailFilter => ({
    actor: actor.value,
    action: action.value,
    outcome: outcome.value,
  });

  let received = 0;
  let matched = 0;
  let paused = false;
  let held = new Newest<TailEntry>(MAX_HELD);
  let checkpoint = '';
  let frame = 0;
  let run: AbortController | undefined;

  const onFilter = () => {
    // The address keeps the filter (shareable) without reopening the tail.
    history.replaceState(null, '', formatHash('tail', [stream], { ...filter() }));
  };
  for (const el of [actor, action, outcome]) el.addEventListener('input', onFilter);
  pause.addEventListener('click', () => {
    paused = !paused;
    pause.setAttribute('aria-pressed', String(paused));
    pause.textContent = paused ? 'Resume' : 'Pause';
    if (!paused) schedule();
  });

  const table = h(
    'table',
    { class: 'tail' },
    h('caption', {}, `Newest first; at most ${MAX_ROWS} rows are kept on the page`),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        ['Seq', 'Received', 'Actor', 'Action', 'Targets', 'Outcome'].map((t) =>
          h('th', { scope: 'col' }, t),
        ),
      ),
    ),
    body,
  );
  replace(
    v.main,
    heading(`Live tail: ${stream}`),
    h(
      'form',
      { class: 'filters', onsubmit: (e: Event) => e.preventDefault(), 'aria-label': 'Filter' },
      field('Actor contains', actor),
      field('Action contains', action),
      field('Outcome contains', outcome),
    ),
    h(
      'div',
      { class: 'toolbar' },
      pause,
      h(
        'button',
        {
          type: 'button',
          onclick: () => {
            body.replaceChildren();
            held = new Newest<TailEntry>(MAX_HELD);
          },
        },
        'Clear',
      ),
      field('Replay from seq', from),
      h(
        'button',
        {
          type: 'button',
          onclick: () => start(from.value === '' ? undefined : Number(from.value)),
        },
        'Restart',
      ),
    ),
    conn,
    counts,
    table,
  );

  const timer = setInterval(drawCounts, COUNTER_MS);
  v.signal.addEventListener('abort', () => {
    clearInterval(timer);
    run?.abort();
    cancelAnimationFrame(frame);
  });

  function drawCounts() {
    const waiting = paused ? `, ${held.size.toLocaleString()} waiting` : '';
    counts.textContent = `${received.toLocaleString()} received, ${matched.toLocaleString()} matching the filter${waiting}${checkpoint}`;
  }

  function schedule() {
    if (frame === 0 && !paused) frame = requestAnimationFrame(flush);
  }

  function flush() {
    frame = 0;
    const items = held.drain().slice(-MAX_ROWS);
    held = new Newest<TailEntry>(MAX_HELD);
    const rows = document.createDocumentFragment();
    for (let i = items.length - 1; i >= 0; i--)
      rows.append(entryRow(stream as string, items[i] as TailEntry));
    body.prepend(rows);
    while (body.childElementCount > MAX_ROWS) body.lastElementChild?.remove();
  }

  function start(fromSeq: number | undefined) {
    run?.abort();
    const ac = new AbortController();
    run = ac;
    conn.textContent = 'Connecting…';
    void follow(ac.signal, fromSeq);
  }

  async function follow(signal: AbortSignal, fromSeq: number | undefined) {
    try {
      for await (const m of tail({
        url: location.origin,
        token: token() ?? '',
        stream: stream as string,
        ...(fromSeq === undefined ? {} : { from: fromSeq }),
        signal,
        // Through the console's one road: its credentials (a token, or none behind Access,
        // where the SDK's empty "Bearer" would be refused), and a 401 signs out.
        fetch: async (url, init) => {
          const headers = new Headers(init?.headers);
          headers.delete('authorization');
          // The path as the SDK wrote it: api() refuses one that is not kept as written.
          const path = String(url).slice(location.origin.length);
          const res = await api(path, { ...init, headers });
          if (res.ok && !signal.aborted)
            conn.textContent = `Connected: live entries of ${stream} appear below as they are appended.`;
          return res;
        },
        onReconnect: (why) => {
          conn.textContent = `Reconnecting (${why}); the tail resumes after the last entry shown.`;
        },
      })) {
        if (m.type === 'checkpoint') {
          checkpoint = `; newest checkpoint: ${m.size.toLocaleString()} entries`;
          continue;
        }
        received++;
        if (!matches(m, filter())) continue;
        matched++;
        held.push(m);
        schedule();
      }
    } catch (e) {
      if (signal.aborted) return;
      replace(conn, alertBox(`The tail stopped: ${(e as Error).message}`));
    }
  }

  drawCounts();
  start(undefined);
}

function entryRow(stream: string, e: TailEntry): HTMLTableRowElement {
  const ev = e.event;
  const gone = e.erased !== undefined ? 'erased' : e.tampered ? 'tampered' : undefined;
  return h(
    'tr',
    { 'data-seq': e.seq },
    h('td', { class: 'num' }, h('a', { href: formatHash('entry', [stream, e.seq]) }, e.seq)),
    h('td', {}, time(e.received_at)),
    gone === undefined
      ? [
          h('td', {}, actorOf(ev)),
          h('td', {}, String(ev?.action ?? '')),
          h('td', {}, targetsOf(ev).join(', ')),
          h('td', { class: `outcome ${String(ev?.outcome ?? '')}` }, String(ev?.outcome ?? '')),
        ]
      : h('td', { colspan: '4', class: gone }, gone),
  );
}

function pickStream(v: View) {
  const input = h('input', {
    type: 'text',
    name: 'stream',
    required: true,
    autocomplete: 'off',
    spellcheck: 'false',
    pattern: '_?[a-z0-9][a-z0-9_\\-]{0,62}',
  });
  replace(
    v.main,
    heading('Live tail'),
    h(
      'form',
      {
        onsubmit: (e: Event) => {
          e.preventDefault();
          location.hash = formatHash('tail', [input.value.trim()]);
        },
      },
      field('Stream', input, 'Or open a tail from the streams page.'),
      h('button', { type: 'submit' }, 'Open the tail'),
    ),
  );
}
