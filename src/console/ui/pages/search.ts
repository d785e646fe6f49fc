/**
 * Search (GET /v1/search): actor, action, target, outcome and a time range, a page at a time.
 * The address holds the query (never the token), so a search can be shared: whoever opens
 * it runs it with their own credentials. The results can be exported with a tlog-proof file
 * per entry (export-files.ts).
 */
import { proofKey, type SearchResult, searchExportFiles } from '../../export-files.js';
import { formatHash } from '../../hash-route.js';
import { actorOf, targetsOf } from '../../tail-view.js';
import { tar } from '../../tar.js';
import { alertBox, download, field, h, heading, replace, select, status, time } from '../dom.js';
import { ApiError, api, apiJson } from '../session.js';
import type { View } from '../view.js';

interface SearchAnswer {
  results: (SearchResult & {
    received_at: string;
    leaf_hash: string;
    event?: Record<string, unknown>;
    erased?: unknown;
    tampered?: boolean;
  })[];
  cursor: string | null;
  window?: { from: string; days: number; notice?: string };
}

export const OUTCOMES: readonly (readonly [string, string])[] = [
  ['', 'any'],
  ['success', 'success'],
  ['failure', 'failure'],
  ['unknown', 'unknown'],
];

/** datetime-local text (local time) <-> RFC 3339 UTC. */
export function toIso(local: string): string | undefined {
  if (local === '') return undefined;
  const d = new Date(local);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}
export function toLocal(iso: string | undefined): string {
  if (iso === undefined) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

const text = (name: string, value = '') =>
  h('input', { type: 'text', name, value, autocomplete: 'off', spellcheck: 'false' });
const when = (name: string, value?: string) =>
  h('input', { type: 'datetime-local', name, step: '1', value: toLocal(value) });

export async function searchPage(v: View) {
  const q = v.route.query;
  const stream = text('stream', q.stream);
  const actor = text('actor', q.actor);
  const action = text('action', q.action);
  const target = text('target', q.target);
  const outcome = select('outcome', OUTCOMES, q.outcome);
  const since = when('since', q.since);
  const until = when('until', q.until);
  const limit = select(
    'limit',
    ['25', '100', '500', '1000'].map((n) => [n, n] as const),
    q.limit ?? '100',
  );
  const form = h(
    'form',
    {
      class: 'filters',
      onsubmit: (e: Event) => {
        e.preventDefault();
        location.hash = formatHash('search', [], {
          stream: stream.value.trim(),
          actor: actor.value,
          action: action.value,
          target: target.value,
          outcome: outcome.value,
          since: toIso(since.value),
          until: toIso(until.value),
          limit: limit.value,
        });
      },
    },
    field('Stream', stream, 'Empty: every stream in your scope.'),
    field('Actor', actor, 'The actor, or its id; exact.'),
    field('Action', action, 'Exact, e.g. ssh.login.'),
    field('Target', target, "The id of one of the event's targets; exact."),
    field('Outcome', outcome),
    field('Received at or after', since, 'Your local time.'),
    field('Received before', until),
    field('Results per page', limit),
    h('button', { type: 'submit' }, 'Search'),
  );
  const out = h('div', { class: 'results' });
  replace(v.main, heading('Search'), form, out);
  // An address with a query runs it; the bare page waits for the form.
  if (Object.keys(q).length === 0) return;
  await runSearch(v, out);
}

async function runSearch(v: View, out: HTMLElement) {
  const params = new URLSearchParams(v.route.query);
  const note = status();
  replace(out, note);
  note.textContent = 'Searching…';
  let r: SearchAnswer;
  try {
    r = await apiJson<SearchAnswer>(`/v1/search?${params}`, { signal: v.signal });
  } catch (e) {
    note.textContent = '';
    if (e instanceof ApiError && e.status === 401) throw e;
    out.append(alertBox(`The search failed: ${(e as Error).message}`));
    return;
  }
  note.textContent = `${r.results.length} results${r.cursor === null ? '' : ' on this page'}.`;
  const next =
    r.cursor === null
      ? null
      : h(
          'a',
          {
            href: formatHash('search', [], { ...v.route.query, cursor: r.cursor }),
            class: 'button',
          },
          'Next page',
        );
  const exporting = status();
  const exportButton = h(
    'button',
    {
      type: 'button',
      onclick: () => void exportResults(params, r.results, exporting, v.signal),
    },
    'Export these results with their proofs',
  );
  out.append(
    r.window?.notice === undefined ? '' : h('p', { class: 'notice' }, r.window.notice),
    resultsTable(r.results),
    h('div', { class: 'toolbar' }, next, r.results.length > 0 ? exportButton : null),
    exporting,
  );
}

export function resultsTable(results: SearchAnswer['results']): HTMLTableElement {
  return h(
    'table',
    {},
    h('caption', {}, 'Results, newest first'),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        ['Received', 'Stream', 'Seq', 'Actor', 'Action', 'Targets', 'Outcome'].map((t) =>
          h('th', { scope: 'col' }, t),
        ),
      ),
    ),
    h(
      'tbody',
      {},
      results.map((x) => {
        const gone = x.erased !== undefined ? 'erased' : x.tampered ? 'tampered' : undefined;
        return h(
          'tr',
          { 'data-seq': x.seq, 'data-stream': x.stream },
          h('td', {}, time(x.received_at)),
          h('td', {}, x.stream),
          h(
            'td',
            { class: 'num' },
            h('a', { href: formatHash('entry', [x.stream, x.seq]) }, String(x.seq)),
          ),
          gone === undefined
            ? [
                h('td', {}, actorOf(x.event)),
                h('td', {}, String(x.event?.action ?? '')),
                h('td', {}, targetsOf(x.event).join(', ')),
                h('td', {}, String(x.event?.outcome ?? '')),
              ]
            : h('td', { colspan: '4', class: gone }, gone),
        );
      }),
    ),
  );
}

async function exportResults(
  params: URLSearchParams,
  results: SearchAnswer['results'],
  note: HTMLElement,
  signal: AbortSignal,
) {
  const proofs = new Map<string, string>();
  let missing = 0;
  for (const [i, r] of results.entries()) {
    if (signal.aborted) return;
    note.textContent = `Fetching proof ${i + 1} of ${results.length}…`;
    if (r.erased !== undefined || r.tampered) {
      missing++;
      continue;
    }
    const res = await api(`/v1/streams/${r.stream}/entries/${r.seq}/proof`, { signal });
    if (res.ok) proofs.set(proofKey(r.stream, r.seq), await res.text());
    else {
      missing++;
      await res.body?.cancel();
    }
  }
  const files = searchExportFiles(params.toString(), results, proofs);
  download('stele-search-export.tar', tar(files, Date.now() / 1000), 'application/x-tar');
  note.textContent = `Exported ${results.length} results and ${proofs.size} proof files${missing > 0 ? ` (${missing} entries without one: erased, tampered or not yet checkpointed)` : ''}.`;
}
