/**
 * Destinations (admin with scope `*`; docs/destinations.md): where copies of streams are
 * delivered and how each delivery stands (ok or PAUSED with its reason, lag, failures, the
 * last error, and per stream the seq and checkpoint delivered), refreshed while the page is
 * open; add one from its JSON configuration, sent as it is; remove one after a confirmation;
 * resume a paused one. Each change is recorded in _access by the ledger.
 */
import type { DestinationRecord } from '../../../ledger-client.js';
import {
  destinationStatus,
  exampleConfig,
  statusText,
  TYPE_EXAMPLES,
  typeMembersText,
} from '../../destination-view.js';
import {
  alertBox,
  confirmIn,
  field,
  h,
  heading,
  patchRows,
  replace,
  select,
  status,
  time,
} from '../dom.js';
import { ApiError, apiJson, client } from '../session.js';
import type { View } from '../view.js';

/** Refresh period while the page is open: each refresh is one recorded GET /v1/destinations. */
const REFRESH_MS = 5_000;
const FIRST_TYPE = Object.keys(TYPE_EXAMPLES)[0] ?? 'webhook';

export async function destinationsPage(v: View) {
  const note = status();
  const updated = h('p', { class: 'counts' });
  const problem = h('div');
  const body = h('tbody');
  const perStream = h('tbody');
  const listTitle = h('h2', { tabindex: '-1' }, 'All destinations');

  const type = select(
    'type',
    Object.keys(TYPE_EXAMPLES).map((t) => [t, t] as const),
    FIRST_TYPE,
  );
  const config = h('textarea', {
    name: 'config',
    required: true,
    rows: '9',
    spellcheck: 'false',
    autocomplete: 'off',
  });
  config.value = exampleConfig(FIRST_TYPE);
  const addError = h('div', { id: 'add-error' });
  const form = h(
    'form',
    { onsubmit: (e: Event) => void add(e) },
    h(
      'div',
      { class: 'toolbar' },
      field('Example of type', type),
      h(
        'button',
        {
          type: 'button',
          onclick: () => {
            config.value = exampleConfig(type.value);
            showAddError(undefined);
            config.focus();
          },
        },
        'Load the example',
      ),
    ),
    field(
      'Configuration (JSON)',
      config,
      'Sent as it is to POST /v1/destinations. Secrets are the NAMES of Worker secrets (DEST_…, set with wrangler secret put), never their values.',
    ),
    addError,
    h('button', { type: 'submit' }, 'Add the destination'),
  );
  const hint = config.getAttribute('aria-describedby') ?? '';

  replace(
    v.main,
    heading('Destinations'),
    h(
      'p',
      {},
      "Copies of streams delivered to the security team's own systems, each from seq 0 and in order; ",
      'a destination that keeps failing is paused with its reason and its backlog kept. ',
      `This page refreshes every ${REFRESH_MS / 1000} s while it is open.`,
    ),
    listTitle,
    h(
      'div',
      { class: 'toolbar' },
      h('button', { type: 'button', onclick: () => void load() }, 'Refresh'),
    ),
    note,
    updated,
    problem,
    h(
      'table',
      {},
      h('caption', {}, 'Destinations by name (secrets by name only)'),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          [
            'Name',
            'Type',
            'Format',
            'Streams',
            'Where',
            'Status',
            'Lag',
            'Failures',
            'Last error',
            'Actions',
          ].map((t) => h('th', { scope: 'col', class: numeric(t) }, t)),
        ),
      ),
      body,
    ),
    h(
      'table',
      {},
      h('caption', {}, 'Delivery per stream'),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['Destination', 'Stream', 'Delivered seq', 'Checkpoint delivered', 'Entries', 'Lag'].map(
            (t) => h('th', { scope: 'col', class: numeric(t) }, t),
          ),
        ),
      ),
      perStream,
    ),
    h('h2', {}, 'Add a destination'),
    form,
  );

  /** Shows (or clears) why the configuration was refused, tied to the field it describes. */
  function showAddError(text: string | undefined) {
    if (text === undefined) {
      addError.replaceChildren();
      config.removeAttribute('aria-invalid');
      config.setAttribute('aria-describedby', hint);
      return;
    }
    replace(addError, alertBox(text));
    config.setAttribute('aria-invalid', 'true');
    config.setAttribute('aria-describedby', `${hint} add-error`.trim());
  }

  async function add(e: Event) {
    e.preventDefault();
    try {
      // As it is: the ledger's strict parser is the one judge, and names the member it refuses.
      const d = await apiJson<DestinationRecord>('/v1/destinations', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: config.value,
      });
      showAddError(undefined);
      await load();
      note.textContent = `Destination ${d.name} added: its streams are delivered from seq 0.`;
    } catch (err) {
      const why = err instanceof ApiError ? `HTTP ${err.status}: ${err.detail}` : String(err);
      showAddError(`The destination was not added. ${why}`);
    }
  }

  let timer: ReturnType<typeof setTimeout> | undefined;
  v.signal.addEventListener('abort', () => clearTimeout(timer));
  const again = () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      // A hidden tab asks nothing; it catches up when shown again.
      if (!document.hidden) await load();
      if (!v.signal.aborted) again();
    }, REFRESH_MS);
  };

  /** Loads started; a load's answer is drawn only if no later load was started meanwhile. */
  let loads = 0;

  /** Lists the destinations and updates both tables in place; schedules the next refresh. */
  async function load() {
    const mine = ++loads;
    let list: DestinationRecord[];
    try {
      list = await client().listDestinations();
    } catch (err) {
      if (v.signal.aborted || mine !== loads) return;
      // The last list stays on screen, with why it is not current.
      replace(problem, alertBox(`The destinations could not be listed: ${(err as Error).message}`));
      return;
    }
    // An answer older than one asked for since (a refresh under way when a change was made) is dropped.
    if (v.signal.aborted || mine !== loads) return;
    problem.replaceChildren();
    patchRows(
      body,
      list.map((d) => destinationRow(d)),
    );
    patchRows(
      perStream,
      list.flatMap((d) =>
        (d.state?.streams ?? []).map((s) =>
          h(
            'tr',
            { 'data-key': `${d.name} ${s.stream}`, 'data-destination': d.name },
            h('td', {}, d.name),
            h('th', { scope: 'row' }, s.stream),
            h(
              'td',
              { class: 'num' },
              s.delivered_seq === null ? 'none yet' : s.delivered_seq.toLocaleString(),
            ),
            h('td', { class: 'num' }, s.checkpoint_size.toLocaleString()),
            h('td', { class: 'num' }, s.tree_size.toLocaleString()),
            h('td', { class: 'num' }, s.lag.toLocaleString()),
          ),
        ),
      ),
    );
    const paused = list.filter((d) => d.state?.paused).length;
    updated.textContent = `${list.length} destinations${paused > 0 ? `, ${paused} paused` : ''}; updated ${new Date().toLocaleTimeString()}.`;
    again();
  }

  function destinationRow(d: DestinationRecord): HTMLTableRowElement {
    const st = destinationStatus(d);
    const s = d.state;
    const actions = h('td', {});
    const row = h(
      'tr',
      { 'data-key': d.name, 'data-destination': d.name, class: st.kind },
      h('th', { scope: 'row' }, d.name),
      h('td', {}, d.type),
      h('td', {}, d.format),
      h('td', {}, d.streams.join(' ')),
      h(
        'td',
        { class: 'members' },
        typeMembersText(d).map((m) => h('div', {}, m)),
      ),
      h(
        'td',
        {},
        st.kind === 'paused'
          ? [
              h('strong', { class: 'badge lagging' }, 'PAUSED'),
              ` ${st.reason}`,
              st.since === null ? null : [' (since ', time(st.since), ')'],
            ]
          : statusText(st),
      ),
      h('td', { class: 'num' }, s === null ? '—' : s.lag.toLocaleString()),
      h('td', { class: 'num' }, s === null ? '—' : s.failures.toLocaleString()),
      h(
        'td',
        {},
        s?.last_error ? [s.last_error.message, ' (', time(s.last_error.at), ')'] : 'none',
      ),
      actions,
    );
    const draw = () => {
      delete row.dataset.busy;
      replace(
        actions,
        st.kind === 'paused'
          ? h(
              'button',
              { type: 'button', onclick: () => void resume(), 'aria-label': `Resume ${d.name}` },
              'Resume',
            )
          : null,
        ' ',
        h(
          'button',
          { type: 'button', onclick: confirmRemove, 'aria-label': `Remove ${d.name}` },
          'Remove',
        ),
      );
    };
    const resume = async () => {
      try {
        await client().resumeDestination(d.name);
        await load();
        note.textContent = `Destination ${d.name} resumed: it delivers its backlog from its cursors.`;
        // The Resume button is gone with the pause: the focus goes to the row's other action.
        body
          .querySelector<HTMLButtonElement>(`tr[data-key="${d.name}"] button[aria-label^="Remove"]`)
          ?.focus();
      } catch (err) {
        replace(problem, alertBox(`Not resumed: ${(err as Error).message}`));
      }
    };
    function confirmRemove() {
      // Found in the row on screen: the one a refresh keeps may not be this new one.
      const live = body.querySelector<HTMLTableRowElement>(`tr[data-key="${d.name}"]`) ?? row;
      const cell = live.cells[live.cells.length - 1];
      if (cell === undefined) return;
      live.dataset.busy = '';
      confirmIn(
        cell,
        `Confirm: remove ${d.name}`,
        async () => {
          await client().deleteDestination(d.name);
          await load();
          note.textContent = `Destination ${d.name} removed: its delivery stopped.`;
          listTitle.focus();
        },
        'Not removed',
        () => {
          delete live.dataset.busy;
          void load().then(() =>
            live.querySelector<HTMLButtonElement>('button[aria-label^="Remove"]')?.focus(),
          );
        },
      );
    }
    draw();
    return row;
  }

  await load();
}

/** Number columns are right-aligned, headers with them. */
function numeric(title: string): string | undefined {
  return ['Lag', 'Failures', 'Delivered seq', 'Checkpoint delivered', 'Entries'].includes(title)
    ? 'num'
    : undefined;
}
