/**
 * A log sequenced and signed in memory (the ledger's own sequence() and signNote()), as a
 * destination delivers it (src/delivered-record.ts): entry records in seq order and a
 * checkpoint record after every `every` entries (and at the end). For the OCSF and
 * `stele verify --from` tests.
 */
import {
  CHECKPOINT_RECORD,
  type DeliveredCheckpoint,
  type DeliveredEntry,
  ed25519Signer,
  emptyHead,
  entryRecord,
  formatCheckpoint,
  generateNoteKey,
  type JsonValue,
  parseEntry,
  type StreamHead,
  sequence,
  signNote,
  validateEventCanonical,
} from '../../src/index.js';

export interface DeliveredLog {
  /** The log's signer key (skey) and verifier key (vkey), named by the origin. */
  readonly key: { skey: string; vkey: string };
  readonly entries: DeliveredEntry[];
  readonly checkpoints: DeliveredCheckpoint[];
  /** Entries and checkpoints interleaved as a destination sends them. */
  readonly records: (DeliveredEntry | DeliveredCheckpoint)[];
}

export function deliveredLog(
  stream: string,
  origin: string,
  events: readonly JsonValue[],
  every = 4,
  key = generateNoteKey(origin),
): DeliveredLog {
  let head: StreamHead = emptyHead(stream);
  const entries: DeliveredEntry[] = [];
  const checkpoints: DeliveredCheckpoint[] = [];
  const records: (DeliveredEntry | DeliveredCheckpoint)[] = [];
  for (let i = 0; i < events.length; i += every) {
    const batch = events.slice(i, i + every).map((e) => validateEventCanonical(e).canonical);
    const r = sequence(head, batch, Date.UTC(2026, 10, 26) + i * 1000);
    head = r.head;
    for (const e of r.entries) {
      const rec = entryRecord(parseEntry(e.bytes), e.leafHash);
      entries.push(rec);
      records.push(rec);
    }
    const note = new TextDecoder().decode(
      signNote(formatCheckpoint({ origin, size: head.range.size, root: head.range.root() }), [
        ed25519Signer(key.skey),
      ]),
    );
    const cp: DeliveredCheckpoint = {
      type: CHECKPOINT_RECORD,
      stream,
      size: head.range.size,
      note,
    };
    checkpoints.push(cp);
    records.push(cp);
  }
  return { key, entries, checkpoints, records };
}
