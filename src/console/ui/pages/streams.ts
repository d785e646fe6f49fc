/**
 * Streams: each stream in the caller's scope with its size, newest checkpoint, witnessed
 * size, witness lag and mirror lag (GET /v1/streams); a stream whose witnesses or search
 * mirror fall behind stands out (src/console/stream-health.ts).
 */
import { formatHash } from '../../hash-route.js';
import {
  remember,
  type Seen,
  type StreamHealth,
  type StreamRow,
  streamHealth,
} from '../../stream-health.js';
import { alertBox, h, heading, replace, status } from '../dom.js';
import { ApiError, apiJson } from '../session.js';
import { canRead, type View } from '../view.js';

/** What this page saw of each stream, across refreshes (to tell a stalled lag). */
const seen = new Map<string, Seen>();
/** Auto-refresh period: each refresh is one recorded GET /v1/streams. */
const REFRESH_MS = 10_000;

/** Every stream in the scope, a page of 1,000 at a time. */
export async function listStreams(signal?: AbortSignal): Promise<StreamRow[]> {
  const out: StreamRow[] = [];
  let after: string | null = '';
  while (after !== null) {
    const q: string = after === '' ? '' : `&after=${encodeURIComponent(after)}`;
    const page: { streams: StreamRow[]; next: string | null } = await apiJson(
      `/v1/streams?limit=1000${q}`,
      signal === undefined ? {} : { signal },
    );
    out.push(...page.streams);
    after = page.next;
  }
  return out;
}

export async function streamsPage(v: View) {
  const note = status();
  const summary = h('div', { class: 'summary' });
  const body = h('tbody');
  const auto = h('input', { type: 'checkbox', id: 'auto-refresh' });
  let timer: ReturnType<typeof setInterval> | undefined;
  v.signal.addEventListener('abort', () => clearInterval(timer));
  auto.addEventListener('change', () => {
    clearInterval(timer);
    if (auto.checked) timer = setInterval(() => void load(), REFRESH_MS);
  });
  const table = h(
    'table',
    {},
    h('caption', {}, 'Streams in your scope'),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        ['Stream', 'Entries', 'Checkpoint', 'Witnessed', 'Witness lag', 'Mirror lag', 'Open'].map(
          (t) => h('th', { scope: 'col' }, t),
        ),
      ),
    ),
    body,
  );
  replace(
    v.main,
    heading('Streams'),
    h(
      'p',
      {},
      'Witness lag: entries not yet covered by a checkpoint the witnesses cosigned. Mirror lag: ',
      'entries search does not find yet. A lag that is large, or that stands still, is marked lagging.',
    ),
    h(
      'div',
      { class: 'toolbar' },
      h('button', { type: 'button', onclick: () => void load() }, 'Refresh'),
      h('label', { for: 'auto-refresh', class: 'check' }, auto, ' Refresh every 10 s'),
    ),
    note,
    summary,
    table,
  );

  async function load() {
    note.textContent = 'Loading…';
    let rows: StreamRow[];
    try {
      rows = await listStreams(v.signal);
    } catch (e) {
      if (v.signal.aborted) return;
      note.textContent = '';
      const writer =
        e instanceof ApiError && e.status === 403
          ? 'This token may append events but not read: sign in with a verifier, reader or admin token to use the console.'
          : (e as Error).message;
      replace(summary, alertBox(writer));
      return;
    }
    const now = Date.now();
    const health = rows.map((r) => {
      const before = seen.get(r.stream);
      seen.set(r.stream, remember(r, before, now));
      return streamHealth(r, before, now);
    });
    body.replaceChildren(...rows.map((r, i) => row(r, health[i] as StreamHealth, v)));
    const laggards = rows.filter((_, i) => health[i]?.laggard).map((r) => r.stream);
    replace(
      summary,
      laggards.length === 0
        ? h('p', {}, `${rows.length} streams; none lagging.`)
        : h(
            'p',
            { class: 'warn' },
            `${laggards.length} of ${rows.length} streams lagging: ${laggards.join(', ')}.`,
          ),
    );
    note.textContent = `Updated ${new Date(now).toLocaleTimeString()}.`;
  }
  await load();
}

function row(r: StreamRow, hl: StreamHealth, v: View): HTMLTableRowElement {
  const lag = (n: number, state: StreamHealth['witness']) =>
    h(
      'td',
      { class: `num ${state}` },
      n.toLocaleString(),
      state === 'ok' ? null : h('span', { class: `badge ${state}` }, state),
    );
  const open = canRead(v.caller)
    ? [
        h('a', { href: formatHash('tail', [r.stream]) }, 'tail'),
        ' · ',
        h('a', { href: formatHash('search', [], { stream: r.stream, limit: '100' }) }, 'search'),
        ' · ',
        h('a', { href: formatHash('export', [], { stream: r.stream }) }, 'export'),
      ]
    : '—';
  return h(
    'tr',
    { class: hl.laggard ? 'laggard' : undefined, 'data-stream': r.stream },
    h('th', { scope: 'row' }, r.stream),
    h('td', { class: 'num' }, r.tree_size.toLocaleString()),
    h('td', { class: 'num' }, r.checkpoint_size.toLocaleString()),
    h('td', { class: 'num' }, r.witnessed_size.toLocaleString()),
    lag(r.witness_lag, hl.witness),
    lag(r.mirror_lag, hl.mirror),
    h('td', {}, open),
  );
}
