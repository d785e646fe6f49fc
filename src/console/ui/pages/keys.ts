/**
 * What this browser verifies against: the pinned log key (confirmed once) and an optional
 * witness policy (c2sp.org/tlog-policy), pasted or taken from the ledger's configured one
 * (POST /v1/verify returns it) after the user has read it.
 */
import { FormatError } from '../../../format-error.js';
import { alertBox, field, h, heading, replace, status } from '../dom.js';
import {
  keyIdOf,
  type LogKey,
  originOf,
  pinLogKey,
  pinnedLogKey,
  pinnedPolicy,
  pinPolicy,
  unpinLogKey,
  unpinPolicy,
} from '../pins.js';
import { apiJson } from '../session.js';
import type { View } from '../view.js';
import { listStreams } from './streams.js';

export async function keysPage(v: View) {
  const keyBox = h('section', { 'aria-labelledby': 'key-h' });
  const policyBox = h('section', { 'aria-labelledby': 'policy-h' });
  replace(
    v.main,
    heading('Pinned keys'),
    h(
      'p',
      {},
      'Entry pages verify proofs against what is pinned here, in this browser (localStorage), ',
      'never against what the ledger says at the time.',
    ),
    keyBox,
    policyBox,
  );
  await drawKey(v, keyBox);
  drawPolicy(v, policyBox);
}

async function drawKey(v: View, box: HTMLElement) {
  const pinned = pinnedLogKey();
  let served: LogKey | undefined;
  try {
    served = await apiJson<LogKey>('/v1/log-keys', { signal: v.signal });
  } catch {}
  const example = (k: LogKey) => originOf(k, 'prod-access');
  const facts = (k: LogKey) =>
    h(
      'dl',
      { class: 'facts' },
      h('dt', {}, 'Public key (Ed25519)'),
      h('dd', { class: 'hash', 'data-testid': 'public-key' }, k.public_key),
      h('dt', {}, 'Origin prefix'),
      h('dd', {}, k.origin_prefix),
      h('dt', {}, `Key ID for ${example(k)}`),
      h('dd', { class: 'hash' }, keyIdOf(k, example(k))),
    );
  if (pinned !== undefined) {
    const differs =
      served !== undefined &&
      (served.public_key !== pinned.public_key || served.origin_prefix !== pinned.origin_prefix);
    replace(
      box,
      h('h2', { id: 'key-h' }, 'Log key: pinned'),
      h('p', {}, `Pinned ${pinned.pinned_at}.`),
      facts(pinned),
      differs
        ? alertBox(
            'The ledger now serves a different log key. Checkpoints signed by it fail verification here until you pin it; find out why first.',
          )
        : null,
      h(
        'button',
        {
          type: 'button',
          onclick: () => {
            unpinLogKey();
            void drawKey(v, box);
          },
        },
        'Unpin the log key',
      ),
    );
    return;
  }
  if (served === undefined) {
    replace(box, h('h2', { id: 'key-h' }, 'Log key'), alertBox('GET /v1/log-keys failed.'));
    return;
  }
  const k = served;
  replace(
    box,
    h('h2', { id: 'key-h' }, 'Log key: not pinned'),
    h(
      'p',
      {},
      'The ledger serves this key. Compare it with the one published out of band (npm start ',
      'prints it) before you pin it: a key taken from the ledger alone proves nothing about the ledger.',
    ),
    facts(k),
    h(
      'button',
      {
        type: 'button',
        onclick: () => {
          pinLogKey(k);
          void drawKey(v, box);
        },
      },
      'I compared it: pin this key',
    ),
  );
}

function drawPolicy(v: View, box: HTMLElement) {
  const pinned = pinnedPolicy();
  const area = h(
    'textarea',
    { name: 'policy', rows: '6', spellcheck: 'false' },
    pinned?.text ?? '',
  );
  const note = status();
  const streamIn = h('input', {
    type: 'text',
    name: 'stream',
    autocomplete: 'off',
    spellcheck: 'false',
  });
  const summary = pinned
    ? h(
        'p',
        {},
        `Pinned: quorum "${pinned.policy.quorum}" of witnesses ${pinned.policy.witnesses.map((w) => w.name).join(', ') || '(none)'}.`,
      )
    : h(
        'p',
        {},
        'No policy pinned: entry pages check the log signature and say the cosignatures were not checked.',
      );
  replace(
    box,
    h('h2', { id: 'policy-h' }, 'Witness policy'),
    summary,
    h(
      'form',
      {
        onsubmit: (e: Event) => {
          e.preventDefault();
          try {
            pinPolicy(area.value.trim());
            drawPolicy(v, box);
          } catch (err) {
            replace(
              note,
              alertBox(
                err instanceof FormatError
                  ? `The policy does not parse: ${err.message}`
                  : String(err),
              ),
            );
          }
        },
      },
      field(
        'Policy (c2sp.org/tlog-policy)',
        area,
        'witness <name> <vkey> [<url>] lines, groups, and one quorum line.',
      ),
      h('button', { type: 'submit' }, 'Pin this policy'),
      pinned
        ? h(
            'button',
            {
              type: 'button',
              onclick: () => {
                unpinPolicy();
                drawPolicy(v, box);
              },
            },
            'Unpin the policy',
          )
        : null,
    ),
    h(
      'form',
      {
        class: 'inline',
        onsubmit: async (e: Event) => {
          e.preventDefault();
          note.textContent = 'Asking the ledger…';
          try {
            const s = streamIn.value.trim() || (await listStreams(v.signal))[0]?.stream;
            if (s === undefined) throw new Error('no stream to ask about');
            const r = await apiJson<{ policy: string | null }>('/v1/verify', {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify({ stream: s }),
              signal: v.signal,
            });
            if (r.policy === null)
              note.textContent = 'The ledger has no witness policy configured.';
            else {
              area.value = r.policy;
              note.textContent = 'Loaded into the box above: read it, then pin it.';
            }
          } catch (err) {
            replace(note, alertBox(`The policy could not be loaded: ${(err as Error).message}`));
          }
        },
      },
      field('Stream to ask about', streamIn, 'Empty: the first stream in your scope.'),
      h('button', { type: 'submit' }, "Load the ledger's policy"),
    ),
    note,
  );
}
