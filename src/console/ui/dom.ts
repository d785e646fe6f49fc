/**
 * Building the page from nodes: every value from the ledger (events are written by the
 * services that send them, so by anyone) becomes text, never markup. The page's CSP forbids
 * HTML sinks outright (Trusted Types with no policy), so a slip would fail, not inject.
 */

export type Child = Node | string | number | null | undefined | false | readonly Child[];

type Attrs = Record<string, string | number | boolean | undefined | EventListener>;

/**
 * An element with attributes and children. `on<event>` attributes that are functions become
 * listeners; `true` sets a boolean attribute, `false` and undefined leave it out.
 *
 * @example h('button', { type: 'button', onclick: go }, 'Search')
 */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (v === true) el.setAttribute(k, '');
    else if (v !== false && v !== undefined) el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

export function append(el: Node, children: readonly Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replaces an element's children. */
export function replace(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, children);
}

/** A labelled form control: the label names it for assistive technology. */
export function field(
  label: string,
  control: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement,
  hint?: string,
): HTMLElement {
  const id = control.id || `f-${++fieldIds}`;
  control.id = id;
  const hintEl = hint === undefined ? null : h('small', { id: `${id}-hint` }, hint);
  if (hintEl !== null) control.setAttribute('aria-describedby', hintEl.id);
  return h('div', { class: 'field' }, h('label', { for: id }, label), control, hintEl);
}
let fieldIds = 0;

/** A select of values; the first is chosen unless `value` names another. */
export function select(
  name: string,
  options: readonly (readonly [string, string])[],
  value = '',
): HTMLSelectElement {
  return h(
    'select',
    { name },
    options.map(([v, text]) => h('option', { value: v, selected: v === value }, text)),
  );
}

/** A status line that assistive technology announces when it changes. */
export function status(): HTMLElement {
  return h('p', { class: 'status', role: 'status', 'aria-live': 'polite' });
}

/** A message that something failed, announced at once. */
export function alertBox(text: string): HTMLElement {
  return h('p', { class: 'error', role: 'alert' }, text);
}

/**
 * Asks in `cell` for the confirmation of a destructive action: a danger button `label` that
 * runs `act` (if it throws, the cell says so after `failed`) and Cancel, which runs `cancel`.
 * The confirm button takes the focus.
 *
 * @example confirmIn(cell, 'Confirm: revoke ci', () => revoke(id), 'Not revoked', draw)
 */
export function confirmIn(
  cell: Element,
  label: string,
  act: () => Promise<void>,
  failed: string,
  cancel: () => void,
): void {
  const confirmButton = h(
    'button',
    {
      type: 'button',
      class: 'danger',
      onclick: async () => {
        try {
          await act();
        } catch (err) {
          replace(cell, alertBox(`${failed}: ${(err as Error).message}`));
        }
      },
    },
    label,
  );
  replace(cell, confirmButton, ' ', h('button', { type: 'button', onclick: cancel }, 'Cancel'));
  confirmButton.focus();
}

/** The page's heading, focused when the view changes (so keyboard and screen reader users land there). */
export function heading(text: string): HTMLHeadingElement {
  return h('h1', { tabindex: '-1', id: 'page-title' }, text);
}

/** Offers bytes as a file to save. */
export function download(name: string, data: Uint8Array, type: string): void {
  const url = URL.createObjectURL(new Blob([data as BlobPart], { type }));
  const a = h('a', { href: url, download: name, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** A time for people: local, to the second, with the UTC value in a tooltip. */
export function time(iso: string): HTMLTimeElement {
  const d = new Date(iso);
  const text = Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
  return h('time', { datetime: iso, title: iso }, text);
}

/**
 * Updates a table body to `rows` in place, for a view that refreshes itself: rows are
 * matched by `data-key`, and a row's cell is replaced only when its markup changed, so an
 * unchanged control keeps its focus and nothing redraws for nothing. A row marked
 * `data-busy` (a confirmation under way) keeps its last cell as it is.
 */
export function patchRows(body: HTMLTableSectionElement, rows: readonly HTMLTableRowElement[]) {
  const old = new Map([...body.rows].map((r) => [r.dataset.key, r]));
  rows.forEach((row, at) => {
    const prev = old.get(row.dataset.key);
    old.delete(row.dataset.key);
    let keep = row;
    if (prev !== undefined && prev.cells.length === row.cells.length) {
      keep = prev;
      prev.className = row.className;
      const cells = [...row.cells];
      const last = prev.dataset.busy === undefined ? cells.length : cells.length - 1;
      for (let i = 0; i < last; i++) {
        const [was, now] = [prev.cells[i], cells[i]];
        if (was !== undefined && now !== undefined && was.outerHTML !== now.outerHTML)
          was.replaceWith(now);
      }
    } else prev?.remove();
    // Moved only when out of place: moving a row would take the focus from its controls.
    if (body.rows[at] !== keep) body.insertBefore(keep, body.rows[at] ?? null);
  });
  for (const r of old.values()) r.remove();
}
