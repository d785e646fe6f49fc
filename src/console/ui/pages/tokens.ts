/**
 * Tokens (admin with scope `*`): create one (its secret shown once, here, and nowhere
 * else), list them all, revoke one after a confirmation. Each action is recorded in _access.
 */
import type { TokenRecord } from '../../../ledger-client.js';
import { alertBox, confirmIn, field, h, heading, replace, select, status, time } from '../dom.js';
import { client } from '../session.js';
import type { View } from '../view.js';
import { toIso } from './search.js';

const ROLES = ['reader', 'verifier', 'writer', 'admin'].map((r) => [r, r] as const);

export async function tokensPage(v: View) {
  const name = h('input', {
    type: 'text',
    name: 'name',
    required: true,
    maxlength: '128',
    autocomplete: 'off',
  });
  const role = select('role', ROLES);
  const streams = h('input', {
    type: 'text',
    name: 'streams',
    required: true,
    value: '*',
    autocomplete: 'off',
    spellcheck: 'false',
  });
  const expires = h('input', { type: 'datetime-local', name: 'expires_at', step: '1' });
  const created = h('div', { class: 'secret-box' });
  const list = h('div');
  const note = status();
  const form = h(
    'form',
    {
      class: 'filters',
      onsubmit: async (e: Event) => {
        e.preventDefault();
        try {
          const t = await client().createToken({
            name: name.value,
            role: role.value,
            streams: streams.value.split(/[\s,]+/).filter((s) => s !== ''),
            expires_at: toIso(expires.value) ?? null,
          });
          name.value = '';
          const secret = h('input', {
            type: 'text',
            readonly: true,
            value: t.token,
            id: 'new-secret',
            'aria-describedby': 'secret-note',
          });
          replace(
            created,
            h(
              'section',
              { class: 'verdict', 'aria-labelledby': 'secret-h' },
              h('h2', { id: 'secret-h', tabindex: '-1' }, `Token "${t.name}" created`),
              h(
                'p',
                { id: 'secret-note' },
                'Copy the secret now: it is shown only this once. The ledger keeps only its SHA-256; leaving this page forgets it.',
              ),
              field('Secret', secret),
              h(
                'button',
                {
                  type: 'button',
                  onclick: async () => {
                    await navigator.clipboard?.writeText(t.token).catch(() => {});
                    secret.select();
                  },
                },
                'Copy the secret',
              ),
            ),
          );
          created.querySelector('h2')?.focus();
          await load();
        } catch (err) {
          replace(created, alertBox(`The token was not created: ${(err as Error).message}`));
        }
      },
    },
    field('Name', name, 'For people: who or what holds it.'),
    field('Role', role),
    field('Streams', streams, 'Globs, separated by spaces or commas: * for all, prod-* …'),
    field('Expires', expires, 'Optional; your local time.'),
    h('button', { type: 'submit' }, 'Create the token'),
  );
  replace(
    v.main,
    heading('Tokens'),
    h('h2', {}, 'Create a token'),
    form,
    created,
    h('h2', {}, 'All tokens'),
    note,
    list,
  );

  async function load() {
    let tokens: TokenRecord[];
    try {
      tokens = await client().listTokens();
    } catch (err) {
      replace(list, alertBox(`The tokens could not be listed: ${(err as Error).message}`));
      return;
    }
    replace(
      list,
      h(
        'table',
        {},
        h('caption', {}, 'Tokens created through the API, oldest first (never their secrets)'),
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            ['Id', 'Name', 'Role', 'Streams', 'Created', 'Expires', 'State'].map((t) =>
              h('th', { scope: 'col' }, t),
            ),
          ),
        ),
        h(
          'tbody',
          {},
          tokens.map((t) => tokenRow(t)),
        ),
      ),
    );
  }

  function tokenRow(t: TokenRecord): HTMLTableRowElement {
    const state = h('td', {});
    const revoke = () =>
      confirmIn(
        state,
        `Confirm: revoke ${t.name}`,
        async () => {
          await client().revokeToken(t.id);
          note.textContent = `Token ${t.id} (${t.name}) revoked. Other isolates may accept it for up to 30 s more.`;
          await load();
        },
        'Not revoked',
        () => draw(),
      );
    const draw = () =>
      replace(
        state,
        t.revoked_at !== null
          ? ['revoked ', time(t.revoked_at)]
          : t.expires_at !== null && Date.parse(t.expires_at) <= Date.now()
            ? 'expired'
            : h(
                'button',
                { type: 'button', onclick: revoke, 'aria-label': `Revoke ${t.name} (${t.id})` },
                'Revoke',
              ),
      );
    draw();
    return h(
      'tr',
      { 'data-token': t.id },
      h('td', { class: 'hash' }, t.id),
      h('td', {}, t.name),
      h('td', {}, t.role),
      h('td', {}, t.streams.join(' ')),
      h('td', {}, time(t.created_at)),
      h('td', {}, t.expires_at === null ? 'never' : time(t.expires_at)),
      state,
    );
  }

  await load();
}
