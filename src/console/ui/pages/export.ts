/**
 * Export a stream as the folder `stele export` writes (every entry, every signed
 * checkpoint), packed into one tar file; `stele verify --offline` checks it with the pinned
 * key alone. Search results are exported from the search page.
 */
import { parseCheckpoint } from '../../../checkpoint.js';
import { utf8 } from '../../../encoding.js';
import { parseNote } from '../../../note.js';
import { type ListedEntry, streamExportFiles } from '../../export-files.js';
import { formatHash } from '../../hash-route.js';
import { tar } from '../../tar.js';
import { alertBox, download, field, h, heading, replace, status } from '../dom.js';
import type { LogKey } from '../pins.js';
import { apiJson, client } from '../session.js';
import type { View } from '../view.js';

export function exportPage(v: View) {
  const input = h('input', {
    type: 'text',
    name: 'stream',
    value: v.route.query.stream ?? '',
    required: true,
    autocomplete: 'off',
    spellcheck: 'false',
  });
  const note = status();
  replace(
    v.main,
    heading('Export'),
    h(
      'p',
      {},
      'A stream is exported as the folder `stele export` writes, in one tar file: every entry ',
      '(erased ones as erased), every signed checkpoint and the newest. Check it anywhere with ',
      '`stele verify --offline <folder> --log-key <pinned key>`. Reading it is recorded in _access. ',
      'To export search results with their proofs, use the ',
      h('a', { href: formatHash('search') }, 'search page'),
      '.',
    ),
    h(
      'form',
      {
        onsubmit: (e: Event) => {
          e.preventDefault();
          void exportStream(input.value.trim(), note, v.signal);
        },
      },
      field('Stream', input),
      h('button', { type: 'submit' }, 'Export the stream'),
    ),
    note,
  );
}

async function exportStream(stream: string, note: HTMLElement, signal: AbortSignal) {
  const c = client();
  try {
    note.textContent = 'Reading the newest checkpoint…';
    const keys = await apiJson<LogKey>('/v1/log-keys', { signal });
    const newest = await c.checkpoint(stream);
    const size = parseCheckpoint(parseNote(utf8(newest)).text).size;
    const entries: ListedEntry[] = [];
    for await (const page of c.entryPages(stream, 0, size)) {
      if (signal.aborted) return;
      entries.push(...page);
      note.textContent = `Read ${entries.length.toLocaleString()} of ${size.toLocaleString()} entries…`;
    }
    note.textContent = 'Reading the checkpoints…';
    const checkpoints = await c.checkpoints(stream);
    const files = streamExportFiles({
      stream,
      origin: `${keys.origin_prefix}/${stream}`,
      publicKey: keys.public_key,
      newest,
      size,
      entries,
      checkpoints,
      exportedAt: new Date().toISOString(),
    });
    download(`${stream}-export.tar`, tar(files, Date.now() / 1000), 'application/x-tar');
    note.textContent = `Exported ${stream}: ${size.toLocaleString()} entries and ${checkpoints.filter((x) => x.size <= size).length} checkpoints (${stream}-export.tar).`;
  } catch (e) {
    if (signal.aborted) return;
    note.textContent = '';
    note.append(alertBox(`The export failed: ${(e as Error).message}`));
  }
}
