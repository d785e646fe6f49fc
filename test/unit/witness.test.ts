/**
 * The parse that lets a witness route an add-checkpoint request by its origin
 * (src/witness-protocol.ts parseAddCheckpointSubmission): the request and its signed note are
 * checked strictly before any origin is read from them.
 */
import { describe, expect, it } from 'vitest';
import { formatCheckpoint } from '../../src/checkpoint.js';
import { utf8 } from '../../src/encoding.js';
import { FormatError } from '../../src/format-error.js';
import { signNote } from '../../src/note.js';
import { ed25519Signer, formatSignerKey, SIG_TYPE_ED25519 } from '../../src/note-key.js';
import { formatAddCheckpoint, parseAddCheckpointSubmission } from '../../src/witness-protocol.js';

/** A fixed test key (not a secret). */
const ORIGIN = 'example.com/log';
const SKEY = formatSignerKey(ORIGIN, SIG_TYPE_ED25519, new Uint8Array(32).fill(5));
const log = ed25519Signer(SKEY);
const root = new Uint8Array(32).fill(7);
const text = formatCheckpoint({ origin: ORIGIN, size: 1, root });

describe('parseAddCheckpointSubmission', () => {
  const valid = formatAddCheckpoint({ oldSize: 0, proof: [], note: signNote(text, [log]) });

  it('names the origin and the signed text of a well-formed request', () => {
    const req = parseAddCheckpointSubmission(valid);
    expect(req.origin).toBe(ORIGIN);
    expect(req.text).toBe(text);
  });

  it('refuses a body without an old line, or with a malformed note, naming the rule', () => {
    const body = new TextDecoder().decode(valid);
    const cases: [string, string, RegExp][] = [
      ['the note alone', body.slice('old 0\n\n'.length), /add-checkpoint: old size line/],
      ['no signatures', `old 0\n\n${text}`, /signed-note/],
      ['a broken signature line', body.replace('\u2014 ', '-- '), /signed-note: signature line 1/],
      ['no final newline', body.slice(0, -1), /signed-note: note must end with a newline/],
    ];
    for (const [what, b, rule] of cases) {
      expect(() => parseAddCheckpointSubmission(utf8(b)), what).toThrow(FormatError);
      expect(() => parseAddCheckpointSubmission(utf8(b)), what).toThrow(rule);
    }
  });
});
