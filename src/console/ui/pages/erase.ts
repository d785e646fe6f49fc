/**
 * Erasure (admin): the contents of entries, by seqs or by actor, with a reason and an
 * explicit confirmation (the stream's name typed again). Recorded in _access before anything
 * is erased (docs/security.md §Erasure); leaf hashes stay, so every proof still verifies.
 */
import { formatHash } from '../../hash-route.js';
import { alertBox, field, h, heading, replace, select } from '../dom.js';
import { client } from '../session.js';
import type { View } from '../view.js';

export function erasePage(v: View) {
  const q = v.route.query;
  const stream = h('input', {
    type: 'text',
    name: 'stream',
    required: true,
    value: q.stream ?? '',
    autocomplete: 'off',
    spellcheck: 'false',
  });
  const by = select('by', [
    ['seqs', 'these seqs'],
    ['actor', 'every entry of this actor'],
  ]);
  const what = h('input', {
    type: 'text',
    name: 'what',
    required: true,
    value: q.seqs ?? '',
    autocomplete: 'off',
    spellcheck: 'false',
  });
  const reason = h('textarea', { name: 'reason', required: true, maxlength: '512', rows: '2' });
  const confirm = h('input', {
    type: 'text',
    name: 'confirm',
    required: true,
    autocomplete: 'off',
    spellcheck: 'false',
  });
  const out = h('div');
  const form = h(
    'form',
    {
      onsubmit: async (e: Event) => {
        e.preventDefault();
        const s = stream.value.trim();
        if (confirm.value.trim() !== s) {
          replace(out, alertBox('Type the stream name again to confirm: nothing was erased.'));
          return;
        }
        let target: { seqs: number[] } | { actor: string };
        if (by.value === 'seqs') {
          const seqs = what.value
            .split(/[\s,]+/)
            .filter((x) => x !== '')
            .map(Number);
          if (seqs.length === 0 || seqs.some((n) => !Number.isSafeInteger(n) || n < 0)) {
            replace(out, alertBox('Seqs are whole numbers, separated by spaces or commas.'));
            return;
          }
          target = { seqs };
        } else target = { actor: what.value.trim() };
        try {
          const r = await client().erase(s, target, reason.value);
          confirm.value = '';
          replace(
            out,
            h(
              'section',
              { class: 'verdict', 'aria-labelledby': 'erased-h' },
              h('h2', { id: 'erased-h', tabindex: '-1' }, 'Erased'),
              h(
                'p',
                {},
                `Erased in ${r.stream}: ${r.erased.join(', ') || 'none'}; already erased: ${r.already_erased.join(', ') || 'none'}. Recorded in `,
                h(
                  'a',
                  { href: formatHash('entry', [r.record.stream, r.record.seq]) },
                  `${r.record.stream} entry ${r.record.seq}`,
                ),
                '.',
              ),
            ),
          );
          out.querySelector('h2')?.focus();
        } catch (err) {
          replace(out, alertBox(`Nothing was erased: ${(err as Error).message}`));
        }
      },
    },
    field('Stream', stream),
    field('Erase', by),
    field('Seqs or actor', what, 'Seqs separated by spaces or commas, or the actor id.'),
    field(
      'Reason',
      reason,
      'Required, e.g. the request reference; kept in the encrypted _access record.',
    ),
    field(
      'Type the stream name again to confirm',
      confirm,
      "The entries' contents are destroyed for good; their leaf hashes stay.",
    ),
    h('button', { type: 'submit', class: 'danger' }, 'Erase'),
  );
  replace(
    v.main,
    heading('Erasure'),
    h(
      'p',
      {},
      "Erasing removes entries' contents (for a right-to-erasure request). It is recorded in _access first, with the reason; ",
      'the leaf hashes stay, so every checkpoint and proof still verifies, and verifiers list the entries as erased.',
    ),
    form,
    out,
  );
}
