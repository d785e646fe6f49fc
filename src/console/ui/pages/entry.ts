/**
 * One entry: its event, seq, leaf hash and receive time, and its tlog-proof verified in this
 * browser (src/console/entry-check.ts) against the log key pinned here and, if pinned, the
 * witness policy. It says "Verified by this browser" with every check, or names each check
 * that failed; an erased entry shows as erased, with the _access record of its erasure.
 */
import { utf8 } from '../../../encoding.js';
import { type Check, checkEntryProof } from '../../entry-check.js';
import { formatHash } from '../../hash-route.js';
import { alertBox, download, h, heading, replace, status, time } from '../dom.js';
import {
  keyIdOf,
  type LogKey,
  logVerifier,
  originOf,
  pinLogKey,
  pinnedLogKey,
  pinnedPolicy,
} from '../pins.js';
import { ApiError, api, apiJson } from '../session.js';
import type { View } from '../view.js';

interface ListedEntry {
  seq: number;
  received_at: string;
  leaf_hash: string;
  prev?: string;
  event?: Record<string, unknown>;
  erased?: { record?: { stream: string; seq: number }; at?: string };
  tampered?: boolean;
}

export async function entryPage(v: View) {
  const [stream = '', seqText = ''] = v.route.args;
  const seq = Number(seqText);
  const title = heading(`Entry ${seqText} of ${stream}`);
  const note = status();
  replace(v.main, title, note);
  if (!/^(0|[1-9][0-9]{0,15})$/.test(seqText)) {
    v.main.append(alertBox(`"${seqText}" is not a seq.`));
    return;
  }
  note.textContent = 'Loading the entry…';
  let e: ListedEntry;
  try {
    e = await apiJson<ListedEntry>(`/v1/streams/${stream}/entries/${seq}`, { signal: v.signal });
  } catch (err) {
    note.textContent = '';
    if (err instanceof ApiError && err.status === 401) throw err;
    v.main.append(alertBox(`The entry could not be read: ${(err as Error).message}`));
    return;
  }
  note.textContent = '';
  const facts = h(
    'dl',
    { class: 'facts' },
    h('dt', {}, 'Stream'),
    h('dd', {}, stream),
    h('dt', {}, 'Seq'),
    h('dd', {}, String(e.seq)),
    h('dt', {}, 'Received'),
    h('dd', {}, time(e.received_at), ` (${e.received_at})`),
    h('dt', {}, 'Leaf hash'),
    h('dd', { class: 'hash' }, e.leaf_hash),
  );
  v.main.append(facts);

  if (e.erased !== undefined) {
    const rec = e.erased.record;
    v.main.append(
      h(
        'section',
        { class: 'verdict erased', 'aria-labelledby': 'erased-h' },
        h('h2', { id: 'erased-h' }, 'Erased'),
        h(
          'p',
          {},
          `An admin erased this entry's contents${e.erased.at === undefined ? '' : ` at ${e.erased.at}`}. `,
          'Its leaf hash stays in the tree, so every checkpoint and proof still verifies. ',
          rec === undefined
            ? 'The erasure record is not named.'
            : [
                'The erasure is recorded in ',
                v.caller.role === 'admin'
                  ? h(
                      'a',
                      { href: formatHash('entry', [rec.stream, rec.seq]) },
                      `${rec.stream} entry ${rec.seq}`,
                    )
                  : `${rec.stream} entry ${rec.seq} (admins only)`,
                '.',
              ],
        ),
      ),
    );
    return;
  }
  if (e.tampered) {
    v.main.append(
      h(
        'section',
        { class: 'verdict failed', 'aria-labelledby': 'tampered-h' },
        h('h2', { id: 'tampered-h' }, 'Tampered'),
        h(
          'p',
          {},
          "The ledger reports that this entry's stored bytes fail authentication: they were changed at rest. ",
          'Its leaf hash is still proved by the tree; its contents cannot be shown.',
        ),
      ),
    );
    return;
  }

  const eventBox = h('section', { 'aria-labelledby': 'event-h' });
  replace(
    eventBox,
    h('h2', { id: 'event-h' }, 'Event (as the ledger listed it; not yet verified)'),
    h('pre', { class: 'json' }, JSON.stringify(e.event, null, 2)),
  );
  const verdict = h('section', { class: 'verdict', 'aria-labelledby': 'verdict-h', id: 'verdict' });
  v.main.append(verdict, eventBox);
  await verify(v, stream, seq, e, verdict, eventBox);
}

async function verify(
  v: View,
  stream: string,
  seq: number,
  e: ListedEntry,
  verdict: HTMLElement,
  eventBox: HTMLElement,
) {
  const key = pinnedLogKey();
  if (key === undefined) {
    await offerPin(v, stream, verdict, () => void verify(v, stream, seq, e, verdict, eventBox));
    return;
  }
  replace(verdict, h('h2', { id: 'verdict-h' }, 'Checking in this browser…'));
  const res = await api(`/v1/streams/${stream}/entries/${seq}/proof`, { signal: v.signal });
  if (!res.ok) {
    const why =
      res.status === 404
        ? 'no checkpoint covers this entry yet (a checkpoint is signed about every second): reload shortly'
        : `the ledger answered ${res.status}`;
    await res.body?.cancel();
    replace(
      verdict,
      h('h2', { id: 'verdict-h' }, 'Not verified'),
      h('p', {}, `The proof could not be fetched: ${why}.`),
    );
    return;
  }
  const proofText = await res.text();
  const pinned = pinnedPolicy();
  const r = checkEntryProof({
    proof: utf8(proofText),
    stream,
    seq,
    listed: { leaf_hash: e.leaf_hash, ...(e.event === undefined ? {} : { event: e.event }) },
    log: logVerifier(key, stream),
    ...(pinned === undefined ? {} : { policy: pinned.policy }),
  });
  const failed = r.checks.filter((c) => c.status === 'fail');
  verdict.classList.add(r.verified ? 'verified' : 'failed');
  replace(
    verdict,
    h('h2', { id: 'verdict-h' }, r.verified ? 'Verified by this browser' : 'Verification failed'),
    h(
      'p',
      {},
      r.verified
        ? `This browser checked the entry against the log key pinned here (key ID ${keyIdOf(key, originOf(key, stream))})${pinned === undefined ? ', without a witness policy' : ' and the witness policy pinned here'}, trusting nothing the ledger said:`
        : `Failed: ${failed.map((c) => c.title.toLowerCase()).join(', ')}. Do not rely on this entry as shown; every check:`,
    ),
    h('ul', { class: 'checks' }, r.checks.map(checkItem)),
    h(
      'div',
      { class: 'toolbar' },
      h(
        'button',
        {
          type: 'button',
          onclick: () =>
            download(`${stream}-${seq}.tlog-proof`, utf8(proofText), 'text/plain;charset=utf-8'),
        },
        'Save the proof file',
      ),
      h(
        'button',
        { type: 'button', onclick: () => void verify(v, stream, seq, e, verdict, eventBox) },
        'Check again',
      ),
    ),
  );
  if (r.entry !== undefined)
    replace(
      eventBox,
      h(
        'h2',
        { id: 'event-h' },
        r.verified
          ? 'Event (from the verified entry bytes)'
          : 'Event (from the entry bytes in the proof, which did not verify)',
      ),
      h('pre', { class: 'json' }, JSON.stringify(r.entry.event, null, 2)),
    );
}

function checkItem(c: Check): HTMLLIElement {
  const mark = { pass: 'passed', fail: 'FAILED', skip: 'not checked' }[c.status];
  return h(
    'li',
    { class: c.status, 'data-check': c.id },
    h('strong', {}, `${c.title}: ${mark}. `),
    c.detail,
  );
}

/**
 * No key is pinned yet: show the one the ledger serves, with its key ID for this stream's
 * origin, and pin it only when the user confirms they compared it with one obtained out of
 * band (a key taken from the ledger alone proves nothing about the ledger).
 */
async function offerPin(v: View, stream: string, box: HTMLElement, then: () => void) {
  let k: LogKey;
  try {
    k = await apiJson<LogKey>('/v1/log-keys', { signal: v.signal });
  } catch (err) {
    replace(box, alertBox(`The log key could not be read: ${(err as Error).message}`));
    return;
  }
  const origin = originOf(k, stream);
  replace(
    box,
    h('h2', { id: 'verdict-h' }, 'Pin the log key to verify'),
    h(
      'p',
      {},
      'This browser verifies entries against a log key you pin once. Compare the key below with ',
      'the one your ledger operator published (npm start prints it; `stele` uses the same) before confirming.',
    ),
    h(
      'dl',
      { class: 'facts' },
      h('dt', {}, 'Public key (Ed25519)'),
      h('dd', { class: 'hash' }, k.public_key),
      h('dt', {}, 'Origin prefix'),
      h('dd', {}, k.origin_prefix),
      h('dt', {}, `Key ID for ${origin}`),
      h('dd', { class: 'hash' }, keyIdOf(k, origin)),
    ),
    h(
      'button',
      {
        type: 'button',
        onclick: () => {
          pinLogKey(k);
          then();
        },
      },
      'I compared it: pin this key',
    ),
  );
}
